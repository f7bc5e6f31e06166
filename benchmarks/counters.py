"""Counters of the vectorized losses that no load can move, and the gate on them.

    python benchmarks/counters.py                  # gate the shipped losses; exit 1 if a counter grew
    python benchmarks/counters.py --impl FILE      # gate another file (e.g. benchmarks/wasteful_copy.py's)
    python benchmarks/counters.py --update         # re-record benchmarks/counters_expected.json
    python benchmarks/counters.py --selftest 10    # 10 fresh runs of the unchanged code and of a
                                                   # wasteful copy: false alarms and detections

For each case of counters_expected.json (loss, N, dtype, torch threads; D = 3073, C = 10)
it runs the loss once on the CPU under harness/confine/counting.py and reads three counters:
`flops` (torch.utils.flop_counter.FlopCounterMode: 2*M*N*K per matrix product, the
in-place and matrix-vector forms added), `ops` (tensor operations dispatched) and
`peak_bytes` (the most storage the call's operations hold at once beyond its inputs).
They depend on the code, the shapes, the thread count (set per case) and the torch
version, never on the machine or its load: a run on a busy machine gives the same
numbers as on a quiet one. A counter fails when it exceeds its expected value by more
than the file's `tolerance` (relative; 0: any increase fails). A decrease passes and
is reported: re-record with --update and commit the file. The wall-clock gate
(gate.py) stays beside it for what counters cannot see (a slower kernel, a bad layout).
Exit status: 0 pass, 1 a counter over its limit, 2 could not run.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks import common  # noqa: E402
from harness.confine.counting import counting  # noqa: E402
from harness.judge.efficiency import COUNTERS, compare  # noqa: E402

EXPECTED = HERE / "counters_expected.json"


def measure(module, loss: str, N: int, dtype: str, threads: int, D: int = common.D,
            C: int = common.C) -> dict:
    """{flops, ops, peak_bytes} of one call of `module`'s vectorized `loss` on the CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        W, X, y = common.inputs(N, dtype, "cpu", D, C)
        fn = common.module_route(module, loss, "vectorized")
        with counting(str(getattr(module, "__file__", ""))) as work:
            fn(W, X, y, common.REG)
    finally:
        torch.set_num_threads(before)
    return {k: int(work[k]) for k in COUNTERS}


def case_name(c) -> str:
    return f"{c['loss']} N={c['N']} {c['dtype']} {c['threads']}t"


def run_gate(impl=None, expected=EXPECTED, verbose=True):
    """[(case, got, verdicts)], verdicts {counter: "ok" | "over" | "less"}."""
    from harness.confine.subject import load_module
    spec = json.loads(Path(expected).read_text())
    tol = spec["tolerance"]
    module = load_module(impl)
    say = print if verbose else (lambda *a, **k: None)
    say(f"counter gate: {impl or 'implementations/linear_classifier.py (shipped)'}; torch "
        f"{torch.__version__}; expected values from {Path(expected).name} (torch {spec['torch']}), "
        f"tolerance " + ", ".join(f"{k} +{tol[k]:.0%}" for k in COUNTERS))
    if spec["torch"] != torch.__version__:
        say(f"  note: the expected values were recorded with torch {spec['torch']}; another "
            "version may dispatch other operations. Check a failure, then --update.")
    results = []
    for case in spec["cases"]:
        got = measure(module, case["loss"], case["N"], case["dtype"], case["threads"])
        exp = case["expected"]
        verdicts = {k: ("over" if got[k] > exp[k] * (1 + tol[k]) else
                        "less" if got[k] < exp[k] else "ok") for k in COUNTERS}
        results.append((case, got, verdicts))
        flag = "OVER" if "over" in verdicts.values() else "ok  "
        say(f"  {flag} {case_name(case):26} " + "  ".join(
            f"{k} {got[k]:,}" + ("" if got[k] == exp[k] else f" (expected {exp[k]:,}, "
                                 f"{got[k] / exp[k]:.3f}x)") for k in COUNTERS))
        if flag != "ok  ":
            itemsize = torch.finfo(common.DTYPES[case["dtype"]]).bits // 8
            for line in compare(got, exp, case["N"], common.D, common.C, itemsize):
                say(f"       {line}")
    return results


def update(impl=None, expected=EXPECTED):
    from harness.confine.subject import load_module
    spec = json.loads(Path(expected).read_text())
    module = load_module(impl)
    for case in spec["cases"]:
        case["expected"] = measure(module, case["loss"], case["N"], case["dtype"], case["threads"])
    spec["torch"] = torch.__version__
    Path(expected).write_text(json.dumps(spec, indent=1) + "\n")
    print(f"wrote {expected}")


def selftest(runs: int) -> int:
    """`runs` fresh processes of the gate on the unchanged code and on a copy with one
    extra N x C temporary and one extra product with X, alternating."""
    from benchmarks.wasteful_copy import write_wasteful_copy
    tmp = tempfile.TemporaryDirectory()
    waste = write_wasteful_copy(Path(tmp.name) / "linear_classifier_wasteful.py")
    tally = {"unchanged": [], "wasteful": []}
    for i in range(runs):
        for kind, impl in (("unchanged", None), ("wasteful", waste)):
            cmd = [sys.executable, str(Path(__file__).resolve())] + (["--impl", str(impl)] if impl else [])
            proc = subprocess.run(cmd, capture_output=True, text=True)
            tally[kind].append(proc.returncode)
            load = os.getloadavg()[0]
            print(f"run {i + 1:2} {kind:9}: exit {proc.returncode}  (load average {load:.1f})",
                  flush=True)
            if proc.returncode not in (0, 1):
                print(proc.stdout + proc.stderr, file=sys.stderr)
    alarms = sum(rc != 0 for rc in tally["unchanged"])
    caught = sum(rc == 1 for rc in tally["wasteful"])
    print(f"\nunchanged code: {runs - alarms}/{runs} passed ({alarms} false alarm(s))")
    print(f"one extra N x C temporary and one extra product with X: {caught}/{runs} caught")
    return 0 if alarms == 0 and caught == runs else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--impl", default=os.environ.get("PERFGATE_IMPL") or None)
    parser.add_argument("--expected", default=str(EXPECTED))
    parser.add_argument("--update", action="store_true", help="re-record the expected values")
    parser.add_argument("--selftest", type=int, default=0, metavar="RUNS")
    parser.add_argument("--json", default=None, help="write the measurements to this file")
    args = parser.parse_args(argv)
    if args.selftest:
        return selftest(args.selftest)
    if args.update:
        update(args.impl, args.expected)
        return 0
    try:
        results = run_gate(args.impl, args.expected)
    except Exception as exc:  # noqa: BLE001 - a gate that cannot measure must say so, exit 2
        print(f"counter gate: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps([dict(case=c, got=g, verdicts=v)
                                               for c, g, v in results], indent=1))
    over = [c for c, g, v in results if "over" in v.values()]
    less = [c for c, g, v in results if "less" in v.values() and "over" not in v.values()]
    if less:
        print(f"counter gate: {len(less)} case(s) cost less than expected: re-record with --update")
    if over:
        print(f"counter gate: FAIL: {len(over)} case(s) over: " + ", ".join(map(case_name, over)))
        return 1
    print("counter gate: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
