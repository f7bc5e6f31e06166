"""Grading one submission: the single-file command and environment it runs with, the
report of a run that left none, and killing a run's whole process tree."""
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from harness.api import NAMES
from harness.confine import locate
from harness.confine.process import stat_fields
from harness.grade.atomic import write_json as write_atomically  # noqa: F401 (no torch: merge uses it)

ROOT = locate.root()  # the checkout, or where the harness is installed (harness/confine/locate.py)
DEFAULT_PROFILE = "ci"  # derandomized: a student's result does not depend on the run
DEFAULT_TIMEOUT_S = 600.0
TIMEOUT_ENV = "HARNESS_BATCH_TIMEOUT"
STATUSES = ("pass", "fail", "missing", "error")


def child_command(file: Path, report: Path, strict: bool = False,
                  profile: Optional[str] = None, in_process: bool = False,
                  isolation: str = "auto", extra: Sequence[str] = ()) -> List[str]:
    """The single-file command that grades one submission (locate.PYTEST_ARGS: what costs
    CPU and judges nothing is left out), derandomized unless `profile` says otherwise."""
    cmd = [sys.executable, "-m", "pytest", *locate.PYTEST_ARGS, "-q",
           f"--hypothesis-profile={profile or DEFAULT_PROFILE}",
           "--impl", str(file), "--report", str(report), f"--isolation={isolation}"]
    if strict:
        cmd.append("--strict")
    if in_process:
        cmd.append("--in-process")
    return cmd + list(extra)


def limit_args(config) -> List[str]:
    """The resource limits of the batch's command line, for each grading run
    (SPEC.md, Resources a submission may use)."""
    return [f"--disk-limit={config.getoption('disk_limit')}",
            f"--process-limit={config.getoption('process_limit')}",
            f"--submission-budget={config.getoption('submission_budget'):g}"]


def child_env() -> dict:
    """The environment of every grading run (and of the fork server they come from)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("OMP_NUM_THREADS", "1")  # jobs, not threads, use the cores
    return env


def _fork_server_wanted() -> bool:
    """Grading runs are forked from one pre-imported process (harness/grade/batch/forkserver.py)
    where fork() exists; HARNESS_BATCH_FORK=0 starts each as a subprocess instead."""
    return hasattr(os, "fork") and os.environ.get("HARNESS_BATCH_FORK", "1") != "0"


def _zygote_wanted(extra_env: Optional[dict] = None) -> bool:
    """Each grading run's workers are forked from one pre-imported worker of the batch's
    (harness/confine/zygote.py) where Linux gives what it needs; HARNESS_WORKER_ZYGOTE=0 (in
    the environment, or in the grading runs' extra environment) turns it off."""
    env = dict(os.environ, **(extra_env or {}))
    return (hasattr(os, "fork") and hasattr(socket, "send_fds") and sys.platform.startswith("linux")
            and env.get("HARNESS_WORKER_ZYGOTE", "1") != "0")


def error_report(file: Path, message: str, policy: str = "course") -> dict:
    """A report for a submission the harness could not judge: every function "error"."""
    from harness.grade.report import Outcomes
    outcomes = Outcomes(module_path=str(file), policy=policy)
    outcomes.fail_all("error", message)
    return outcomes.as_json()


def _valid(report) -> bool:
    try:
        return (isinstance(report, dict) and report["verdict"] in ("pass", "fail")
                and isinstance(report["score"], (int, float)) and isinstance(report["tests"], list)
                and list(report["functions"]) == list(NAMES)
                and all(report["functions"][n]["status"] in STATUSES for n in NAMES))
    except (KeyError, TypeError, AttributeError):
        return False


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _descendants(pid: int) -> List[int]:
    """Every live process below `pid` (Linux /proc; elsewhere none are found)."""
    children: Dict[int, List[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = stat_fields(entry)
        try:
            ppid = int(fields[1])
        except (TypeError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.append(child)
                todo.append(child)
    return out


def _signal(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _kill_group(proc) -> None:
    """Kill the child (a Popen, or the pid of a forked grading run) and everything it
    started: its process group (made by start_new_session or setsid) and every descendant, also those that left the group with
    setsid (a sandboxed worker). The tree is stopped first, so that nothing it spawns
    meanwhile escapes."""
    stop = getattr(signal, "SIGSTOP", None)
    kill = getattr(signal, "SIGKILL", signal.SIGTERM)
    root = proc if isinstance(proc, int) else proc.pid
    seen: List[int] = []
    for _ in range(5):
        new = [p for p in [root] + _descendants(root) if p not in seen]
        if not new:
            break
        if stop is not None:
            for pid in new:
                _signal(pid, stop)
        seen += new
    for pid in seen:
        _signal(pid, kill)
    if hasattr(os, "killpg"):
        try:
            os.killpg(root, kill)
        except OSError:
            pass
    if not isinstance(proc, int):
        try:
            proc.kill()
        except OSError:
            pass


