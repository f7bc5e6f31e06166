"""The bug zoo: every wrong submission is rejected with exactly its own function(s)
blamed, the usual mistake named, and a repro that checks itself; every correct one,
whatever its style, passes. Each file's header says which:
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
import subprocess
import sys
from pathlib import Path

import pytest

from harness.api import NAMES
from harness.judge.mistakes import MISTAKES
from harness.confine.subject import SHIPPED
from tests.harness_run import grade_in_batch, selected_paths, tiered

ZOO = Path(__file__).resolve().parent / "zoo"
FILES = sorted(ZOO.glob("wrong/*.py")) + sorted(ZOO.glob("right/*.py"))
WRONG = [p for p in FILES if p.parent.name == "wrong"]
MIN_NAMED = 0.90   # the fraction of wrong files whose mistake the report names right


def header(path: Path) -> dict:
    info = {"blames": [], "passes": False, "strict": False, "mistake": None}
    for line in path.read_text().splitlines()[:10]:
        if line.startswith("# zoo: blames"):
            info["blames"] = [n.strip() for n in line.split("blames", 1)[1].split(",")]
        elif line.startswith("# zoo: passes"):
            info["passes"] = True
        elif line.startswith("# zoo-policy: strict"):
            info["strict"] = True
        elif line.startswith("# zoo-mistake:"):
            info["mistake"] = line.split(":", 1)[1].strip()
    return info


@pytest.fixture(scope="session")
def zoo_runs(request, tmp_path_factory):
    paths = selected_paths(request, "test_zoo_verdict")
    return grade_in_batch(paths, tmp_path_factory.mktemp("zoo"),
                          strict=[p for p in paths if header(p)["strict"]])


def test_zoo_is_big_enough():
    infos = [header(p) for p in FILES]
    ids = {m.id for m in MISTAKES}
    assert sum(bool(i["blames"]) for i in infos) >= 40, "the zoo needs at least 40 wrong versions"
    assert sum(i["passes"] for i in infos) >= 5, "the zoo needs at least 5 correct versions"
    for path, info in zip(FILES, infos):
        assert info["passes"] != bool(info["blames"]), f"{path.name}: header must say blames or passes"
        assert set(info["blames"]) <= set(NAMES), f"{path.name}: blames an unknown name {info['blames']}"
        if info["blames"]:
            assert info["mistake"] in ids, f"{path.name}: `# zoo-mistake: ID` must name a catalogue entry"


def blamed(report) -> set:
    return {n for n, f in report["functions"].items() if f["status"] != "pass"}


# The fast tier grades one correct file and one wrong one; the full tier, the whole zoo.
FAST = {"right/naive_python_floats_einsum", "wrong/classifier_load_wrong_key"}


@pytest.mark.parametrize("path", tiered([(p,) for p in FILES], [f"{p.parent.name}/{p.stem}" for p in FILES], FAST))
def test_zoo_verdict(zoo_runs, path):
    run = zoo_runs[path]
    info = header(path)
    assert run.report is not None, f"{path.name}: no report was written\n{run.output[-3000:]}"
    statuses = {n: f["status"] for n, f in run.report["functions"].items()}
    if info["passes"]:
        assert run.returncode == 0 and run.report["verdict"] == "pass", (
            f"{path.name} is correct but was rejected: "
            f"{ {n: s for n, s in statuses.items() if s != 'pass'} }\n{run.output[-4000:]}")
    else:
        assert run.returncode != 0 and run.report["verdict"] == "fail", (
            f"{path.name} is wrong ({info['blames']}) but passed\n{run.output[-2000:]}")
        # one mistake, one blame: its own function(s) and no function that is right (SPEC.md, Blame)
        assert blamed(run.report) == set(info["blames"]), (
            f"{path.name}: blamed {sorted(blamed(run.report))}, expected {info['blames']}; "
            f"statuses: {statuses}\n{run.output[-3000:]}")
        for name in info["blames"]:
            entry = run.report["functions"][name]
            if entry["status"] in ("fail", "error"):
                assert entry.get("repro"), f"{path.name}: {name} fails without a repro"


def _named(run, info) -> bool:
    return any(info["mistake"] in run.report["functions"][n].get("mistakes", []) for n in info["blames"])


@pytest.mark.slow
def test_zoo_mistakes_named(zoo_runs):
    """The report names the file's own mistake ("looks like: ...") for >= 90% of the wrong files."""
    graded = [p for p in WRONG if p in zoo_runs and zoo_runs[p].report is not None]
    if len(graded) < len(WRONG):
        pytest.skip("only part of the zoo was selected: the figure is over the whole zoo")
    misses = [f"{p.name}: expected {header(p)['mistake']}, named "
              f"{ {n: zoo_runs[p].report['functions'][n].get('mistakes') for n in header(p)['blames']} }"
              for p in graded if not _named(zoo_runs[p], header(p))]
    named = 1 - len(misses) / len(graded)
    print(f"mistake named right for {named:.1%} of {len(graded)} wrong files")
    assert named >= MIN_NAMED, f"named right for {named:.1%} < {MIN_NAMED:.0%}:\n" + "\n".join(misses)


RUNNER = r'''
import json, sys, traceback
jobs = json.load(sys.stdin)
out = []
for job in jobs:
    lines = job["snippet"].splitlines()
    assert lines[0].startswith("PATH = ")
    printed = lines[0].split("#")[0].strip()
    if job["as_printed"]:  # on the graded file: the snippet exactly as the report printed it
        if printed != f"PATH = {job['path']!r}":
            out.append(f"error: the repro's {printed} is not the graded file {job['path']!r}")
            continue
        source = job["snippet"]
    else:                  # on the shipped file: only PATH changed, as a student would edit it
        source = "\n".join([f"PATH = {job['path']!r}"] + lines[1:])
    try:
        exec(compile(source, "<repro>", "exec"), {"__name__": "__repro__"})
        out.append("pass")
    except AssertionError as exc:
        out.append("AssertionError: " + str(exc)[:300])
    except BaseException as exc:
        out.append("error: " + "".join(traceback.format_exception_only(type(exc), exc)).strip()[-300:])
print(json.dumps(out))
'''


def test_zoo_repros_check_themselves(zoo_runs, tmp_path):
    """Each failing function's repro, run as printed (its PATH is the graded file), fails on its
    zoo file (an AssertionError saying expected and got, when the function fails; any exception
    when it raised) and passes on the shipped code (PATH pointed at it)."""
    jobs = []
    for path in WRONG:
        run = zoo_runs.get(path)
        if run is None or run.report is None:
            continue
        for name, entry in run.report["functions"].items():
            if entry["status"] in ("fail", "error") and entry.get("repro"):
                for target, expect in ((path, entry["status"]), (SHIPPED, "pass")):
                    jobs.append({"snippet": entry["repro"], "path": str(target), "expect": expect,
                                 "as_printed": target == path, "what": f"{path.name}: {name} on {target.name}"})
    if not jobs:
        pytest.skip("no wrong zoo file selected")
    # the shipped file's module-level seeding must not be a prerequisite: each job seeds itself
    proc = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(jobs), capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bad = []
    for job, got in zip(jobs, json.loads(proc.stdout.strip().splitlines()[-1])):
        ok = {"pass": got == "pass", "fail": got.startswith("AssertionError: expected")
              or got.startswith("AssertionError: ") and "expected" in got,
              "error": got != "pass"}[job["expect"]]
        if not ok:
            bad.append(f"{job['what']}: expected {job['expect']}, got {got}")
    print(f"{len(jobs)} repro runs")
    assert not bad, "\n".join(bad)
