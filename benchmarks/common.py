"""What the benchmarks time, shared by the pytest-benchmark suite and the gate.

Routes (each a callable `(W, X, y, reg) -> anything`, all on the same inputs):
  naive       the module's `*_loss_naive` (loops over examples)
  vectorized  the module's `*_loss_vectorized` (the shipped implementation by default)
  impl        the vectorized loss of the submission given with `--impl PATH`
  torch       PyTorch's own route: `F.cross_entropy` / `F.multi_margin_loss` on
              `X @ W`, plus `reg * sum(W*W)`, gradient by autograd
  floor       one `X @ W` product of the same shapes: no loss can skip reading X once
              and doing that product, so `vectorized / floor` says how close to the
              bound a loss and its gradient are (2 products are needed, so about 2
              is a plain good implementation; the shipped one blocks and transposes
              to get under 1.5 on CPU)
"""
import functools
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn.functional as F

D = 3073            # 32 * 32 * 3 CIFAR-10 pixels + the bias column
C = 10              # CIFAR-10 classes
REG = 1e-3
COURSE_N = (64, 500, 10000)                            # the course's sizes
SWEEP_N = (16, 64, 256, 500, 1024, 4096, 10000, 20000)  # how the cost grows with N
LOSSES = ("svm", "softmax")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
DEVICES = ("cpu", "cuda")
ROUTES = ("naive", "vectorized", "impl", "torch", "floor")
_FUNCTION = {"svm": "svm_loss", "softmax": "softmax_loss"}


def cuda_available() -> bool:
    return torch.cuda.is_available()


@functools.lru_cache(maxsize=2)
def inputs(N: int, dtype: str, device: str, D: int = D, C: int = C, seed: int = 0):
    """(W, X, y): deterministic, like the course's preprocessed CIFAR-10 (zero-mean
    data with a bias column of ones, small random weights)."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + N)
    X = torch.randn(N, D, generator=gen, dtype=DTYPES[dtype])
    X[:, -1] = 1.0
    W = 1e-3 * torch.randn(D, C, generator=gen, dtype=DTYPES[dtype])
    y = torch.randint(C, (N,), generator=gen)
    return W.to(device), X.to(device), y.to(device)


def floor(W, X, y=None, reg=None):
    """The bound: one `X @ W` product of the same shapes."""
    return X @ W


def torch_route(loss: str) -> Callable:
    """PyTorch's own loss, reg term and autograd: what a user of torch.nn would write."""
    def softmax(W, X, y, reg):
        Wr = W.detach().requires_grad_(True)
        total = F.cross_entropy(X @ Wr, y) + reg * torch.sum(Wr * Wr)
        total.backward()
        return total.detach(), Wr.grad

    def svm(W, X, y, reg):
        Wr = W.detach().requires_grad_(True)
        # multi_margin_loss averages over the C classes too: times C gives the course's sum.
        total = F.multi_margin_loss(X @ Wr, y) * W.shape[1] + reg * torch.sum(Wr * Wr)
        total.backward()
        return total.detach(), Wr.grad

    return {"svm": svm, "softmax": softmax}[loss]


def module_route(module, loss: str, kind: str) -> Callable:
    """`module.<loss>_loss_<kind>`, kind "naive" or "vectorized"."""
    return getattr(module, f"{_FUNCTION[loss]}_{kind}")


def synchronized(fn: Callable, device: str) -> Callable:
    """fn, made to return only once a GPU has finished its work (CPU: fn itself)."""
    if not str(device).startswith("cuda"):
        return fn

    def run(*args):
        out = fn(*args)
        torch.cuda.synchronize()
        return out
    return run


def sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def interleaved(contenders: Dict[str, Callable[[], object]], rounds: int, warmup: int = 1,
                device: str = "cpu") -> Dict[str, List[float]]:
    """Seconds per call of each contender, measured round-robin (one call of each per
    round, the order rotated every round) so that a burst of load from other
    processes hits all of them alike instead of whichever ran then."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    sync(device)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn = contenders[name]
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def paired_ratio(times: Dict[str, List[float]], name: str, reference: str) -> float:
    """The median over rounds of time(name) / time(reference) within the same round."""
    return statistics.median(a / b for a, b in zip(times[name], times[reference]))


def ms(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_ratio(x) -> str:
    if x is None:
        return "-"
    return f"{x:.0f}x" if x >= 100 else f"{x:.2f}x"


def course_or_sweep(Ns: Sequence[int]) -> str:
    return ", ".join(str(n) + ("*" if n in COURSE_N else "") for n in Ns)


# ------------------------------------------------------------------ the machine

def cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def _cpuinfo(field: str) -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == field:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_key() -> str:
    """A file-name-safe key for this kind of machine: the CPU model (with its family and model
    numbers: a VM may call every EPYC generation "AMD EPYC") and its logical CPUs (a 2-vCPU and a
    16-vCPU slice of one model are different machines to a 2-thread loss)."""
    family, model = _cpuinfo("cpu family"), _cpuinfo("model")
    name = cpu_model() + (f" f{family}m{model}" if family and model else "")
    safe = "".join(c if c.isalnum() else "-" for c in name).strip("-")
    while "--" in safe:
        safe = safe.replace("--", "-")
    return f"{safe}-{os.cpu_count()}cpu"


def caches() -> dict:
    """{'L1d': '32K', 'L2': '512K', 'L3': '16384K'} as Linux reports them for CPU 0 ({} elsewhere)."""
    out = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind, size = ((index / f).read_text().strip() for f in ("level", "type", "size"))
        except OSError:
            continue
        if kind != "Instruction":
            out[f"L{level}{'d' if kind == 'Data' else ''}"] = size
    return out


def read_floor(X, rounds: int = 9) -> dict:
    """The physical floor of any loss: one read of X. {bandwidth_Bps, floor_s}: X's bytes over
    the read bandwidth of `X.sum()` (one add per element read), the median of `rounds` calls."""
    X.sum()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        X.sum()
        times.append(time.perf_counter() - t0)
    nbytes = X.numel() * X.element_size()
    bandwidth = nbytes / statistics.median(times)
    return dict(bandwidth_Bps=bandwidth, floor_s=nbytes / bandwidth)
