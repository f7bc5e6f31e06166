"""Edits as a student makes them, for the verdict cache's equality test
(tests/test_zoo.py::test_cached_runs_give_the_full_runs_reports): most zoo files are one
of two correct bases with a single function changed. For each such file Z, the step
before it is Z with that function put back as the base has it (a correct file), so each
step of the sequence changes one function: put right, then made wrong. The wrong steps'
full reports are the zoo's own batch reports; the correct steps' is one full run."""
import ast
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

from tests.harness_run import ROOT


class Step(NamedTuple):
    text: str
    zoo: Optional[Path]   # the zoo file this step is (None: a correct base)
    changed: str          # the function this step changed


def _definitions(path: Path) -> Dict[str, ast.AST]:
    return {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def _segment(text: str, node: ast.AST) -> str:
    lines = text.splitlines(True)
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    return "".join(lines[start:node.end_lineno])


def one_function_files(files: List[Path]) -> Dict[Path, tuple]:
    """{zoo file: (the one function it changes, that function's source in its base)}, for
    the files that are a base with one function changed (the bases: the most common
    version of each function, first over all files, then over the files left)."""
    defs = {f: _definitions(f) for f in files}
    dumps = {f: {k: ast.dump(v) for k, v in d.items()} for f, d in defs.items()}
    found, left = {}, list(files)
    for _ in range(2):
        names = set().union(*(dumps[f] for f in left))
        base = {k: collections.Counter(dumps[f].get(k) for f in left).most_common(1)[0][0] for k in names}
        source = {k: next(_segment(f.read_text(), defs[f][k]) for f in left if dumps[f].get(k) == base[k])
                  for k in names if base[k] is not None}
        for f in left:
            differ = [k for k in names if dumps[f].get(k) != base[k]]
            if len(differ) == 1 and differ[0] in source and differ[0] in defs[f]:
                found[f] = (differ[0], source[differ[0]])
        left = [f for f in left if f not in found]
    return found


def steps(files: List[Path]) -> List[Step]:
    """Put right, then made wrong, for each one-function zoo file: two edits each."""
    out = []
    for path, (name, right) in sorted(one_function_files(files).items()):
        text = path.read_text()
        wrong = _segment(text, _definitions(path)[name])
        out.append(Step(text.replace(wrong, right, 1), None, name))
        out.append(Step(text, path, name))
    return out


def normalized(report: dict, graded_at: Path, step_file: Path) -> dict:
    """A zoo report's function entries as the same file would have them at `step_file`."""
    text = json.dumps(report["functions"])
    text = text.replace(json.dumps(str(graded_at))[1:-1], json.dumps(str(step_file))[1:-1])
    text = text.replace(f"at {graded_at.name}:", f"at {step_file.name}:")
    return json.loads(text)


def check(path: Path, report: Path, env: dict, *options: str) -> subprocess.CompletedProcess:
    """`python -m harness check PATH --report REPORT OPTIONS` as a student runs it: warm (a
    run that fell back to a fresh process fails here: it would judge alike, at 5 s a run)."""
    done = subprocess.run([sys.executable, "-m", "harness", "check", str(path), "--report", str(report), *options],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert "grading in a fresh process" not in done.stderr, done.stderr[-2000:]
    return done


def student_env(folder: Path) -> dict:
    """A student's environment: their own warm server's folder and cache, no CI. The
    server's folder is a short one under /tmp, as tests/test_warm.py's: a socket's address
    holds 107 bytes, which a pytest tmp_path under a CI's TMPDIR can pass."""
    (folder / "cache").mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return dict(env, HARNESS_WARM_DIR=tempfile.mkdtemp(prefix="lc-cache-test-", dir="/tmp"),
                HARNESS_CACHE_DIR=str(folder / "cache"), HARNESS_WARM_IDLE="120", PYTHONPATH=str(ROOT))


def stop_server(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "harness", "stop"], cwd=ROOT, env=env, capture_output=True, timeout=60)
    shutil.rmtree(env["HARNESS_WARM_DIR"], ignore_errors=True)
