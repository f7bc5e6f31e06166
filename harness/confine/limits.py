"""What a submission may use (SPEC.md, "Resources a submission may use"): disk, processes
and wall time, on top of the worker's memory cap and the per-call and per-function budgets.

- disk: at the "sandbox" level every place the worker can write (its folder, /tmp,
  /dev/shm) lies in ONE tmpfs of `disk_mib` (bwrap --size; harness/confine/zygote_main.py mounts
  it with size= for a forked worker); the rest of its file system is read-only. tmpfs pages
  are memory: the worker's address-space cap is lowered by as much, so that the two together
  stay within the memory cap. At every level RLIMIT_FSIZE bounds each file to `disk_mib`;
  at the "unprivileged-user" and "process" levels that is all (the number of files is not
  bounded, nor is /tmp or /dev/shm).
- processes: a pids cgroup per worker (pids.max), where the harness can make one (root
  with cgroup v1's pids controller, or a writable cgroup v2 with pids enabled); all of the
  worker's tasks are in it, threads included, and all are killed when the worker stops.
  Elsewhere (a GitHub Actions runner: not root) the number is not bounded; at the
  "sandbox" level none outlives the worker all the same (its PID namespace).
- time: `submission_s` of wall time from the worker's first start to the end of grading,
  sleeping included (harness/confine/worker.py).
"""
import errno
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import NamedTuple, Optional

DEFAULT_DISK_MIB, DEFAULT_PROCESSES, DEFAULT_SUBMISSION_S = 64, 32, 300.0
DEFAULT_MEMORY_MB = 4096  # the worker's address-space cap (harness/confine/worker.py)
BWRAP_TASKS = 2   # a fresh sandboxed worker's bwrap: its monitor and the namespace's init
_CGROUP_V1 = "/sys/fs/cgroup/pids"
_CGROUP_V2 = "/sys/fs/cgroup"


class Limits(NamedTuple):
    disk_mib: int = DEFAULT_DISK_MIB
    processes: int = DEFAULT_PROCESSES
    submission_s: float = DEFAULT_SUBMISSION_S

    @property
    def disk_bytes(self) -> int:
        return self.disk_mib * 2**20


# ---------------------------------------------------------------- messages

def disk_error(error: str) -> bool:
    """An error the disk limit causes: the tmpfs is full, or a file reached RLIMIT_FSIZE."""
    return (f"[Errno {errno.ENOSPC}]" in error or f"[Errno {errno.EFBIG}]" in error
            or "No space left on device" in error or "File too large" in error)


def disk_message(limits: Limits) -> str:
    return f"it wrote more than {limits.disk_mib} MiB, the disk limit of a submission"


def process_message(limits: Limits) -> str:
    return f"it started more than {limits.processes} processes at once, the process limit of a submission"


def budget_message(limits: Limits) -> str:
    return f"the submission's time budget ran out ({limits.submission_s:.0f} s of wall time in all)"


# ---------------------------------------------------------------- processes: a pids cgroup

def _own_cgroup(controller_v1: bool) -> Optional[str]:
    """This process's cgroup path in the pids hierarchy (v1) or the unified one (v2)."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if (controller_v1 and "pids" in controllers.split(",")) or \
                        (not controller_v1 and controllers == ""):
                    return path
    except OSError:
        return None
    return None


def _cgroup_parent() -> tuple:
    """(folder under which a worker's pids cgroup is made, '') or (None, why not). cgroup v1:
    this process's pids cgroup. v2: this process's cgroup if the pids controller is enabled
    for its children, else the hierarchy's root (root only; no process of its own there)."""
    if os.path.isfile(os.path.join(_CGROUP_V1, "cgroup.procs")):
        candidates = [os.path.join(_CGROUP_V1, (_own_cgroup(True) or "/").lstrip("/"))]
    elif os.path.isfile(os.path.join(_CGROUP_V2, "cgroup.controllers")):
        own = os.path.join(_CGROUP_V2, (_own_cgroup(False) or "/").lstrip("/"))
        candidates = [p for p in (own, _CGROUP_V2) if _pids_for_children(p)]
        if not candidates:
            return None, f"the pids controller is not enabled for children of {own} (cgroup v2)"
    else:
        return None, "no pids cgroup controller is mounted"
    for parent in candidates:
        if os.access(parent, os.W_OK):
            return parent, ""
    return None, f"no write access to the pids cgroup {candidates[0]} (not root, and not delegated)"


def _pids_for_children(folder: str) -> bool:
    try:
        with open(os.path.join(folder, "cgroup.subtree_control")) as f:
            return "pids" in f.read().split()
    except OSError:
        return False


class ProcessGroup:
    """A pids cgroup of one worker: made before it starts, emptied and removed when it stops."""

    def __init__(self, path: str, limit: int):
        self.path, self.limit = path, limit

    @classmethod
    def make(cls, limit: int) -> tuple:
        """(a ProcessGroup, '') or (None, why the number of processes is not bounded here)."""
        parent, why = _cgroup_parent()
        if parent is None:
            return None, why
        _sweep(parent)
        path = os.path.join(parent, f"lc-worker-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(limit))
        except OSError as exc:
            try:
                os.rmdir(path)
            except OSError:
                pass
            return None, f"a pids cgroup cannot be made under {parent} ({exc.strerror})"
        return cls(path, limit), ""

    def add(self, pid: int = 0) -> None:
        """Move `pid` (0: the calling process; async-signal-light: a child's preexec uses it)."""
        fd = os.open(os.path.join(self.path, "cgroup.procs"), os.O_WRONLY)
        try:
            os.write(fd, str(pid or os.getpid()).encode())
        finally:
            os.close(fd)

    def pids(self) -> list:
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def refusals(self) -> int:
        """How many forks the limit refused so far (pids.events, "max N")."""
        try:
            with open(os.path.join(self.path, "pids.events")) as f:
                for line in f:
                    if line.split()[:1] == ["max"]:
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def kill_all(self, timeout: float = 10.0) -> bool:
        """SIGKILL every process in it until none is left (a fork racing the kill comes back)."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        self.kill_all()
        for _ in range(100):  # a killed task leaves the cgroup once it is reaped
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)


def _sweep(parent: str) -> None:
    """Remove the cgroups of grading runs that are gone (killed before they could): whatever
    is still in one is killed first (a worker outlives its harness only for a moment)."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        if len(parts) == 4 and parts[:2] == ["lc", "worker"] and parts[2].isdigit():
            if not os.path.exists(f"/proc/{parts[2]}"):
                ProcessGroup(os.path.join(parent, name), 0).remove()


_process_bound = None


def process_bound() -> str:
    """'' if a pids cgroup can be made here and a process moved into it, else why not
    (asked once, by doing so with a short-lived child)."""
    global _process_bound
    if _process_bound is None:
        group, why = ProcessGroup.make(DEFAULT_PROCESSES)
        if group is not None:
            try:
                subprocess.run([sys.executable, "-I", "-S", "-c", ""], preexec_fn=group.add, timeout=60,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=True)
            except (OSError, subprocess.SubprocessError) as exc:
                why = f"a process cannot be moved into a pids cgroup under {os.path.dirname(group.path)} ({exc})"
            group.remove()
        _process_bound = why
    return _process_bound


def describe(limits: Limits, level: str, memory_mb: Optional[int] = None) -> dict:
    """The report's "limits": each limit, and how it is enforced at `level` (or why not)."""
    if level == "sandbox":
        disk = ("enforced: the worker's folder, /tmp and /dev/shm are one tmpfs of that size "
                "(memory, counted in the memory cap); the rest of its file system is read-only")
    elif level == "in-process":
        disk = "not enforced (--in-process: trusted code only)"
    else:
        disk = ("partly: each file at most that size (RLIMIT_FSIZE); the number of files, and "
                "/tmp and /dev/shm shared with the machine, are not bounded at this level")
    why = process_bound() if level != "in-process" else "--in-process"
    processes = "enforced: a pids cgroup per worker (threads count)" if not why else \
        f"not enforced ({why})" + ("; none outlives the worker (its PID namespace)" if level == "sandbox" else "")
    out = {"disk_mib": limits.disk_mib, "disk": disk,
           "processes_max": limits.processes, "processes": processes,
           "submission_s": limits.submission_s,
           "time": "enforced: wall time from the worker's start, sleeping included"
           if level != "in-process" else "not enforced (--in-process)"}
    if memory_mb is not None:
        out["memory_mib"] = memory_mb
    return out
