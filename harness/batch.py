"""Batch grading: `--impl FOLDER` or `--impl 'GLOB'` grades many submissions at once.

Every submission is graded by the single-file command, `python -m pytest properties
--impl FILE --report FILE.json`, in its own subprocess (its own process group), so
this module relies on nothing but the harness's documented interface (SPEC.md):
its exit status and its report. Submissions run concurrently, `--jobs` at a time
(default: the number of CPU cores); each has a wall-clock limit
(HARNESS_BATCH_TIMEOUT seconds, default 600), past which its process group is
killed and it gets a report of its own, every function "error", "timed out".

Out of the reports come a class summary: REPORT_DIR/summary.csv and summary.md, one
row per submission, one column per API name (harness/api.py) with its status, plus
verdict and score. The pytest session itself runs no tests; its exit status is 0
if and only if every submission's verdict is pass (2: nothing to grade).

Many machines: `--shard K/N` grades the K-th of N slices of the class; a submission's
slice depends on its name alone (a hash), so it lands in the same shard on every
re-run, whatever else is in the class. Each run also writes REPORT_DIR/.batch.json (what
it graded, and where each submission stands in the whole class), and
`python -m harness.batch merge DIR... [--report-dir OUT]` joins the shards' folders
into one summary, row for row the one an unsharded run writes.

Progress: on a terminal, one line rewritten in place (done / total, pass / fail so far,
time left); elsewhere (CI, a log file) one line per graded submission.
"""
import argparse
import csv
import glob
import hashlib
import io
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import pytest

from harness import sandbox, zygote
from harness.api import NAMES

ROOT = Path(__file__).resolve().parent.parent
SUBMISSION_FILE = "linear_classifier.py"
DEFAULT_REPORT_DIR = "reports"
DEFAULT_PROFILE = "ci"  # derandomized: a student's result does not depend on the run
DEFAULT_TIMEOUT_S = 600.0
TIMEOUT_ENV = "HARNESS_BATCH_TIMEOUT"
STATUSES = ("pass", "fail", "missing", "error")
# In every report folder: what that run graded (merge reads it). A submission's name
# never starts with "." (_safe), so no report can take this name.
MANIFEST = ".batch.json"
MANIFEST_FORMAT = 1


class Submission(NamedTuple):
    name: str     # unique, safe as a file name: the report is REPORT_DIR/<name>.json
    path: Path


class Graded(NamedTuple):
    submission: Submission
    report: dict
    returncode: Optional[int]   # None: killed at the time limit
    seconds: float
    # The grading run and a fresh worker (fork server only). A worker forked by the zygote
    # is reaped there: benchmarks/grading_cost.py adds the zygote's CPU.
    cpu_seconds: Optional[float] = None


# ---------------------------------------------------------------- what to grade

def is_batch(impl: Optional[str]) -> bool:
    """True when --impl names a folder or a glob pattern rather than one file."""
    if not impl:
        return False
    path = os.path.expanduser(impl)
    if os.path.isfile(path):
        return False
    return os.path.isdir(path) or glob.has_magic(impl)


def _safe(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return name or "submission"


def _raw_name(file: Path) -> str:
    return file.parent.name if file.name == SUBMISSION_FILE and file.parent.name else file.stem


def _named(files: Sequence[Path]) -> List[Submission]:
    """Name each file by its stem, or by its folder when it is linear_classifier.py;
    names that collide get -2, -3, ... in the order of the (sorted) paths."""
    taken: Dict[str, int] = {}
    out = []
    for file in files:
        base = _safe(_raw_name(file))
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}-{n}"
        taken[name.lower()] = 1
        out.append(Submission(name, file))
    return out


def _ignored(path: Path) -> bool:
    return path.name.startswith((".", "__"))


def discover(impl: str) -> Tuple[List[Submission], List[str]]:
    """The submissions that --impl names, and notes about what was skipped.

    A folder: every *.py in it, and every */linear_classifier.py one level down (a
    folder of per-student folders). A glob: every .py file it matches, and
    linear_classifier.py inside every folder it matches. Hidden and dunder names
    (.git, __init__.py, __pycache__) are skipped.
    """
    notes: List[str] = []
    files: List[Path] = []
    folder = Path(os.path.expanduser(impl))
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            if _ignored(entry):
                continue
            if entry.is_file() and entry.suffix == ".py":
                files.append(entry)
            elif entry.is_dir():
                if (entry / SUBMISSION_FILE).is_file():
                    files.append(entry / SUBMISSION_FILE)
                else:  # a student's folder without the file should not vanish unnoticed
                    notes.append(f"skipped {entry}/: it has no {SUBMISSION_FILE}")
    else:
        pattern = os.path.expanduser(impl)
        parts = Path(pattern).parts
        fixed = next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts))
        prefix = Path(*parts[:fixed]) if fixed else Path(".")
        for match in sorted(glob.glob(pattern, recursive=True)):
            entry = Path(match)
            try:
                own = entry.relative_to(prefix).parts
            except ValueError:
                own = entry.parts
            if any(part.startswith((".", "__")) for part in own):
                continue  # hidden or dunder: .git, __pycache__, __init__.py
            if entry.is_file() and entry.suffix == ".py":
                files.append(entry)
            elif entry.is_dir() and (entry / SUBMISSION_FILE).is_file():
                files.append(entry / SUBMISSION_FILE)
            elif entry.is_dir():
                notes.append(f"skipped {entry}/: it has no {SUBMISSION_FILE}")
    return _named([f.resolve() for f in files]), notes


# ---------------------------------------------------------------- shards

class Shard(NamedTuple):
    index: int    # K, 1-based
    count: int    # N

    def __str__(self):
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 <= K <= N (argparse type for --shard)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise argparse.ArgumentTypeError(f"--shard wants K/N with 1 <= K <= N (e.g. 2/4), not {text!r}")
    return Shard(int(match.group(1)), int(match.group(2)))


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) of the submission called `name`: a hash of the name alone,
    so the same submission lands in the same shard on every run and machine, whatever
    else the class holds (Python's hash() is salted per process: not that)."""
    digest = hashlib.sha256(name.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(subs: Sequence[Submission], shard: Optional[Shard]) -> List[Submission]:
    if shard is None:
        return list(subs)
    return [s for s in subs if shard_of(s.name, shard.count) == shard.index]


# ---------------------------------------------------------------- grading one

def child_command(file: Path, report: Path, strict: bool = False,
                  profile: Optional[str] = None, in_process: bool = False,
                  isolation: str = "auto", extra: Sequence[str] = ()) -> List[str]:
    """The single-file command that grades one submission, with what costs CPU and judges
    nothing left out (measured: 1.2 CPU-seconds of every submission's start-up):
    --assert=plain: pytest would otherwise re-compile, with its assertion rewriting, every
    module of Hypothesis (an entry-point plugin's whole distribution) on every run where
    bytecode is not cached; the properties fail through harness.compare.fail, never a
    bare `assert`, so their messages are the same. no:unraisableexception: five full
    gc.collect() passes over torch's heap at exit. no:benchmark: the benchmarks' plugin."""
    cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
           "--assert=plain", "-p", "no:unraisableexception", "-p", "no:benchmark",
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
    """Grading runs are forked from one pre-imported process (harness/forkserver.py)
    where fork() exists; HARNESS_BATCH_FORK=0 starts each as a subprocess instead."""
    return hasattr(os, "fork") and os.environ.get("HARNESS_BATCH_FORK", "1") != "0"


def _zygote_wanted() -> bool:
    """Each grading run's workers are forked from one pre-imported worker of the batch's
    (harness/zygote.py) where Linux gives what it needs; HARNESS_WORKER_ZYGOTE=0 turns it off."""
    return (hasattr(os, "fork") and hasattr(socket, "send_fds") and sys.platform.startswith("linux")
            and os.environ.get("HARNESS_WORKER_ZYGOTE", "1") != "0")


def write_atomically(path: str, data: dict) -> None:
    from harness.report import write_atomically as write  # torch comes with it: only when grading
    write(path, data)


def error_report(file: Path, message: str, policy: str = "course") -> dict:
    """A report for a submission the harness could not judge: every function "error"."""
    from harness.report import Outcomes
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
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
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
        self.e2e = list(e2e)  # the end-to-end check's arguments (harness/e2e.py, batch_args)
        self.strict = strict
        self.in_process = in_process
        self.policy = "strict" if strict else "course"
        self.profile = profile or DEFAULT_PROFILE
        self.timeout = timeout
        self._running: Dict[int, object] = {}  # pid -> Popen, or the pid of a forked run
        self._lock = threading.Lock()
        self._stopped = False
        self._forks = None               # the fork server (harness/forkserver.py), once started
        self._forks_lock = threading.Lock()
        self._forks_failed = not _fork_server_wanted()
        self._zygote = None              # the worker zygote (harness/zygote.py), once started
        self._zygote_tried = in_process or not _zygote_wanted()
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
            from harness.worker import worker_env
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
                from harness.forkserver import Client
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


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


class Progress:
    """What a batch run shows while it grades: on a terminal one line, rewritten in place
    (`[12/40] 10 pass, 2 fail | 1m23s, about 2m10s left`), plus a line for each
    submission that does not pass; elsewhere (CI, a log) one line per submission."""

    def __init__(self, total: int, jobs: int, write_line, rewrite=None, clock=time.monotonic):
        self.total, self.jobs = total, max(1, min(jobs, total or 1))
        self.write_line = write_line      # write_line(text, **markup): a line of its own
        self.rewrite = rewrite            # rewrite(text): the in-place line; None: not a terminal
        self.clock = clock
        self.start = clock()
        self.done = self.passed = 0
        self.times: List[float] = []

    def eta(self) -> Optional[float]:
        """Seconds left: the submissions left, `jobs` at a time, at the mean time per
        submission so far (None before the first one is done)."""
        if not self.times:
            return None
        left = self.total - self.done
        return left * (sum(self.times) / len(self.times)) / self.jobs

    def counts(self) -> str:
        return f"{self.passed} pass, {self.done - self.passed} fail"

    def status(self) -> str:
        elapsed = self.clock() - self.start
        eta = self.eta()
        if self.done == self.total:
            left = "done"
        else:
            left = "time left unknown yet" if eta is None else f"about {_duration(eta)} left"
        return f"[{self.done}/{self.total}] {self.counts()} | {_duration(elapsed)}, {left}"

    def graded(self, g: Graded) -> None:
        self.done += 1
        ok = g.report["verdict"] == "pass"
        self.passed += ok
        self.times.append(g.seconds)
        line = (f"{g.submission.name}: {'pass' if ok else 'FAIL'} {_score(g.report['score'])}/"
                f"{_score(g.report['max_score'])} ({g.seconds:.0f} s)")
        if self.rewrite is None:
            self.write_line(f"{self.status()} | {line}", green=ok, red=not ok)
            return
        if not ok:  # a failure stays on screen above the progress line
            self.rewrite("")
            self.write_line(line, red=True)
        self.rewrite(self.status())

    def tick(self) -> None:
        if self.rewrite is not None:
            self.rewrite(self.status())

    def close(self) -> None:
        if self.rewrite is not None:
            self.rewrite(self.status())
            self.write_line("")


# ---------------------------------------------------------------- the summary

def _score(x) -> str:
    return f"{float(x):g}"


def summary_rows(graded: Sequence[Graded]) -> List[Dict[str, str]]:
    rows = []
    for g in graded:
        r = g.report
        row = {"submission": g.submission.name, "verdict": r["verdict"],
               "score": _score(r["score"]), "max_score": _score(r["max_score"])}
        row.update({n: r["functions"][n]["status"] for n in NAMES})
        row["isolation"] = r.get("isolation", "-")
        row["seconds"] = f"{g.seconds:.1f}"
        row["file"] = str(g.submission.path)
        rows.append(row)
    return rows


CSV_COLUMNS = ["submission", "verdict", "score", "max_score", *NAMES, "isolation", "seconds", "file"]


def write_summary(report_dir: Path, graded: Sequence[Graded], header: str) -> None:
    rows = summary_rows(graded)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_text(report_dir / "summary.csv", buffer.getvalue())
    _write_text(report_dir / "summary.md", _markdown(graded, rows, header))


def write_manifest(report_dir: Path, graded: Sequence[Graded], positions: Dict[str, int],
                   class_size: int, shard: Optional[Shard], impl: str, profile: str,
                   policy: str) -> None:
    """REPORT_DIR/.batch.json: what this run graded, for `merge` to check and join."""
    manifest = {
        "format": MANIFEST_FORMAT, "impl": impl, "profile": profile, "policy": policy,
        "shard": list(shard) if shard else None, "class_size": class_size,
        "submissions": [{"name": g.submission.name, "file": str(g.submission.path),
                         "position": positions[g.submission.name],
                         "seconds": round(g.seconds, 3), "returncode": g.returncode}
                        for g in graded],
    }
    _write_text(report_dir / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".summary-", dir=str(path.parent))
    with os.fdopen(fd, "w", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _first_message(entry: dict) -> str:
    for message in entry["messages"]:
        if not message.startswith("note:"):
            return message.strip().splitlines()[0] if message.strip() else ""
    return ""


def _not_passing(report: dict) -> List[Tuple[List[str], str, str]]:
    """The functions that do not pass, grouped by (status, first message): one line for a
    submission that does not import, rather than thirteen."""
    groups: Dict[Tuple[str, str], List[str]] = {}
    for n in NAMES:
        entry = report["functions"][n]
        if entry["status"] != "pass":
            groups.setdefault((entry["status"], _first_message(entry)), []).append(n)
    return [(names, status, message) for (status, message), names in groups.items()]


def _markdown(graded: Sequence[Graded], rows: List[Dict[str, str]], header: str) -> str:
    passed = sum(1 for g in graded if g.report["verdict"] == "pass")
    cols = ["submission", "verdict", "score", *NAMES]
    lines = ["# Class summary", "", header, "",
             f"{passed} of {len(graded)} submissions pass.", "",
             "| " + " | ".join(cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for row in rows:
        cells = [row["submission"], row["verdict"].upper() if row["verdict"] != "pass" else "pass",
                 f'{row["score"]}/{row["max_score"]}', *(row[n] for n in NAMES)]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    failing = [g for g in graded if g.report["verdict"] != "pass"]
    if failing:
        lines += ["", "## What does not pass", ""]
        for g in failing:
            lines.append(f"### {g.submission.name}")
            lines.append("")
            for names, status, message in _not_passing(g.report):
                which = "every function" if len(names) == len(NAMES) else ", ".join(f"`{n}`" for n in names)
                lines.append(f"- {which}: {status}: {_cell(message)[:300]}")
            lines.append("")
    lines.append("Reports: `<submission>.json` (Gradescope results.json + verdict + functions), "
                 "pytest output: `<submission>.log`.")
    return "\n".join(lines) + "\n"


def table_lines(graded: Sequence[Graded]) -> List[str]:
    width = max([len("submission")] + [len(g.submission.name) for g in graded])
    lines = [f"{'submission':<{width}}  verdict  score   time  not passing"]
    for g in graded:
        r = g.report
        groups = _not_passing(r)
        if len(groups) == 1 and len(groups[0][0]) == len(NAMES):
            _, status, message = groups[0]
            message = message.replace("harness: ", "").replace(str(g.submission.path),
                                                                g.submission.path.name)
            why = f"all ({status}): {message[:100]}"
        else:
            bad = [f"{n} ({status})" for names, status, _ in groups for n in names]
            why = ", ".join(bad) if len(bad) <= 4 else f"{', '.join(bad[:4])}, +{len(bad) - 4} more"
        verdict = "pass" if r["verdict"] == "pass" else "FAIL"
        score = f"{_score(r['score'])}/{_score(r['max_score'])}"
        lines.append(f"{g.submission.name:<{width}}  {verdict:<7}  {score:<6} {g.seconds:5.0f}s  {why}".rstrip())
    return lines


# ---------------------------------------------------------------- the pytest session

def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _timeout_from_env() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


class BatchSession:
    """The plugin that takes over a pytest session in batch mode: no collection, the
    grading in place of the test loop, the table in the terminal summary, and the exit
    status (0 iff every verdict is pass; 2 when there is nothing to grade)."""

    def __init__(self, config, impl: str):
        self.config = config
        self.impl = impl
        self.everyone, self.notes = discover(impl)
        opt = config.getoption
        self.shard: Optional[Shard] = opt("shard", None)
        self.submissions = in_shard(self.everyone, self.shard)
        self.positions = {s.name: i for i, s in enumerate(self.everyone)}
        self.report_dir = Path(opt("report_dir", None) or DEFAULT_REPORT_DIR).expanduser().resolve()
        jobs = opt("jobs", None)
        self.jobs = jobs if jobs and jobs > 0 else default_jobs()
        self.profile = opt("hypothesis_profile", None) or DEFAULT_PROFILE
        self.strict = bool(opt("strict", False))
        self.in_process = bool(opt("in_process", False))  # the trusted fast path, if asked
        self.isolation = opt("isolation", "auto")
        self.timeout = _timeout_from_env()
        from harness.e2e import batch_args
        self.e2e, e2e_note = batch_args(config)
        self.notes += [e2e_note] if e2e_note else []
        self.graded: Optional[List[Graded]] = None
        self.seconds = 0.0
        self.error: Optional[str] = None
        self.isolation_level = "in-process"
        if not self.in_process:
            try:  # refuse once, for the whole class, rather than once per submission
                self.isolation_level = sandbox.choose(self.isolation, sandbox.batch_ids(0)).level
            except sandbox.IsolationError as exc:
                self.error = f"harness: cannot verify: {exc}"
        if not self.everyone:
            self.error = (f"harness: cannot verify: no submissions in {impl} (looked for *.py and "
                          f"*/{SUBMISSION_FILE})" if Path(os.path.expanduser(impl)).is_dir()
                          else f"harness: cannot verify: the pattern {impl} matches no .py file")

    def _tr(self):
        return self.config.pluginmanager.get_plugin("terminalreporter")

    def _line(self, text: str, **markup) -> None:
        tr = self._tr()
        if tr is not None:
            tr.write_line(text, **markup)
        else:
            print(text, flush=True)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session):
        return True  # the batch session collects nothing: each submission runs in its own pytest

    def _on_terminal(self) -> bool:
        """A progress line rewritten in place: on a terminal, not in CI."""
        tr = self._tr()
        return (tr is not None and bool(getattr(tr, "isatty", False))
                and not os.environ.get("CI"))

    def _what(self) -> str:
        if self.shard is None:
            return f"{len(self.submissions)} submissions"
        return (f"shard {self.shard}: {len(self.submissions)} of {len(self.everyone)} "
                f"submissions")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if self.error:
            return True
        tr = self._tr()
        jobs = max(1, min(self.jobs, len(self.submissions)))
        if tr is not None:
            tr.write_sep("=", f"batch grading: {self._what()}, {jobs} jobs, "
                              f"profile {self.profile}, {'strict' if self.strict else 'course'} policy, "
                              f"isolation {'in-process' if self.in_process else self.isolation_level}")
        if self.config.getoption("report", None):
            self.notes.append("note: --report is for one file; in batch mode the reports go to "
                              "--report-dir")
        for note in self.notes:
            self._line(note, yellow=True)
        self.report_dir.mkdir(parents=True, exist_ok=True)
        if self.shard is not None and not self.submissions:
            self._line(f"note: no submission of this class falls in shard {self.shard}")
        grader = Grader(self.report_dir, self.strict, self.profile, self.timeout, self.in_process,
                        self.isolation, self.e2e, limit_args(self.config))
        rewrite = (lambda text: tr.rewrite(text, erase=True)) if self._on_terminal() else None
        progress = Progress(len(self.submissions), self.jobs, self._line, rewrite)
        start = time.monotonic()
        try:
            grader.prepare()
            self.graded = grade_all(self.submissions, grader, self.jobs, progress)
        finally:
            grader.close()
            progress.close()
        self.seconds = time.monotonic() - start
        header = (f"{self._what()} from `{self.impl}`, {jobs} jobs, "
                  f"Hypothesis profile `{self.profile}`, {grader.policy} policy, "
                  f"{self.seconds:.0f} s.")
        write_summary(self.report_dir, self.graded, header)
        write_manifest(self.report_dir, self.graded, self.positions, len(self.everyone),
                       self.shard, self.impl, self.profile, grader.policy)
        return True

    def pytest_terminal_summary(self, terminalreporter, config):
        tr = terminalreporter
        if self.error:
            tr.write_line(self.error, red=True, bold=True)
            return
        if self.graded is None:
            return
        tr.section("batch verdict" + (f" (shard {self.shard})" if self.shard else ""))
        if self.graded:
            for line in table_lines(self.graded):
                tr.write_line(line)
        passed = sum(1 for g in self.graded if g.report["verdict"] == "pass")
        rate = len(self.graded) / self.seconds * 60 if self.seconds > 0 else 0.0
        tr.write_line(f"{passed} of {len(self.graded)} pass; {self.seconds:.0f} s with "
                      f"{min(self.jobs, len(self.graded))} jobs ({rate:.1f} submissions/minute)",
                      bold=True, green=passed == len(self.graded), red=passed != len(self.graded))
        tr.write_line(f"reports: {self.report_dir}/<submission>.json; summary: "
                      f"{self.report_dir / 'summary.csv'}, {self.report_dir / 'summary.md'}")

    def exit_status(self) -> Optional[int]:
        if self.error:
            return 2
        if self.graded is None:
            return None  # interrupted: pytest's own status stands
        return 0 if all(g.report["verdict"] == "pass" for g in self.graded) else 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        status = self.exit_status()
        if status is not None:
            session.exitstatus = status


def run(session) -> None:
    """Called at the top of pytest_sessionstart when --impl is a folder or a glob."""
    config = session.config
    config.harness_batch = True
    plugin = BatchSession(config, config.getoption("impl"))
    try:  # the header then names the profile the submissions are graded under
        from hypothesis import settings
        settings.load_profile(plugin.profile)
    except Exception:  # an unknown profile: each grading run reports it itself
        pass
    config.pluginmanager.register(plugin, "harness-batch")


# ---------------------------------------------------------------- merging shards

class MergeError(Exception):
    """The folders given to merge do not make one whole class (one line for the user)."""


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except OSError:
        raise MergeError(f"{folder} holds no {MANIFEST}: not the report folder of a batch run "
                         "(or one that did not finish)") from None
    except ValueError:
        raise MergeError(f"{path} is not readable JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise MergeError(f"{path}: unknown format (expected {MANIFEST_FORMAT})")
    return manifest


def _check_shards(folders: Sequence[Path], manifests: Sequence[dict]) -> None:
    """Every shard K/N of one class, each once, all graded the same way."""
    first = manifests[0]
    for folder, m in zip(folders, manifests):
        for key in ("class_size", "profile", "policy"):
            if m.get(key) != first.get(key):
                raise MergeError(f"{folder} and {folders[0]} differ in {key} "
                                 f"({m.get(key)!r} against {first.get(key)!r}): not one grading run")
    shards = [tuple(m["shard"]) if m.get("shard") else None for m in manifests]
    if any(s is None for s in shards):
        if len(manifests) > 1:
            whole = folders[shards.index(None)]
            raise MergeError(f"{whole} is a whole class (no --shard); it cannot be merged with others")
        return
    counts = {n for _, n in shards}
    if len(counts) != 1:
        raise MergeError(f"the folders come from different numbers of shards: {sorted(counts)}")
    count = counts.pop()
    seen: Dict[int, Path] = {}
    for folder, (index, _) in zip(folders, shards):
        if index in seen:
            raise MergeError(f"shard {index}/{count} is given twice: {seen[index]} and {folder}")
        seen[index] = folder
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in seen]
    if missing:
        raise MergeError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"missing: {len(folders)} of {count} folders given")


def merge(folders: Sequence[Path], out: Path) -> Tuple[List[Graded], dict]:
    """Join the report folders of the N shards of one class into `out`: every
    submission's report and log, and one summary.csv / summary.md / .batch.json with the
    rows in the order of the whole class, as an unsharded run writes them."""
    folders = [Path(f).resolve() for f in folders]
    if not folders:
        raise MergeError("no folders to merge")
    manifests = [_read_manifest(f) for f in folders]
    _check_shards(folders, manifests)
    entries: Dict[str, Tuple[dict, Path]] = {}
    for folder, m in zip(folders, manifests):
        for entry in m["submissions"]:
            if entry["name"] in entries:
                raise MergeError(f"{entry['name']} was graded in two shards: "
                                 f"{entries[entry['name']][1]} and {folder}")
            entries[entry["name"]] = (entry, folder)
    size = manifests[0]["class_size"]
    if len(entries) != size:
        raise MergeError(f"the shards hold {len(entries)} submissions, but the class has {size}")
    graded: List[Graded] = []
    for entry, folder in sorted(entries.values(), key=lambda e: e[0]["position"]):
        path = folder / f"{entry['name']}.json"
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            report = None
        if not _valid(report):
            raise MergeError(f"{path}: missing, or not a report of the harness")
        graded.append(Graded(Submission(entry["name"], Path(entry["file"])), report,
                             entry.get("returncode"), float(entry.get("seconds", 0.0))))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for g, folder in ((g, entries[g.submission.name][1]) for g in graded):
        if folder != out:
            for suffix in (".json", ".log"):
                source = folder / f"{g.submission.name}{suffix}"
                if source.is_file():
                    shutil.copyfile(source, out / source.name)
    first = manifests[0]
    shards = f"{len(folders)} shards" if first.get("shard") else "1 run"
    header = (f"{len(graded)} submissions from `{first['impl']}`, merged from {shards}, "
              f"Hypothesis profile `{first['profile']}`, {first['policy']} policy, "
              f"{sum(g.seconds for g in graded):.0f} s of grading in all.")
    write_summary(out, graded, header)
    write_manifest(out, graded, {g.submission.name: i for i, g in enumerate(graded)}, size, None,
                   first["impl"], first["profile"], first["policy"])
    return graded, first


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.batch",
        description="Batch grading tools. Grading itself: python -m pytest properties "
                    "--impl FOLDER [--shard K/N] --report-dir DIR.")
    commands = parser.add_subparsers(dest="command", required=True)
    joining = commands.add_parser(
        "merge", help="join the report folders of the shards of one class into one summary",
        description="Join the report folders of `--shard 1/N` ... `--shard N/N` runs into one "
                    "summary.csv and summary.md (the rows in the order an unsharded run gives), "
                    "with every submission's report and log. Exit status: 0 if every submission "
                    "passes, 1 if any does not, 2 if the folders are not every shard of one class.")
    joining.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    joining.add_argument("--report-dir", type=Path, default=Path(DEFAULT_REPORT_DIR), metavar="OUT",
                         help=f"where the merged summary goes (default: ./{DEFAULT_REPORT_DIR})")
    args = parser.parse_args(argv)
    try:
        graded, _ = merge(args.folders, args.report_dir)
    except MergeError as exc:
        print(f"harness: cannot merge: {exc}", file=sys.stderr)
        return 2
    if graded:
        print("\n".join(table_lines(graded)))
    passed = sum(1 for g in graded if g.report["verdict"] == "pass")
    out = args.report_dir.resolve()
    print(f"{passed} of {len(graded)} pass (merged from {len(args.folders)} folders); "
          f"summary: {out / 'summary.csv'}, {out / 'summary.md'}")
    return 0 if passed == len(graded) else 1


if __name__ == "__main__":
    sys.exit(main())
