"""LinearClassifier, LinearSVM and Softmax (SPEC.md, Classes).

Blame (SPEC.md, Blame): a class is judged on how it delegates. LinearSVM.loss must
give what the submission's own svm_loss_vectorized gives (Softmax.loss: its
softmax_loss_vectorized), train must run its train_linear_classifier, predict its
predict_linear_classifier; when the callee is wrong the class gets a note, not a
failure. A class that does not delegate is judged against the oracle instead."""
import numpy as np
import torch
from hypothesis import given

import pytest

from harness.api import BY_NAME
from harness.judge.compare import PropertyFailure, type_name, compare_loss, fail
from harness.judge.repro import class_train_snippet, save_load_snippet, snippet
from harness.confine.spies import SpyLoss
from harness.confine.wire import Foreign
from harness.errors import SubmissionError
from properties.loss_calls import attach_repro, call_loss
from properties.params import api, secondary
from properties.strategies import loss_cases
from properties.test_prediction import check_predictions, predict_repro
from properties.test_sampling import indexed_data

BASE = "LinearClassifier"
SPEC = "SPEC.md, Classes"
OTHER = {"svm": "softmax", "softmax": "svm"}


def base_instance(subject):
    """The base class with a spy for its loss (the subclasses supply the real ones)."""
    obj = subject.new(BASE)
    spy = subject.spy("SpyLoss")
    subject.set_attribute(obj, "loss", spy)
    return obj, spy


def outcome(fn):
    """("ok", value) or ("raised", the first line of the error)."""
    try:
        return "ok", fn()
    except (SubmissionError, AssertionError) as exc:
        return "raised", str(exc).splitlines()[0].split(" raised ", 1)[-1]


def same(a, b) -> bool:
    """The same answer: equal tensors, numbers, or containers of them (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if type(a) is torch.Tensor:
        return a.shape == b.shape and a.dtype == b.dtype and bool(
            torch.equal(torch.nan_to_num(a), torch.nan_to_num(b)) and torch.equal(a.isnan(), b.isnan()))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(u, v) for u, v in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, float) and a != a:
        return b != b
    if type(a) is Foreign:
        # A value the wire does not carry (torch.max's named tuple, a Tensor subclass) cannot
        # be compared here: the same type from the method and from its callee is taken as
        # delegation, so the callee's mistake is blamed on the callee alone (SPEC.md, Blame).
        return a.type_name == b.type_name
    return a == b if isinstance(a, (type(None), bool, int, float, str)) else a is b


def callee_fails(check) -> bool:
    try:
        check()
    except (PropertyFailure, SubmissionError, AssertionError):
        return True
    return False


@pytest.mark.parametrize("name", [pytest.param(n, marks=api(n)) for n in ("LinearSVM", "Softmax")])
@secondary
@given(case=loss_cases())
def test_loss_method(subject, note, name, case):
    """LinearSVM.loss gives what svm_loss_vectorized gives, Softmax.loss what softmax_loss_vectorized gives."""
    model = BY_NAME[name].loss_model
    own = BY_NAME[f"{model}_loss_vectorized"]
    W, X, y, reg = case.as_torch()
    obj = subject.new(name)
    got = outcome(lambda: subject.method(obj, "loss", W.clone(), X.clone(), y.clone(), reg))
    if subject.has(own.name) and same(got, outcome(lambda: subject.call(own.name, W.clone(), X.clone(),
                                                                        y.clone(), reg))):
        def check_own():
            loss, dW, repro = call_loss(subject, own, W, X, y, reg)
            compare_loss(own.name, model, loss, dW, W, X, y, reg, repro)
        if callee_fails(check_own):
            note(f"{name}: fails because {own.name} fails (its loss is that function's)")
        return
    loss, dW, repro = call_loss(subject, own, W, X, y, reg, call=f"lc.{name}().loss", method_of=(obj, name))
    other = outcome(lambda: compare_loss("", OTHER[model], loss, dW, W, X, y, reg, None))
    compare_loss(f"{name}.loss (must be the {model} loss, {own.name})", model, loss, dW, W, X, y, reg, repro,
                 evidence={"function": name, "rule": "loss", "other_model": other[0] == "ok"})


@pytest.mark.parametrize("name", [pytest.param(n, marks=api(n)) for n in ("LinearSVM", "Softmax")])
def test_is_a_linear_classifier(subject, name):
    subject.require(name)
    if subject.has(BASE) and not subject.is_subclass(name, BASE):
        fail(name, f"must be a subclass of {BASE} (it inherits train, predict, save, load; {SPEC})", [],
             snippet(f"assert issubclass(lc.{name}, lc.{BASE}), 'expected {name} to subclass {BASE}'"),
             {"rule": "subclass"})


def _seen(calls):
    """What the loss saw that the arguments decide: each W, the batch shapes and reg (the rows
    themselves are sample_batch's business, and may come from an RNG reset_seed does not reset)."""
    return [(W, tuple(Xb.shape), tuple(yb.shape), reg) for W, Xb, yb, reg in calls]


@api(BASE)
def test_train_runs_train_linear_classifier(subject, note):
    """train(...) runs train_linear_classifier(self.loss, self.W, ...) with every argument as given,
    returns its history and keeps its W in self.W."""
    X, y = indexed_data(12, 4, num_classes=3)
    y[0] = 2
    repro = class_train_snippet(SpyLoss, X, y)
    obj, spy = base_instance(subject)
    subject.reset_seed(7)
    got = outcome(lambda: subject.method(obj, "train", X, y, learning_rate=1e-2, reg=1e-3, num_iters=7,
                                         batch_size=5))
    direct_spy = subject.spy("SpyLoss")
    subject.reset_seed(7)
    direct = outcome(lambda: subject.call("train_linear_classifier", direct_spy, None, X, y, 1e-2, 1e-3, 7, 5))
    if got[0] == "raised":
        if direct[0] == "raised" and got[1] == direct[1]:
            note(f"{BASE}: fails because train_linear_classifier fails ({direct[1][:100]})")
            return
        if direct[0] == "raised":
            raise attach_repro(SubmissionError(f"{BASE}.train(...) raised {got[1]}"), repro)
        fail(BASE, "train must run train_linear_classifier(self.loss, self.W, X_train, y_train, learning_rate,"
                   f" reg, num_iters, batch_size, verbose) with its arguments as given ({SPEC})",
             [f"train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=7, batch_size=5) raised {got[1][:160]}",
              "train_linear_classifier(loss, None, X, y, 1e-2, 1e-3, 7, 5) returns"], repro,
             {"rule": "train", "batches_differ": True})
    calls = subject.spy_state(spy)["calls"]
    direct_calls = subject.spy_state(direct_spy)["calls"]
    if direct[0] == "raised" or not same(_seen(calls), _seen(direct_calls)):
        fail(BASE, "train must run train_linear_classifier(self.loss, self.W, X_train, y_train, learning_rate,"
                   f" reg, num_iters, batch_size, verbose) with its arguments as given ({SPEC})",
             [f"train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=7, batch_size=5): the loss saw batches of "
              f"{sorted({tuple(c[1].shape) for c in calls})}, train_linear_classifier's of "
              f"{sorted({tuple(c[1].shape) for c in direct_calls})}" if direct[0] == "ok" else ""], repro,
             {"rule": "train", "batches_differ": True})
    history, (W_direct, history_direct) = got[1], direct[1]
    if history is None:
        fail(BASE, f"train must return the loss history ({SPEC})", ["train(...) returned None"], repro,
             {"rule": "train", "history_none": True})
    if not same(history, history_direct):
        fail(BASE, f"train must return the loss history train_linear_classifier returns ({SPEC})",
             [f"expected {str(history_direct)[:120]}, got {str(history)[:120]}"], repro, {"rule": "train"})
    W = subject.attribute(obj, "W")
    if not same(W, W_direct):
        fail(BASE, f"train must leave the trained W in self.W ({SPEC})",
             [f"self.W is {type_name(W)} {tuple(getattr(W, 'shape', ()))}"], repro,
             {"rule": "train", "W_none": W is None})
    if not (isinstance(history, list) and all(type(v) is float for v in history)):
        note(f"{BASE}: fails because train_linear_classifier fails (its history is not a list of floats)")


@api(BASE)
@secondary
@given(case=loss_cases())
def test_predict_runs_predict_linear_classifier(subject, note, case):
    """predict(X) is predict_linear_classifier(self.W, X)."""
    W, X, _, _ = case.as_torch()
    obj, _ = base_instance(subject)
    subject.set_attribute(obj, "W", W)
    got = outcome(lambda: subject.method(obj, "predict", X))
    own = outcome(lambda: subject.call("predict_linear_classifier", W, X))
    if same(got, own):
        if callee_fails(lambda: check_predictions("predict_linear_classifier", own[1], W, X, None)):
            note(f"{BASE}: fails because predict_linear_classifier fails (predict returns what it returns)")
        return
    repro = predict_repro(W, X, call="clf.predict(X)",
                          setup="clf = lc.LinearClassifier()\nclf.W = W\n",
                          alternative="torch.equal(labels, lc.predict_linear_classifier(W, X))")
    if got[0] == "raised":
        raise attach_repro(SubmissionError(f"{BASE}.predict(...) raised {got[1]}"), repro)
    check_predictions(f"{BASE}.predict", got[1], W, X, repro, {"rule": "predict", "own_differs": True})


@api(BASE)
def test_save_load_round_trip(subject):
    W = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    repro = save_load_snippet(W)
    (first, _), (second, _) = base_instance(subject), base_instance(subject)
    subject.set_attribute(first, "W", W.clone())
    path = subject.scratch("W.pth")  # a folder the (sandboxed) submission can write
    try:
        subject.method(first, "save", path)
        subject.method(second, "load", path)
    except (SubmissionError, AssertionError) as exc:
        raise attach_repro(exc, repro)
    got = subject.attribute(second, "W")
    if not (type(got) is torch.Tensor and got.shape == W.shape and torch.equal(got.cpu(), W)):
        transposed = type(got) is torch.Tensor and got.shape == W.t().shape and torch.equal(got.cpu(), W.t())
        fail(BASE, f"save(path) then load(path) must give back the same W ({SPEC})",
             [f"saved W of shape {tuple(W.shape)}, loaded {str(got)[:120]}"], repro,
             {"rule": "save_load", "transposed": transposed, "loaded_none": got is None})
