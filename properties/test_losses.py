"""The four losses: agreement with the float64 oracle, stability, sanity values and
metamorphic relations. Every call also checks the inputs are unchanged, the form of
(loss, dW) and that dW does not alias W (loss_calls.py)."""
import math

import numpy as np
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pytest

from harness.api import LOSSES
from harness.judge.compare import compare_loss, fail, fmt, loss_evidence
from harness.judge.policy import dtype_policy
from harness.judge.tolerance import loss_bounds, margin_ambiguity
from properties.loss_calls import call_loss, evidence
from properties.params import DEVICES, DTYPES, names, secondary
from properties.strategies import LossCase, float_arrays, labels, loss_cases, offset_cases
from reference.losses import svm_margins

SVM_LOSSES = [r for r in LOSSES if r.loss_model == "svm"]
SOFTMAX_LOSSES = [r for r in LOSSES if r.loss_model == "softmax"]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("row", names(LOSSES))
@given(case=loss_cases())
def test_matches_oracle(subject, strict, note, row, dtype, device, case):
    """The primary property: loss and dW agree with the oracle (edge shapes included)."""
    W, X, y, reg = case.as_torch(dtype, device)
    with dtype_policy(dtype, strict, note):
        loss, dW, repro = call_loss(subject, row, W, X, y, reg)
        compare_loss(row.name, row.loss_model, loss, dW, W, X, y, reg, repro,
                     evidence=evidence(subject, row))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("row", names(LOSSES))
@secondary
@given(case=offset_cases())
def test_stable_under_row_offsets(subject, row, device, case):
    """Huge scores shared by all classes of a row change nothing (subtract each row's max)."""
    W, X, y, reg = case.as_torch(torch.float64, device)
    loss, dW, repro = call_loss(subject, row, W, X, y, reg)
    if not (math.isfinite(loss) and bool(torch.isfinite(dW).all())):
        fail(row.name, "is not numerically stable: huge scores shared by a whole row give inf/NaN"
                          " (SPEC.md, Losses: numerically stable)",
             [f"loss {fmt(loss)}, dW finite: {bool(torch.isfinite(dW).all())};"
              " subtract each row's own max score before exp (a global max is not enough)"], repro,
             loss_evidence(row.loss_model, W, X, y, reg, loss, dW, extra=evidence(subject, row)))
    compare_loss(row.name, row.loss_model, loss, dW, W, X, y, reg, repro, underflow_ok=False,
                 evidence=evidence(subject, row))


@pytest.mark.parametrize("row", names(LOSSES))
@secondary
@given(case=loss_cases(w_bound=0.0))
def test_zero_weights_sanity(subject, row, case):
    """At W = 0 every score is 0: the SVM loss is C - 1, the softmax loss log C."""
    W, X, y, reg = case.as_torch()
    loss, dW, repro = call_loss(subject, row, W, X, y, reg)
    C = W.shape[1]
    expected = float(C - 1) if row.loss_model == "svm" else math.log(C)
    bound = loss_bounds(row.loss_model, W, X, y, reg, W.dtype).loss
    if not abs(loss - expected) <= bound:
        why = "every margin is 0 - 0 + 1 = 1" if row.loss_model == "svm" else "every class has p = 1/C"
        fail(row.name, f"at W = 0 the loss must be {'C - 1' if row.loss_model == 'svm' else 'log C'}"
                       f" ({why}; SPEC.md, Losses)", [f"C = {C}: expected {fmt(expected)}, got {fmt(loss)}"],
             repro, loss_evidence(row.loss_model, W, X, y, reg, loss, dW, extra=evidence(subject, row)))


# ------------------------------------------------------------ metamorphic relations

def _away_from_hinge(row, W, X, y):
    """SVM relations compare two roundings of one margin: skip margins at the hinge."""
    if row.loss_model != "svm":
        return True
    bounds = loss_bounds("svm", W, X, y, 0.0, W.dtype)
    margins = torch.tensor(svm_margins(W, X, y), dtype=torch.float64)
    near = margins.abs() <= margin_ambiguity(bounds.score, y)
    near[torch.arange(len(y)), y] = False
    return not bool(near.any())


def _same_answer(row, relation, first, second, bounds, repro, dW_map=lambda d: d):
    """The repro checks both calls against the oracle: one of them is off when they disagree."""
    (loss_a, dW_a), (loss_b, dW_b) = first, second
    if not abs(loss_a - loss_b) <= 2 * bounds.loss:
        fail(row.name, f"breaks a metamorphic relation: {relation} must not change the loss"
                       " (SPEC.md, Losses)",
             [f"loss before {fmt(loss_a)}, after {fmt(loss_b)}"], repro)
    diff = (dW_map(dW_a).double().cpu() - dW_b.double().cpu()).abs()
    if not bool((diff <= 2 * dW_map(bounds.dW)).all()):
        fail(row.name, f"breaks a metamorphic relation: {relation} must not change dW"
                       " (up to the same change of its columns; SPEC.md, Losses)",
             [f"largest difference {float(diff.max()):.3g}"], repro)


@pytest.mark.parametrize("row", names(LOSSES))
@secondary
@given(case=loss_cases(), data=st.data())
def test_permuting_examples(subject, row, case, data):
    W, X, y, reg = case.as_torch()
    assume(_away_from_hinge(row, W, X, y))
    perm = torch.tensor(data.draw(st.permutations(range(X.shape[0])), label="perm"))
    loss, dW, repro = call_loss(subject, row, W, X, y, reg)
    loss_p, dW_p, repro_p = call_loss(subject, row, W, X[perm], y[perm], reg)
    _same_answer(row, "permuting the examples (X[perm], y[perm])", (loss, dW), (loss_p, dW_p),
                 loss_bounds(row.loss_model, W, X, y, reg, W.dtype), repro + repro_p)


@pytest.mark.parametrize("row", names(LOSSES))
@secondary
@given(case=loss_cases())
def test_duplicating_the_data(subject, row, case):
    """The loss is a mean over examples: the data set twice over has the same loss."""
    W, X, y, reg = case.as_torch()
    assume(_away_from_hinge(row, W, X, y))
    loss, dW, repro = call_loss(subject, row, W, X, y, reg)
    loss_2, dW_2, repro_2 = call_loss(subject, row, W, torch.cat([X, X]), torch.cat([y, y]), reg)
    _same_answer(row, "duplicating every example (torch.cat([X, X]))", (loss, dW), (loss_2, dW_2),
                 loss_bounds(row.loss_model, W, torch.cat([X, X]), torch.cat([y, y]), reg, W.dtype),
                 repro + repro_2)


@pytest.mark.parametrize("row", names(LOSSES))
@secondary
@given(case=loss_cases(), data=st.data())
def test_permuting_classes(subject, row, case, data):
    """Renaming the classes (columns of W, with the labels) permutes dW's columns alike."""
    W, X, y, reg = case.as_torch()
    assume(_away_from_hinge(row, W, X, y))
    C = W.shape[1]
    perm = torch.tensor(data.draw(st.permutations(range(C)), label="perm"))
    inverse = torch.argsort(perm)   # new column c is old column perm[c]
    loss, dW, repro = call_loss(subject, row, W, X, y, reg)
    loss_p, dW_p, repro_p = call_loss(subject, row, W[:, perm], X, inverse[y], reg)
    _same_answer(row, "permuting the classes (W[:, perm] with labels renamed)", (loss, dW),
                 (loss_p, dW_p), loss_bounds(row.loss_model, W, X, y, reg, W.dtype), repro + repro_p,
                 dW_map=lambda d: d[:, perm])


@pytest.mark.parametrize("row", names(SOFTMAX_LOSSES))
@secondary
@given(case=loss_cases(reg=st.just(0.0)), data=st.data())
def test_softmax_shift_invariance(subject, row, case, data):
    """Adding one vector v to every column of W adds x_i . v to a whole row of scores."""
    W, X, y, reg = case.as_torch()
    v = torch.tensor(data.draw(float_arrays((W.shape[0],), 2.0), label="v"))
    W_shift = W + v.unsqueeze(1)
    loss, dW, repro = call_loss(subject, row, W, X, y, reg)
    loss_s, dW_s, repro_s = call_loss(subject, row, W_shift, X, y, reg)
    _same_answer(row, "adding one vector to every column of W (reg = 0)", (loss, dW), (loss_s, dW_s),
                 loss_bounds("softmax", W_shift, X, y, reg, W.dtype), repro + repro_s)


# ------------------------------------------------------------------ hinge ties

@st.composite
def tie_cases(draw):
    """Small integers and halves: every score is exact, so margins of exactly 0 abound."""
    n, d, c = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(2, 5))
    W = draw(arrays(np.float64, (d, c), elements=st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0])))
    X = draw(arrays(np.float64, (n, d), elements=st.sampled_from([-2.0, -1.0, 0.0, 1.0, 2.0])))
    return LossCase(W, X, draw(labels(n, c)), draw(st.sampled_from([0.0, 0.25])))


@pytest.mark.parametrize("row", names(SVM_LOSSES))
@secondary
@given(case=tie_cases())
def test_svm_at_the_hinge(subject, row, case):
    """At a margin of exactly 0 either one-sided derivative (or a mix) is a valid dW."""
    W, X, y, reg = case.as_torch()
    loss, dW, repro = call_loss(subject, row, W, X, y, reg)
    compare_loss(row.name, "svm", loss, dW, W, X, y, reg, repro, evidence=evidence(subject, row))
