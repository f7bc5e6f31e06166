"""Efficiency of the vectorized losses: a note for the student, never a failure.

Each vectorized loss runs once in the worker under harness/confine/counting.py at one size,
and its counters (products with X from the flops, the peak bytes it allocates beyond
its inputs, the tensor operations it dispatches) are compared with the shipped
implementation's, measured at the same size on one thread (harness/judge/shipped.json:
data, as the student edition ships no solution; tests/test_packaging.py keeps it equal to
what the shipped implementation measures). What the
worker measures could be forged by a submission written against this harness, so it
never decides anything: the test passes whatever the counters say, and a call that
raises leaves no note (the other properties judge it).
"""
import pytest
import torch

from harness.api import VECTORIZED_LOSSES
from harness.confine.counting import counting
from harness.judge import shipped
from harness.judge.efficiency import COUNTERS, compare
from properties.loss_calls import work_growth
from properties.params import names

# The scores (N x C) weigh as much as W (D x C) and several times more than a row of X,
# so extra N x C temporaries and extra products with X both show; X is 2.4 MB on the wire.
N, D, C, DTYPE = 1000, 300, 10, torch.float64


def _inputs():
    gen = torch.Generator().manual_seed(498)
    W = 1e-3 * torch.randn(D, C, generator=gen, dtype=DTYPE)
    X = torch.randn(N, D, generator=gen, dtype=DTYPE)
    y = torch.randint(C, (N,), generator=gen)
    return W, X, y, 1e-3


def measure(module, name):
    """`module`'s counters for `name` at this size, measured in this process."""
    with counting(module.__file__) as work:
        getattr(module, name)(*_inputs())
    return {k: int(work[k]) for k in COUNTERS}


def _reference(name):
    return shipped.counters(name)


@pytest.mark.parametrize("row", names(VECTORIZED_LOSSES))
def test_efficiency_note(subject, note, row):
    if subject.shipped:
        return  # the reference against itself says nothing
    try:
        # A loop over examples (the vectorization properties fail it) is not measured at
        # N=1000: under its counters it dispatches 100 000 operations and more, which can
        # outlast the call timeout on a loaded machine and turn that named failure into an error.
        if work_growth(subject, row.name):
            return
        got = subject.count_work(row.name, *_inputs())
        got = {k: int(got[k]) for k in COUNTERS}
    except Exception:  # noqa: BLE001 - a note only: the other properties judge a call that fails
        return
    ref = _reference(row.name)
    products = lambda w: w["flops"] / (2 * N * D * C)
    head = (f"{row.name}: efficiency at N={N}, D={D}, C={C}, float64, a hint, not graded: "
            f"{products(got):.1f} products with X (reference {products(ref):.0f}), "
            f"{got['peak_bytes']:,} bytes at the peak beyond the inputs (reference "
            f"{ref['peak_bytes']:,}), {got['ops']} tensor operations (reference {ref['ops']})")
    more = compare(got, ref, N, D, C, torch.finfo(DTYPE).bits // 8)
    note(head + ("; " + "; ".join(more) if more else "; as lean as the reference"))
