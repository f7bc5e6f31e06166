"""Progress: on a terminal, one line rewritten in place; elsewhere one line per graded
submission."""
import time
from typing import List, Optional

from harness.grade.batch.discover import Graded
from harness.grade.batch.summary import _score


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


