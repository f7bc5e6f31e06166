"""The hyper-parameter search: the candidate lists and test_one_param_set."""
import math

import torch
from hypothesis import given
from hypothesis import strategies as st

import pytest

from harness.compare import type_name, fail
from properties.params import api

SEARCH = ["svm_get_search_params", "softmax_get_search_params"]
MAX_COMBINATIONS, SUGGESTED = 25, 5


@pytest.mark.parametrize("name", [pytest.param(n, marks=api(n)) for n in SEARCH])
def test_search_params(subject, note, name):
    out = subject.call(name)
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(name, "must return (learning_rates, regularization_strengths)", [f"got {str(out)[:200]}"])
    for label, values in zip(("learning_rates", "regularization_strengths"), out):
        if not (isinstance(values, list) and all(type(v) in (float, int) for v in values)):
            fail(name, f"{label} must be a list of positive floats", [f"got {values!r}"[:200]])
        bad = [v for v in values if not (math.isfinite(v) and v > 0)]
        if bad:  # no upper bound: real grids reach learning rates of 100 (SPEC.md)
            fail(name, f"{label} must be positive, finite numbers", [f"got {bad} in {values!r}"[:200]])
        if len(values) < 2:
            fail(name, f"{label} needs at least two candidates to search over", [f"got {values!r}"])
    combos = len(out[0]) * len(out[1])
    if combos > MAX_COMBINATIONS:
        fail(name, f"at most {MAX_COMBINATIONS} combinations (the course notebook refuses more)",
             [f"{len(out[0])} x {len(out[1])} = {combos}"])
    if combos < SUGGESTED:
        note(f"{name}: only {combos} combinations; the notebook asks for at least {SUGGESTED}")


NAME = "test_one_param_set"


def _split(n, d, correct, gen):
    """X, y and predictions of which exactly `correct` are right."""
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(3, (n,), generator=gen)
    pred = y.clone()
    pred[correct:] = (y[correct:] + 1) % 3
    return X, y, pred


@api(NAME)
@given(n_train=st.integers(2, 8), n_val=st.integers(2, 8), data=st.data(),
       lr=st.sampled_from([1e-3, 0.5]), reg=st.sampled_from([0.0, 1e-2]),
       num_iters=st.sampled_from([None, 3]))
def test_trains_once_and_measures_both_splits(subject, note, n_train, n_val, data, lr, reg, num_iters):
    gen = torch.Generator().manual_seed(n_train * 10 + n_val)
    ok_train = data.draw(st.integers(1, n_train - 1), label="correct on train")
    ok_val = data.draw(st.integers(1, n_val - 1), label="correct on val")
    X_train, y_train, p_train = _split(n_train, 3, ok_train, gen)
    X_val, y_val, p_val = _split(n_val, 3, ok_val, gen)
    data_dict = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    spy = subject.spy("SpyClassifier", answers=[(X_train, p_train), (X_val, p_val)])
    args = (spy, data_dict, lr, reg) + ((num_iters,) if num_iters is not None else ())
    call = f"test_one_param_set(cls, data_dict, lr={lr}, reg={reg}" + (f", num_iters={num_iters})" if num_iters else ")")
    out = subject.call(NAME, *args)
    train_calls = subject.spy_state(spy)["train_calls"]
    if len(train_calls) != 1:
        fail(NAME, "must call cls.train exactly once", [f"{call}: train called {len(train_calls)} times"])
    got = train_calls[0]
    want_iters = 2000 if num_iters is None else num_iters
    for key, want in (("learning_rate", lr), ("reg", reg), ("num_iters", want_iters)):
        if got[key] != want:
            fail(NAME, f"must train with {key}={want}", [f"{call}: cls.train got {key}={got[key]!r}"])
    if not (torch.equal(got["X_train"], X_train) and torch.equal(got["y_train"], y_train)):
        fail(NAME, "must train on data_dict['X_train'], data_dict['y_train']", [call])
    if not (isinstance(out, tuple) and len(out) == 3 and out[0] is spy):
        fail(NAME, "must return (cls, train_acc, val_acc) with the classifier it was given",
             [f"got {str(out)[:200]}"])
    accs = []
    for label, value in zip(("train_acc", "val_acc"), out[1:]):
        if type(value) is torch.Tensor and value.dim() == 0:
            value = float(value)
        if type(value) not in (float, int):
            fail(NAME, f"{label} must be a float (or a 0-dim tensor)", [f"got {type_name(value)}"])
        accs.append(float(value))
    want = (ok_train / n_train, ok_val / n_val)
    close = lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(b))
    if all(close(a, w) for a, w in zip(accs, want)):
        return
    if all(close(a, 100 * w) for a, w in zip(accs, want)):
        note(f"{NAME}: returns percentages; the starter asks for fractions in [0, 1]")
        return
    mixed = [close(a, w) or close(a, 100 * w) for a, w in zip(accs, want)]
    fail(NAME, "train_acc and val_acc must be the accuracies on X_train and X_val, as fractions"
               + (" (one is a fraction and the other a percentage)" if all(mixed) else ""),
         [f"{call}: expected ({want[0]:.6g}, {want[1]:.6g}), got ({accs[0]:.6g}, {accs[1]:.6g})"])
