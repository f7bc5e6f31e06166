"""Where a vectorized loss's time goes on the CPU at hand (issue 32): one profile per machine.

    python benchmarks/profile_steps.py                  # N = 20000, float32, torch's default threads
    python benchmarks/profile_steps.py --threads 1 --n 10000 --dtype float64 --rounds 9
    python benchmarks/profile_steps.py --json out.json  # also the numbers, keyed by CPU

It prints, for this CPU (model, logical CPUs, torch's threads, the cache sizes Linux reports):

- the floor: X's bytes over a measured read bandwidth (`X.sum()`, which does one add per element
  it reads), the least any loss can take, beside one `X @ W` (what the gate divides by);
- the products a loss may be built from, each alone: `X @ W`, the gradient's two layouts
  (`X.T @ B`, `B.T @ X`), the C x N scores `W.T @ X.T` and its gradient `S @ X`;
- the shipped route step by step, as `_one_pass` runs it (the scores' product per block or group
  of blocks, the elementwise work, the gradient's product, the final sum), each step's total over
  the pass;
- the shipped losses whole, and again with other block sizes (the module's `_BLOCK_BYTES` and
  `_THREAD_BLOCK_BYTES` set for the run), so a CPU whose caches want another block shows it.

Every figure is the median of `--rounds` rounds, all contenders timed round-robin in each round
(common.interleaved), and is also given as a ratio to `X @ W` of the same rounds.
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

from benchmarks import common  # noqa: E402

SHIPPED = ROOT / "implementations" / "linear_classifier.py"
BLOCK_SIZES_MIB = (1, 2, 4, 8, 16, 32, 64)


def shipped_steps(module, block, W, X, y, reg):
    """The shipped `_one_pass`, step by step: {step: seconds} for one call (the same operations,
    with a clock read between steps). Kept in step with implementations/linear_classifier.py
    by tests/test_shipped_blocks.py (`test_the_step_profile_runs_the_shipped_route`): the same
    loss and dW as the shipped loss, bit for bit, on every route."""
    clock = {}

    def tick(name, t0):
        now = time.perf_counter()
        clock[name] = clock.get(name, 0.0) + now - t0
        return now

    t = time.perf_counter()
    num_train = X.shape[0]
    Wt = W.t().contiguous()
    y = y.to(device=X.device, dtype=torch.long)
    threads, blocks = module._plan(X)
    data = None
    t = tick("setup", t)
    if threads == 1:
        G = W.new_zeros(W.shape[1], W.shape[0])
        for X_b, y_b in module._pieces(X, y, threads, blocks):
            scores = Wt @ X_b.t()
            t = tick("scores: W.T @ X_b.T", t)
            part = block(scores, y_b.view(1, -1), 0)
            t = tick("elementwise (loss, dL/dscores)", t)
            G.addmm_(scores, X_b)
            t = tick("gradient: G += dS_b @ X_b", t)
            data = part if data is None else data.add_(part)
    elif blocks == 1:
        scores = X @ Wt.t()
        t = tick("scores: X @ W", t)
        data = block(scores, y.view(-1, 1), 1)
        t = tick("elementwise (loss, dL/dscores)", t)
        G = scores.t() @ X
        t = tick("gradient: dS.T @ X", t)
    else:
        G_t = W.new_zeros(threads, W.shape[1], W.shape[0])
        for X_b, y_b in module._pieces(X, y, threads, blocks):
            k = X_b.shape[0]
            scores = torch.bmm(Wt.expand(k, -1, -1), X_b.transpose(1, 2))
            t = tick("scores: bmm(W.T, X_b.T), T blocks", t)
            part = block(scores, y_b.unsqueeze(1), 1)
            t = tick("elementwise (loss, dL/dscores)", t)
            G_t[:k].baddbmm_(scores, X_b)
            t = tick("gradient: baddbmm(dS_b, X_b), T blocks", t)
            data = part if data is None else data.add_(part)
        G = G_t.sum(0)
        t = tick("sum of the T accumulators", t)
    loss = data / num_train + reg * torch.sum(W * W)
    dW = W * (2 * reg)
    dW.add_(G.t(), alpha=1.0 / num_train)
    tick("dW = 2 reg W + G.T / N", t)
    return (loss, dW), clock, (threads, blocks)


def with_blocks(module, block_bytes, thread_block_bytes):
    """A call of the module's loss with its block sizes set for the call (then restored)."""
    def call(fn, *args):
        saved = module._BLOCK_BYTES, module._THREAD_BLOCK_BYTES
        module._BLOCK_BYTES, module._THREAD_BLOCK_BYTES = block_bytes, thread_block_bytes
        try:
            return fn(*args)
        finally:
            module._BLOCK_BYTES, module._THREAD_BLOCK_BYTES = saved
    return call


def profile(N=20000, dtype="float32", threads=None, rounds=9, impl=None):
    from harness.confine.subject import load_module
    if threads:
        torch.set_num_threads(threads)
    module = load_module(impl)
    W, X, y = common.inputs(N, dtype, "cpu")
    reg = common.REG
    B = torch.randn(N, common.C, dtype=X.dtype)   # an N x C gradient of the scores
    S = B.t().contiguous()                       # the same, C x N
    Xt_view = X.t()
    products = {
        "X @ W": lambda: X @ W,
        "X.T @ B (textbook gradient)": lambda: Xt_view @ B,
        "B.T @ X (gradient, C x D)": lambda: B.t() @ X,
        "W.T @ X.T (C x N scores)": lambda: W.t() @ Xt_view,
        "S @ X (C x N gradient)": lambda: S @ X,
        "two products: X @ W, then X.T @ B": lambda: (X @ W, Xt_view @ B),
    }
    losses = {f"{name} (shipped)": (lambda f: lambda: f(W, X, y, reg))(getattr(module, f"{name}_loss_vectorized"))
              for name in common.LOSSES}
    blocks = {}
    for mib in BLOCK_SIZES_MIB:
        call = with_blocks(module, mib << 20, mib << 20)
        blocks[f"svm, blocks of {mib} MiB"] = (lambda c: lambda: c(module.svm_loss_vectorized, W, X, y, reg))(call)
    contenders = {**products, **losses, **blocks}
    times = common.interleaved(contenders, rounds=rounds, warmup=1)
    step_rounds = {}
    for _ in range(rounds):
        for name, block in (("svm", module._svm_block), ("softmax", module._softmax_block)):
            _, clock, plan = shipped_steps(module, block, W, X, y, reg)
            for step, s in clock.items():
                step_rounds.setdefault(name, {}).setdefault(step, []).append(s)
    bandwidth = common.read_floor(X, rounds)["bandwidth_Bps"]
    ref = statistics.median(times["X @ W"])
    floor_s = X.numel() * X.element_size() / bandwidth
    return dict(
        cpu=common.cpu_model(), cpu_key=common.cpu_key(), logical_cpus=os.cpu_count(), threads=torch.get_num_threads(),
        caches=common.caches(), torch=torch.__version__, mkl=torch.backends.mkl.is_available(),
        N=N, D=common.D, C=common.C, dtype=dtype, rounds=rounds, plan=dict(threads=plan[0], blocks=plan[1]),
        x_bytes=X.numel() * X.element_size(), read_bandwidth_Bps=bandwidth, floor_s=floor_s, x_at_w_s=ref,
        timings={name: dict(median_s=statistics.median(t), vs_x_at_w=common.paired_ratio(times, name, "X @ W"))
                 for name, t in times.items()},
        steps={loss: {step: statistics.median(v) for step, v in steps.items()}
               for loss, steps in step_rounds.items()})


def render(p) -> str:
    ms = lambda s: f"{1e3 * s:8.2f} ms"  # noqa: E731
    lines = [f"CPU: {p['cpu']} ({p['logical_cpus']} logical CPUs; caches {p['caches'] or 'not reported'}); "
             f"torch {p['torch']}, {p['threads']} thread(s), MKL {'yes' if p['mkl'] else 'no'}",
             f"N = {p['N']}, D = {p['D']}, C = {p['C']}, {p['dtype']}: X is {p['x_bytes'] / 2**20:.0f} MiB; "
             f"median of {p['rounds']} rounds",
             f"floor (one read of X at {p['read_bandwidth_Bps'] / 1e9:.1f} GB/s): {ms(p['floor_s'])}"
             f" = {p['floor_s'] / p['x_at_w_s']:.2f}x one X @ W ({ms(p['x_at_w_s']).strip()})",
             "", f"{'':44} {'median':>11}  {'/ X @ W':>8}  {'/ floor':>8}"]
    for name, t in p["timings"].items():
        lines.append(f"{name:44} {ms(t['median_s'])}  {t['vs_x_at_w']:7.2f}x  {t['median_s'] / p['floor_s']:7.2f}x")
    plan = p["plan"]
    lines.append("")
    lines.append(f"the shipped route step by step (plan: {plan['threads']} thread(s), {plan['blocks']} block(s)):")
    for loss, steps in p["steps"].items():
        total = sum(steps.values())
        lines.append(f"  {loss}: {ms(total).strip()} in all, {total / p['x_at_w_s']:.2f}x one X @ W")
        for step, s in steps.items():
            lines.append(f"    {step:42} {ms(s)}  {s / total:6.1%}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dtype", default="float32", choices=sorted(common.DTYPES))
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--impl", default=None, help="another implementation file (default: the shipped one)")
    ap.add_argument("--json", default=None, help="also write the numbers here")
    args = ap.parse_args(argv)
    p = profile(args.n, args.dtype, args.threads, args.rounds, args.impl)
    print(render(p))
    if args.json:
        Path(args.json).write_text(json.dumps(p, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
