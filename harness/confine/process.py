"""What the harness side knows of processes, written once: a child that dies with its
parent, and the fields of /proc/PID/stat (Linux; elsewhere nothing is found)."""
import ctypes  # at the top: in a preexec_fn, an unprivileged user may not read the stdlib any more
import os
import signal
from typing import List, Optional


def die_with_parent() -> None:
    """SIGKILL when the harness dies (a preexec_fn; the process-group kill covers a normal end)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the process-group kill at the end still applies


def stat_fields(pid) -> Optional[List[str]]:
    """/proc/PID/stat after the command's name (which may hold spaces and parentheses):
    [0] the state, [1] the parent's pid, [11:15] utime, stime, cutime, cstime in clock
    ticks. None when the process is gone or there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().decode(errors="replace").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds_of(fields: List[str]) -> float:
    """User + system time of a process and its reaped children, from its stat_fields."""
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
