"""`check("linear_classifier.py")`: the single-file command from a notebook cell (Colab,
Jupyter) or a Python prompt.

It runs the same grading as `python -m pytest properties --impl FILE --report R` (the same
worker, the sandbox where this machine has one), in a process of its own: the notebook's
kernel never imports the submission, and a submission that hangs or crashes cannot take
the kernel with it. What comes back is the JSON report, shown as a table with each failing
function's message and repro: rich HTML in a notebook, plain text elsewhere.
"""
import html
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Optional, Sequence

from harness.api import NAMES
from harness.grade.report import failure_lines, summary_lines

# Where `python -m pytest properties` runs from: the folder that holds conftest.py and
# properties/ (the checkout).
from harness.confine import locate

ROOT = locate.root()  # the checkout, or where the harness is installed
STATUS_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#9a6700", "missing": "#9a6700",
                  "not run": "#57606a"}


class CheckResult:
    """One grading's report: `.verdict` ("pass"/"fail"), `.passed`, `.report` (the JSON
    report as a dict), `.output` (what the command printed). A notebook shows it as HTML,
    a prompt as text."""

    def __init__(self, report: Optional[dict], output: str, returncode: int, path: str):
        self.report, self.output, self.returncode, self.path = report, output, returncode, path

    @property
    def verdict(self) -> str:
        return self.report["verdict"] if self.report else "error"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass" and self.returncode == 0

    def _outcomes(self):
        """The report's fields under the names harness.grade.report's text views read."""
        functions = self.report["functions"]
        return SimpleNamespace(verdict=self.report["verdict"], module_path=self.report["module"],
                               policy=self.report["policy"], isolation=self.report["isolation"],
                               status={n: functions[n]["status"] for n in NAMES},
                               messages={n: functions[n]["messages"] for n in NAMES})

    def __str__(self) -> str:
        if self.report is None:
            return f"check: no report for {self.path} (exit status {self.returncode})\n{self.output[-3000:]}"
        outcomes = self._outcomes()
        failures = failure_lines(outcomes)
        return "\n".join((["what fails, and how to reproduce it", *failures] if failures else [])
                         + summary_lines(outcomes))

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if self.report is None:
            return (f"<b>check: no report for {html.escape(self.path)}</b> (exit status {self.returncode})"
                    f"<pre>{html.escape(self.output[-3000:])}</pre>")
        functions = self.report["functions"]
        colour = STATUS_COLOURS["pass" if self.verdict == "pass" else "fail"]
        rows = []
        for name in NAMES:
            entry = functions[name]
            first = next((m.splitlines()[0] for m in entry["messages"]
                          if entry["status"] == "pass" or not m.startswith("note:")), "")
            rows.append(f"<tr><td><code>{name}</code></td>"
                        f"<td style='color:{STATUS_COLOURS.get(entry['status'], '#000')};font-weight:bold'>"
                        f"{entry['status']}</td><td style='text-align:left'>{html.escape(first)}</td></tr>")
        details = []
        for name in NAMES:
            entry = functions[name]
            if entry["status"] in ("pass", "not run"):
                continue
            messages = [m.split("\n  repro", 1)[0] for m in entry["messages"]]
            details.append(f"<h4><code>{name}</code>: {entry['status']}</h4>"
                           f"<pre>{html.escape(chr(10).join(messages))}</pre>")
            if entry.get("repro"):
                details.append("<details><summary>repro: paste into a cell; it fails on your file and "
                               "passes once the mistake is fixed</summary>"
                               f"<pre>{html.escape(entry['repro'])}</pre></details>")
        return (f"<div><p style='font-size:1.2em'>verdict: <b style='color:{colour}'>"
                f"{self.verdict.upper()}</b> ({html.escape(self.report['module'])}, "
                f"{self.report['policy']} policy, isolation: {self.report['isolation']})</p>"
                "<table><tr><th>function</th><th>status</th><th style='text-align:left'>message</th></tr>"
                + "".join(rows) + "</table>" + "".join(details) + "</div>")


def check(path="linear_classifier.py", *, strict: bool = False, report: Optional[str] = None,
          options: Sequence[str] = (), timeout: Optional[float] = None) -> CheckResult:
    """Grade `path` as the single-file command does and return its result (shown as a
    table in a notebook). `strict`: the strict policy; `report`: also keep the JSON report
    there; `options`: more of the command's flags, e.g. ["--e2e"]; `timeout`: seconds before
    the grading is stopped (default: none beyond the harness's own budgets)."""
    target = Path(path).expanduser().resolve()
    if not target.is_file():
        raise FileNotFoundError(f"check: no file {target}")
    with tempfile.TemporaryDirectory(prefix="lc-check-") as scratch:
        report_path = Path(report).resolve() if report else Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pytest", *locate.PYTEST_ARGS, "-q",
                   "--impl", str(target), "--report", str(report_path), *options]
        if strict:
            command.append("--strict")
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        found = json.loads(report_path.read_text()) if report_path.exists() else None
    result = CheckResult(found, done.stdout + done.stderr, done.returncode, str(target))
    if not _shown_by_the_prompt():
        print(result)
    return result


def _shown_by_the_prompt() -> bool:
    """True where the returned result is displayed anyway (IPython, Jupyter, Colab, the
    interactive prompt); a script gets the text printed."""
    return hasattr(sys, "ps1") or "IPython" in sys.modules and _ipython_active()


def _ipython_active() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
