"""What the bug zoo (tests/test_zoo.py) and the real set (tests/test_real.py) share: a set of
files, each with a header saying its verdict, graded in batch mode and judged the same way.

Header lines (the first 10 lines; PREFIX is "zoo" or "real"):
    # PREFIX: blames NAME[, NAME...]    or    # PREFIX: passes
    # PREFIX-mistake: ID                (wrong files: the catalogue entry; the real set may say `new: NAME`)
    # PREFIX-policy: strict             (optional: graded with --strict)
    # PREFIX-also: ID[, ID] (why)       (optional, added after grading: other mistakes the code has, see also_has)
    # PREFIX-KEY: text                  (any other key, kept as info[KEY]: the real set's label, source, ...)
"""
import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from harness.api import NAMES
from harness.confine.subject import SHIPPED


def header(path: Path, prefix: str) -> dict:
    info = {"blames": [], "passes": False, "strict": False, "mistake": None}
    for line in path.read_text().splitlines()[:10]:
        if line.startswith(f"# {prefix}: blames"):
            info["blames"] = [n.strip() for n in line.split("blames", 1)[1].split(",")]
        elif line.startswith(f"# {prefix}: passes"):
            info["passes"] = True
        elif line.startswith(f"# {prefix}-policy: strict"):
            info["strict"] = True
        elif line.startswith(f"# {prefix}-") and ":" in line:
            key, value = line[len(f"# {prefix}-"):].split(":", 1)
            info[key.strip()] = value.strip()
    return info


def check_headers(files, prefix: str, ids, new_allowed=False):
    """Every file says blames (known names) or passes; a wrong file names a catalogue entry
    (or, where `new_allowed`, `new: NAME`, a mistake the catalogue does not know)."""
    for path in files:
        info = header(path, prefix)
        assert info["passes"] != bool(info["blames"]), f"{path.name}: header must say blames or passes"
        assert set(info["blames"]) <= set(NAMES), f"{path.name}: blames an unknown name {info['blames']}"
        if info["blames"]:
            known = info["mistake"] in ids or new_allowed and str(info["mistake"]).startswith("new:")
            assert known, f"{path.name}: `# {prefix}-mistake: ID` must name a catalogue entry"


def blamed(report) -> set:
    return {n for n, f in report["functions"].items() if f["status"] != "pass"}


def check_verdict(run, info, path):
    """A correct file passes; a wrong one fails with its own function(s) blamed, no other
    (SPEC.md, Blame), each failing one with a repro."""
    assert run.report is not None, f"{path.name}: no report was written\n{run.output[-3000:]}"
    statuses = {n: f["status"] for n, f in run.report["functions"].items()}
    if info["passes"]:
        assert run.returncode == 0 and run.report["verdict"] == "pass", (
            f"{path.name} is correct but was rejected: "
            f"{ {n: s for n, s in statuses.items() if s != 'pass'} }\n{run.output[-4000:]}")
        return
    assert run.returncode != 0 and run.report["verdict"] == "fail", (
        f"{path.name} is wrong ({info['blames']}) but passed\n{run.output[-2000:]}")
    assert blamed(run.report) == set(info["blames"]), (
        f"{path.name}: blamed {sorted(blamed(run.report))}, expected {info['blames']}; "
        f"statuses: {statuses}\n{run.output[-3000:]}")
    for name in info["blames"]:
        entry = run.report["functions"][name]
        if entry["status"] in ("fail", "error"):
            assert entry.get("repro"), f"{path.name}: {name} fails without a repro"


class Named(NamedTuple):
    right: list    # the file's own mistake named, and no other
    partial: list  # only mistakes that `# PREFIX-also:` says the code has too (not its label's alone)
    wrong: list    # some other mistake named: it misleads the student
    none: list     # no "looks like" line

    def line(self, what: str) -> str:
        total = len(self.right) + len(self.partial) + len(self.wrong) + len(self.none)
        return (f"{what}: of {total} wrong files, named right {len(self.right)}, "
                + (f"named another mistake the code has too {len(self.partial)}, " if self.partial else "")
                + f"named wrong {len(self.wrong)}, not named {len(self.none)}")


def expected_mistake(info, ids):
    """The id a wrong file's report should name: its label's catalogue id; for `new: NAME`, NAME
    once the catalogue has an entry of that name (written after the label), else none."""
    mistake = str(info["mistake"])
    if mistake.startswith("new:"):
        mistake = mistake[len("new:"):].strip()
    return mistake if mistake in ids else None


def also_has(info) -> set:
    """`# PREFIX-also: ID[, ID...] (why)`: mistakes found in the code after the label was written
    (a second mistake, or the same mechanics under a catalogue id the label did not use), each
    with its reason. They never make a file named right: at most named "partly"."""
    return {i.strip() for i in info.get("also", "").split("(")[0].split(",") if i.strip()}


def named_counts(runs, files, prefix: str, ids) -> Named:
    """Each wrong file's "looks like" ids (over its blamed functions) against its header."""
    counts = Named([], [], [], [])
    for path in files:
        info = header(path, prefix)
        expected = expected_mistake(info, ids)
        named = {m for n in info["blames"] for m in runs[path].report["functions"][n].get("mistakes", [])}
        what = f"{path.name}: expected {expected or info['mistake']}, named {sorted(named)}"
        if not named:
            counts.none.append(what)
        elif named == {expected}:
            counts.right.append(what)
        elif named <= also_has(info) | {expected}:
            counts.partial.append(what)
        else:
            counts.wrong.append(what)
    return counts


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


def repro_failures(runs, files, cwd) -> tuple:
    """Run each failing function's repro, as printed (its PATH is the graded file), on its file
    (an AssertionError saying expected and got, when the function fails; any exception when it
    raised) and on the shipped code (PATH pointed at it: it must pass), all in one subprocess.
    (number of runs, the ones that went otherwise)."""
    jobs = []
    for path in files:
        run = runs.get(path)
        if run is None or run.report is None:
            continue
        for name, entry in run.report["functions"].items():
            if entry["status"] in ("fail", "error") and entry.get("repro"):
                for target, expect in ((path, entry["status"]), (SHIPPED, "pass")):
                    jobs.append({"snippet": entry["repro"], "path": str(target), "expect": expect,
                                 "as_printed": target == path, "what": f"{path.name}: {name} on {target.name}"})
    if not jobs:
        return 0, []
    # the shipped file's module-level seeding must not be a prerequisite: each job seeds itself
    proc = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(jobs), capture_output=True,
                          text=True, timeout=600, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bad = []
    for job, got in zip(jobs, json.loads(proc.stdout.strip().splitlines()[-1])):
        ok = {"pass": got == "pass", "fail": got.startswith("AssertionError: ") and "expected" in got,
              "error": got != "pass"}[job["expect"]]
        if not ok:
            bad.append(f"{job['what']}: expected {job['expect']}, got {got}")
    return len(jobs), bad
