"""The verdict: per-function outcomes gathered from the test run, and the JSON report.

Its top level is a Gradescope results.json (score, max_score, tests), plus
"verdict" and "functions" (SPEC.md, the harness's interface).
"""
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional

from harness.api import NAMES
from harness.subject import MissingName, SubmissionError

MAX_MESSAGE_LINES = 40
STATUS_RANK = {"not run": -1, "pass": 0, "fail": 1, "error": 2, "missing": 3}


class Outcomes:
    """What the run found out about each API name."""

    def __init__(self, module_path: str = "", policy: str = "course", isolation: str = "process"):
        self.module_path = module_path
        self.policy = policy
        self.isolation = isolation  # how the submission was confined (harness/sandbox.py)
        self.status: Dict[str, str] = {n: "pass" for n in NAMES}
        self.messages: Dict[str, List[str]] = {n: [] for n in NAMES}
        self.judged: Dict[str, int] = {n: 0 for n in NAMES}
        self.harness_error: Optional[str] = None

    def _raise_to(self, name, status):
        if STATUS_RANK[status] > STATUS_RANK[self.status[name]]:
            self.status[name] = status

    def add_message(self, name: str, text: str):
        text = "\n".join(text.strip().splitlines()[:MAX_MESSAGE_LINES])
        heads = {m.splitlines()[0] for m in self.messages[name]}
        if text and text.splitlines()[0] not in heads:  # one message per rule broken
            self.messages[name].append(text)

    def record(self, name: str, passed: bool, exc: Optional[BaseException] = None, notes=()):
        """One test's result for `name` (exc: the exception that failed it)."""
        if name not in self.status:
            return
        self.judged[name] += 1
        for note in notes:
            self.add_message(name, f"note: {note}")
        if passed:
            return
        if isinstance(exc, MissingName):
            self._raise_to(name, "missing")
        elif isinstance(exc, SubmissionError) or not isinstance(exc, AssertionError):
            self._raise_to(name, "error")
        else:
            self._raise_to(name, "fail")
        self.add_message(name, str(exc) if exc is not None else "failed")

    def fail_all(self, status: str, message: str):
        self.harness_error = message
        for name in NAMES:
            self._raise_to(name, status)
            self.add_message(name, message)

    def finalize(self, complete: bool, why: str = "none of its properties ran"):
        """complete: the run owes a verdict on every name (a report was asked for)."""
        for name in NAMES:
            if self.judged[name] == 0 and self.status[name] == "pass":
                self.status[name] = "fail" if complete else "not run"
                if complete:
                    self.add_message(name, f"not judged: {why}")

    @property
    def verdict(self) -> str:
        return "pass" if all(s in ("pass", "not run") for s in self.status.values()) else "fail"

    def as_json(self) -> dict:
        tests = []
        for name in NAMES:
            ok = self.status[name] == "pass"
            body = "\n\n".join(self.messages[name]) or "all properties hold"
            tests.append(OrderedDict(name=name, score=1.0 if ok else 0.0, max_score=1.0,
                                     status="passed" if ok else "failed",
                                     output=f"{self.status[name]}: {body}"))
        return OrderedDict(
            score=float(sum(t["score"] for t in tests)),
            max_score=float(len(tests)),
            output=self.harness_error or f"verdict: {self.verdict} ({self.module_path}, "
                                        f"{self.policy} policy)",
            tests=tests,
            verdict=self.verdict,
            module=self.module_path,
            policy=self.policy,
            isolation=self.isolation,
            functions=OrderedDict((n, OrderedDict(status=self.status[n], messages=self.messages[n]))
                                  for n in NAMES),
        )


def write_atomically(path: str, data: dict) -> None:
    """Write JSON next to its destination, then rename: a reader never sees half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".json", dir=str(target.parent))
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, target)


def summary_lines(outcomes: Outcomes) -> List[str]:
    width = max(len(n) for n in NAMES)
    lines = [f"verdict: {outcomes.verdict.upper()}  ({outcomes.module_path}, {outcomes.policy} policy,"
             f" isolation: {outcomes.isolation})"]
    for name in NAMES:
        status = outcomes.status[name]
        first = next((m.splitlines()[0] for m in outcomes.messages[name]
                      if not m.startswith("note:") or status == "pass"), "")
        lines.append(f"  {name:<{width}}  {status:<7}  {first[:100]}")
    return lines
