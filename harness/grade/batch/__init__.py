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

The modules, by job: discover (what to grade), shard (--shard K/N), launch (one grading
run's command, environment, fallback report and kill), grader (running them, forked from
forkserver, their workers from the zygote; grade_all schedules them), progress, summary
(summary.csv, summary.md, .batch.json), session (the pytest session of batch mode), merge
and __main__ (`python -m harness.batch merge`). This package re-exports what callers use.
"""
from harness.grade.batch.discover import SUBMISSION_FILE, Graded, Submission, _named, discover, is_batch
from harness.grade.batch.shard import Shard, in_shard, parse_shard, shard_of
from harness.grade.batch.launch import (DEFAULT_PROFILE, DEFAULT_TIMEOUT_S, ROOT, STATUSES, TIMEOUT_ENV,
                                        _descendants, _kill_group, child_command, child_env, error_report,
                                        limit_args, write_atomically)
from harness.grade.batch.grader import Grader, grade_all
from harness.grade.batch.progress import Progress
from harness.grade.batch.summary import (CSV_COLUMNS, DEFAULT_REPORT_DIR, MANIFEST, MANIFEST_FORMAT,
                                         summary_rows, table_lines, write_manifest, write_summary)
from harness.grade.batch.merge import merge
from harness.errors import MergeError
from harness.confine import sandbox, zygote  # noqa: F401 (batch.zygote.ENV: the variable a grading run reads)


def __getattr__(name):
    """The pytest session (BatchSession, run, default_jobs) only when asked: merge and the
    other jobs need no pytest."""
    if name in ("BatchSession", "run", "default_jobs"):
        from harness.grade.batch import session
        return getattr(session, name)
    if name == "main":
        from harness.grade.batch.__main__ import main
        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
