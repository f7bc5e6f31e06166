"""Performance tracking over the project's history: record runs, draw the trend.

    python benchmarks/track.py record                 # this checkout: one record per gate case
    python benchmarks/track.py record --impl FILE --commit SHA   # a file as of a commit
    python benchmarks/track.py seed [SHA ...]         # record the shipped file of earlier commits
    python benchmarks/track.py report                 # trend.png + trend.md from the history
    python benchmarks/track.py summary --against FILE # markdown: this checkout against a record

A record is one pytest-benchmark JSON file (pytest-benchmark's own format, saved by its
FileStorage under benchmarks/history/<machine id>/NNNN_<commit>_<date>.json, readable
by `pytest-benchmark compare`): `machine_info` (pytest-benchmark's, plus the CPU model,
cores, GPU and torch version), `commit_info` (the commit measured, not the one that ran
the tool), and one benchmark per case of gate_thresholds.json: `stats` are the loss's
times over the rounds, `extra_info` holds the ratio to the floor (gate.py's method: the
median over rounds of loss / one X @ W, timed round-robin), the floor's median time,
the threads, the counters (counters.py: flops, ops, peak_bytes) and the sha256 of the
file measured (records of the same file give the run-to-run spread).

The change-marking rule (report): a case's ratio is marked as changed at a commit when
|log(ratio / the previous commit's mean ratio)| > max(log 1.10, 3 * sqrt(2) * s), s the
pooled standard deviation of log(ratio) among records of identical files (the
run-to-run spread, from the history itself). For normal noise that is a false alarm
with probability 0.27% per comparison; the report also counts how often the rule
marks a change between two records of the same file (the observed false-alarm rate).
A counter is marked when it differs at all: counters are exact, no false alarms.
"""
import argparse
import datetime
import hashlib
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks import common, counters, gate  # noqa: E402

HISTORY = HERE / "history"
RESULTS = HERE / "results"
SHIPPED = ROOT / "implementations" / "linear_classifier.py"
# The shipped file at earlier commits: the first vectorized version (the skeleton), the
# same losses a commit later (same code: a measure of the spread), the blocked one-pass.
SEED_COMMITS = ("b9f0caf", "6743312", "7fd5368")
METRICS = ("ratio", "flops", "ops", "peak_bytes")
RULE_MIN = math.log(1.10)
RULE_K = 3 * math.sqrt(2)
log = logging.getLogger("track")


def _git(*args) -> str:
    return subprocess.run(["git", "-C", str(ROOT)] + list(args), capture_output=True,
                          text=True, check=True).stdout.strip()


def commit_info(sha=None) -> dict:
    """pytest-benchmark's commit_info, for the checkout (sha None) or a given commit."""
    if sha is None:
        from pytest_benchmark.utils import get_commit_info
        info = get_commit_info()
        info["subject"] = _git("log", "-1", "--format=%s")
        return info
    full = _git("rev-parse", sha)
    return dict(id=full, time=_git("log", "-1", "--format=%cI", full),
                author_time=_git("log", "-1", "--format=%aI", full), dirty=False,
                project=ROOT.name, branch="(history)", subject=_git("log", "-1", "--format=%s", full))


def machine_info() -> dict:
    from pytest_benchmark.plugin import pytest_benchmark_generate_machine_info
    info = pytest_benchmark_generate_machine_info()
    info.update(cpu_model=common.cpu_model(), cores=os.cpu_count(), torch=torch.__version__,
                gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                load_average=os.getloadavg()[0])
    return info


def measure_record(impl=None, threads=None, device="cpu") -> list:
    """One pytest-benchmark `benchmarks` entry per gate case."""
    from harness.confine.subject import load_module
    from pytest_benchmark.stats import Stats
    spec = json.loads(gate.THRESHOLDS.read_text())
    threads = threads or spec.get("threads", 1)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    module = load_module(impl)
    path = Path(impl) if impl else SHIPPED
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    out = []
    try:
        sizes = {}
        for case in spec["cases"]:
            sizes.setdefault((case["N"], case["dtype"]), []).append(case["loss"])
        for (N, dtype), losses in sizes.items():
            times = gate.timed(module, N, dtype, losses, spec["rounds"], spec["budget_s"], device)
            for loss in losses:
                stats = Stats()
                for t in times[loss]:
                    stats.update(t)
                count = counters.measure(module, loss, N, dtype, threads)  # on the CPU
                if device.startswith("cuda"):
                    count["cuda_peak_bytes"] = _cuda_peak(module, loss, N, dtype, device)
                name = f"{loss}_loss_vectorized[N={N}-{dtype}-{device}-{threads}t]"
                out.append(dict(
                    group=f"{loss} N={N} {dtype}", name=name, fullname=f"benchmarks/track.py::{name}",
                    params=dict(loss=loss, N=N, dtype=dtype, device=device, threads=threads),
                    param=f"N={N}-{dtype}", options=dict(timer="perf_counter", min_rounds=spec["rounds"]),
                    stats=stats.as_dict(),
                    extra_info=dict(ratio=common.paired_ratio(times, loss, "floor"),
                                    floor_median_s=statistics.median(times["floor"]),
                                    threads=threads, file_sha256=sha, **count)))
    finally:
        torch.set_num_threads(before)
    return out


def _cuda_peak(module, loss, N, dtype, device) -> int:
    """torch.cuda.max_memory_allocated during one call, beyond what was allocated before."""
    W, X, y = common.inputs(N, dtype, device)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    common.module_route(module, loss, "vectorized")(W, X, y, common.REG)
    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated() - before)


def record(impl=None, sha=None, history=HISTORY, threads=None, label=None, device="cpu") -> Path:
    from pytest_benchmark.storage.file import FileStorage
    from pytest_benchmark.utils import get_machine_id
    now = datetime.datetime.now(datetime.timezone.utc)
    info = commit_info(sha)
    data = dict(machine_info=machine_info(), commit_info=info,
                benchmarks=measure_record(impl, threads, device), datetime=now.isoformat(),
                version=__import__("pytest_benchmark").__version__)
    for b in data["benchmarks"]:
        b["extra_info"]["label"] = label or info.get("subject", "")[:60]
    storage = FileStorage(history, logger=log, default_machine_id=get_machine_id())
    name = f"{info['id'][:7]}{'_dirty' if info.get('dirty') else ''}_{now:%Y%m%d_%H%M%S}"
    storage.save(data, name)
    saved = sorted(Path(storage.get("")).glob(f"*_{name}.json"))[-1]
    print(f"recorded {len(data['benchmarks'])} cases of {impl or 'the shipped file'} "
          f"at {info['id'][:7]} -> {saved.relative_to(ROOT) if ROOT in saved.parents else saved}")
    return saved


def seed(shas, history=HISTORY, repeat=2):
    with tempfile.TemporaryDirectory() as tmp:
        for sha in shas:
            path = Path(tmp) / f"linear_classifier_{sha}.py"
            path.write_text(_git("show", f"{sha}:implementations/linear_classifier.py") + "\n")
            for _ in range(repeat):
                record(str(path), sha, history)


# -------------------------------------------------------------------- reading

def load(history=HISTORY) -> list:
    """Flat rows, oldest commit first: one per (record, case)."""
    from pytest_benchmark.storage.file import FileStorage
    storage = FileStorage(history, logger=log)
    rows = []
    for path, data in storage.load():
        ci, mi = data["commit_info"], data["machine_info"]
        for b in data["benchmarks"]:
            e = b["extra_info"]
            device = b["params"].get("device", "cpu")
            rows.append(dict(case=b["group"] + ("" if device == "cpu" else f" {device}"),
                             threads=e["threads"], commit=ci["id"][:7],
                             commit_time=ci.get("time", ""), recorded=data["datetime"],
                             machine=f"{mi.get('cpu_model', '?')} x{mi.get('cores', '?')}",
                             gpu=mi.get("gpu"), torch=mi.get("torch"), load=mi.get("load_average"),
                             median_s=b["stats"]["median"], sha=e["file_sha256"], label=e.get("label", ""),
                             **{k: e[k] for k in METRICS}))
    rows.sort(key=lambda r: (r["commit_time"], r["recorded"]))
    return rows


def spread(rows) -> dict:
    """{(case, machine, threads): pooled SD of log(ratio) among records of identical files}."""
    groups = {}
    for r in rows:
        groups.setdefault((r["case"], r["machine"], r["threads"]), {}).setdefault(r["sha"], []).append(
            math.log(r["ratio"]))
    out = {}
    for key, by_sha in groups.items():
        ss = sum((x - statistics.fmean(v)) ** 2 for v in by_sha.values() for x in v)
        dof = sum(len(v) - 1 for v in by_sha.values())
        out[key] = math.sqrt(ss / dof) if dof else None
    return out


def threshold(s) -> float:
    return max(RULE_MIN, RULE_K * s) if s is not None else RULE_MIN


def marks(rows):
    """(per row the list of metrics marked as changed since the previous commit, the
    observed false alarms: [marked, compared] over pairs of records of identical files)."""
    sd = spread(rows)
    out, pairs = [], [0, 0]
    series = {}
    for r in rows:
        key = (r["case"], r["machine"], r["threads"])
        prev = series.setdefault(key, [])
        earlier = [p for p in prev if p["commit"] != r["commit"]]
        marked = []
        if earlier:
            last = earlier[-1]["commit"]
            base = [p for p in earlier if p["commit"] == last]
            mean = statistics.fmean(math.log(p["ratio"]) for p in base)
            if abs(math.log(r["ratio"]) - mean) > threshold(sd[key]):
                marked.append("ratio")
            marked += [k for k in METRICS[1:] if r[k] != base[-1][k]]
        for p in prev:  # identical files: every pair is a chance for a false alarm
            if p["sha"] == r["sha"]:
                pairs[1] += 1
                pairs[0] += abs(math.log(r["ratio"] / p["ratio"])) > threshold(sd[key])
        prev.append(r)
        out.append(marked)
    return out, pairs


def report(history=HISTORY, out_dir=RESULTS) -> str:
    rows = load(history)
    if not rows:
        raise SystemExit(f"no records under {history}")
    m, pairs = marks(rows)
    sd = spread(rows)
    lines = ["| commit | recorded | case | threads | time | ratio to floor | flops | ops | peak bytes | file |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r, mk in zip(rows, m):
        cell = lambda k, text: f"**{text}** (changed)" if k in mk else text
        lines.append(f"| {r['commit']} | {r['recorded'][:16]} | {r['case']} | {r['threads']} | "
                     f"{common.ms(r['median_s'])} | {cell('ratio', format(r['ratio'], '.2f'))} | "
                     f"{cell('flops', format(r['flops'], '.3g'))} | {cell('ops', str(r['ops']))} | "
                     f"{cell('peak_bytes', format(r['peak_bytes'], ','))} | {r['sha'][:8]} {r['label'][:40]} |")
    spreads = ", ".join(f"{k[0]} {k[2]}t: {v:.3f}" for k, v in sd.items() if v is not None)
    rate = f"{pairs[0]} of {pairs[1]}" if pairs[1] else "no pairs yet"
    text = "\n".join([
        "# Performance history", "",
        f"{len({r['recorded'] for r in rows})} records, {len({r['commit'] for r in rows})} commits, "
        f"machines: {', '.join(sorted({r['machine'] for r in rows}))}.", "",
        "Rule: a ratio is **changed** when |log(ratio / previous commit's mean)| > "
        "max(log 1.10, 3 sqrt(2) s), s = the pooled SD of log(ratio) over records of identical "
        "files (the run-to-run spread); false-alarm rate 0.27% per comparison for normal "
        f"noise; observed on identical files in this history: {rate} pairs marked. "
        "A counter is **changed** whenever it differs (counters are exact).", "",
        f"Run-to-run spread s of log(ratio): {spreads or 'not yet measured (one record per file)'}.",
        "", *lines, ""])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "trend.md").write_text(text)
    message = plot(rows, m, out_dir / "trend.png")
    return f"wrote {out_dir / 'trend.md'}; {message}"


def plot(rows, m, out: Path) -> str:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no plot (pip install -r requirements-bench.txt for matplotlib)"
    commits = list(dict.fromkeys(r["commit"] for r in rows))
    xs = {c: i for i, c in enumerate(commits)}
    fig, axes = plt.subplots(len(METRICS), 1, figsize=(9, 11), sharex=True)
    titles = {"ratio": "time / one X @ W (gate's method)", "flops": "flops (FlopCounterMode)",
              "ops": "tensor operations dispatched", "peak_bytes": "peak bytes beyond the inputs"}
    cases = list(dict.fromkeys((r["case"], r["threads"]) for r in rows))
    for ax, metric in zip(axes, METRICS):
        for case in cases:
            pts = [(xs[r["commit"]], r[metric], metric in mk)
                   for r, mk in zip(rows, m) if (r["case"], r["threads"]) == case]
            line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=4, alpha=0.8,
                            label=f"{case[0]}, {case[1]}t")
            hit = [p for p in pts if p[2]]
            ax.plot([p[0] for p in hit], [p[1] for p in hit], "o", ms=11, mfc="none",
                    mec=line.get_color())
        ax.set_yscale("log")
        ax.set_title(titles[metric] + " (circled: marked as changed)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    axes[-1].set_xticks(range(len(commits)), commits, rotation=30)
    axes[-1].set_xlabel("commit (oldest first)")
    fig.suptitle("vectorized losses over the project's history", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    return f"wrote {out}"


def summary(against: Path, out=None) -> str:
    """Markdown for a pull request: this checkout's record against another record."""
    mine = json.loads(record_to_temp().read_text())
    base = json.loads(Path(against).read_text())
    ref = {b["name"]: b["extra_info"] for b in base["benchmarks"]}
    lines = [f"### Performance of `{commit_info()['id'][:7]}` against `{base['commit_info']['id'][:7]}`",
             "", "| case | ratio to floor (base) | flops (base) | ops (base) | peak bytes (base) |",
             "|---|---:|---:|---:|---:|"]
    for b in mine["benchmarks"]:
        e, r = b["extra_info"], ref.get(b["name"], {})
        cell = lambda k, f: f"{f(e[k])} ({f(r[k]) if k in r else '-'})" + (
            " **up**" if k in r and k != "ratio" and e[k] > r[k] else "")
        lines.append(f"| {b['name']} | {cell('ratio', lambda v: f'{v:.2f}')} | "
                     f"{cell('flops', lambda v: f'{v:.4g}')} | {cell('ops', str)} | "
                     f"{cell('peak_bytes', lambda v: f'{v:,}')} |")
    lines += ["", "Ratios are wall-clock (machines differ: compare with care); counters are exact "
              "(**up**: grew). The gates (gate.py, counters.py) decide; this table informs."]
    text = "\n".join(lines) + "\n"
    if out:
        Path(out).write_text(text)
    return text


def record_to_temp() -> Path:
    tmp = Path(tempfile.mkdtemp())
    return record(history=tmp)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    sub = parser.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--impl", default=None)
    rec.add_argument("--commit", default=None, help="the commit the file is from (default: HEAD)")
    rec.add_argument("--threads", type=int, default=None)
    rec.add_argument("--label", default=None)
    rec.add_argument("--device", default="cpu", help="time on this device (cuda: also "
                     "torch.cuda.max_memory_allocated); the counters are measured on the CPU")
    sd = sub.add_parser("seed")
    sd.add_argument("shas", nargs="*", default=list(SEED_COMMITS))
    sd.add_argument("--repeat", type=int, default=2)
    rep = sub.add_parser("report")
    rep.add_argument("--out", default=str(RESULTS))
    sm = sub.add_parser("summary")
    sm.add_argument("--against", required=True, help="a record (pytest-benchmark JSON) to compare with")
    sm.add_argument("--out", default=None)
    for p in (rec, sd, rep):
        p.add_argument("--history", default=str(HISTORY))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.cmd == "record":
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            print("track: no CUDA device: nothing recorded")
            return 0
        record(args.impl, args.commit, Path(args.history), args.threads, args.label, args.device)
    elif args.cmd == "seed":
        seed(args.shas, Path(args.history), args.repeat)
    elif args.cmd == "report":
        print(report(Path(args.history), Path(args.out)))
    else:
        print(summary(Path(args.against), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
