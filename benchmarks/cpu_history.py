"""Each CPU's own history of gate ratios: what benchmarks/gate.py compares a run with (issue 32).

One JSON file per kind of machine, `benchmarks/history/cpus/<common.cpu_key()>.json`:

    {"cpu": "AMD EPYC", "key": "AMD-EPYC-f23m49-2cpu", "runs": [
        {"date": ..., "commit": ..., "torch": ..., "threads": 1, "load": 1.2,
         "cases": {"svm N=20000 float32 cpu": {"ratio": 0.81, "floor_s": 0.0123, "read_floor_s": 0.0071}}}]}

A ratio (loss over one `X @ W`, measured side by side) is stable on one kind of CPU and may
differ by 2-3x across kinds (Intel Xeon against AMD EPYC: issue 32), so a limit that holds for
one CPU is either loose or wrong on another. Where this CPU has at least MIN_RUNS runs at the
same threads, a case's limit is the median of its past ratios times FACTOR; where it has none,
the gate says so and uses the committed limits (gate_thresholds.json). FACTOR comes from the
gate's self-test ([README](README.md), "Its error rates, measured"): the worst unchanged run is
at most 1.13x its case's median, and a 2x-slowed copy at least 1.72x; 1.4 is about their
geometric mean.
"""
import datetime
import json
import os
import statistics
import subprocess
from pathlib import Path

from benchmarks import common

HISTORY = Path(__file__).resolve().parent / "history" / "cpus"
MIN_RUNS = 3
FACTOR = 1.4


def case_id(loss: str, N: int, dtype: str, device: str = "cpu") -> str:
    return f"{loss} N={N} {dtype} {device}"


def path(history: Path = HISTORY, key: str = None) -> Path:
    return Path(history) / f"{key or common.cpu_key()}.json"


def load(history: Path = HISTORY, key: str = None) -> dict:
    p = path(history, key)
    if not p.exists():
        return {"cpu": common.cpu_model(), "key": key or common.cpu_key(), "runs": []}
    return json.loads(p.read_text())


def limits(record: dict, threads: int, torch_version: str) -> dict:
    """{case id: (limit, number of past runs)} from this CPU's runs at `threads` and this torch."""
    ratios = {}
    for run in record["runs"]:
        if run["threads"] == threads and run["torch"] == torch_version:
            for case, entry in run["cases"].items():
                ratios.setdefault(case, []).append(entry["ratio"])
    return {case: (FACTOR * statistics.median(r), len(r)) for case, r in ratios.items() if len(r) >= MIN_RUNS}


def append(results: list, threads: int, torch_version: str, history: Path = HISTORY) -> Path:
    """Add one gate run (its results) to this CPU's history; the file it wrote."""
    record = load(history)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    record["runs"].append(dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        commit=commit, torch=torch_version, threads=threads, load=round(os.getloadavg()[0], 2),
        cases={case_id(r["loss"], r["N"], r["dtype"], r["device"]):
               dict(ratio=round(r["ratio"], 4), floor_s=r["floor_median_s"], read_floor_s=r.get("read_floor_s"))
               for r in results}))
    out = path(history)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    return out
