"""The grader: runs each submission's grading (forked from the fork server, or a
subprocess), with its worker zygote, under the batch's time limit; grade_all schedules
them --jobs at a time."""
import itertools
import json
import os
import subprocess
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from harness.confine import sandbox, zygote
from harness.confine.script import worker_env
from harness.grade.batch.discover import Graded, Submission
from harness.grade.batch.launch import (DEFAULT_PROFILE, DEFAULT_TIMEOUT_S, ROOT,
    _fork_server_wanted, _kill_group, _tail, _valid, _zygote_wanted, child_command, child_env,
    error_report, write_atomically)


class Grader:
    """Grades submissions one subprocess each; kill_all() stops every running one."""

    def __init__(self, report_dir: Path, strict: bool = False, profile: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT_S, in_process: bool = False, isolation: str = "auto",
                 e2e: Sequence[str] = (), options: Sequence[str] = (), extra_env: Optional[dict] = None):
        self.report_dir = Path(report_dir)
        # more single-file options for every run: the batch's limits (--disk-limit, --process-limit,
        # --submission-budget, as given), a test's timeouts
        self.options = list(options)
        self.extra_env = dict(extra_env or {})
        self.isolation = isolation
        self.e2e = list(e2e)  # the end-to-end check's arguments (harness/grade/e2e.py, batch_args)
        self.strict = strict
        self.in_process = in_process
        self.policy = "strict" if strict else "course"
        self.profile = profile or DEFAULT_PROFILE
        self.timeout = timeout
        self._running: Dict[int, object] = {}  # pid -> Popen, or the pid of a forked run
        self._lock = threading.Lock()
        self._stopped = False
        self._forks = None               # the fork server (harness/grade/batch/forkserver.py), once started
        self._forks_lock = threading.Lock()
        self._forks_failed = not _fork_server_wanted()
        self._zygote = None              # the worker zygote (harness/confine/zygote.py), once started
        self._zygote_tried = in_process or not _zygote_wanted(self.extra_env)
        self._graded = itertools.count()  # each grading run's worker: a uid of its own (sandbox.batch_ids)

    def kill_all(self) -> None:
        with self._lock:
            self._stopped = True
            running = list(self._running.values())
        for proc in running:
            _kill_group(proc)

    def prepare(self) -> None:
        """Start what the whole batch shares -- the worker zygote, then the fork server --
        from this thread: bwrap's --die-with-parent follows the thread that started it."""
        self._fork_server(self.env())

    def close(self) -> None:
        """Stop the fork server and the worker zygote (after grade_all)."""
        with self._forks_lock:
            if self._forks is not None:
                self._forks.close()
                self._forks = None
            if self._zygote is not None:
                self._zygote.close()
                self._zygote = None

    def env(self) -> dict:
        """The grading runs' environment: child_env(), and the batch's worker zygote."""
        with self._forks_lock:
            return self._with_zygote(dict(child_env(), **self.extra_env))

    def _with_zygote(self, env: dict) -> dict:
        """`env` naming the worker zygote, started on first use (with _forks_lock held);
        `env` as it is where the zygote cannot run (fresh workers then, as before)."""
        if not self._zygote_tried:
            self._zygote_tried = True
            try:
                self._zygote = zygote.Zygote(sandbox.choose(self.isolation, sandbox.batch_ids(0)),
                                             worker_env(env))
            except (OSError, ValueError, sandbox.IsolationError, zygote.ZygoteError):
                self._zygote = None
        return env if self._zygote is None else dict(env, **{zygote.ENV: self._zygote.address()})

    def _fork_server(self, env: dict):
        """The fork server, started on first use; None where it cannot run (the batch
        then starts each grading run as a subprocess, as before)."""
        with self._forks_lock:
            if self._forks is None and not self._forks_failed:
                from harness.grade.batch.forkserver import Client
                try:
                    self._forks = Client(str(ROOT), self._with_zygote(env))
                except (OSError, RuntimeError, ValueError):
                    self._forks_failed = True
            return self._forks

    def _run(self, cmd: List[str], env: dict, out) -> Tuple[Optional[int], Optional[float]]:
        """Run one grading run to its end: (exit status or None at the time limit, its
        CPU-seconds where known)."""
        forks = self._fork_server(env)
        if forks is not None and cmd[1:3] == ["-m", "pytest"]:
            with self._lock:
                if self._stopped:
                    raise RuntimeError("batch grading was stopped")
                pid = forks.start(cmd[3:], out.name)
                self._running[pid] = pid
            try:
                ended = forks.wait(pid, self.timeout)
                if ended is None:
                    _kill_group(pid)
                    forks.wait(pid, 60)
                    return None, None
                return ended
            finally:
                with self._lock:
                    self._running.pop(pid, None)
        with self._lock:
            if self._stopped:
                raise RuntimeError("batch grading was stopped")
            proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            self._running[proc.pid] = proc
        returncode = None
        try:
            returncode = proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait()
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)
            if proc.poll() is None:  # interrupted while waiting
                _kill_group(proc)
                proc.wait()
        return returncode, None

    def grade(self, sub: Submission) -> Graded:
        """Grade one submission; any failure of the batch machinery itself becomes that
        submission's error report rather than the end of the batch."""
        start = time.monotonic()
        try:
            return self._grade(sub)
        except Exception as exc:
            if self._stopped:
                raise
            report = error_report(sub.path, f"harness: batch grading failed for this submission: "
                                            f"{type(exc).__name__}: {exc}", self.policy)
            try:
                write_atomically(str(self.report_dir / f"{sub.name}.json"), report)
            except OSError:
                pass
            return Graded(sub, report, None, time.monotonic() - start)

    def _grade(self, sub: Submission) -> Graded:
        final = self.report_dir / f"{sub.name}.json"
        log = self.report_dir / f"{sub.name}.log"
        if final.exists():
            final.unlink()  # a stale report must never stand in for this run's
        start = time.monotonic()
        # The child writes its report in a private folder; only a report that has the
        # documented shape and agrees with the exit status is copied to REPORT_DIR.
        with tempfile.TemporaryDirectory(prefix="batch-") as tmp:
            report_path = Path(tmp) / "report.json"
            plot = ["--e2e-plot", str(self.report_dir / f"{sub.name}.e2e.png")] if self.e2e else []
            own = [f"--sandbox-uid={sandbox.batch_ids(next(self._graded))[0]}"]
            cmd = child_command(sub.path, report_path, self.strict, self.profile, self.in_process,
                                self.isolation, self.e2e + plot + self.options + own)
            env = self.env()
            # Its log is the grader's alone (0600): a classmate's worker never reads its output.
            with open(log, "w", opener=lambda path, flags: os.open(path, flags, 0o600)) as out:
                os.chmod(log, 0o600)
                out.write("$ " + " ".join(cmd) + "\n")
                out.flush()
                returncode, cpu = self._run(cmd, env, out)
            seconds = time.monotonic() - start
            if self._stopped:  # killed by kill_all(): no verdict, rather than a false "error"
                raise RuntimeError("batch grading was stopped")
            output = log.read_text(errors="replace")
            report = self._judge(sub, report_path, returncode, output)
        write_atomically(str(final), report)
        return Graded(sub, report, returncode, seconds, cpu)

    def _judge(self, sub: Submission, report_path: Path, returncode: Optional[int],
               output: str) -> dict:
        if returncode is None:
            return error_report(sub.path, f"harness: timed out: grading {sub.path.name} took longer "
                                          f"than {self.timeout:g} s (the batch's wall-clock limit "
                                          f"per submission)", self.policy)
        try:
            report = json.loads(report_path.read_text())
        except (OSError, ValueError):
            report = None
        if not _valid(report):
            what = "wrote no report" if not report_path.exists() else "wrote an unreadable report"
            return error_report(sub.path, f"harness: the grading run exited with status {returncode} "
                                          f"and {what}; its last output:\n{_tail(output)}",
                                self.policy)
        if report["verdict"] == "pass" and returncode != 0:
            return error_report(sub.path, f"harness: the grading run exited with status {returncode} "
                                          f"although its report says pass; its last output:\n"
                                          f"{_tail(output)}", self.policy)
        return report


def grade_all(subs: Sequence[Submission], grader: Grader, jobs: int, progress=None,
              tick: float = 1.0) -> List[Graded]:
    """Grade `subs` `jobs` at a time; results in the order of `subs`. `progress`, if
    given, is told of each graded submission (progress.graded(g)) and, every `tick`
    seconds while submissions run, of the time passing (progress.tick())."""
    results: Dict[str, Graded] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(subs) or 1)),
                              thread_name_prefix="grade")
    try:
        pending = {pool.submit(grader.grade, sub) for sub in subs}
        while pending:
            done, pending = wait(pending, timeout=tick, return_when=FIRST_COMPLETED)
            for future in done:
                graded = future.result()
                results[graded.submission.name] = graded
                if progress is not None:
                    progress.graded(graded)
            if not done and progress is not None:
                progress.tick()
    except BaseException:
        grader.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[s.name] for s in subs]


