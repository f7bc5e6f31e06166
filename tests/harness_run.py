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
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(env or {}))
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


def grade_selected(request, out_dir: Path, test_name: str, extra_args: Callable[[Path], list],
                   timeout=600, env=None) -> dict:
    """Grade the files the selected `test_name` items are parametrized with, one per core."""
    selected = {item.callspec.params["path"] for item in request.session.items
                if item.originalname == test_name}

    def grade(path):
        report = out_dir / f"{path.parent.name}-{path.stem}.json"
        return path, verify(path, report, *extra_args(path), timeout=timeout, env=env)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(grade, sorted(selected)))


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
