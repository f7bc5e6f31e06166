"""The hyper-parameter search: the candidate lists and test_one_param_set."""
import math

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

import pytest

from harness.judge.compare import type_name, fail
from harness.judge.repro import one_param_snippet, search_snippet
from harness.judge.static_checks import rebound_parameters
from harness.confine.spies import SpyClassifier
from harness.errors import SubmissionError
from properties.loss_calls import attach_repro
from properties.params import api

SEARCH = ["svm_get_search_params", "softmax_get_search_params"]
MAX_COMBINATIONS, SUGGESTED = 25, 5
SPEC_SEARCH = "SPEC.md, The search"


def candidates(values):
    """A 1-D sequence of numbers as a list of floats (None: it is not one), and its kind."""
    if isinstance(values, (list, tuple)):
        items, kind = list(values), type(values).__name__
    elif isinstance(values, np.ndarray) and values.ndim == 1:
        items, kind = values.tolist(), "numpy array"
    elif type(values) is torch.Tensor and values.dim() == 1:
        items, kind = values.tolist(), "1-D tensor"
    else:
        return None, type_name(values)
    numbers = (int, float, np.integer, np.floating)
    if not all(isinstance(v, numbers) and not isinstance(v, bool) for v in items):
        return None, kind
    return [float(v) for v in items], kind


@pytest.mark.parametrize("name", [pytest.param(n, marks=api(n)) for n in SEARCH])
def test_search_params(subject, note, name):
    repro = search_snippet(name)
    try:
        out = subject.call(name)
    except (SubmissionError, AssertionError) as exc:
        raise attach_repro(exc, repro)
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(name, f"must return (learning_rates, regularization_strengths) ({SPEC_SEARCH})",
             [f"got {str(out)[:200]}"], repro, {"rule": "form"})
    lists = []
    for label, values in zip(("learning_rates", "regularization_strengths"), out):
        numbers, kind = candidates(values)
        if numbers is None or not all(math.isfinite(v) and v > 0 for v in numbers):
            fail(name, f"{label} must be a 1-D sequence of positive, finite numbers ({SPEC_SEARCH})",
                 [f"got {kind}: {values!r}"[:200]], repro, {"rule": "values"})
        if kind != "list":
            note(f"{name}: {label} is a {kind}, not the list the starter asks for (accepted)")
        if len(numbers) < 2:
            fail(name, f"{label} needs at least two candidates to search over ({SPEC_SEARCH})",
                 [f"got {numbers!r}"], repro, {"rule": "candidates"})
        lists.append(numbers)
    combos = len(lists[0]) * len(lists[1])
    if combos > MAX_COMBINATIONS:
        fail(name, f"at most {MAX_COMBINATIONS} combinations (the course notebook refuses more; {SPEC_SEARCH})",
             [f"{len(lists[0])} x {len(lists[1])} = {combos}"], repro, {"rule": "combinations"})
    if combos < SUGGESTED:
        note(f"{name}: only {combos} combinations; the notebook asks for at least {SUGGESTED}")


NAME = "test_one_param_set"
SPEC = "SPEC.md, test_one_param_set"


def _split(n, first, D, correct, gen):
    """Rows e_first .. e_(first+n-1) of the identity (so any labelling is linear), their labels,
    and predictions of which exactly `correct` are right."""
    X = torch.eye(D, dtype=torch.float64)[first:first + n]
    y = torch.randint(3, (n,), generator=gen)
    pred = y.clone()
    pred[correct:] = (y[correct:] + 1) % 3
    return X, y, pred


def replay(subject):
    """replay(W, data_dict, lr, reg, *rest) -> (what test_one_param_set returned, its spy's state):
    the call once more, with a fresh spy classifier that trains to W (harness/judge/mistakes.py's
    one_param_replay asks it, after an error, on a case that differs in one way)."""
    def call(W, data_dict, *args):
        spy = subject.spy("SpyClassifier", W=W)
        return subject.call(NAME, spy, data_dict, *args), subject.spy_state(spy)
    return call


@api(NAME)
@given(n_train=st.integers(2, 8), n_val=st.integers(2, 8), data=st.data(),
       lr=st.sampled_from([1e-3, 0.5]), reg=st.sampled_from([0.0, 1e-2]),
       num_iters=st.sampled_from([None, 3]))
def test_trains_once_and_measures_both_splits(subject, note, n_train, n_val, data, lr, reg, num_iters):
    gen = torch.Generator().manual_seed(n_train * 10 + n_val)
    ok_train = data.draw(st.integers(1, n_train - 1), label="correct on train")
    ok_val = data.draw(st.integers(1, n_val - 1), label="correct on val")
    D = n_train + n_val
    X_train, y_train, p_train = _split(n_train, 0, D, ok_train, gen)
    X_val, y_val, p_val = _split(n_val, n_train, D, ok_val, gen)
    W = torch.nn.functional.one_hot(torch.cat([p_train, p_val]), 3).double()  # argmax(X @ W) = pred
    data_dict = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    want = (ok_train / n_train, ok_val / n_val)
    repro = one_param_snippet(SpyClassifier, data_dict, W, lr, reg, num_iters, want)
    spy = subject.spy("SpyClassifier", W=W)
    args = (spy, data_dict, lr, reg) + ((num_iters,) if num_iters is not None else ())
    call = f"test_one_param_set(cls, data_dict, lr={lr}, reg={reg}" + (f", num_iters={num_iters})" if num_iters else ")")
    try:
        out = subject.call(NAME, *args)
    except (SubmissionError, AssertionError) as exc:
        exc.evidence = {"replay": replay(subject)}  # for naming the mistake behind the error
        raise attach_repro(exc, repro)
    train_calls = subject.spy_state(spy)["train_calls"]
    if len(train_calls) != 1:
        fail(NAME, f"must call cls.train exactly once ({SPEC})", [f"{call}: train called {len(train_calls)} times"],
             repro, {"rule": "train_calls", "many": len(train_calls) > 1,
                     "W_assigned": not train_calls and spy.W is not None})  # cls.W set by the function itself
    got = train_calls[0]
    want_iters = 2000 if num_iters is None else num_iters
    for key, value in (("learning_rate", lr), ("reg", reg), ("num_iters", want_iters)):
        if got[key] != value:
            fail(NAME, f"must train with {key}={value} ({SPEC})", [f"{call}: cls.train got {key}={got[key]!r}"],
                 repro, {"rule": "train_args", "key": key, "default": got[key] == 100,
                         "rebound": key in rebound_parameters(subject.path.read_text(errors="replace"), NAME),
                         "swapped": lr != reg and got["learning_rate"] == reg and got["reg"] == lr})
    if not (torch.equal(got["X_train"], X_train) and torch.equal(got["y_train"], y_train)):
        fail(NAME, f"must train on data_dict['X_train'], data_dict['y_train'] ({SPEC})", [call], repro,
             {"rule": "train_data"})
    if not (isinstance(out, tuple) and len(out) == 3 and out[0] is spy):
        fail(NAME, f"must return (cls, train_acc, val_acc) with the classifier it was given ({SPEC})",
             [f"got {str(out)[:200]}"], repro, {"rule": "form"})
    accs = []
    for label, value in zip(("train_acc", "val_acc"), out[1:]):
        if type(value) is torch.Tensor and value.dim() == 0:
            value = float(value)
        if type(value) not in (float, int):
            fail(NAME, f"{label} must be a float (or a 0-dim tensor) ({SPEC})", [f"got {type_name(value)}"],
                 repro, {"rule": "form"})
        accs.append(float(value))
    close = lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(b))
    if all(close(a, w) for a, w in zip(accs, want)):
        return
    if all(close(a, 100 * w) for a, w in zip(accs, want)):
        note(f"{NAME}: returns percentages; the starter asks for fractions in [0, 1]")
        return
    mixed = [close(a, w) or close(a, 100 * w) for a, w in zip(accs, want)]
    val_is_train = not close(want[0], want[1]) and (close(accs[1], want[0]) or close(accs[1], 100 * want[0]))
    fail(NAME, "train_acc and val_acc must be the accuracies on X_train and X_val, as fractions"
               + (" (one is a fraction and the other a percentage)" if all(mixed) else "") + f" ({SPEC})",
         [f"{call}: expected ({want[0]:.6g}, {want[1]:.6g}), got ({accs[0]:.6g}, {accs[1]:.6g})"], repro,
         {"rule": "accuracy", "mixed": all(mixed), "val_is_train": val_is_train})
