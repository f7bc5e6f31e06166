"""Batch mode's fork server: one process that imports what every grading run needs
(torch, pytest, Hypothesis, the harness, the properties) once, then forks one grading run
per submission, so a class pays for those imports once rather than once per student
(measured: 1.8 CPU-seconds of each grading run; docs/maintainers.md, "CPU per submission").

A forked grading run is the single-file command exactly: `pytest.main(ARGS)` with the
batch child command's arguments (harness.grade.batch.launch.child_command), in a session of its own,
its output into the submission's log. The submission itself never runs here: the
grading run starts its worker (and sandbox) as it always does. Nothing here has run a
test or a torch operation before the fork, so no state of a previous grading run
reaches the next one (each fork starts from the server's untouched state), and no
OpenMP thread pool exists to be broken by fork().

Protocol, one JSON object a line. Requests on stdin: {"args": [...], "log": PATH}.
Replies on stdout: {"started": PID} for each request, in order, and later
{"exited": PID, "status": N, "cpu": SECONDS} (N: the exit status, or -SIGNAL; cpu: user
+ system time of the run and every process it waited for, its worker included). The
server is single-threaded (a forked child must not inherit a lock held by another
thread) and exits when stdin closes, killing the runs it still has.
"""
import atexit
import gc
import json
import os
import select
import signal
import sys

# Imported once, here, for every fork, under the names pytest gives them (rootdir on
# sys.path, `properties` a package, the root conftest as `conftest`), so that pytest finds
# them in sys.modules. The test modules themselves are NOT: @given binds the settings in
# force when it decorates, and the profile (--hypothesis-profile) is loaded only when the
# grading run configures pytest; imported here, every test would keep the default profile.
PRELOAD = ("torch", "numpy", "hypothesis", "hypothesis.extra.numpy", "pytest",
           "_hypothesis_pytestplugin", "conftest", "harness.grade.plugin", "properties.conftest")
HELPERS = ("harness.judge.efficiency", "harness.judge.policy", "harness.judge.shipped",
           "harness.judge.signatures", "harness.judge.static_checks", "harness.grade.e2e",
           "harness.confine.spies", "hypothesis.internal.conjecture.optimiser")


def _preload(root: str) -> None:
    import importlib
    import pkgutil
    if root not in sys.path:
        sys.path.insert(0, root)
    for name in PRELOAD:
        if name != "conftest" or os.path.isfile(os.path.join(root, "conftest.py")):  # none installed
            importlib.import_module(name)
    import properties
    for info in pkgutil.iter_modules(properties.__path__):
        if not info.name.startswith("test_"):  # helpers only: no @given in them
            importlib.import_module(f"properties.{info.name}")
    # What the test modules import, and pytest's own plugins (pytest imports those at each
    # start): a fork finds them loaded.
    for name in HELPERS:
        importlib.import_module(name)
    from _pytest.config import default_plugins
    for name in default_plugins:
        importlib.import_module(f"_pytest.{name}")
    from harness.confine import limits, sandbox
    sandbox.available()  # its probes (a bwrap and a Python started) are cached for every fork
    limits.process_bound()  # likewise (a Python started in a pids cgroup, for the report)
    # Hypothesis registers a Random of its own before the first test, with a full
    # gc.collect() over torch's heap (0.1 CPU-s): done here once; each fork reseeds it.
    from hypothesis.internal.entropy import deterministic_PRNG
    with deterministic_PRNG():
        pass
    # Hypothesis's pool of local constants is kept empty in a grading run
    # (harness/grade/constants.py): nothing to scan here.


def _run(args, log: str) -> int:
    """In the forked child: the grading run, output to `log`. Returns the exit status."""
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    return run_forked(args, out, out)


def run_forked(args, out: int, err: int) -> int:
    """In a child forked from a preloaded server: the single-file command `pytest ARGS` in a
    session of its own, its stdout and stderr on the fds `out` and `err` (closed here).
    Returns the exit status."""
    os.setsid()  # its own process group: the batch kills the group at the time limit
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in {out, err, devnull} - {0, 1, 2}:
        os.close(fd)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    # Hypothesis's modules were imported before pytest started, so pytest cannot rewrite
    # their asserts and says so; it has no assert of the harness's to rewrite there.
    args = ["-W", "ignore::pytest.PytestAssertRewriteWarning", *args]
    sys.argv = ["pytest"] + list(args)
    import pytest
    from hypothesis.core import threadlocal
    own_random = getattr(threadlocal, "_hypothesis_global_random", None)
    if own_random is not None:  # as in a fresh process (it seeds runs that are not derandomized)
        own_random.seed()
    try:
        status = int(pytest.main(list(args)))
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # pytest reports its own errors; this is the last resort
        import traceback
        traceback.print_exc()
        status = 3
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    return status


def _reply(message: dict) -> None:
    sys.__stdout__.write(json.dumps(message) + "\n")
    sys.__stdout__.flush()


def serve(root: str) -> None:
    _preload(root)
    # What was imported stays for every fork: the collector need not walk it again in each
    # (nor touch its pages, which would copy them).
    gc.collect()
    gc.freeze()
    _reply({"ready": os.getpid()})
    running = set()
    pending = b""
    fd = sys.stdin.fileno()
    open_input = True
    while open_input or running:
        ready, _, _ = select.select([fd] if open_input else [], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_input = False
                for pid in running:  # the batch is gone: so are its grading runs
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                sys.__stdout__.flush()
                pid = os.fork()
                if pid == 0:
                    status = 3
                    try:
                        status = _run(request["args"], request["log"])
                    except BaseException:  # before the log was opened: the server's stderr
                        import traceback
                        traceback.print_exc()
                    finally:
                        os._exit(status)
                running.add(pid)
                _reply({"started": pid})
        while running:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            running.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            _reply({"exited": pid, "status": code, "cpu": usage.ru_utime + usage.ru_stime})


class Client:
    """The batch's side: starts the server, asks it for grading runs, and waits for them.
    Thread-safe (the batch grades `--jobs` submissions at a time from a thread pool)."""

    def __init__(self, root: str, env: dict, start_timeout: float = 120.0):
        import subprocess
        import threading
        self._proc = subprocess.Popen([sys.executable, "-m", "harness.grade.batch.forkserver"], cwd=root, env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        self._lock = threading.Lock()          # one request at a time: replies come in order
        self._cond = threading.Condition()
        self._started = []                     # "started" replies not yet taken
        self._exited = {}                      # pid -> (status, cpu)
        self._ready = self._closed = False
        self._reader = threading.Thread(target=self._read, name="forkserver", daemon=True)
        self._reader.start()
        with self._cond:
            if not self._cond.wait_for(lambda: self._ready or self._closed, start_timeout):
                self.close()
                raise RuntimeError(f"the fork server did not start within {start_timeout:g} s")
            if self._closed:
                raise RuntimeError("the fork server exited while importing the harness")

    def _read(self) -> None:
        for line in self._proc.stdout:
            message = json.loads(line)
            with self._cond:
                if "ready" in message:
                    self._ready = True
                elif "started" in message:
                    self._started.append(message["started"])
                elif "exited" in message:
                    self._exited[message["exited"]] = (message["status"], message["cpu"])
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def start(self, args, log: str) -> int:
        """Fork one grading run; its pid (also its process group)."""
        with self._lock:
            with self._cond:
                if self._closed:
                    raise RuntimeError("the fork server has exited")
            self._proc.stdin.write((json.dumps({"args": list(args), "log": str(log)}) + "\n").encode())
            self._proc.stdin.flush()
            with self._cond:
                self._cond.wait_for(lambda: self._started or self._closed)
                if not self._started:
                    raise RuntimeError("the fork server exited")
                return self._started.pop(0)

    def wait(self, pid: int, timeout: float):
        """(exit status, CPU-seconds) of the run, or None when `timeout` passed first."""
        with self._cond:
            if not self._cond.wait_for(lambda: pid in self._exited or self._closed, timeout):
                return None
            if pid not in self._exited:
                raise RuntimeError("the fork server exited while a grading run was going")
            return self._exited.pop(pid)

    def close(self) -> None:
        try:
            self._proc.stdin.close()  # the server kills what still runs, then exits
        except OSError:
            pass
        try:
            self._proc.wait(timeout=30)
        except Exception:
            self._proc.kill()
            self._proc.wait()


if __name__ == "__main__":
    serve(os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))  # the checkout
