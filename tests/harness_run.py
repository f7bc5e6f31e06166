"""Running the harness as a user does (`python -m pytest properties --impl ...`), in a
subprocess, and reading back its report."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple, Optional

ROOT = Path(__file__).resolve().parent.parent


class Run(NamedTuple):
    returncode: int
    report: Optional[dict]
    output: str
    seconds: float


def verify(impl, report_path, *extra, timeout=600) -> Run:
    cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
           "--hypothesis-profile=ci", "--report", str(report_path)]
    if impl is not None:
        cmd += ["--impl", str(impl)]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()
    proc = subprocess.run(cmd + list(extra), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=env)
    report = json.loads(Path(report_path).read_text()) if Path(report_path).exists() else None
    return Run(proc.returncode, report, proc.stdout + proc.stderr, time.monotonic() - start)
