"""SVM gradients at margins of exactly 0 (SPEC.md, Losses: either one-sided derivative, or
a mix, is valid): the harness takes the valid gradient nearest to the submission's, each
entry weighed by its allowed error (harness.judge.repro.nearest_valid, which the repro
prints). Unweighed, the float32 rounding of the entries the reg term dominates pulled the
fit off the tight entries: a correct file failed (found by the one-choice arrays of
properties/strategies.py, whole numbers with reg = 1000)."""
import importlib.util

import pytest
import torch

from harness.confine.subject import SHIPPED
from harness.errors import PropertyFailure
from harness.judge.compare import compare_loss

# Margins (4, 0) and (5, 0) are exactly 0; every score is exact in float32.
W = [[1.0, 1.0], [1.0, 1.0], [-1.0, 0.0]]
X = [[3.0, 1.0, 3.0], [-3.0, -1.0, -2.0], [-3.0, 1.0, 1.0], [3.0, 3.0, 3.0], [1.0, 1.0, 1.0], [1.0, 2.0, 1.0]]
Y = [1, 0, 0, 0, 1, 1]
REG = 1000.0


def shipped():
    spec = importlib.util.spec_from_file_location("shipped_for_ties", SHIPPED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["svm_loss_naive", "svm_loss_vectorized"])
def test_a_correct_gradient_at_exact_ties_passes(name, dtype):
    W_, X_, y = torch.tensor(W, dtype=dtype), torch.tensor(X, dtype=dtype), torch.tensor(Y)
    loss, dW = getattr(shipped(), name)(W_.clone(), X_.clone(), y.clone(), REG)
    compare_loss(name, "svm", float(loss), dW, W_, X_, y, REG, None)


@pytest.mark.parametrize("counted", [False, True])
def test_a_gradient_off_at_a_tight_entry_still_fails(counted):
    """Either valid side of the ties (none counted, or both) passes; moved by 0.05 at one
    entry, it fails: no mix of the ties explains that (a mix that did would move the other
    entries by as much, beyond their allowed 4e-3)."""
    W_, X_, y = torch.tensor(W), torch.tensor(X), torch.tensor(Y)
    loss, dW = shipped().svm_loss_vectorized(W_.clone(), X_.clone(), y.clone(), REG)
    if counted:  # margins (4, 0) and (5, 0) counted: a valid gradient too
        for i in (4, 5):
            dW[:, 0] += X_[i] / 6
            dW[:, 1] -= X_[i] / 6
        compare_loss("svm_loss_vectorized", "svm", float(loss), dW, W_, X_, y, REG, None)
    dW[2, 1] += 0.05
    with pytest.raises(PropertyFailure, match="dW differs from the oracle's gradient"):
        compare_loss("svm_loss_vectorized", "svm", float(loss), dW, W_, X_, y, REG, None)


def test_ill_conditioned_ties_still_find_the_valid_gradient():
    """A real student's correct svm_loss_vectorized (tests/real: imcsy's final) failed here: six
    ties, three of them alike in the tight row of dW and told apart only by the loose one (weighed
    4e-4 of it), which 200 projected gradient steps did not resolve. The fit is now exact (an
    active-set solution of the box-constrained least squares), so a gradient that counts ties
    (0, 0) and (0, 4) and none of the others passes, and one moved at a tight entry still fails."""
    W_ = torch.tensor([[0.5, -0.99999, 1.1920928955078125e-07, 2.220446049250313e-16, 0.5], [1.0] * 5],
                      dtype=torch.float64)
    X_ = torch.tensor([[-2.0, 10000.0], [-2.0, 2000.0], [-2.0, 0.0], [-3.0, 10000.0], [3.0, -10000.0]],
                      dtype=torch.float64)
    y, reg = torch.tensor([3, 3, 3, 3, 3]), 0.7092135929032004
    scores = X_ @ W_
    margins = scores - scores[torch.arange(5), y].unsqueeze(1) + 1
    counted = (margins > 0).double()
    counted[torch.arange(5), y] = 0
    for i, j in ((0, 0), (0, 4), (1, 0), (1, 4), (2, 0), (2, 4)):  # the ties: margins 0 up to rounding
        counted[i, j] = float((i, j) in ((0, 0), (0, 4)))
    counted[torch.arange(5), y] = -counted.sum(dim=1)
    dW = X_.t() @ counted / 5 + 2 * reg * W_
    loss, _ = shipped().svm_loss_vectorized(W_.clone(), X_.clone(), y.clone(), reg)
    compare_loss("svm_loss_vectorized", "svm", float(loss), dW, W_, X_, y, reg, None)
    dW[0, 1] += 1e-6
    with pytest.raises(PropertyFailure, match="dW differs from the oracle's gradient"):
        compare_loss("svm_loss_vectorized", "svm", float(loss), dW, W_, X_, y, reg, None)
