"""The worker zygote: one pre-imported worker per batch, forked once per submission.

Batch mode starts it once (harness/confine/zygote.py) where a fresh worker would otherwise
import torch again for every submission (1.35 CPU-s of each). It runs as
`python -I -c SOURCE LISTEN_FD LEVEL UID GID`, where SOURCE is the worker's own
script (wire.py, counting.py, worker_main.py) with this file pasted after it, under the
same isolation a worker gets (for "sandbox", inside one bwrap made for the batch). It
never loads a submission, never runs a torch op (a fork keeps no thread pool) and holds
nothing of the harness: only the paths and pipes each grading run hands it.

Each request on the listening socket (one connection per worker) carries the worker's
folder, its copy of the submission, its environment, memory cap and disk limit, whether
to wait for one byte on its request pipe before loading the submission ("hold": the
harness first moves it into its pids cgroup, harness/confine/limits.py), and three pipe
ends (SCM_RIGHTS): requests, replies, output. The zygote forks; the child confines
itself, then runs the worker's `main` on those pipes. What confines each child, on top
of the batch's isolation level:
- "sandbox": new user, mount, PID, network, IPC and UTS namespaces. Of the batch's
  folder it sees its own folder only: its folder, /tmp and /dev/shm are one tmpfs of its
  own, of the disk limit (the copy of the submission is copied in); it is PID 1
  of its namespace, so killing it kills every process it started, daemons included; it
  keeps no capability. The batch's /proc stays mounted (a new one cannot be mounted
  under bwrap's), so the siblings' PIDs are visible: every child and the zygote are
  non-dumpable, which keeps their memory, environment and files out of the others'
  reach (ptrace rules), and a sibling's PID names nothing in another PID namespace.
- "unprivileged-user": the uid/gid the request names (in a batch, the submission's own;
  never 0) and no_new_privs, umask 077, as a fresh worker.
- "process": a session of its own, as a fresh worker.
Every child: the memory cap (RLIMIT_AS), each file at most the disk limit (RLIMIT_FSIZE),
no core files, non-dumpable, no file
descriptor but its three pipes, its own environment, Python's and numpy's global RNGs reseeded.

Answers to the grading run (JSON lines): {"pid": N} with a pidfd of the worker (the
harness can kill it without the zygote), then {"exited": status} when it ends. A
closed connection or a "kill" line kills the worker (and, for "process", its session).
"""
import ctypes
import fcntl
import gc
import json
import os
import random
import re
import resource
import select
import signal
import socket
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SETUP_TIMEOUT_S = 30.0
_SHM = "/tmp/.shm"  # harness/confine/sandbox.py: the sandbox's /dev/shm is a symlink to it

_libc = ctypes.CDLL(None, use_errno=True)
_fds_moved = False  # in a child: its pipes are on their final numbers


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _prctl(option, value):
    _check(_libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_capabilities():
    """No capability left, not even in the child's own namespaces (with CAP_SYS_ADMIN
    there it could unmount the tmpfs that hides its siblings' folders)."""
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(_CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)), data), "capset")
    with open("/proc/self/status") as f:
        held = [l for l in f if l.startswith(("CapEff:", "CapPrm:")) and int(l.split()[1], 16)]
    if held:
        raise OSError(f"capabilities remain after capset: {held}")


def _own_namespaces(folder, copy, disk_bytes):
    """In the first child: namespaces of its own, and for all it may write ONE tmpfs of
    `disk_bytes` on /tmp, holding its folder (at the same path, so the harness's paths hold,
    with the submission's `copy` copied in) and /tmp/.shm (the sandbox's /dev/shm links
    there). Of the batch's folder it sees nothing else: that folder lies under /tmp."""
    with open(copy, "rb") as f:  # before the batch's /tmp is out of sight
        source = f.read()
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
                         | CLONE_NEWUTS), "unshare")
    # The zygote is not dumpable, and so its child's /proc/self files belong to root: not
    # root (bwrap run by a plain user, as on GitHub's runners), it could not write its maps.
    _prctl(PR_SET_DUMPABLE, 1)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    _prctl(PR_SET_DUMPABLE, 0)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    batch = os.path.dirname(folder)
    if not batch.startswith("/tmp/"):
        raise OSError(f"a sandboxed batch's folder lies under /tmp, not at {batch}")
    # In the new mount namespace (so they can be bound): what the batch's sandbox bound
    # read-only under /tmp (a Python installed there, as CI's venv).
    kept = {}
    for point in _mount_points_under("/tmp"):
        if point != batch and not point.startswith(batch + "/") and \
                not any(point.startswith(k + "/") for k in kept):
            kept[point] = os.open(point, os.O_PATH)
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={int(disk_bytes)}")
    os.mkdir(_SHM)
    os.makedirs(folder)
    with open(copy, "wb") as f:
        f.write(source)
    for point, fd in sorted(kept.items()):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(point, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(point), exist_ok=True)
            os.close(os.open(point, os.O_WRONLY | os.O_CREAT, 0o600))
        _mount(f"/proc/self/fd/{fd}", point, None, MS_BIND | MS_REC)  # keeps its read-only flag
        os.close(fd)


def _mount_points_under(top):
    """Mount points below `top`, outermost first (/proc/self/mountinfo, field 5)."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])  # \040: a space
            if point.startswith(top + "/"):
                points.append(point)
    return sorted(set(points), key=lambda p: (p.count("/"), p))


def _become_worker(request, fds, level, uid, gid, report):
    """In the process that will run the submission: confine it, then the worker's main."""
    if level == "unprivileged-user":
        uid, gid = request.get("uid", uid), request.get("gid", gid)
        if not all(type(i) is int and 0 < i < 2**32 - 1 for i in (uid, gid)):
            raise ValueError(f"not an unprivileged uid/gid: {uid}/{gid}")
        os.umask(0o077)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    elif level == "sandbox":
        _drop_capabilities()
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)
    if level != "sandbox":  # in a sandbox its parent exits at once; it dies with the batch's
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    cap = request.get("memory_bytes")
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    disk = int(request["disk_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
    os.chdir(request["folder"])
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    random.seed()  # as a fresh process: Python's and numpy's global RNGs from the OS's entropy
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()
    # Out of the way first: a pipe end may sit on a number the next dup2 overwrites.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (os.open(os.devnull, os.O_RDONLY), *fds, report)]
    devnull, requests, replies, output, report = high
    global _fds_moved
    _fds_moved = True
    for fd, to in ((devnull, 0), (output, 1), (output, 2), (requests, 3), (replies, 4)):
        os.dup2(fd, to)
    os.write(report, b'{"setup": "ok"}\n')
    os.closerange(5, max(os.sysconf("SC_OPEN_MAX"), max(high) + 1))
    if request.get("hold") and os.read(3, 1) != b"g":  # the harness puts it in its pids cgroup first
        os._exit(1)
    sys.argv = ["-c", "3", "4", request["copy"]]
    main(3, 4, request["copy"])  # noqa: F821 (worker_main.py, pasted before this file)


def _child(request, fds, level, uid, gid, report, inherited):
    """The forked child: never returns. Its set-up's failure is reported on `report`;
    once the worker runs, that pipe is closed and the worker's own exit status tells."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for sock in inherited:  # the zygote's sockets: theirs, not this worker's
            sock.detach()
        if level != "sandbox":
            os.setsid()
            os.write(report, (json.dumps({"pid": os.getpid()}) + "\n").encode())
        else:
            _own_namespaces(request["folder"], request["copy"], request["disk_bytes"])
            pid = os.fork()  # PID 1 of the new namespace
            if pid:
                os.write(report, (json.dumps({"pid": pid}) + "\n").encode())
                os._exit(0)
        _become_worker(request, fds, level, uid, gid, report)
    except BaseException as exc:
        if not _fds_moved:  # after that, `report` may be another file's number
            try:
                os.write(report, (json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}) + "\n").encode())
            except OSError:
                pass
        os._exit(1)
    os._exit(0)


class _Connection:
    """One grading run's request for one worker: `pid` while the worker lives."""

    def __init__(self, sock):
        self.sock, self.pid, self.used, self.buffer = sock, None, False, b""

    def send(self, message, fds=()):
        try:
            socket.send_fds(self.sock, [(json.dumps(message) + "\n").encode()], list(fds))
        except OSError:
            pass


def _read_setup(fd):
    """The first child's lines: {"pid"}, then {"setup": "ok"} from the worker, or an error."""
    lines, data = {}, b""
    while True:
        ready, _, _ = select.select([fd], [], [], _SETUP_TIMEOUT_S)
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            break
        data += chunk
    for line in data.splitlines():
        try:
            lines.update(json.loads(line))
        except ValueError:
            pass
    return lines


def _spawn(conn, request, fds, level, uid, gid, inherited):
    read_end, write_end = os.pipe()
    first = os.fork()
    if first == 0:
        os.close(read_end)
        _child(request, fds, level, uid, gid, write_end, inherited)
    os.close(write_end)
    for fd in fds:
        os.close(fd)
    setup = _read_setup(read_end)
    os.close(read_end)
    if level == "sandbox":
        os.waitpid(first, 0)  # it exits once the worker is forked
    pid = setup.get("pid")
    if setup.get("setup") != "ok" or type(pid) is not int:
        if type(pid) is int:
            _kill(pid, level)
        conn.send({"error": setup.get("error", "the worker's set-up did not finish")})
        return
    conn.pid = pid
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        conn.send({"pid": pid})
        return
    conn.send({"pid": pid}, [pidfd])
    os.close(pidfd)


def _kill(pid, level):
    for kill in ((os.killpg, os.kill) if level != "sandbox" else (os.kill,)):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def serve(listen_fd, level, uid, gid):
    # torch's modules stay for every fork: the collector need not walk them in each worker
    # (nor touch their pages, which would copy them).
    gc.collect()
    gc.freeze()
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # a sandboxed worker's parent exits: it comes back here
    batch_folder = os.getcwd()  # the harness starts the zygote in the batch's folder
    listener = socket.socket(fileno=listen_fd)
    # A worker's end is answered at once: SIGCHLD wakes the select through this pipe.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    connections = {}  # socket -> _Connection
    while True:
        ready, _, _ = select.select([listener, wake_r] + list(connections), [], [], 1.0)
        for sock in ready:
            if sock is wake_r:
                os.read(wake_r, 4096)
                continue
            if sock is listener:
                new, _ = listener.accept()
                connections[new] = _Connection(new)
                continue
            conn = connections[sock]
            try:
                message, fds, _, _ = socket.recv_fds(sock, 65536, 3)
            except OSError:
                message, fds = b"", []
            if not message:  # the grading run is done with it, or died: so is its worker
                if conn.pid is not None:
                    _kill(conn.pid, level)
                del connections[sock]
                sock.close()
                continue
            conn.buffer += message
            while b"\n" in conn.buffer:
                line, conn.buffer = conn.buffer.split(b"\n", 1)
                try:
                    request = json.loads(line)
                except ValueError:
                    request = {}
                if request.get("op") == "ping":
                    conn.send({"ready": level})
                elif request.get("op") == "spawn":
                    if not conn.used and len(fds) == 3 and \
                            os.path.dirname(str(request.get("folder"))) == batch_folder:
                        conn.used = True
                        _spawn(conn, request, fds, level, uid, gid, [listener] + list(connections))
                        fds = []
                    else:
                        conn.send({"error": "a worker is made once a connection, with three pipes, "
                                            "in a folder of the batch's"})
                elif request.get("op") == "kill" and conn.pid is not None:
                    _kill(conn.pid, level)
            for fd in fds:
                os.close(fd)
        _reap(connections, level)


def _reap(connections, level):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        for conn in connections.values():
            if conn.pid == pid:
                if level != "sandbox":  # what it left in its group goes with it, as for a fresh worker
                    try:  # (a group's number is not reused while the group has a member)
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
                conn.pid = None  # reaped: the number may be reused, never killed again
                conn.send({"exited": os.waitstatus_to_exitcode(status)})
