"""The oracles agree with two independent routes: PyTorch's losses under autograd,
and central finite differences (away from the SVM's hinge, where it has no gradient)."""
import math

import torch
from hypothesis import assume, given, settings

import pytest

from properties.strategies import loss_cases
from reference import losses
from tests import alternatives

ROUTES = {"svm": alternatives.svm_loss_autograd, "softmax": alternatives.softmax_loss_autograd}


def close(a, b, scale):
    return abs(a - b) <= 1e-12 * max(1.0, scale)


@pytest.mark.parametrize("model", ["svm", "softmax"])
@given(case=loss_cases())
def test_oracle_matches_autograd(model, case):
    W, X, y, reg = case.as_torch()
    ref = losses.ORACLES[model](W, X, y, reg)
    if model == "svm":  # autograd's choice at an exact tie is its own; keep off the hinge
        margins = torch.tensor(losses.svm_margins(W, X, y))
        margins[torch.arange(len(y)), y] = 1.0
        assume(bool((margins.abs() > 1e-9).all()))
    loss, dW = ROUTES[model](W, X, y, reg)
    assert close(ref.loss, loss, abs(loss)), (ref.loss, loss)
    assert torch.allclose(ref.dW, dW, rtol=1e-10, atol=1e-10), (ref.dW, dW)


@pytest.mark.parametrize("model", ["svm", "softmax"])
@settings(max_examples=15)
@given(case=loss_cases())
def test_oracle_matches_finite_differences(model, case):
    W, X, y, reg = case.as_torch()
    if model == "svm":  # finite differences straddle the kink within h of the hinge
        margins = torch.tensor(losses.svm_margins(W, X, y))
        margins[torch.arange(len(y)), y] = 1.0
        assume(bool((margins.abs() > 1e-3).all()))
    oracle = losses.ORACLES[model]
    numeric = alternatives.finite_difference_gradient(lambda V: oracle(V, X, y, reg).loss, W)
    scale = float(numeric.abs().max()) + 1.0
    assert torch.allclose(oracle(W, X, y, reg).dW, numeric, rtol=1e-5, atol=1e-6 * scale)


def test_known_values():
    """Hand-computed: two classes, one example, scores (1, 0) with label 1."""
    W = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    X = torch.tensor([[1.0]], dtype=torch.float64)
    y = torch.tensor([1])
    svm = losses.svm_loss(W, X, y, 0.5)
    assert svm.loss == 2.0 + 0.5          # margin 1 - 0 + 1 = 2, reg * sum(W*W) = 0.5
    assert svm.dW.tolist() == [[1.0 + 1.0, -1.0]]   # +x to class 0, -x to class 1, + 2*reg*W
    soft = losses.softmax_loss(W, X, y, 0.0)
    assert math.isclose(soft.loss, math.log(1 + math.e) - 0.0)


def test_svm_oracle_is_strict_at_the_hinge():
    """margin == 0 counts nothing (the naive loop's `if margin > 0`)."""
    W = torch.tensor([[0.0, 1.0]], dtype=torch.float64)   # s = (0, 1), label 1: margin 0 - 1 + 1 = 0
    X = torch.tensor([[1.0]], dtype=torch.float64)
    ref = losses.svm_loss(W, X, torch.tensor([1]), 0.0)
    assert ref.loss == 0.0 and ref.dW.abs().sum() == 0.0
