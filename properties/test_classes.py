"""LinearClassifier, LinearSVM and Softmax (SPEC.md, Classes)."""
import torch
from hypothesis import given

import pytest

from harness.api import BY_NAME
from harness.compare import type_name, check_loss_form, compare_loss, fail, loss_repro
from properties.params import api
from properties.strategies import loss_cases
from properties.test_prediction import check_predictions
from properties.test_sampling import indexed_data

BASE = "LinearClassifier"


def base_instance(subject):
    """The base class with a spy for its loss (the subclasses supply the real ones)."""
    obj = subject.new(BASE)
    subject.set_attribute(obj, "loss", subject.spy("SpyLoss"))
    return obj


@pytest.mark.parametrize("name", [pytest.param(n, marks=api(n)) for n in ("LinearSVM", "Softmax")])
@given(case=loss_cases())
def test_loss_method(subject, name, case):
    """LinearSVM.loss is the vectorized SVM loss, Softmax.loss the softmax loss."""
    model = BY_NAME[name].loss_model
    W, X, y, reg = case.as_torch()
    who = f"{name}.loss"
    repro = loss_repro(who, W, X, y, reg).replace(f"lc.{who}", f"lc.{name}().loss")
    out = subject.method(subject.new(name), "loss", W, X, y, reg)
    loss, dW = check_loss_form(who, out, W, allow_float=False, repro=repro)
    compare_loss(f"{who} (must be the {model} loss)", model, loss, dW, W, X, y, reg, repro)


@pytest.mark.parametrize("name", [pytest.param(n, marks=api(n)) for n in ("LinearSVM", "Softmax")])
def test_is_a_linear_classifier(subject, name):
    subject.require(name)
    if subject.has(BASE) and not subject.is_subclass(name, BASE):
        fail(name, f"must be a subclass of {BASE} (it inherits train, predict, save, load)")


@api(BASE)
def test_train_returns_history_and_sets_w(subject):
    X, y = indexed_data(12, 4, num_classes=3)
    y[0] = 2
    obj = base_instance(subject)
    history = subject.method(obj, "train", X, y, learning_rate=1e-2, reg=1e-3, num_iters=7, batch_size=5)
    if not (isinstance(history, list) and len(history) == 7 and all(type(v) is float for v in history)):
        fail(BASE, "train must return the loss history: a list of num_iters Python floats",
             [f"train(X, y, num_iters=7) returned {str(history)[:200]}"])
    W = subject.attribute(obj, "W")
    if type(W) is not torch.Tensor or tuple(W.shape) != (4, 3):
        fail(BASE, "train must leave the trained W in self.W, shape (D, C)",
             [f"self.W is {type_name(W)} {tuple(getattr(W, 'shape', ()))}"])


@api(BASE)
@given(case=loss_cases())
def test_predict_uses_self_w(subject, case):
    W, X, _, _ = case.as_torch()
    obj = base_instance(subject)
    subject.set_attribute(obj, "W", W)
    check_predictions(f"{BASE}.predict", subject.method(obj, "predict", X), W, X,
                      "clf.W = W\nlabels = clf.predict(X)")


@api(BASE)
def test_save_load_round_trip(subject):
    W = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    first, second = base_instance(subject), base_instance(subject)
    subject.set_attribute(first, "W", W.clone())
    path = subject.scratch("W.pth")  # a folder the (sandboxed) submission can write
    subject.method(first, "save", path)
    subject.method(second, "load", path)
    got = subject.attribute(second, "W")
    if not (type(got) is torch.Tensor and got.shape == W.shape and torch.equal(got.cpu(), W)):
        fail(BASE, "save(path) then load(path) must give back the same W",
             [f"saved W of shape {tuple(W.shape)}, loaded {str(got)[:120]}"])
