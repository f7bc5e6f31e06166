"""The harness's side of the worker zygote (harness/confine/zygote_main.py): batch mode starts
one per batch, and each grading run asks it for its workers instead of starting a fresh
Python that imports torch again.

The batch's Grader starts it (`Zygote`) and names it to the grading runs in the
environment (HARNESS_WORKER_ZYGOTE: its control socket, the batch's worker folder and
its isolation level). A grading run whose isolation is that level makes its worker's
folder under the batch's folder and calls `spawn`; any other run, or a spawn that fails,
starts a fresh worker as before. The control socket lives in a folder of the harness's
that no worker sees.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

from harness.confine import limits, sandbox
from harness.confine.process import cpu_seconds_of, die_with_parent as _die_with_parent, stat_fields
from harness.confine.script import zygote_source
from harness.errors import ZygoteError

ENV = "HARNESS_WORKER_ZYGOTE"
UNIX_PATH_ROOM = 60  # the longest temp folder for the control socket (an address holds 107 bytes)


def _read_line(sock: socket.socket, deadline: float, want_fds: int = 0, pending: bytearray = None):
    """One JSON line from the zygote (and the fds sent with it). `pending` keeps what came
    after it (the zygote may have written its next line already)."""
    pending = bytearray() if pending is None else pending
    data, fds = bytes(pending), []
    pending.clear()
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ZygoteError("the zygote did not answer in time")
        sock.settimeout(left)
        try:
            chunk, got, _, _ = socket.recv_fds(sock, 4096, max(want_fds, 1))
        except (OSError, socket.timeout) as exc:
            raise ZygoteError(f"the zygote's answer could not be read ({exc})") from None
        if not chunk:
            raise ZygoteError("the zygote closed the connection")
        data += chunk
        fds += got
    line, rest = data.split(b"\n", 1)
    pending += rest
    try:
        message = json.loads(line)
    except ValueError:
        raise ZygoteError("the zygote's answer is not JSON") from None
    return message, fds


class Zygote:
    """The batch's zygote: started here, under `isolation` (a sandbox.Isolation)."""

    def __init__(self, isolation: sandbox.Isolation, env: dict, start_timeout: float = 120.0):
        self.level = isolation.level
        # The workers' folders: in a sandbox under /tmp, where each worker's own /tmp is
        # mounted; elsewhere where the unprivileged user can pass through to its own.
        self.folder = os.path.realpath(tempfile.mkdtemp(
            prefix="lc-zygote-", dir="/tmp" if self.level == "sandbox" and os.path.isdir("/tmp")
            else sandbox.workers_tempdir()))
        # Never bound into a sandbox; short enough for a socket's address (108 bytes), which
        # a deep TMPDIR (a test's tmp_path) is not: /tmp then.
        self.control_dir = tempfile.mkdtemp(prefix="lc-zygote-control-", dir=None if len(
            tempfile.gettempdir()) <= UNIX_PATH_ROOM else "/tmp")
        self.control = os.path.join(self.control_dir, "socket")
        self.proc = None
        try:
            os.chmod(self.folder, 0o711)  # an unprivileged worker passes through to its own folder
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                listener.bind(self.control)
                listener.listen(64)
                command = [sandbox.python(), "-I", "-c", zygote_source(), str(listener.fileno()), self.level,
                           str(isolation.uid), str(isolation.gid)]
                if self.level == "sandbox":  # the batch's folder, read-only: each worker copies its file
                    command = sandbox.bwrap_command(isolation.bwrap, self.folder, isolation.uid,
                                                    isolation.gid, ro_binds=[self.folder]) + command
                self.proc = subprocess.Popen(command, cwd=self.folder, env=env, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                             pass_fds=(listener.fileno(),), start_new_session=True,
                                             preexec_fn=_die_with_parent)
            finally:
                listener.close()
        except BaseException:
            self.close()  # its folders too: a zygote that could not start leaves nothing
            raise
        try:
            with self._connect(start_timeout) as sock:
                sock.sendall(b'{"op": "ping"}\n')
                answer, _ = _read_line(sock, time.monotonic() + start_timeout)
            if answer.get("ready") != self.level:
                raise ZygoteError(f"the zygote answered {answer}")
        except BaseException:
            self.close()
            raise

    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.control)
        except OSError as exc:
            sock.close()
            raise ZygoteError(f"the zygote cannot be reached ({exc})") from None
        return sock

    def address(self) -> str:
        """What the grading runs find in HARNESS_WORKER_ZYGOTE."""
        return json.dumps({"socket": self.control, "folder": self.folder, "level": self.level})

    def cpu_seconds(self) -> float:
        """CPU-seconds of the zygote and every worker it has reaped (for benchmarks: in a
        sandbox the zygote is bwrap's grandchild, so the harness's getrusage misses it)."""
        total, todo = 0.0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            fields = stat_fields(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            if fields is None:
                continue
            if pid != self.proc.pid or self.level != "sandbox":  # bwrap itself is not a worker
                total += cpu_seconds_of(fields)
            todo += [int(c) for c in children]
        return total

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap, and with it the whole sandbox
            except OSError:
                pass
        if self.proc is not None:
            self.proc.wait()
        shutil.rmtree(self.control_dir, ignore_errors=True)
        shutil.rmtree(self.folder, ignore_errors=True)


class Address:
    """A zygote as a grading run knows it (from HARNESS_WORKER_ZYGOTE)."""

    def __init__(self, socket_path: str, folder: str, level: str):
        self.socket, self.folder, self.level = socket_path, folder, level


def address_for(level: str) -> Optional[Address]:
    """The batch's zygote, if there is one and it gives workers at this isolation level."""
    try:
        found = json.loads(os.environ.get(ENV, ""))
        address = Address(str(found["socket"]), str(found["folder"]), str(found["level"]))
    except (ValueError, KeyError, TypeError):
        return None
    return address if address.level == level and os.path.isdir(address.folder) else None


class ZygoteWorker:
    """A worker the zygote forked: what the worker's Popen was (pid, stdout, kill, wait)."""

    def __init__(self, sock: socket.socket, pid: int, pidfd: Optional[int], stdout, pending=b""):
        self.sock, self.pid, self.pidfd, self.stdout = sock, pid, pidfd, stdout
        self.pending = bytearray(pending)  # what the zygote wrote after {"pid"}, unread
        self.returncode: Optional[int] = None

    def kill(self) -> None:
        if self.pidfd is not None:  # straight from here: works even if the zygote is stuck
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.sock.sendall(b'{"op": "kill"}\n')  # the zygote kills its session too ("process")
        except OSError:
            pass

    def wait(self, timeout: Optional[float] = None) -> int:
        """Its exit status, as the zygote reaped it (as Popen.wait: TimeoutExpired if it has
        not ended by then; -9 if the zygote is gone and cannot say)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 3600.0)
        while self.returncode is None:
            try:
                message, _ = _read_line(self.sock, deadline, pending=self.pending)
            except ZygoteError as exc:
                if time.monotonic() >= deadline:
                    raise subprocess.TimeoutExpired("worker", timeout) from None
                self.returncode = -signal.SIGKILL  # the connection is gone: so is the worker
                break
            if "exited" in message:
                try:
                    self.returncode = int(message["exited"])
                except (TypeError, ValueError):
                    self.returncode = -signal.SIGKILL
        return self.returncode

    def close(self) -> None:
        """Done with it: the zygote kills it if it still runs."""
        for close in (self.sock.close, self.stdout.close,
                      lambda: self.pidfd is not None and os.close(self.pidfd)):
            try:
                close()
            except OSError:
                pass


def spawn(address: Address, folder: str, copy: str, env: dict, memory_bytes: Optional[int],
          disk_bytes: int = limits.Limits().disk_bytes, group=None, timeout: float = 30.0,
          ids=(sandbox.NOBODY, sandbox.NOBODY)):
    """A worker for the submission copied to `copy` in `folder`, on three fresh pipes:
    (the worker, the requests' write end, the replies' read end). `group` (a
    limits.ProcessGroup): the worker is put in it before it runs the submission. `ids`:
    its uid and gid at the "unprivileged-user" level (its own in a batch: sandbox.batch_ids)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    out_r, out_w = os.pipe()
    theirs, ours, fds = [req_r, rep_w, out_w], [req_w, rep_r, out_r], []
    try:
        sock.connect(address.socket)
        request = {"op": "spawn", "folder": folder, "copy": copy, "env": env,
                   "memory_bytes": memory_bytes, "disk_bytes": disk_bytes, "hold": group is not None,
                   "uid": ids[0], "gid": ids[1]}
        socket.send_fds(sock, [(json.dumps(request) + "\n").encode()], theirs)
        _close(theirs)
        theirs = []
        pending = bytearray()
        answer, fds = _read_line(sock, time.monotonic() + timeout, want_fds=1, pending=pending)
        if type(answer.get("pid")) is not int:
            _close(fds)
            fds = []
            raise ZygoteError(str(answer.get("error", answer))[:300])
        if group is not None:  # the worker waits for one byte: first into its pids cgroup
            if not fds:
                raise ZygoteError("no pidfd: the worker cannot be put in its pids cgroup")
            group.add(_host_pid(fds[0]))
            os.write(req_w, b"g")
    except (OSError, ZygoteError, ValueError) as exc:
        _close(theirs + ours + fds[:1])
        sock.close()
        raise ZygoteError(str(exc)) from None
    sock.settimeout(None)
    worker = ZygoteWorker(sock, answer["pid"], fds[0] if fds else None, os.fdopen(out_r, "rb"), pending)
    return worker, req_w, rep_r


def _host_pid(pidfd: int) -> int:
    """The pid, in this PID namespace, of the process a pidfd refers to."""
    with open(f"/proc/self/fdinfo/{pidfd}") as f:
        for line in f:
            if line.startswith("Pid:"):
                pid = int(line.split()[1])
                if pid > 0:
                    return pid
    raise ZygoteError("the worker's pid cannot be read from its pidfd")


def _close(fds) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
