"""The single-file command, warm: `python -m harness check FILE` (docs/students.md, "The warm
command"). A student runs it after every edit; a fresh `python -m pytest properties` pays
each time for what does not judge (importing torch twice, pytest, Hypothesis, the
harness). Here the first run starts a grading server for this user, this checkout and
this environment, which imports all of that once and keeps a worker zygote
(harness/confine/zygote.py); every run after it is a grading run forked from the server, exactly
as batch mode forks its grading runs (harness/grade/batch/forkserver.py): the same code judges, in a
process of its own, its worker forked from the zygote at the same isolation level.

The client sends the server its arguments, its environment and its stdout and stderr
(SCM_RIGHTS): the grading run writes to the student's terminal itself, and its exit status
comes back. The server answers only its own user (SO_PEERCRED), listens in a folder only
that user can enter, and exits after HARNESS_WARM_IDLE seconds (900) without a run, or at
`python -m harness stop`. A changed source file of the harness, or a changed environment
variable that the preloaded modules read, gives a new server; the old one idles out.

This module is the client too: it imports only the standard library until it is the
server.
"""
import hashlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

from harness.confine import locate
from harness.grade.private import FolderRefused, private_folder

ROOT = locate.root()  # the checkout, or where the harness is installed
DIR_ENV = "HARNESS_WARM_DIR"        # where the servers' sockets and logs live
IDLE_ENV = "HARNESS_WARM_IDLE"      # seconds a server waits for its next run
DEFAULT_IDLE_S = 900.0
START_TIMEOUT_S = 120.0
# What the server reads once, at its start, from the environment and from disk: a run
# that differs in any of these gets a server of its own.
SOURCES = ("conftest.py", "harness", "properties", "reference")
KEYED_ENV_PREFIXES = ("HARNESS_", "HYPOTHESIS_")
KEYED_ENV = ("CI", "TMPDIR", "PATH", "PYTHONPATH", "OMP_NUM_THREADS")
# The options whose value is a path, resolved against the client's folder (the grading
# run works in the checkout).
PATH_OPTIONS = ("--impl", "--report", "--report-dir", "--cifar", "--e2e-plot")


class WarmUnavailable(Exception):
    """No warm server can grade here (the caller grades in a fresh process)."""


# ---------------------------------------------------------------- the client

def absolute(args: Sequence[str], cwd: str) -> List[str]:
    """`args` with the values of PATH_OPTIONS made absolute against `cwd`."""
    out, args = [], list(args)
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if eq and name in PATH_OPTIONS:
            arg = f"{name}={os.path.join(cwd, os.path.expanduser(value))}"
        elif i > 0 and args[i - 1] in PATH_OPTIONS and not arg.startswith("-"):
            arg = os.path.join(cwd, os.path.expanduser(arg))
        out.append(arg)
    return out


def state_dir() -> Path:
    """This user's folder for the servers: created 0700, refused unless it is a folder of
    this user's that nobody else can enter."""
    base = os.environ.get(DIR_ENV) or os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp",
                                                  f"lc-harness-{os.getuid()}")
    try:
        return private_folder(base)
    except FolderRefused as exc:
        raise WarmUnavailable(str(exc)) from None


def source_files(root: Path) -> List[Path]:
    """The files of SOURCES that the grading reads (code, the catalogue, the shipped
    counters), in a fixed order: the server's key here, the verdict cache's context."""
    files = []
    for source in SOURCES:
        top = root / source
        files += [top] if top.is_file() else sorted(p for p in top.rglob("*")
                                                    if p.suffix in (".py", ".toml", ".json") and p.is_file())
    return files


def key(env=None) -> str:
    """The server this run may use: this Python, this checkout's sources (paths, sizes,
    modification times) and the environment its modules read at import."""
    env = os.environ if env is None else env
    digest = hashlib.sha256(f"{sys.executable}\0{ROOT}\0".encode())
    for path in source_files(ROOT):
        info = path.stat()
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    for name in sorted(env):
        if name in KEYED_ENV or name.startswith(KEYED_ENV_PREFIXES):
            digest.update(f"{name}={env[name]}\0".encode())
    return digest.hexdigest()[:16]


def _connect(path: Path) -> Optional[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
        return sock
    except OSError:
        sock.close()
        return None


def _start_server(path: Path) -> socket.socket:
    log = open(path.with_suffix(".log"), "ab")
    with log:
        server = subprocess.Popen([sys.executable, "-m", "harness.grade.warm", str(path)], cwd=ROOT,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                  start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        sock = _connect(path)
        if sock is not None:
            return sock
        if server.poll() is not None:
            raise WarmUnavailable(f"the grading server exited at its start (see {path.with_suffix('.log')})")
        time.sleep(0.05)
    server.kill()
    raise WarmUnavailable(f"the grading server did not start within {START_TIMEOUT_S:g} s")


def through_server(args: Sequence[str]) -> int:
    """Grade with `pytest ARGS` forked from this run's warm server (started if none):
    its exit status. WarmUnavailable before anything was graded."""
    path = state_dir() / f"{key()}.sock"
    sock = _connect(path) or _start_server(path)
    request = json.dumps({"args": list(args), "env": dict(os.environ)}).encode() + b"\n"
    sys.stdout.flush()
    sys.stderr.flush()
    with sock:
        try:
            socket.send_fds(sock, [request], [sys.stdout.fileno(), sys.stderr.fileno()])
        except OSError as exc:
            raise WarmUnavailable(f"the grading server did not take the run ({exc})") from None
        reply = b""
        try:
            while not reply.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except KeyboardInterrupt:  # closing the connection stops the run (its report is written)
            return 130
    if not reply:
        print("harness: the grading server ended before the grading did", file=sys.stderr)
        return 3
    return int(json.loads(reply)["status"])


def run(args: Sequence[str], fresh: bool = False) -> int:
    """The single-file command with `args` (as after `python -m pytest properties`):
    warm unless `fresh`, or where no server can be had (said on stderr)."""
    args = [*locate.PYTEST_ARGS] + absolute(args, os.getcwd())
    if not fresh:
        try:
            return through_server(args)
        except WarmUnavailable as exc:
            print(f"harness: grading in a fresh process: {exc}", file=sys.stderr)
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT)


def stop() -> int:
    """Stop this user's warm servers: how many there were."""
    stopped = 0
    for path in state_dir().glob("*.sock"):
        sock = _connect(path)
        if sock is None:
            path.unlink(missing_ok=True)
            continue
        with sock:
            sock.sendall(json.dumps({"stop": True}).encode() + b"\n")
            sock.recv(64)
        stopped += 1
    return stopped


# ---------------------------------------------------------------- the server

def _peer_uid(conn: socket.socket) -> int:
    return struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]


def _read_request(conn: socket.socket, pending: bytearray, fds: list) -> Optional[dict]:
    """More of a client's request; the request once its line is whole (None till then;
    {} when the client left)."""
    data, got, _, _ = socket.recv_fds(conn, 1 << 16, 2)
    fds.extend(got)
    if not data:
        return {}
    pending += data
    if b"\n" not in pending:
        return None
    return json.loads(bytes(pending).split(b"\n", 1)[0])


def serve(path: str) -> None:
    from harness.grade.batch import forkserver
    forkserver._preload(str(ROOT))
    zygote_env = _start_zygote()
    import gc
    gc.collect()
    gc.freeze()
    idle_s = float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_S))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)  # a server that died; the client found nothing listening
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    waiting = {}   # conn -> (bytes so far, fds so far): requests not yet whole
    runs = {}      # pid -> conn
    stopping = {}  # pid -> when to SIGKILL
    ends = {}      # pid -> its pidfd, readable when the run ends: the reply goes at once,
    #                not at the next 0.2 s tick (without pidfds, older kernels, the tick it is)
    last = time.monotonic()
    try:
        while True:
            if not runs and not waiting and time.monotonic() - last > idle_s:
                break
            ready, _, _ = select.select([listener, *waiting, *runs.values(), *ends.values()], [], [], 0.2)
            for sock in ready:
                if type(sock) is int:  # a run's pidfd: it ended, reaped below
                    continue
                if sock is listener:
                    conn, _ = listener.accept()
                    if _peer_uid(conn) != os.getuid():
                        conn.close()
                    else:
                        waiting[conn] = (bytearray(), [])
                elif sock in waiting:
                    pending, fds = waiting[sock]
                    try:
                        request = _read_request(sock, pending, fds)
                    except (OSError, ValueError):
                        request = {}
                    if request is None:
                        continue
                    del waiting[sock]
                    if request.get("stop"):
                        sock.sendall(b'{"stopped": true}\n')
                        return
                    if "args" not in request or len(fds) != 2:
                        sock.close()
                        for fd in fds:
                            os.close(fd)
                        continue
                    pid = os.fork()
                    if pid == 0:
                        status = 3
                        try:
                            listener.close()
                            for other in [*waiting, *runs.values()]:
                                other.close()
                            os.environ.clear()
                            os.environ.update(request["env"], **zygote_env)
                            os.chdir(ROOT)
                            status = forkserver.run_forked(request["args"], fds[0], fds[1])
                        finally:
                            os._exit(status)
                    for fd in fds:
                        os.close(fd)
                    runs[pid] = sock
                    try:
                        ends[pid] = os.pidfd_open(pid)
                    except (AttributeError, OSError):
                        pass
                    last = time.monotonic()
                else:  # a client with a run going: it sent nothing more, so it left
                    pid = next(p for p, c in runs.items() if c is sock)
                    if pid not in stopping:
                        _signal_group(pid, signal.SIGTERM)  # the run writes its report and ends
                        stopping[pid] = time.monotonic() + 10
            for pid, when in list(stopping.items()):
                if pid in runs and time.monotonic() > when:
                    _signal_group(pid, signal.SIGKILL)
            while runs:
                try:
                    pid, status, usage = os.wait4(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                conn = runs.pop(pid)
                stopping.pop(pid, None)
                if pid in ends:
                    os.close(ends.pop(pid))
                try:
                    conn.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status), "server": os.getpid(),
                                             "cpu": usage.ru_utime + usage.ru_stime}).encode() + b"\n")
                except OSError:
                    pass
                conn.close()
                last = time.monotonic()
    finally:
        for pid in runs:
            _signal_group(pid, signal.SIGKILL)
        for own in (path, str(Path(path).with_suffix(".log"))):  # an orderly end leaves nothing
            try:
                os.unlink(own)
            except OSError:
                pass


def _signal_group(pid: int, sig) -> None:
    try:
        os.killpg(pid, sig)
    except OSError:
        pass


_ZYGOTE = None


def _start_zygote() -> dict:
    """The worker zygote every grading run of this server forks its worker from, at this
    machine's best isolation level: the environment that names it ({} where it cannot
    run: fresh workers then, as before)."""
    global _ZYGOTE
    from harness.confine import sandbox, zygote
    from harness.confine.script import worker_env
    if os.environ.get(zygote.ENV) == "0":
        return {}
    try:
        _ZYGOTE = zygote.Zygote(sandbox.choose("auto", None), worker_env(dict(os.environ)))
    except (OSError, ValueError, sandbox.IsolationError, zygote.ZygoteError):
        return {}
    return {zygote.ENV: _ZYGOTE.address()}


if __name__ == "__main__":
    try:
        serve(sys.argv[1])
    finally:
        if _ZYGOTE is not None:
            _ZYGOTE.close()
