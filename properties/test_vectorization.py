"""The vectorized losses run no Python loop over examples (SPEC.md): the work they
do, counted deterministically, does not grow with N."""
import pytest
import torch

from harness.api import VECTORIZED_LOSSES
from harness.compare import fail
from harness.repro import vectorized_snippet
from properties.params import names

SIZES = (8, 32)  # a loop over examples adds at least one op (or line) per example


def _work(subject, name, N, D=5, C=4):
    gen = torch.Generator().manual_seed(N)
    W = torch.randn(D, C, generator=gen, dtype=torch.float64)
    X = torch.randn(N, D, generator=gen, dtype=torch.float64)
    y = torch.randint(C, (N,), generator=gen)
    return subject.count_work(name, W, X, y, 0.1)


@pytest.mark.parametrize("row", names(VECTORIZED_LOSSES))
def test_work_does_not_grow_with_n(subject, row):
    small, large = (_work(subject, row.name, n) for n in SIZES)
    for what, unit in (("ops", "tensor operations dispatched"), ("lines", "lines of Python run")):
        if large[what] > small[what]:
            fail(row.name, "is not vectorized: its work grows with the number of examples N"
                           " (SPEC.md, Losses: no Python loop over examples; do not call the naive version)",
                 [f"{unit}: {small[what]} at N = {SIZES[0]}, {large[what]} at N = {SIZES[1]}",
                  "rewrite the loop over examples as whole-matrix operations (X @ W, masks, gather)"],
                 vectorized_snippet(row.name))
