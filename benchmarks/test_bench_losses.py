"""pytest-benchmark: the naive loops against the vectorized losses, with two baselines
(one `X @ W` product, and PyTorch's own loss + autograd) at every size, in float32
and float64, on CPU and CUDA.

    python -m pytest benchmarks                       # everything, then the summary
    python -m pytest benchmarks --impl path/to/linear_classifier.py   # + a submission
"""
import time
from typing import NamedTuple

import pytest

from benchmarks import common


class Case(NamedTuple):
    loss: object    # "svm" | "softmax" | None (the floor serves both)
    route: str      # naive | vectorized | impl | torch | floor
    N: int
    dtype: str
    device: str

    @property
    def id(self) -> str:
        return f"{self.device}-{self.dtype}-N{self.N}-{self.loss or 'XW'}-{self.route}"


def _list(value, cast=str):
    return [cast(v.strip()) for v in str(value).split(",") if v.strip()]


def cases(config):
    Ns = _list(config.getoption("bench_n", default=None) or
               ",".join(map(str, common.SWEEP_N)), int)
    naive_max = config.getoption("bench_naive_max_n", default=500)
    dtypes = _list(config.getoption("bench_dtypes", default="float32,float64"))
    devices = _list(config.getoption("bench_devices", default="cpu,cuda"))
    with_impl = bool(config.getoption("impl", default=None))
    out = []
    for device in devices:
        for dtype in dtypes:
            for N in Ns:
                out.append(Case(None, "floor", N, dtype, device))
                for loss in common.LOSSES:
                    routes = ["vectorized", "torch"] + (["impl"] if with_impl else [])
                    if N <= naive_max:
                        routes.insert(0, "naive")
                    out += [Case(loss, route, N, dtype, device) for route in routes]
    return out


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        found = cases(metafunc.config)
        metafunc.parametrize("case", found, ids=[c.id for c in found])


def _callable(case, shipped, impl_module):
    if case.route == "floor":
        return common.floor
    if case.route == "torch":
        return common.torch_route(case.loss)
    if case.route == "impl":
        return common.module_route(impl_module, case.loss, "vectorized")
    return common.module_route(shipped, case.loss, case.route)


def test_loss(benchmark, record, request, shipped, impl_module, case):
    if case.device.startswith("cuda") and not common.cuda_available():
        pytest.skip("no CUDA device here")
    fn = _callable(case, shipped, impl_module)
    W, X, y = common.inputs(case.N, case.dtype, case.device)
    call = common.synchronized(lambda: fn(W, X, y, common.REG), case.device)

    # Warm-up calls, which also say how many rounds fit the budget: the fastest of
    # them, so that one call slowed by another process does not cut the rounds short.
    budget = request.config.getoption("bench_budget", default=0.4)
    min_rounds = request.config.getoption("bench_min_rounds", default=5)
    once, spent = float("inf"), 0.0
    while spent < min(budget / 4, 3 * once) or once == float("inf"):
        common.sync(case.device)
        start = time.perf_counter()
        call()
        took = time.perf_counter() - start
        once, spent = min(once, took), spent + took
        if spent > budget / 2:
            break
    rounds = max(min_rounds, min(200, int(budget / max(once, 1e-9))))

    benchmark.group = f"{case.device} {case.dtype} N={case.N}"
    benchmark.extra_info.update(loss=case.loss, route=case.route, N=case.N,
                                dtype=case.dtype, device=case.device)
    benchmark.pedantic(call, setup=lambda: common.sync(case.device), rounds=rounds,
                       iterations=1, warmup_rounds=0)
    if benchmark.stats is not None:  # None under --benchmark-disable
        record(case, benchmark.stats.stats, rounds)
