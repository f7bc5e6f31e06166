"""The pytest session of batch mode (--impl FOLDER or 'GLOB'): it runs no tests itself but
grades every submission, writes the summary, and exits 0 only if every verdict is pass."""
import os
import time
from pathlib import Path
from typing import List, Optional

import pytest

from harness.confine import sandbox
from harness.grade.batch.discover import Graded, SUBMISSION_FILE, discover
from harness.grade.batch.grader import Grader, grade_all
from harness.grade.batch.launch import DEFAULT_PROFILE, DEFAULT_TIMEOUT_S, TIMEOUT_ENV, limit_args
from harness.grade.batch.progress import Progress
from harness.grade.batch.shard import Shard, in_shard
from harness.grade.batch.summary import (DEFAULT_REPORT_DIR, table_lines, write_manifest,
    write_summary)


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
        from harness.grade.e2e import batch_args
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
                      f"{self.report_dir / 'summary.csv'}, {self.report_dir / 'summary.md'}, "
                      f"{self.report_dir / 'summary.html'}")

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


