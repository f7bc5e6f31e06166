"""The class summary: REPORT_DIR/summary.csv and summary.md, one row per submission, and
REPORT_DIR/.batch.json, what the run graded (merge reads it)."""
import csv
import io
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from harness.api import NAMES
from harness.grade.atomic import write_text
from harness.grade.batch import summary_html
from harness.grade.batch.discover import Graded
from harness.grade.batch.shard import Shard

DEFAULT_REPORT_DIR = "reports"

# In every report folder: what that run graded (merge reads it). A submission's name
# never starts with "." (_safe), so no report can take this name.
MANIFEST = ".batch.json"
MANIFEST_FORMAT = 1


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
    write_text(report_dir / "summary.csv", buffer.getvalue())
    write_text(report_dir / "summary.md", _markdown(graded, rows, header))
    write_text(report_dir / "summary.html", summary_html.render(graded, header))


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
    write_text(report_dir / MANIFEST, json.dumps(manifest, indent=1) + "\n")


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


