"""The real set: students' own wrong functions from public git histories of EECS 498-007/598-005
A2 (and CS231n assignment 1, ported where the function is the same), each kept with where it
came from and a label written before any recognizer was changed (tests/real/README.md). Judged as
the zoo is (tests/judged_set.py, prefix "real"): a wrong file is blamed on its wrong function alone,
with a repro that checks itself; a right one (a student's final version) passes. Over the wrong
files the test reports the "looks like" line named right, named partly, named wrong and not named,
and fails on any named wrong and when named right is under MIN_NAMED
(the catalogue was written against the zoo, so this is its measure on mistakes nobody here wrote).
    # real: blames NAME              or    # real: passes
    # real-mistake: ID               (or `new: NAME`: a mistake the catalogue does not know)
    # real-label: what the code does wrong, in one line
    # real-source: github:OWNER/REPO PATH @ COMMIT     (the wrong function)
    # real-rest: github:OWNER/REPO PATH @ COMMIT       (the rest of the file)

Cost: as the zoo's, about 4 CPU-seconds a file in batch mode; the fast tier grades one wrong
file and one right one.
"""
import re
from pathlib import Path

import pytest

from harness.judge.mistakes import MISTAKES
from tests import judged_set
from tests.harness_run import grade_in_batch, selected_paths, tiered

REAL = Path(__file__).resolve().parent / "real"
FILES = sorted(REAL.glob("wrong/*.py")) + sorted(REAL.glob("right/*.py"))
WRONG = [p for p in FILES if p.parent.name == "wrong"]
MIN_NAMED = 0.90   # the fraction of wrong files whose mistake the report names right (issue 31)
MIN_WRONG, MIN_REPOS = 40, 20
SOURCE = re.compile(r"^github:([\w.-]+/[\w.-]+) .+ @ [0-9a-f]{7,40}$")  # a path may hold spaces


def header(path: Path) -> dict:
    return judged_set.header(path, "real")


def test_real_set_is_big_enough():
    """At least 40 wrong functions from at least 20 repositories, each with its label and where it came from."""
    judged_set.check_headers(FILES, "real", {m.id for m in MISTAKES}, new_allowed=True)
    repos = set()
    for path in FILES:
        info = header(path)
        for key in ("source", "rest"):
            assert SOURCE.match(info.get(key, "")), (
                f"{path.name}: `# real-{key}: github:OWNER/REPO PATH @ COMMIT` is missing or malformed")
        if info["blames"]:
            assert info.get("label"), f"{path.name}: `# real-label:` must say what the code does wrong"
            repos.add(SOURCE.match(info["source"]).group(1).lower())
    assert len(WRONG) >= MIN_WRONG, f"the real set holds {len(WRONG)} wrong functions, fewer than {MIN_WRONG}"
    assert len(repos) >= MIN_REPOS, f"the real set's wrong functions come from {len(repos)} repositories, fewer than {MIN_REPOS}"


@pytest.fixture(scope="session")
def real_runs(request, tmp_path_factory):
    paths = selected_paths(request, "test_real_verdict")
    return grade_in_batch(paths, tmp_path_factory.mktemp("real"),
                          strict=[p for p in paths if header(p)["strict"]])


IDS = [f"{p.parent.name}/{p.stem}" for p in FILES]
# The fast tier grades the first wrong file and the first right one; the full tier, the whole set.
FAST = {next((i for i in IDS if i.startswith(d)), None) for d in ("wrong/", "right/")} - {None}


@pytest.mark.parametrize("path", tiered([(p,) for p in FILES], IDS, FAST))
def test_real_verdict(real_runs, path):
    judged_set.check_verdict(real_runs[path], header(path), path)


def _named_counts(real_runs):
    graded = [p for p in WRONG if p in real_runs and real_runs[p].report is not None]
    if len(graded) < len(WRONG) or not WRONG:
        pytest.skip("only part of the real set was selected: the figure is over the whole set")
    counts = judged_set.named_counts(real_runs, graded, "real", {m.id for m in MISTAKES})
    print(counts.line("the real set"))
    return counts, len(graded)


@pytest.mark.slow
def test_real_mistakes_never_named_wrong(real_runs):
    """No wrong file's report names a mistake its code does not have: a wrong name misleads more than none."""
    counts, _ = _named_counts(real_runs)
    assert not counts.wrong, "named wrong:\n" + "\n".join(counts.wrong)


@pytest.mark.slow
def test_real_mistakes_named_right(real_runs):
    """Named right (the label's mistake, and no other) for at least MIN_NAMED of the wrong files."""
    counts, graded = _named_counts(real_runs)
    named = len(counts.right) / graded
    assert named >= MIN_NAMED, f"named right for {named:.1%} < {MIN_NAMED:.0%}; not named:\n" + "\n".join(counts.none)


def test_real_repros_check_themselves(real_runs, tmp_path):
    """As the zoo's: each failing function's repro fails on its file and passes on the shipped code."""
    runs, bad = judged_set.repro_failures(real_runs, WRONG, tmp_path)
    if not runs:
        pytest.skip("no wrong file of the real set selected")
    print(f"{runs} repro runs")
    assert not bad, "\n".join(bad)
