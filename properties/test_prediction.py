"""predict_linear_classifier: the int64 argmax of X @ W."""
import torch
from hypothesis import given

import pytest

from harness.judge.compare import type_name, fail
from harness.judge.policy import dtype_policy
from harness.judge.repro import predict_snippet
from harness.errors import SubmissionError
from harness.judge.tolerance import argmax_slack
from properties.loss_calls import attach_repro
from properties.params import DEVICES, DTYPES, api
from properties.strategies import loss_cases

NAME = "predict_linear_classifier"
pytestmark = api(NAME)
SPEC = "SPEC.md, predict_linear_classifier"


def expectation(W, X):
    """The oracle's labels, and how far below a row's max score a label may be (rounding)."""
    scores = X.double().cpu() @ W.double().cpu()
    return scores.argmax(dim=1).tolist(), argmax_slack(W, X, W.dtype).max(dim=1).values


def predict_repro(W, X, **kw):
    expected, slack = expectation(W, X)
    return predict_snippet(W, X, expected, slack, **kw)


def check_predictions(who, labels, W, X, repro, evidence=None):
    """labels must be an int64 (N,) tensor of a row's argmax (any index tied with it, up to rounding)."""
    def ev_(**facts):  # the caller's evidence (a class's rule) wins over these facts
        return dict(facts, function=who.split(".")[0], labels=labels, W=W, X=X, **(evidence or {}))
    if type(labels) is not torch.Tensor:
        fail(who, f"must return a torch.Tensor of labels ({SPEC})", [f"got {type_name(labels)}"], repro,
             ev_(rule="form", returned=type_name(labels)))
    N, C = X.shape[0], W.shape[1]
    want = ((N,), torch.int64, X.device)
    got = (tuple(labels.shape), labels.dtype, labels.device)
    if got != want:
        shape = {(N, 1): "keepdim", (N, C): "scores"}.get(tuple(labels.shape))
        fail(who, f"must return an int64 tensor of shape (N,) on X's device ({SPEC})",
             [f"expected {want}, got {got}"], repro,
             ev_(rule="form", shape=shape, float_labels=labels.is_floating_point()))
    scores = X.double().cpu() @ W.double().cpu()
    lab = labels.cpu()
    if bool(((lab < 0) | (lab >= C)).any()):
        fail(who, f"labels must lie in 0 .. C-1 ({SPEC})", [f"got {lab.tolist()}"], repro, ev_(rule="range"))
    top = scores.max(dim=1).values
    chosen = scores.gather(1, lab.unsqueeze(1)).squeeze(1)
    slack = argmax_slack(W, X, W.dtype).max(dim=1).values
    bad = (top - chosen) > slack
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        argmin = bool((chosen[bad] == scores[bad].min(dim=1).values).all())
        fail(who, f"must predict argmax_c (X @ W)[:, c] ({SPEC})",
             [f"row {i}: scores {[round(v, 6) for v in scores[i].tolist()]}, expected label "
              f"{int(scores[i].argmax())}, got {int(lab[i])}"], repro, ev_(rule="argmax", argmin=argmin))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(case=loss_cases())
def test_argmax_of_scores(subject, strict, note, dtype, device, case):
    W, X, _, _ = case.as_torch(dtype, device)
    repro = predict_repro(W, X)
    with dtype_policy(dtype, strict, note):
        try:
            labels = subject.call(NAME, W, X)
        except (SubmissionError, AssertionError) as exc:
            raise attach_repro(exc, repro)
        check_predictions(NAME, labels, W, X, repro, {"probe": lambda W, X: subject.call(NAME, W, X)})
