"""The verdict: per-function outcomes gathered from the test run, and the JSON report.

Its top level is a Gradescope results.json (score, max_score, tests), plus
"verdict" and "functions" (SPEC.md, The harness's interface).
"""
from collections import OrderedDict
from typing import Dict, List, Optional

from harness.judge import mistakes
from harness.api import NAMES
from harness.grade.atomic import write_json as write_atomically  # noqa: F401 (the plugin's)
from harness.errors import MissingName, SubmissionError

MAX_MESSAGE_LINES = 40
MAX_REPRO_CHARS = 6000   # shrunk inputs make a few hundred; a report stays small (13 functions)
FLOAT32_NOTE = "[with float32 inputs"   # harness/judge/policy.py's remark on a float32-only breakage
STATUS_RANK = {"not run": -1, "pass": 0, "fail": 1, "error": 2, "missing": 3}


class Outcomes:
    """What the run found out about each API name."""

    def __init__(self, module_path: str = "", policy: str = "course", isolation: str = "process"):
        self.module_path = module_path
        self.policy = policy
        self.isolation = isolation  # how the submission was confined (harness/confine/sandbox.py)
        self.limits: Dict[str, object] = {}  # what it may use, and how that is enforced (harness/confine/limits.py)
        self.status: Dict[str, str] = {n: "pass" for n in NAMES}
        self.messages: Dict[str, List[str]] = {n: [] for n in NAMES}
        self.judged: Dict[str, int] = {n: 0 for n in NAMES}
        self.repro: Dict[str, Optional[str]] = {n: None for n in NAMES}
        self.mistakes: Dict[str, List[str]] = {n: [] for n in NAMES}
        self.harness_error: Optional[str] = None
        self.cache: Optional[dict] = None  # what the verdict cache reused (harness/grade/cache.py)

    def _raise_to(self, name, status):
        if STATUS_RANK[status] > STATUS_RANK[self.status[name]]:
            self.status[name] = status

    def add_message(self, name: str, text: str, repro: Optional[str] = None):
        """One message per rule broken; the repro is printed with the first failure only
        (the report keeps it in the function's "repro" field)."""
        text = text.strip()
        if "\n  repro:\n" in text:
            text = text.split("\n  repro:\n", 1)[0]
        text = "\n".join(text.splitlines()[:MAX_MESSAGE_LINES])
        heads = {m.splitlines()[0] for m in self.messages[name]}
        if not text or text.splitlines()[0] in heads:
            return
        if repro and self.repro[name] is None:
            self.repro[name] = (repro if len(repro) <= MAX_REPRO_CHARS else
                                f"# the repro is {len(repro)} characters long: too long to show\n")
            text += "\n  repro (runs on its own; it checks the right answer):\n" + "\n".join(
                "    " + line for line in self.repro[name].splitlines())
        self.messages[name].append(text)

    def record(self, name: str, passed: bool, exc: Optional[BaseException] = None, notes=(), probe=None):
        """One test's result for `name` (exc: the exception that failed it; probe: calls `name`
        once more, for naming the mistake behind an error)."""
        if name not in self.status:
            return
        self.judged[name] += 1
        for note in notes:
            self.add_message(name, f"note: {note}")
        if passed:
            return
        if isinstance(exc, BaseExceptionGroup):  # Hypothesis's FlakyFailure: a call refused on replay
            refused = exc.subgroup(lambda e: isinstance(e, SubmissionError))  # (e.g. the time budget ran out)
            if refused is not None:
                exc = _first_leaf(refused)
        text = str(exc) if exc is not None else "failed"
        mistake = getattr(exc, "mistake", None)
        if isinstance(exc, MissingName):
            self._raise_to(name, "missing")
        elif isinstance(exc, SubmissionError) or not isinstance(exc, AssertionError):
            self._raise_to(name, "error")
            evidence = {"kind": "error", "function": name, "text": text}
            if probe is not None:
                evidence["probe"] = probe
            extra = getattr(exc, "evidence", None)  # what the property adds for its errors (a replay)
            if isinstance(extra, dict):
                evidence.update((k, v) for k, v in extra.items() if k not in evidence)
            found = mistakes.recognize(evidence)
            if found:
                mistake = found.id
                text += f"\n  looks like: {found.looks_like}"
        else:
            self._raise_to(name, "fail")
        if mistake and mistake not in self.mistakes[name]:
            self.mistakes[name].append(mistake)
        self.add_message(name, text, getattr(exc, "repro", None))

    def outcome(self, name: str) -> dict:
        """What the run found about `name` before `finalize`: what the verdict cache keeps."""
        return {"status": self.status[name], "messages": list(self.messages[name]), "judged": self.judged[name],
                "repro": self.repro[name], "mistakes": list(self.mistakes[name])}

    def restore(self, name: str, outcome: dict) -> None:
        """`name` as a run that judged it found it (`outcome`), in place of judging it again."""
        self.status[name] = outcome["status"]
        self.messages[name] = list(outcome["messages"])
        self.judged[name] = outcome["judged"]
        self.repro[name] = outcome["repro"]
        self.mistakes[name] = list(outcome["mistakes"])

    def fail_all(self, status: str, message: str):
        self.harness_error = message
        for name in NAMES:
            self._raise_to(name, status)
            self.add_message(name, message)

    def finalize(self, complete: bool, why: str = "none of its properties ran"):
        """complete: the run owes a verdict on every name (a report was asked for).
        A float32 remark on a function that already fails is noise: dropped."""
        for name in NAMES:
            for dropped in mistakes.explained(self.mistakes[name]):
                self.mistakes[name].remove(dropped)
                line = f"\n  looks like: {mistakes.BY_ID[dropped].looks_like}"
                self.messages[name] = [m.replace(line, "") for m in self.messages[name]]
            if self.status[name] in ("fail", "error", "missing"):
                self.messages[name] = [m for m in self.messages[name]
                                       if not (m.startswith("note:") and FLOAT32_NOTE in m)]
            if self.judged[name] == 0 and self.status[name] == "pass":
                self.status[name] = "fail" if complete else "not run"
                if complete:
                    self.add_message(name, f"not judged: {why}")

    @property
    def verdict(self) -> str:
        return "pass" if all(s in ("pass", "not run") for s in self.status.values()) else "fail"

    def markdown(self, name: str) -> str:
        """Gradescope's output for one function: the rule as text, expected/got and the
        named mistake as code, the repro as a Python code block."""
        parts = [f"**{self.status[name]}**" + ("" if self.messages[name] else ": all properties hold")]
        for message in self.messages[name]:
            message, _, repro = message.partition("\n  repro (runs on its own; it checks the right answer):\n")
            head, *details = message.splitlines()
            parts.append(head)
            if details:
                parts.append("```\n" + "\n".join(d.strip() for d in details) + "\n```")
            if repro:
                parts.append("repro (runs on its own; it checks the right answer):\n\n```python\n"
                             + "\n".join(line[4:] for line in repro.splitlines()) + "\n```")
        return "\n\n".join(parts)

    def entry(self, name: str) -> dict:
        """A function's entry: status, messages, and for a failing one its repro and the
        ids of the mistakes it looks like (harness/judge/mistakes.toml)."""
        entry = OrderedDict(status=self.status[name], messages=self.messages[name])
        if self.status[name] != "pass":
            entry["repro"] = self.repro[name]
            entry["mistakes"] = self.mistakes[name]
        return entry

    def as_json(self) -> dict:
        tests = []
        for name in NAMES:
            ok = self.status[name] == "pass"
            tests.append(OrderedDict(name=name, score=1.0 if ok else 0.0, max_score=1.0,
                                     status="passed" if ok else "failed",
                                     output=self.markdown(name), output_format="md"))
        return OrderedDict(
            score=float(sum(t["score"] for t in tests)),
            max_score=float(len(tests)),
            output=self.harness_error or f"verdict: {self.verdict} ({self.module_path}, "
                                        f"{self.policy} policy)",
            output_format="md",
            tests=tests,
            verdict=self.verdict,
            module=self.module_path,
            policy=self.policy,
            isolation=self.isolation,
            limits=self.limits,
            functions=OrderedDict((n, self.entry(n)) for n in NAMES),
            **({"cache": self.cache} if self.cache is not None else {}),
        )


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    while isinstance(group, BaseExceptionGroup):
        group = group.exceptions[0]
    return group


def failure_lines(outcomes: Outcomes) -> List[str]:
    """Per function that does not pass: its messages, each once (the first with its repro)."""
    lines = []
    for name in NAMES:
        if outcomes.status[name] in ("pass", "not run"):
            continue
        lines.append(f"--- {name}: {outcomes.status[name]}")
        for message in outcomes.messages[name]:
            lines += message.splitlines()
        lines.append("")
    return lines


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
