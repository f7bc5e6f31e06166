"""The performance regression gate: exit 1 when the vectorized losses got slower.

    python benchmarks/gate.py                      # the shipped implementation
    python benchmarks/gate.py --impl FILE          # another file, e.g. a 2x-slowed copy:
                                                   #   python benchmarks/slowed_copy.py FILE
    PERFGATE_IMPL=FILE python benchmarks/gate.py   # the same, for tox / CI

What it measures, in one process: for each case of benchmarks/gate_thresholds.json,
the loss + gradient time divided by the time of one `X @ W` product of the same
shapes (the floor), both timed round-robin in the same rounds; the figure is the
median over rounds of the per-round ratio. A ratio, not a time: a slower or busier
machine slows the floor as much as the loss. But a ratio is a property of the CPU (2-3x
apart between an Intel Xeon and an AMD EPYC: issue 32), so where this CPU has a history
(benchmarks/cpu_history.py: three `--record` runs or more, at the same threads and torch)
a case's limit is its own past median times 1.4; where it has none, the gate says so and
uses the committed limits. Beside each ratio it prints the physical floor: one read of X.

It fails when a case's ratio exceeds its committed `max_ratio`. A case over its
limit is measured once more, and fails only if that second measurement is over the
limit too: a burst of load from another process rarely lasts through both, a real
slowdown always does. Torch runs on one thread by default (`--threads`): on a
shared machine a 2-thread parallel region waits for whichever thread the OS
descheduled, which makes ratios swing far more than the code does.
Exit status: 0 pass, 1 a case over its limit, 2 the gate could not run.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks import common, cpu_history  # noqa: E402

THRESHOLDS = HERE / "gate_thresholds.json"


def timed(module, N, dtype, losses, rounds, budget, device="cpu", with_torch=False):
    """{name: [seconds per round]}: the floor and each loss (and PyTorch's route),
    round-robin, as many rounds as fit `budget` seconds (at least `rounds`, at most 10x)."""
    W, X, y = common.inputs(N, dtype, device)
    contenders = {"floor": lambda: common.floor(W, X)}
    for loss in losses:
        fn = common.module_route(module, loss, "vectorized")
        contenders[loss] = (lambda f: lambda: f(W, X, y, common.REG))(fn)
        if with_torch:
            tr = common.torch_route(loss)
            contenders[f"{loss}:torch"] = (lambda f: lambda: f(W, X, y, common.REG))(tr)
    # one round of everything, to size the run to the budget
    probe = common.interleaved(contenders, rounds=1, warmup=1, device=device)
    per_round = sum(t[0] for t in probe.values())
    n = max(rounds, min(10 * rounds, int(budget / max(per_round, 1e-9))))
    return common.interleaved(contenders, rounds=n, warmup=0, device=device)


def measure(module, N, dtype, losses, rounds, budget, device="cpu", with_torch=False):
    """{loss: {"ratio": median paired ratio, ...}} for one size, all losses interleaved."""
    times = timed(module, N, dtype, losses, rounds, budget, device, with_torch)
    n = len(times["floor"])
    # the physical floor beside the ratios: one read of X (on the CPU; a GPU's is not timed so)
    read = common.read_floor(common.inputs(N, dtype, device)[1]) if device == "cpu" else {}
    out = {}
    for loss in losses:
        entry = dict(ratio=common.paired_ratio(times, loss, "floor"), rounds=n,
                     loss_median_s=statistics.median(times[loss]),
                     floor_median_s=statistics.median(times["floor"]),
                     ratio_of_minima=min(times[loss]) / min(times["floor"]),
                     read_floor_s=read.get("floor_s"))
        if with_torch:
            entry["vs_torch"] = common.paired_ratio(times, loss, f"{loss}:torch")
        out[loss] = entry
    return out


def run_gate(impl=None, thresholds=THRESHOLDS, threads=None, rounds=None, budget=None,
             confirm=True, with_torch=False, only=None, verbose=True, history=cpu_history.HISTORY):
    from harness.confine.subject import load_module
    spec = json.loads(Path(thresholds).read_text())
    threads = threads if threads is not None else spec.get("threads", 1)
    rounds = rounds or spec.get("rounds", 15)
    budget = budget if budget is not None else spec.get("budget_s", 4.0)
    if threads:
        torch.set_num_threads(threads)
    module = load_module(impl)
    say = print if verbose else (lambda *a, **k: None)
    say(f"perf gate: {impl or 'implementations/linear_classifier.py (shipped)'}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
        f"limits from {Path(thresholds).name}")
    own = cpu_history.limits(cpu_history.load(history), torch.get_num_threads(), torch.__version__)
    if own:
        say(f"  this CPU ({common.cpu_key()}) has a history: a case's limit is {cpu_history.FACTOR}x the "
            f"median of its past ratios here ({cpu_history.path(history)})")
    else:
        say(f"  no history for this CPU ({common.cpu_model()}, {os.cpu_count()} logical CPUs, "
            f"{torch.get_num_threads()} thread(s), torch {torch.__version__}): judged by the committed limits "
            f"only ({Path(thresholds).name}: set on one dev machine); `--record` (3 runs) starts one at "
            f"{cpu_history.path(history)}")
    groups = {}
    for case in spec["cases"]:
        if only and case["loss"] not in only:
            continue
        groups.setdefault((case["N"], case["dtype"], case.get("device", "cpu")), []).append(case)
    results = []
    for (N, dtype, device), cases in groups.items():
        if device.startswith("cuda") and not common.cuda_available():
            say(f"  N={N} {dtype} {device}: skipped (no CUDA device)")
            continue
        losses = [c["loss"] for c in cases]
        t0 = time.perf_counter()
        got = measure(module, N, dtype, losses, rounds, budget, device, with_torch)
        for c in cases:
            c["committed_ratio"] = c["max_ratio"]
            mine = own.get(cpu_history.case_id(c["loss"], N, dtype, device))
            if mine:
                c["max_ratio"], c["limit_from"] = mine[0], f"this CPU's {mine[1]} runs"
            else:
                c["limit_from"] = "committed"
        over = [c for c in cases if got[c["loss"]]["ratio"] > c["max_ratio"]]
        second = {}
        if over and confirm:
            second = measure(module, N, dtype, [c["loss"] for c in over], rounds, budget,
                             device, with_torch)
        for c in cases:
            r = dict(got[c["loss"]], loss=c["loss"], N=N, dtype=dtype, device=device,
                     max_ratio=c["max_ratio"], limit_from=c["limit_from"], committed_ratio=c["committed_ratio"])
            if c["loss"] in second:
                r["first_ratio"] = r["ratio"]
                r["ratio"] = min(r["ratio"], second[c["loss"]]["ratio"])
            r["ok"] = r["ratio"] <= c["max_ratio"]
            results.append(r)
            extra = f"  vs torch route {r['vs_torch']:.2f}x" if "vs_torch" in r else ""
            retry = f" (first {r['first_ratio']:.2f}, re-measured)" if "first_ratio" in r else ""
            read = (f"; one read of X {common.ms(r['read_floor_s'])}: the loss is "
                    f"{r['loss_median_s'] / r['read_floor_s']:.1f}x that") if r.get("read_floor_s") else ""
            beyond = (f"; over the committed {r['committed_ratio']:.2f} (set on another CPU)"
                      if r["ratio"] > r["committed_ratio"] and r["limit_from"] != "committed" else "")
            say(f"  {'ok  ' if r['ok'] else 'SLOW'} {c['loss']:8} N={N:<6} {dtype:8} {device}: "
                f"{r['ratio']:.2f}x the X @ W floor (limit {c['max_ratio']:.2f}, {c['limit_from']}){retry}; "
                f"{common.ms(r['loss_median_s'])} vs {common.ms(r['floor_median_s'])}{read}, "
                f"{r['rounds']} rounds{extra}{beyond}")
        say(f"    ({time.perf_counter() - t0:.1f} s)")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--impl", default=os.environ.get("PERFGATE_IMPL") or None,
                        help="linear_classifier.py to gate (default: $PERFGATE_IMPL, else "
                             "the shipped implementation)")
    parser.add_argument("--thresholds", default=str(THRESHOLDS), help="the committed limits")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: the thresholds file's, 1)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="fewest rounds per size (default: the thresholds file's)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds of timing per size, more rounds if they fit")
    parser.add_argument("--no-confirm", action="store_true",
                        help="fail on the first measurement over a limit (no re-measurement)")
    parser.add_argument("--with-torch", action="store_true",
                        help="also time PyTorch's route and print the ratio (not gated)")
    parser.add_argument("--loss", action="append", choices=common.LOSSES,
                        help="gate only this loss (repeatable)")
    parser.add_argument("--json", default=None, help="write the measurements to this file")
    parser.add_argument("--record", action="store_true",
                        help="add this run to this CPU's history (benchmarks/history/cpus/; commit it)")
    parser.add_argument("--history", default=str(cpu_history.HISTORY), help="the CPUs' histories' folder")
    args = parser.parse_args(argv)
    try:
        results = run_gate(args.impl, args.thresholds, args.threads, args.rounds, args.budget,
                           confirm=not args.no_confirm, with_torch=args.with_torch,
                           only=args.loss, history=Path(args.history))
    except Exception as exc:  # noqa: BLE001 - a gate that cannot measure must say so, exit 2
        print(f"perf gate: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(dict(impl=args.impl, threads=torch.get_num_threads(),
                                                   results=results), indent=1))
    if not results:
        print("perf gate: nothing measured", file=sys.stderr)
        return 2
    if args.record:
        print(f"perf gate: recorded in {cpu_history.append(results, torch.get_num_threads(), torch.__version__, Path(args.history))}")
    slow = [r for r in results if not r["ok"]]
    if slow:
        print(f"perf gate: FAIL: {len(slow)} case(s) over the limit: " + ", ".join(
            f"{r['loss']} N={r['N']} {r['dtype']} {r['ratio']:.2f}x > {r['max_ratio']:.2f}x"
            for r in slow))
        return 1
    print("perf gate: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
