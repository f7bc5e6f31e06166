"""REPORT_DIR/summary.html: the class at a glance, for instructors. The pass rate of each
function and the mistakes the reports named most often, as two bar charts (inline SVG:
no plotting library, no script, opens in any browser and in an e-mail), then one row per
submission. It reads only the reports, as summary.csv and summary.md do."""
import html
import tomllib
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from harness.api import NAMES

# The catalogue's one line per mistake, read from the data itself: harness.judge.mistakes imports
# torch for its recognizers, and merging shards needs no torch.
CATALOGUE = Path(__file__).resolve().parents[2] / "judge" / "mistakes.toml"
LOOKS_LIKE: Dict[str, str] = {m["id"]: m["looks_like"] for m in tomllib.loads(CATALOGUE.read_text())["mistake"]}
TOP_MISTAKES = 10
BAR_W, ROW_H, LABEL_W, VALUE_W = 360, 22, 250, 110
PASS, FAIL = "#2da44e", "#cf222e"


def pass_rates(reports: Sequence[dict]) -> List[Tuple[str, int, int]]:
    """(function, submissions where it passes, submissions) in API order."""
    return [(n, sum(r["functions"][n]["status"] == "pass" for r in reports), len(reports)) for n in NAMES]


def named_mistakes(reports: Sequence[dict]) -> List[Tuple[str, str, int]]:
    """(mistake id, its function(s), submissions whose report names it), most common first;
    a mistake counts once per submission."""
    counts: Counter = Counter()
    where: Dict[str, set] = {}
    for report in reports:
        seen = set()
        for name in NAMES:
            for mistake in report["functions"][name].get("mistakes", []):
                where.setdefault(mistake, set()).add(name)
                seen.add(mistake)
        counts.update(seen)
    return [(m, ", ".join(n for n in NAMES if n in where[m]), k)
            for m, k in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_MISTAKES]]


def _bars(rows: Sequence[Tuple[str, float, str]], colour: str, title: str) -> str:
    """A horizontal bar chart: (label, fraction of the full bar, value text) per row."""
    height = ROW_H * len(rows) + 30
    width = LABEL_W + BAR_W + VALUE_W
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"role='img' aria-label='{html.escape(title)}'>",
             f"<text x='0' y='16' font-weight='bold'>{html.escape(title)}</text>"]
    for i, (label, fraction, value) in enumerate(rows):
        y = 26 + i * ROW_H
        parts.append(f"<text x='{LABEL_W - 8}' y='{y + 15}' text-anchor='end' font-family='monospace' "
                     f"font-size='12'>{html.escape(label)}</text>")
        parts.append(f"<rect x='{LABEL_W}' y='{y + 3}' width='{BAR_W}' height='{ROW_H - 6}' fill='#eaeef2'/>")
        parts.append(f"<rect class='bar' x='{LABEL_W}' y='{y + 3}' width='{BAR_W * fraction:.1f}' "
                     f"height='{ROW_H - 6}' fill='{colour}'/>")
        parts.append(f"<text x='{LABEL_W + BAR_W + 6}' y='{y + 15}' font-size='12'>{html.escape(value)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def render(graded: Sequence, header: str) -> str:
    """The page for `graded` (batch.Graded: .submission.name, .report)."""
    reports = [g.report for g in graded]
    passed = sum(r["verdict"] == "pass" for r in reports)
    rates = pass_rates(reports)
    chart = _bars([(n, k / total if total else 0.0, f"{k}/{total} ({100 * k / total:.0f}%)" if total else "-")
                   for n, k, total in rates], PASS, "Pass rate per function")
    mistakes = named_mistakes(reports)
    most = max((k for _, _, k in mistakes), default=1)
    mistake_chart = (_bars([(m, k / most, f"{k} submission{'s' if k != 1 else ''}") for m, _, k in mistakes],
                           FAIL, "Most common named mistakes")
                     if mistakes else "<p>No report names a mistake.</p>")
    legend = "".join(f"<tr><td><code>{html.escape(m)}</code></td><td>{k}</td><td><code>{html.escape(where)}"
                     f"</code></td><td>{html.escape(LOOKS_LIKE.get(m, ''))}</td></tr>" for m, where, k in mistakes)
    rows = []
    for g in graded:
        r = g.report
        failing = ", ".join(f"{n} ({r['functions'][n]['status']})" for n in NAMES
                            if r["functions"][n]["status"] != "pass")
        colour = PASS if r["verdict"] == "pass" else FAIL
        rows.append(f"<tr><td>{html.escape(g.submission.name)}</td>"
                    f"<td style='color:{colour};font-weight:bold'>{r['verdict']}</td>"
                    f"<td>{float(r['score']):g}/{float(r['max_score']):g}</td><td>{html.escape(failing)}</td></tr>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class summary</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}}</style></head>
<body><h1>Class summary</h1>
<p>{html.escape(header)}</p>
<p><b>{passed} of {len(reports)}</b> submissions pass.</p>
{chart}
{mistake_chart}
{'<table><tr><th>mistake</th><th>submissions</th><th>function</th><th>looks like</th></tr>' + legend + '</table>' if legend else ''}
<h2>Submissions</h2>
<table><tr><th>submission</th><th>verdict</th><th>score</th><th>not passing</th></tr>
{''.join(rows)}
</table>
<p>Each submission's report: <code>&lt;submission&gt;.json</code>; the same table as CSV: <code>summary.csv</code>.</p>
</body></html>
"""
