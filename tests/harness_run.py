"""Running the harness as a user does (`python -m pytest properties --impl ...`), in a
subprocess, and reading back its report."""
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import pytest

from harness.api import NAMES

STATUSES = {"pass", "fail", "missing", "error"}

ROOT = Path(__file__).resolve().parent.parent


class Run(NamedTuple):
    returncode: int
    report: Optional[dict]
    output: str
    seconds: float


def verify(impl, report_path, *extra, timeout=600, env=None, started=None) -> Run:
    """Grade `impl` as a user does; `started(pid)` is called with the grading run's pid."""
    cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
           "--hypothesis-profile=ci", "--report", str(report_path)]
    if impl is not None:
        cmd += ["--impl", str(impl)]
    env = dict(os.environ, **(env or {}))
    start = time.monotonic()
    with subprocess.Popen(cmd + list(extra), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env) as proc:
        if started is not None:
            started(proc.pid)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
            returncode, output = proc.returncode, stdout + stderr
        except subprocess.TimeoutExpired:  # one file past its bound must not stop the others
            proc.kill()
            stdout, _ = proc.communicate()
            returncode, output = -1, f"the harness did not finish within {timeout} s\n{stdout or ''}"
    report = json.loads(Path(report_path).read_text()) if Path(report_path).exists() else None
    return Run(returncode, report, output, time.monotonic() - start)


def grade_each(paths, out_dir: Path, extra_args: Callable[[Path], list], timeout=600, env=None) -> dict:
    """Grade `paths` with the single-file command, one per core: {path: Run}."""
    def grade(path):
        report = out_dir / f"{path.parent.name}-{path.stem}.json"
        return path, verify(path, report, *extra_args(path), timeout=timeout, env=env)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(grade, sorted(paths)))


def selected_paths(request, test_name: str, **where) -> list:
    """The files the selected `test_name` items are parametrized with (only the items whose
    other parameters are as `where` says): a -k run grades only what it will judge."""
    return sorted({item.callspec.params["path"] for item in request.session.items
                   if item.originalname == test_name
                   and all(item.callspec.params.get(k) == v for k, v in where.items())})


def grade_in_batch(paths, out_dir: Path, extra=(), strict=(), env=None, timeout=600) -> dict:
    """Grade `paths` as batch mode does (harness/grade/batch/: grading runs forked from one fork
    server, their workers from one worker zygote), one per core: {path: Run}. It judges with
    the single-file command's own code at a third of its CPU (docs/maintainers.md, "CPU per submission").
    `strict`: the paths graded with --strict."""
    from harness.grade import batch
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = {}
    for policy, group in (("course", [p for p in paths if p not in strict]),
                          ("strict", [p for p in paths if p in strict])):
        if not group:
            continue
        subs = batch._named(group)
        grader = batch.Grader(out_dir / policy, strict=policy == "strict", timeout=timeout,
                              options=list(extra), extra_env=env)
        grader.report_dir.mkdir(exist_ok=True)
        try:
            grader.prepare()
            graded = batch.grade_all(subs, grader, jobs=os.cpu_count() or 2)
        finally:
            grader.close()
        for g in graded:
            log = grader.report_dir / f"{g.submission.name}.log"
            output = log.read_text(errors="replace") if log.exists() else ""
            returncode = -1 if g.returncode is None else g.returncode
            runs[g.submission.path] = Run(returncode, g.report, output, g.seconds)
    return runs


def tiered(cases, ids, fast) -> list:
    """`cases` (each a tuple of the parameters' values) as pytest params named `ids`, each
    marked slow (the full tier's) but those whose id is in `fast`: the fast tier's sample of
    a set too big to grade in its budget."""
    unknown = set(fast) - set(ids)
    assert not unknown, f"the fast sample names no case: {sorted(unknown)}"
    return [pytest.param(*case, id=name,
                         marks=() if name in fast else pytest.mark.slow)
            for case, name in zip(cases, ids)]


def assert_report_shape(report):
    """A Gradescope results.json top level, plus verdict and one entry per API name."""
    assert isinstance(report["score"], float) and isinstance(report["max_score"], float)
    assert report["verdict"] in ("pass", "fail")
    for test in report["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert test["status"] in ("passed", "failed")
    assert list(report["functions"]) == list(NAMES)
    for entry in report["functions"].values():
        assert entry["status"] in STATUSES and isinstance(entry["messages"], list)
    json.dumps(report)
