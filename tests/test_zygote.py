"""The worker zygote (harness/confine/zygote.py, harness/confine/zygote_main.py): batch mode's workers are
forked from one pre-imported worker. Each must be confined as a fresh sandboxed worker is:
from the harness, and from the other submissions' workers forked beside it."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.confine import sandbox, zygote
from harness.confine.script import worker_env
from harness.confine.worker import WorkerSubject
from tests.harness_run import ROOT, verify

SANDBOX = next((iso for iso in sandbox.available() if iso.level == "sandbox"), None)
needs_sandbox = pytest.mark.skipif(SANDBOX is None, reason="bubblewrap cannot run here")
WRONG = ROOT / "tests" / "zoo" / "wrong" / "softmax_vec_grad_wrong_sign.py"

# What a worker sees, written at import to its stdout (the harness keeps the first 64 KiB).
PROBE = r'''
import ctypes, json, os, socket
seen = {"pid": os.getpid(), "cwd": os.getcwd(), "tmp": sorted(os.listdir("/tmp")),
        "batch": sorted(os.listdir(os.path.dirname(os.getcwd()))),
        "dumpable": ctypes.CDLL(None).prctl(3, 0, 0, 0, 0),
        "caps": [l.split()[1] for l in open("/proc/self/status") if l.startswith(("CapEff", "CapPrm"))],
        "no_new_privs": [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")],
        "readable": []}
open("/tmp/left-by-" + os.path.basename(os.getcwd()), "w").write("x")
for pid in filter(str.isdigit, os.listdir("/proc")):
    for what in ("environ", "cwd", "mem"):
        try:
            os.readlink(f"/proc/{pid}/cwd") if what == "cwd" else open(f"/proc/{pid}/{what}", "rb").read(1)
            seen["readable"].append(f"{pid}/{what}")
        except OSError:
            pass
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1)
    seen["network"] = "reached"
except OSError as exc:
    seen["network"] = exc.errno
umount = ctypes.CDLL(None, use_errno=True).umount2(os.path.dirname(os.getcwd()).encode(), 2)
seen["umount"] = umount
import sys, torch  # the Python installation stays there, read-only, wherever it lives (CI: /tmp)
torch.save({"W": torch.ones(2)}, "W.pth")  # imports what torch loads lazily
seen["saved"] = torch.load("W.pth")["W"].tolist()
try:
    open(os.path.join(sys.prefix, "written-by-a-worker"), "w")
    seen["prefix"] = "writable"
except OSError:
    seen["prefix"] = "read-only"
os.write(1, ("SEEN " + json.dumps(seen) + "\n").encode())
'''

# Leaves a daemon (double fork, new session) that outlives its worker unless its
# namespace dies with it.
DAEMON = r'''
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            time.sleep(0.1)
    os._exit(0)
os.wait()
'''


@pytest.fixture
def batch_zygote(monkeypatch):
    def start(isolation):
        made = zygote.Zygote(isolation, worker_env(os.environ))
        started.append(made)
        monkeypatch.setenv(zygote.ENV, made.address())
        return made
    started = []
    yield start
    for made in started:
        made.close()


def seen_by(worker: WorkerSubject) -> dict:
    deadline = time.monotonic() + 10
    while "SEEN " not in worker.output and time.monotonic() < deadline:
        time.sleep(0.05)
    return json.loads(worker.output.split("SEEN ", 1)[1].splitlines()[0])


def _in_folder(folder: str):
    """Host PIDs of processes whose working folder is under `folder`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(folder):
                found.append(int(pid))
        except OSError:
            pass
    return found


@needs_sandbox
def test_a_forked_worker_is_confined_from_the_others(batch_zygote, tmp_path):
    """Two workers of one batch, alive together: each is PID 1 of its own namespace, sees
    its own folder of the batch's and a /tmp of its own, holds no capability (it cannot
    unmount what hides the others), cannot read the other's or the zygote's /proc
    entries, and has no network."""
    made = batch_zygote(SANDBOX)
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    first, second = WorkerSubject(str(probe), isolation=SANDBOX), WorkerSubject(str(probe), isolation=SANDBOX)
    try:
        assert isinstance(first.proc, zygote.ZygoteWorker) and isinstance(second.proc, zygote.ZygoteWorker)
        assert first.tmp.startswith(made.folder + os.sep)
        for worker in (first, second):
            seen = seen_by(worker)
            own = os.path.basename(worker.tmp)
            assert seen["pid"] == 1 and seen["cwd"] == worker.tmp
            assert seen["batch"] == [own]                      # not the other's folder
            # Not the other's /tmp file: only what the batch's sandbox bound there (this
            # folder's parent, a Python installed under /tmp).
            assert not [f for f in seen["tmp"] if f.startswith("left-by-")], seen["tmp"]
            assert seen["caps"] == ["0000000000000000"] * 2 and seen["no_new_privs"] == ["1"]
            assert seen["dumpable"] == 0 and seen["umount"] != 0
            assert seen["network"] != "reached"
            assert seen["saved"] == [1.0, 1.0] and seen["prefix"] == "read-only"
            # Its own entries only (its PID as the batch's /proc numbers it).
            assert len({entry.split("/")[0] for entry in seen["readable"]}) <= 1, seen["readable"]
    finally:
        first.close()
        second.close()


@needs_sandbox
def test_killing_a_forked_worker_kills_what_it_started(batch_zygote, tmp_path):
    """A daemon in a session of its own dies with its worker (PID 1 of their namespace)."""
    made = batch_zygote(SANDBOX)
    path = tmp_path / "daemon.py"
    path.write_text(DAEMON)
    worker = WorkerSubject(str(path), isolation=SANDBOX)
    assert isinstance(worker.proc, zygote.ZygoteWorker)
    time.sleep(0.5)
    assert len(_in_folder(worker.tmp)) >= 2  # the worker and its daemon, seen from here
    folder = worker.tmp
    worker.close()
    deadline = time.monotonic() + 10
    while _in_folder(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _in_folder(folder)
    assert made.proc.poll() is None  # the zygote serves on


def test_a_worker_dies_when_its_grading_run_does(batch_zygote, tmp_path):
    """The zygote kills a worker whose grading run went away (its connection closed)."""
    iso = sandbox.choose("auto")
    made = batch_zygote(iso)
    path = tmp_path / "idle.py"
    path.write_text("x = 1\n")
    code = (f"import os, sys, time; sys.path.insert(0, {str(ROOT)!r}); "
            f"from harness.confine import sandbox; from harness.confine.worker import WorkerSubject; "
            f"w = WorkerSubject({str(path)!r}, isolation=sandbox.choose({iso.level!r})); "
            f"print(w.tmp, type(w.proc).__name__, flush=True); time.sleep(600)")
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                           env=dict(os.environ, **{zygote.ENV: made.address()}))
    try:
        folder, kind = run.stdout.readline().split()
        assert kind == "ZygoteWorker" and _in_folder(folder)
        run.send_signal(signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 10
        while _in_folder(folder) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _in_folder(folder)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


@pytest.mark.slow
def test_a_forked_worker_grades_as_a_fresh_one(batch_zygote, tmp_path):
    """The same report, messages and repros included, from a forked and a fresh worker."""
    batch_zygote(sandbox.choose("auto"))
    with_zygote = verify(WRONG, tmp_path / "zygote.json")
    fresh = verify(WRONG, tmp_path / "fresh.json", env={zygote.ENV: "0"})
    assert with_zygote.report["verdict"] == "fail"
    assert with_zygote.report["functions"] == fresh.report["functions"]


def test_without_a_usable_zygote_the_worker_starts_fresh(tmp_path, monkeypatch):
    """A zygote of another isolation level, or one that is gone: a fresh worker, as before."""
    path = tmp_path / "ok.py"
    path.write_text("x = 1\n")
    iso = sandbox.choose("auto")
    folder = tmp_path / "batch"
    folder.mkdir()
    for level, socket_path in ((iso.level, str(tmp_path / "gone")), ("another", str(tmp_path / "gone"))):
        monkeypatch.setenv(zygote.ENV, json.dumps({"socket": socket_path, "folder": str(folder),
                                                   "level": level}))
        worker = WorkerSubject(str(path), isolation=iso)
        try:
            assert not isinstance(worker.proc, zygote.ZygoteWorker)
            assert worker.names == []
        finally:
            worker.close()


def test_the_zygote_makes_workers_in_its_own_folder_only(batch_zygote, tmp_path):
    """A worker's folder must be one of the batch's: a request naming another is refused."""
    made = batch_zygote(sandbox.choose("auto"))
    (tmp_path / "linear_classifier.py").write_text("x = 1\n")
    address = zygote.address_for(made.level)
    with pytest.raises(zygote.ZygoteError):
        zygote.spawn(address, str(tmp_path), str(tmp_path / "linear_classifier.py"), {}, None, timeout=20)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can drop to another user")
def test_a_forked_worker_drops_to_the_unprivileged_user(batch_zygote, tmp_path):
    """At the "unprivileged-user" level (root, no namespaces) the zygote runs as root and
    each forked worker as uid/gid 65534, with no_new_privs, like a fresh one."""
    iso = sandbox.Isolation("unprivileged-user", "", None, sandbox.NOBODY, sandbox.NOBODY)
    batch_zygote(iso)
    path = tmp_path / "who.py"
    path.write_text("import os\nos.write(1, ('SEEN ' + __import__('json').dumps({'ids': [os.getuid(), "
                    "os.getgid(), *os.getgroups()], 'nnp': open('/proc/self/status').read()"
                    ".split('NoNewPrivs:')[1].split()[0]}) + '\\n').encode())\n")
    worker = WorkerSubject(str(path), isolation=iso)
    try:
        assert isinstance(worker.proc, zygote.ZygoteWorker)
        assert seen_by(worker) == {"ids": [sandbox.NOBODY, sandbox.NOBODY], "nnp": "1"}
    finally:
        worker.close()


# Leaves a file in /tmp at import; its name carries the marker and the worker's PID.
LEAVES = r'''
import os
open(f"/tmp/MARKER-{os.getpid()}", "w").write("mine")
os.write(1, ("SEEN " + __import__("json").dumps({"ids": [os.getuid(), os.getgid()]}) + "\n").encode())
'''

# What of a classmate's worker (which ran LEAVES) a worker reaches: {what: "reached" or
# the error}, for each file another worker left (test_resources grades it in a batch).
LOOK = r'''
def _look_at_classmates():
    import os
    got = {}
    for name in os.listdir("/tmp"):
        if name.startswith("MARKER-") and name != f"MARKER-{os.getpid()}":
            pid = int(name.rsplit("-", 1)[1])
            for what, look in (("file", lambda: open("/tmp/" + name).read()),
                               ("signal", lambda: os.kill(pid, 0)),
                               ("environ", lambda: open(f"/proc/{pid}/environ", "rb").read(1)),
                               ("cwd", lambda: os.readlink(f"/proc/{pid}/cwd"))):
                try:
                    look()
                    got[what] = "reached"
                except OSError as exc:
                    got[what] = type(exc).__name__
    return got
'''

LOOKS = LOOK + r'''
import json, os
seen = {"ids": [os.getuid(), os.getgid()], "got": _look_at_classmates()}
os.write(1, ("SEEN " + json.dumps(seen) + "\n").encode())
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can drop to another user")
def test_a_batch_gives_each_forked_worker_a_user_of_its_own(batch_zygote, tmp_path):
    """At the "unprivileged-user" level two workers of one batch, alive together, run as
    two users (sandbox.batch_ids): the file one leaves in /tmp is its own (0600) and the
    other can neither read it nor signal the first worker nor read its /proc entries."""
    first, second = (sandbox.Isolation("unprivileged-user", "", None, *sandbox.batch_ids(i)) for i in (0, 1))
    batch_zygote(first)
    marker = f"lc-uid-test-{os.getpid()}-{time.monotonic_ns()}"
    leaves, looks = tmp_path / "leaves.py", tmp_path / "looks.py"
    leaves.write_text(LEAVES.replace("MARKER", marker))
    looks.write_text(LOOKS.replace("MARKER", marker))
    workers = []
    try:
        workers.append(WorkerSubject(str(leaves), isolation=first))
        workers.append(WorkerSubject(str(looks), isolation=second))
        assert all(isinstance(w.proc, zygote.ZygoteWorker) for w in workers)
        left, looked = seen_by(workers[0]), seen_by(workers[1])
        assert left["ids"] == list(sandbox.batch_ids(0)) and looked["ids"] == list(sandbox.batch_ids(1))
        (path,) = Path("/tmp").glob(marker + "-*")
        assert path.stat().st_mode & 0o777 == 0o600 and path.stat().st_uid == sandbox.batch_ids(0)[0]
        assert looked["got"] == {"file": "PermissionError", "signal": "PermissionError",
                                 "environ": "PermissionError", "cwd": "PermissionError"}, looked
    finally:
        for worker in workers:
            worker.close()
        for path in Path("/tmp").glob(marker + "-*"):
            path.unlink()


def test_a_deep_temp_folder_still_gets_a_zygote_and_keeps_nothing(tmp_path, monkeypatch):
    """A socket's address holds 107 bytes; a deep TMPDIR (a test's tmp_path under a TMPDIR
    of its own) once made the zygote fail, the batch fall back to fresh workers unsaid, and
    its folders stay behind."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr("tempfile.tempdir", str(deep))
    made = zygote.Zygote(sandbox.choose("auto"), worker_env(os.environ))
    try:
        assert made.proc.poll() is None
        monkeypatch.setenv(zygote.ENV, made.address())
        path = deep / "ok.py"
        path.write_text("x = 1\n")
        worker = WorkerSubject(str(path), isolation=sandbox.choose("auto"))
        try:
            assert isinstance(worker.proc, zygote.ZygoteWorker)
        finally:
            worker.close()
    finally:
        made.close()
    assert not os.path.exists(made.control_dir) and not os.path.exists(made.folder)
    assert list(deep.iterdir()) == [path]
