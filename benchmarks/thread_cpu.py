"""How well the losses use several threads, estimated from CPU time, which load barely moves.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/thread_cpu.py [--threads 2] [--before SHA] [--calls 15]

On a busy shared machine, wall-clock times with several threads measure the neighbours
(each parallel region waits for whichever thread the OS descheduled). The CPU time each
thread spends does not depend on that: with OMP_WAIT_POLICY=PASSIVE an idle thread
sleeps instead of spinning, so a thread's CPU time is its work. On a quiet machine a
call takes about as long as its busiest thread's work, so "busiest thread / the floor's
busiest thread" estimates the quiet-machine ratio to the floor (N = 20000, float32, the
speed target's size). It checked out on the version before issue 11: estimated 1.56x
for both losses, measured 1.61x / 1.70x on a quiet machine. The shipped file is compared
with the file at `--before` (default 7fd5368, one block on several threads). Reads
/proc/self/task (Linux); the clock tick is 10 ms, hence several calls per figure.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks import common  # noqa: E402


def threads_cpu() -> dict:
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[tid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def per_call(fn, calls):
    """(CPU seconds of each thread per call, busiest first; wall seconds per call)."""
    fn()
    a, t0 = threads_cpu(), time.perf_counter()
    for _ in range(calls):
        fn()
    wall = (time.perf_counter() - t0) / calls
    b = threads_cpu()
    return sorted(((b[k] - a.get(k, 0.0)) / calls for k in b), reverse=True), wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--before", default="7fd5368")
    parser.add_argument("--calls", type=int, default=15)
    parser.add_argument("--N", type=int, default=20000)
    args = parser.parse_args(argv)
    from harness.confine.subject import load_module
    if os.environ.get("OMP_WAIT_POLICY", "").upper() != "PASSIVE":
        print("thread_cpu: set OMP_WAIT_POLICY=PASSIVE, or spinning threads count as work", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp()) / "before.py"
    tmp.write_text(subprocess.run(["git", "-C", str(ROOT), "show",
                                   f"{args.before}:implementations/linear_classifier.py"],
                                  capture_output=True, text=True, check=True).stdout)
    modules = {args.before: load_module(str(tmp)), "shipped": load_module(None)}
    torch.set_num_threads(args.threads)
    W, X, y = common.inputs(args.N, "float32", "cpu")
    print(f"{args.threads} threads, N = {args.N}, float32, {args.calls} calls each, "
          f"load average {os.getloadavg()[0]:.1f}")
    floor, wall = per_call(lambda: common.floor(W, X), args.calls)
    print(f"  {'floor':18} busiest thread {floor[0] * 1e3:6.1f} ms, all threads "
          f"{sum(floor) * 1e3:6.1f} ms (wall {wall * 1e3:.0f} ms)")
    for loss in common.LOSSES:
        for tag, module in modules.items():
            fn = common.module_route(module, loss, "vectorized")
            cpu, wall = per_call(lambda: fn(W, X, y, common.REG), args.calls)
            print(f"  {loss + ' ' + tag:18} busiest thread {cpu[0] * 1e3:6.1f} ms, all threads "
                  f"{sum(cpu) * 1e3:6.1f} ms (wall {wall * 1e3:.0f} ms): estimated "
                  f"{cpu[0] / floor[0]:.2f}x the floor on a quiet machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
