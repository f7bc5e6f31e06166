"""Measure the gate itself: its false alarms on unchanged code, its detection of a 2x slowdown.

    python benchmarks/gate_selftest.py            # 10 runs of each, alternating (~10 min)
    python benchmarks/gate_selftest.py --runs 3 --json out.json

Each run is a fresh `python benchmarks/gate.py` process, as CI would start it: the
shipped implementation (must pass every time) alternating with a copy of it slowed
exactly 2x (benchmarks/slowed_copy.py, written to a temporary folder; must fail every
time), so both see the same changes of load. Prints every ratio, the pass/fail counts and the margins to the
limits; exit 0 only if there was no false alarm and every slowdown was caught.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from slowed_copy import write_slowed_copy  # noqa: E402


def one_run(impl, extra):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gate.json"
        cmd = [sys.executable, str(HERE / "gate.py"), "--json", str(out)] + extra
        if impl:
            cmd += ["--impl", str(impl)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        results = json.loads(out.read_text())["results"] if out.exists() else []
    return proc.returncode, results, proc.stdout + proc.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", default=None, help="write every run's measurements here")
    parser.add_argument("gate_args", nargs="*", help="passed on to gate.py (after --)")
    args = parser.parse_args(argv)
    runs = {"unchanged": [], "slowed 2x": []}
    tmp = tempfile.TemporaryDirectory()
    slowed = write_slowed_copy(Path(tmp.name) / "linear_classifier_slowed_2x.py", factor=2)
    for i in range(args.runs):
        for kind, impl in (("unchanged", None), ("slowed 2x", slowed)):
            rc, results, text = one_run(impl, args.gate_args)
            runs[kind].append(dict(rc=rc, results=results))
            ratios = "  ".join(f"{r['loss']}@{r['N']}/{r['dtype']}={r['ratio']:.2f}"
                               + (f"(first {r['first_ratio']:.2f})" if "first_ratio" in r else "")
                               for r in results)
            print(f"run {i + 1:2} {kind:9}: exit {rc}  {ratios}", flush=True)
            if rc not in (0, 1):
                print(text, file=sys.stderr)
    false_alarms = sum(r["rc"] != 0 for r in runs["unchanged"])
    caught = sum(r["rc"] == 1 for r in runs["slowed 2x"])
    print(f"\nunchanged code: {args.runs - false_alarms}/{args.runs} passed "
          f"({false_alarms} false alarm(s))")
    print(f"2x slowdown:    {caught}/{args.runs} caught")
    cases = {}
    for kind, items in runs.items():
        for run in items:
            for r in run["results"]:
                key = (r["loss"], r["N"], r["dtype"])
                cases.setdefault(key, {"limit": r["max_ratio"], "unchanged": [], "slowed 2x": []})
                # The worst case for each claim: an unchanged run's first measurement
                # (the one that can trigger an alarm); a slowed run's lower measurement
                # (it escapes if either is under the limit).
                cases[key][kind].append(r.get("first_ratio", r["ratio"]) if kind == "unchanged"
                                        else r["ratio"])
    print(f"\n{'case':28} {'limit':>6} {'unchanged: median  max':>24} {'slowed: min  median':>22}"
          "\n(unchanged: the first measurement; slowed: the lower of the two when re-measured)")
    for (loss, N, dtype), c in cases.items():
        u, s = sorted(c["unchanged"]), sorted(c["slowed 2x"])
        med = lambda v: v[len(v) // 2] if v else float("nan")
        print(f"{loss + ' N=' + str(N) + ' ' + dtype:28} {c['limit']:6.2f} "
              f"{med(u):15.2f} {max(u, default=float('nan')):6.2f} "
              f"{min(s, default=float('nan')):13.2f} {med(s):7.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0 if (false_alarms == 0 and caught == args.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
