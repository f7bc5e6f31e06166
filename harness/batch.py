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
"""
import csv
import glob
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import pytest

from harness import sandbox
from harness.api import NAMES
from harness.report import Outcomes, write_atomically

ROOT = Path(__file__).resolve().parent.parent
SUBMISSION_FILE = "linear_classifier.py"
DEFAULT_REPORT_DIR = "reports"
DEFAULT_PROFILE = "ci"  # derandomized: a student's result does not depend on the run
DEFAULT_TIMEOUT_S = 600.0
TIMEOUT_ENV = "HARNESS_BATCH_TIMEOUT"
STATUSES = ("pass", "fail", "missing", "error")


class Submission(NamedTuple):
    name: str     # unique, safe as a file name: the report is REPORT_DIR/<name>.json
    path: Path


class Graded(NamedTuple):
    submission: Submission
    report: dict
    returncode: Optional[int]   # None: killed at the time limit
    seconds: float


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


# ---------------------------------------------------------------- grading one

def child_command(file: Path, report: Path, strict: bool = False,
                  profile: Optional[str] = None, in_process: bool = False,
                  isolation: str = "auto", extra: Sequence[str] = ()) -> List[str]:
    """The single-file command that grades one submission."""
    cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
           f"--hypothesis-profile={profile or DEFAULT_PROFILE}",
           "--impl", str(file), "--report", str(report), f"--isolation={isolation}"]
    if strict:
        cmd.append("--strict")
    if in_process:
        cmd.append("--in-process")
    return cmd + list(extra)


def error_report(file: Path, message: str, policy: str = "course") -> dict:
    """A report for a submission the harness could not judge: every function "error"."""
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


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the child and everything it started: its process group (made by
    start_new_session) and every descendant, also those that left the group with
    setsid (a sandboxed worker). The tree is stopped first, so that nothing it spawns
    meanwhile escapes."""
    stop = getattr(signal, "SIGSTOP", None)
    kill = getattr(signal, "SIGKILL", signal.SIGTERM)
    seen: List[int] = []
    for _ in range(5):
        new = [p for p in [proc.pid] + _descendants(proc.pid) if p not in seen]
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
            os.killpg(proc.pid, kill)
        except OSError:
            pass
    try:
        proc.kill()
    except OSError:
        pass


class Grader:
    """Grades submissions one subprocess each; kill_all() stops every running one."""

    def __init__(self, report_dir: Path, strict: bool = False, profile: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT_S, in_process: bool = False, isolation: str = "auto",
                 e2e: Sequence[str] = ()):
        self.report_dir = Path(report_dir)
        self.isolation = isolation
        self.e2e = list(e2e)  # the end-to-end check's arguments (harness/e2e.py, batch_args)
        self.strict = strict
        self.in_process = in_process
        self.policy = "strict" if strict else "course"
        self.profile = profile or DEFAULT_PROFILE
        self.timeout = timeout
        self._running: Dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def kill_all(self) -> None:
        with self._lock:
            self._stopped = True
            running = list(self._running.values())
        for proc in running:
            _kill_group(proc)

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
            cmd = child_command(sub.path, report_path, self.strict, self.profile, self.in_process,
                                self.isolation, self.e2e + plot)
            env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
            env.setdefault("OMP_NUM_THREADS", "1")  # jobs, not threads, use the cores
            returncode: Optional[int] = None
            with open(log, "w") as out:
                out.write("$ " + " ".join(cmd) + "\n")
                out.flush()
                with self._lock:
                    if self._stopped:
                        raise RuntimeError("batch grading was stopped")
                    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
                    self._running[proc.pid] = proc
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
            seconds = time.monotonic() - start
            if self._stopped:  # killed by kill_all(): no verdict, rather than a false "error"
                raise RuntimeError("batch grading was stopped")
            output = log.read_text(errors="replace")
            report = self._judge(sub, report_path, returncode, output)
        write_atomically(str(final), report)
        return Graded(sub, report, returncode, seconds)

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


def grade_all(subs: Sequence[Submission], grader: Grader, jobs: int, progress=None) -> List[Graded]:
    """Grade `subs` `jobs` at a time; results in the order of `subs`."""
    results: Dict[str, Graded] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(subs) or 1)),
                              thread_name_prefix="grade")
    try:
        futures = {pool.submit(grader.grade, sub): sub for sub in subs}
        for future in as_completed(futures):
            graded = future.result()
            results[graded.submission.name] = graded
            if progress is not None:
                progress(len(results), len(subs), graded)
    except BaseException:
        grader.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[s.name] for s in subs]


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
        self.submissions, self.notes = discover(impl)
        opt = config.getoption
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
                self.isolation_level = sandbox.choose(self.isolation).level
            except sandbox.IsolationError as exc:
                self.error = f"harness: cannot verify: {exc}"
        if not self.submissions:
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

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if self.error:
            return True
        tr = self._tr()
        jobs = min(self.jobs, len(self.submissions))
        if tr is not None:
            tr.write_sep("=", f"batch grading: {len(self.submissions)} submissions, {jobs} jobs, "
                              f"profile {self.profile}, {'strict' if self.strict else 'course'} policy, "
                              f"isolation {'in-process' if self.in_process else self.isolation_level}")
        if self.config.getoption("report", None):
            self.notes.append("note: --report is for one file; in batch mode the reports go to "
                              "--report-dir")
        for note in self.notes:
            self._line(note, yellow=True)
        self.report_dir.mkdir(parents=True, exist_ok=True)
        grader = Grader(self.report_dir, self.strict, self.profile, self.timeout, self.in_process,
                        self.isolation, self.e2e)

        def progress(done, total, g):
            ok = g.report["verdict"] == "pass"
            self._line(f"[{done}/{total}] {g.submission.name}: {'pass' if ok else 'FAIL'} "
                       f"{_score(g.report['score'])}/{_score(g.report['max_score'])} "
                       f"({g.seconds:.0f} s)", green=ok, red=not ok)

        start = time.monotonic()
        self.graded = grade_all(self.submissions, grader, self.jobs, progress)
        self.seconds = time.monotonic() - start
        header = (f"{len(self.graded)} submissions from `{self.impl}`, {jobs} jobs, "
                  f"Hypothesis profile `{self.profile}`, {grader.policy} policy, "
                  f"{self.seconds:.0f} s.")
        write_summary(self.report_dir, self.graded, header)
        return True

    def pytest_terminal_summary(self, terminalreporter, config):
        tr = terminalreporter
        if self.error:
            tr.write_line(self.error, red=True, bold=True)
            return
        if self.graded is None:
            return
        tr.section("batch verdict")
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
