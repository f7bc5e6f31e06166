"""The shipped vectorized losses take a different route by size and thread count (one
block of n x C scores; row blocks one after the other; T blocks at a time through
bmm, each thread with its own C x D accumulator, plus a short last block). The
property suite's inputs are all one block, so this checks every route against the
float64 oracle, with the block size shrunk so that small inputs take them all.
Costs under a second."""
import pytest
import torch

from harness.confine.subject import load_module
from harness.judge.tolerance import loss_bounds
from reference import losses

LOSSES = {"svm": "svm_loss_vectorized", "softmax": "softmax_loss_vectorized"}


@pytest.fixture
def shipped(monkeypatch):
    module = load_module(None)
    monkeypatch.setattr(module, "_BLOCK_BYTES", 64)  # 64 bytes: a block of about one row
    monkeypatch.setattr(module, "_THREAD_BLOCK_BYTES", 256)  # with threads, about 6 rows
    threads = torch.get_num_threads()
    yield module
    torch.set_num_threads(threads)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("threads,N", [(1, 37), (2, 37), (3, 37), (2, 1), (4, 130), (8, 5)])
def test_every_route_matches_the_oracle(shipped, loss, threads, N):
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(N * 10 + threads)
    D, C = 5, 4
    W = torch.randn(D, C, generator=gen, dtype=torch.float64)
    X = 3 * torch.randn(N, D, generator=gen, dtype=torch.float64)
    y = torch.randint(C, (N,), generator=gen)
    got_threads, blocks = shipped._plan(X)
    nbytes = N * D * 8
    expected_blocks = max(1, min(128, nbytes // 64))
    if threads > 1 and expected_blocks > 1:
        expected_blocks = max(threads, min(expected_blocks, nbytes // 256))
    assert (got_threads, blocks) == (threads, expected_blocks)
    before = (W.clone(), X.clone(), y.clone())
    loss_value, dW = getattr(shipped, LOSSES[loss])(W, X, y, 0.3)
    ref = losses.ORACLES[loss](W, X, y, 0.3)
    bounds = loss_bounds(loss, W, X, y, 0.3, torch.float64)
    assert abs(float(loss_value) - ref.loss) <= bounds.loss
    assert bool(((dW - ref.dW).abs() <= bounds.dW).all())
    assert all(torch.equal(a, b) for a, b in zip(before, (W, X, y)))


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("threads,N", [(1, 1), (1, 37), (2, 1), (2, 37), (3, 37)])
def test_the_step_profile_runs_the_shipped_route(shipped, loss, threads, N):
    """benchmarks/profile_steps.py times `_one_pass` step by step with its own copy of the steps:
    it must compute what the shipped loss computes, on every route, or its profile is of
    something else."""
    from benchmarks.profile_steps import shipped_steps
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(N + threads)
    W = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    X = torch.randn(N, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(4, (N,), generator=gen)
    (step_loss, step_dW), clock, plan = shipped_steps(shipped, getattr(shipped, f"_{loss}_block"), W, X, y, 0.3)
    loss_value, dW = getattr(shipped, LOSSES[loss])(W, X, y, 0.3)
    assert plan == shipped._plan(X)
    assert torch.equal(step_loss, loss_value) and torch.equal(step_dW, dW)
    assert clock and all(s >= 0 for s in clock.values())
