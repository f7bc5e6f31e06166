"""The bug zoo: every wrong submission is rejected with exactly its own function(s)
blamed, the usual mistake named, and a repro that checks itself; every correct one,
whatever its style, passes. Each file's header says which (tests/judged_set.py, prefix "zoo"):
    # zoo: blames NAME[, NAME...]    or    # zoo: passes
    # zoo-mistake: ID                (wrong files: the catalogue entry, harness/mistakes.toml)
    # zoo-policy: strict             (optional: graded with --strict)

Cost: grading the ~100 files is the bulk, in batch mode (harness/grade/batch/: forked grading
runs and workers, about 4 CPU-seconds each, two at a time; the single-file command's own
judging code, which tests/test_interface.py and the hostile set run as students do);
running every failing function's repro twice (the zoo file, then the shipped
implementation) happens in one subprocess for the whole zoo, about 30 s.
"""
import json
import time
from pathlib import Path

import pytest

from harness.api import NAMES
from harness.grade.reach import Source
from harness.judge.mistakes import MISTAKES
from tests import cache_edits, judged_set
from tests.harness_run import grade_in_batch, selected_paths, tiered

ZOO = Path(__file__).resolve().parent / "zoo"
FILES = sorted(ZOO.glob("wrong/*.py")) + sorted(ZOO.glob("right/*.py"))
WRONG = [p for p in FILES if p.parent.name == "wrong"]
MIN_NAMED = 1.0    # the fraction of wrong files whose mistake the report names right: the catalogue was written against the zoo


def header(path: Path) -> dict:
    return judged_set.header(path, "zoo")


@pytest.fixture(scope="session")
def zoo_runs(request, tmp_path_factory):
    paths = selected_paths(request, "test_zoo_verdict")
    return grade_in_batch(paths, tmp_path_factory.mktemp("zoo"),
                          strict=[p for p in paths if header(p)["strict"]])


def test_zoo_is_big_enough():
    infos = [header(p) for p in FILES]
    assert sum(bool(i["blames"]) for i in infos) >= 40, "the zoo needs at least 40 wrong versions"
    assert sum(i["passes"] for i in infos) >= 5, "the zoo needs at least 5 correct versions"
    judged_set.check_headers(FILES, "zoo", {m.id for m in MISTAKES})


# The fast tier grades one correct file and one wrong one; the full tier, the whole zoo.
FAST = {"right/naive_python_floats_einsum", "wrong/classifier_load_wrong_key"}


@pytest.mark.parametrize("path", tiered([(p,) for p in FILES], [f"{p.parent.name}/{p.stem}" for p in FILES], FAST))
def test_zoo_verdict(zoo_runs, path):
    judged_set.check_verdict(zoo_runs[path], header(path), path)


@pytest.mark.slow
def test_zoo_mistakes_named(zoo_runs):
    """The report names the file's own mistake ("looks like: ...") for every wrong file
    (MIN_NAMED), and no file's report names another mistake: a wrong name misleads more than none."""
    graded = [p for p in WRONG if p in zoo_runs and zoo_runs[p].report is not None]
    if len(graded) < len(WRONG):
        pytest.skip("only part of the zoo was selected: the figure is over the whole zoo")
    counts = judged_set.named_counts(zoo_runs, graded, "zoo", {m.id for m in MISTAKES})
    print(counts.line("the zoo"))
    assert not counts.wrong, "named wrong:\n" + "\n".join(counts.wrong)
    named = len(counts.right) / len(graded)
    assert named >= MIN_NAMED, f"named right for {named:.1%} < {MIN_NAMED:.0%}:\n" + "\n".join(counts.none)


def test_zoo_repros_check_themselves(zoo_runs, tmp_path):
    """Each failing function's repro, run as printed (its PATH is the graded file), fails on its
    zoo file (an AssertionError saying expected and got, when the function fails; any exception
    when it raised) and passes on the shipped code (PATH pointed at it)."""
    runs, bad = judged_set.repro_failures(zoo_runs, WRONG, tmp_path)
    if not runs:
        pytest.skip("no wrong zoo file selected")
    print(f"{runs} repro runs")
    assert not bad, "\n".join(bad)


@pytest.mark.slow
def test_cached_runs_give_the_full_runs_reports(zoo_runs, tmp_path):
    """Issue 33's proof: a student's file edited one function at a time (tests/cache_edits.py:
    each one-function zoo file's function put right, then made wrong again, 200 edits and
    more), checked after each edit with `python -m harness check`, which judges only what
    changed: its report equals a full run's, function by function, messages and repros
    included; then every other zoo file (right ones, several functions wrong, --strict).
    The full runs are the zoo's own batch reports (normalized to the student's path) and,
    for the correct steps, one run with --no-cache per base."""
    steps = cache_edits.steps([p for p in WRONG if not header(p)["strict"]])  # --strict: a context of its own
    if any(p not in zoo_runs for p in FILES):
        pytest.skip("only part of the zoo was selected: the sequence is over the whole zoo")
    assert len(steps) >= 200, len(steps)
    env = cache_edits.student_env(tmp_path)
    student = tmp_path / "a2" / "linear_classifier.py"
    student.parent.mkdir()
    mismatched, stats = [], {"judged": 0, "reused": 0, "seconds": []}
    right = {}  # the correct files' full reports, by their code (the two bases)
    try:
        for i, step in enumerate(steps):
            student.write_text(step.text)
            code = Source(student).digest(NAMES)
            if step.zoo is None and code not in right:
                done = cache_edits.check(student, tmp_path / "full.json", env, "--no-cache")
                right[code] = json.loads((tmp_path / "full.json").read_text())
                assert done.returncode == 0 and right[code]["verdict"] == "pass", done.stdout[-3000:]
                first_of_its_base = True
            else:
                first_of_its_base = False
            started = time.monotonic()
            done = cache_edits.check(student, tmp_path / "step.json", env)
            stats["seconds"].append(time.monotonic() - started)
            got = json.loads((tmp_path / "step.json").read_text())
            stats["judged"] += len(got["cache"]["judged"])
            stats["reused"] += len(got["cache"]["reused"])
            want = right[code]["functions"] if step.zoo is None else cache_edits.normalized(
                zoo_runs[step.zoo].report, step.zoo, student)
            for name in want:
                if got["functions"][name] != want[name]:
                    mismatched.append(f"step {i} ({step.zoo.name if step.zoo else 'right'}, edited "
                                      f"{step.changed}): {name}: cached {got['functions'][name]} "
                                      f"!= full {want[name]}")
            if step.zoo is None and not first_of_its_base:  # a correct file seen before: nothing to judge
                assert not got["cache"]["judged"], (i, got["cache"])
            if step.zoo is not None:  # the wrong function is judged, the rest mostly reused
                assert step.changed in got["cache"]["judged"] and got["cache"]["reused"], (i, step, got["cache"])
        # Then every other zoo file, each after the last (edits of many functions at once;
        # --strict where its header asks, a context of its own)
        for path in [p for p in FILES if p not in {s.zoo for s in steps}]:
            student.write_text(path.read_text())
            done = cache_edits.check(student, tmp_path / "step.json", env, *(["--strict"] if header(path)["strict"] else []))
            got = json.loads((tmp_path / "step.json").read_text())
            stats["judged"] += len(got["cache"]["judged"])
            stats["reused"] += len(got["cache"]["reused"])
            want = cache_edits.normalized(zoo_runs[path].report, path, student)
            mismatched += [f"{path.name}: {name}: cached {got['functions'][name]} != full {want[name]}"
                           for name in want if got["functions"][name] != want[name]]
    finally:
        cache_edits.stop_server(env)
    seconds = sorted(stats["seconds"])
    print(f"{len(steps)} one-function edits, then the zoo's {len(FILES) - len({s.zoo for s in steps} - {None})} "
          f"other files: {stats['judged']} functions judged, {stats['reused']} reused; "
          f"median {seconds[len(seconds) // 2]:.2f} s a check")
    assert not mismatched, "\n".join(mismatched[:20])
