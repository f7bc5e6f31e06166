"""The counters (harness/confine/counting.py) that the counter gate, the tracking history and the
student note rely on, and the tracking report's change-marking rule. A few seconds (25 s at a load average of 16 on the 2-core dev machine)."""
import math

import pytest
import torch

from benchmarks import track
from benchmarks.wasteful_copy import write_wasteful_copy
from harness.confine.counting import counting
from harness.confine.subject import load_module

N, D, C = 64, 50, 10


def _inputs(dtype=torch.float64):
    gen = torch.Generator().manual_seed(7)
    return (torch.randn(D, C, generator=gen, dtype=dtype), torch.randn(N, D, generator=gen, dtype=dtype),
            torch.randint(C, (N,), generator=gen), 0.1)


def _count(module, name, args):
    with counting(str(module.__file__)) as work:
        getattr(module, name)(*args)
    return work


def test_peak_bytes_counts_live_new_storage_only():
    x = torch.zeros(1000, dtype=torch.float64)
    with counting("none") as work:
        a = x + 1                  # 8000 new
        b = a * 2                  # 16000 live
        del a                      # freed before the next op
        c = b.view(10, 100).t()    # a view: nothing new
        x.add_(1)                  # in place on an input: nothing new
        d = torch.empty(500, dtype=torch.float64)  # 8000 + 4000
        del b, c, d
    assert work["peak_bytes"] == 16000
    assert work["ops"] == 6 and work["flops"] == 0


@pytest.mark.parametrize("threads,block_bytes", [(1, 1 << 30), (1, 2048), (2, 2048)])
@pytest.mark.parametrize("name", ["svm_loss_vectorized", "softmax_loss_vectorized"])
def test_shipped_does_two_products_on_every_route(monkeypatch, name, threads, block_bytes):
    shipped = load_module(None)
    monkeypatch.setattr(shipped, "_BLOCK_BYTES", block_bytes)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        work = _count(shipped, name, _inputs())
    finally:
        torch.set_num_threads(before)
    assert work["flops"] == 2 * (2 * N * D * C)  # scores and gradient: 2*N*D*C each


def test_flops_agree_with_flop_counter_mode(monkeypatch):
    """Our mode uses FlopCounterMode's formulas (and adds addmm_, baddbmm_, mv, dot):
    on the shipped loss's two routes, FlopCounterMode given the same additions agrees."""
    from torch.utils.flop_counter import FlopCounterMode
    from harness.confine.counting import _MORE_FLOPS
    shipped = load_module(None)
    for block_bytes in (1 << 30, 2048):
        monkeypatch.setattr(shipped, "_BLOCK_BYTES", block_bytes)
        with FlopCounterMode(display=False, custom_mapping=_MORE_FLOPS) as mode:
            shipped.svm_loss_vectorized(*_inputs())
        assert _count(shipped, "svm_loss_vectorized", _inputs())["flops"] == mode.get_total_flops()


@pytest.mark.parametrize("name", ["svm_loss_vectorized", "softmax_loss_vectorized"])
def test_counters_see_one_extra_temporary_and_one_extra_product(tmp_path, name):
    args = _inputs()
    lean = _count(load_module(None), name, args)
    waste = _count(load_module(str(write_wasteful_copy(tmp_path / "waste.py"))), name, args)
    assert waste["flops"] - lean["flops"] == 2 * N * D * C
    assert waste["peak_bytes"] - lean["peak_bytes"] == N * C * 8
    assert waste["ops"] == lean["ops"] + 1


def _row(commit, sha, ratio, flops=100, ops=10, peak=1000, t=0):
    return dict(case="svm N=1 float32", threads=1, commit=commit, commit_time=f"2026-01-0{t}",
                recorded=f"{t}-{ratio}", machine="m", sha=sha, ratio=ratio, flops=flops, ops=ops,
                peak_bytes=peak)


def test_change_marking_rule():
    rows = [_row("a", "s1", 1.00, t=1), _row("a", "s1", 1.02, t=1), _row("b", "s1", 0.99, t=2),
            _row("c", "s2", 2.00, t=3), _row("c", "s2", 2.03, t=3), _row("d", "s3", 2.01, ops=11, t=4)]
    spread = track.spread(rows)[("svm N=1 float32", "m", 1)]
    assert 0 < spread < 0.03
    marked, pairs = track.marks(rows)
    assert marked == [[], [], [], ["ratio"], ["ratio"], ["ops"]]
    assert pairs == [0, 4]   # identical files: (a, a), (a, b) x 2 and (c, c), none marked
    assert track.threshold(spread) == max(math.log(1.1), track.RULE_K * spread)
