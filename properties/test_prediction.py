"""predict_linear_classifier: the int64 argmax of X @ W."""
import torch
from hypothesis import given

import pytest

from harness.compare import type_name, fail, repro_call
from harness.policy import dtype_policy
from harness.tolerance import argmax_slack
from properties.params import DEVICES, DTYPES, api
from properties.strategies import loss_cases

NAME = "predict_linear_classifier"
pytestmark = api(NAME)


def check_predictions(who, labels, W, X, repro):
    """labels must be an int64 (N,) tensor of a row's argmax (any index tied with it, up to rounding)."""
    if type(labels) is not torch.Tensor:
        fail(who, "must return a torch.Tensor of labels", [f"got {type_name(labels)}"], repro)
    want = ((X.shape[0],), torch.int64, X.device)
    got = (tuple(labels.shape), labels.dtype, labels.device)
    if got != want:
        fail(who, "must return an int64 tensor of shape (N,) on X's device", [f"expected {want}, got {got}"],
             repro)
    scores = X.double().cpu() @ W.double().cpu()
    C = W.shape[1]
    lab = labels.cpu()
    if bool(((lab < 0) | (lab >= C)).any()):
        fail(who, "labels must lie in 0 .. C-1", [f"got {lab.tolist()}"], repro)
    top = scores.max(dim=1).values
    chosen = scores.gather(1, lab.unsqueeze(1)).squeeze(1)
    slack = argmax_slack(W, X, W.dtype).max(dim=1).values
    bad = (top - chosen) > slack
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        argmin = bool((chosen[bad] == scores[bad].min(dim=1).values).all())
        fail(who, "must predict argmax_c (X @ W)[:, c]",
             [f"row {i}: scores {[round(v, 6) for v in scores[i].tolist()]}, expected label "
              f"{int(scores[i].argmax())}, got {int(lab[i])}", "looks like: argmin" if argmin else ""], repro)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(case=loss_cases())
def test_argmax_of_scores(subject, strict, note, dtype, device, case):
    W, X, _, _ = case.as_torch(dtype, device)
    repro = repro_call(NAME, "W, X", {"W": W, "X": X}, "labels")
    with dtype_policy(dtype, strict, note):
        check_predictions(NAME, subject.call(NAME, W, X), W, X, repro)
