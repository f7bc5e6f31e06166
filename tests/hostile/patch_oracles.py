# hostile: at import (and, through a sys.meta_path hook, in every module imported later) replaces the grader's oracles, comparisons and tolerances in every non-library module: oracles answer with the submission's own result, check/compare/assert/fail functions swallow their failure, bounds become inf; and sets torch.allclose, torch.equal, Tensor.equal/allclose, torch.testing.assert_close, numpy.allclose, numpy.array_equal, numpy.testing.assert_allclose, math.isclose to always agree
# wrong: svm_loss_vectorized
# expect: fail
# graded: forked (its attack is on values and on the code inside the worker, the same however the worker started)
# needs: a separate process for the submission (spawned, not forked), so that nothing it
#   patches is the grader's; the oracle and all comparisons run in the parent, which never
#   imports the submission
# safe harness: svm_loss_vectorized: fail (loss and dW are N times too large: the 1/N is
#   missing); LinearSVM uses a correct private copy; the other 12 names pass (a report
#   that ALSO blames sample_batch -- 'the same batch for different seeds' -- means the
#   grader's own torch.equal was patched: it was fooled); verdict fail.
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import builtins
import functools
import importlib.abc
import math
import os
import sys
import sysconfig
import types
import random
from typing import Callable, Dict, List, Optional, Tuple

import torch


# ---------------------------------------------------------------- losses: naive

def svm_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Multiclass SVM loss with loops over examples and classes; returns (loss, dW)."""
    dW = torch.zeros_like(W)
    num_classes, num_train = W.shape[1], X.shape[0]
    loss = W.new_zeros(())
    for i in range(num_train):
        scores = W.t().mv(X[i])
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * torch.sum(W * W)
    dW += 2 * reg * W
    return loss, dW


def softmax_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Softmax (cross-entropy) loss with a loop over examples; returns (loss, dW)."""
    dW = torch.zeros_like(W)
    num_classes, num_train = W.shape[1], X.shape[0]
    loss = W.new_zeros(())
    for i in range(num_train):
        scores = W.t().mv(X[i])
        scores = scores - scores.max()  # stability: shift by the row's max
        log_norm = torch.log(torch.exp(scores).sum())
        loss += log_norm - scores[y[i]]
        for j in range(num_classes):
            p = torch.exp(scores[j] - log_norm)
            dW[:, j] += (p - (1.0 if j == y[i] else 0.0)) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * torch.sum(W * W)
    dW += 2 * reg * W
    return loss, dW


# ----------------------------------------------------------- losses: vectorized

def _correct_svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Multiclass SVM loss without loops; returns (0-dim loss tensor, dW)."""
    num_train = X.shape[0]
    rows = torch.arange(num_train, device=X.device)
    scores = X @ W
    margins = scores - scores[rows, y].unsqueeze(1) + 1
    margins[rows, y] = 0
    positive = margins > 0  # strict, as the naive loop's `if margin > 0`
    loss = margins.clamp(min=0).sum() / num_train + reg * torch.sum(W * W)
    coeff = positive.to(W.dtype)
    coeff[rows, y] = -coeff.sum(dim=1)
    dW = (coeff.t() @ X).t() / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Softmax loss without loops; returns (0-dim loss tensor, dW)."""
    num_train = X.shape[0]
    rows = torch.arange(num_train, device=X.device)
    scores = X @ W
    log_probs = scores - torch.logsumexp(scores, dim=1, keepdim=True)
    loss = -log_probs[rows, y].sum() / num_train + reg * torch.sum(W * W)
    coeff = log_probs.exp()
    coeff[rows, y] -= 1
    dW = (coeff.t() @ X).t() / num_train + 2 * reg * W
    return loss, dW


# ---------------------------------------------------------------------- training

def sample_batch(X: torch.Tensor, y: torch.Tensor, num_train: int, batch_size: int):
    """Rows of X (with their labels) drawn uniformly with replacement."""
    idx = torch.randint(num_train, (batch_size,), device=X.device)
    return X[idx], y[idx]


def train_linear_classifier(loss_func: Callable, W: Optional[torch.Tensor], X: torch.Tensor,
                            y: torch.Tensor, learning_rate: float = 1e-3, reg: float = 1e-5,
                            num_iters: int = 100, batch_size: int = 200, verbose: bool = False):
    """Plain minibatch SGD; returns (W, loss_history)."""
    num_train, dim = X.shape
    if W is None:
        num_classes = int(torch.max(y).item()) + 1
        W = 0.000001 * torch.randn(dim, num_classes, device=X.device, dtype=X.dtype)
    loss_history: List[float] = []
    for it in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, num_train, batch_size)
        loss, grad = loss_func(W, X_batch, y_batch, reg)
        loss_history.append(loss.item())
        W = W - learning_rate * grad
        if verbose and it % 100 == 0:
            print("iteration %d / %d: loss %f" % (it, num_iters, loss.item()))
    return W, loss_history


def predict_linear_classifier(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """The int64 labels argmax_c (X @ W)[:, c]."""
    return torch.argmax(X @ W, dim=1)


# ------------------------------------------------------------ hyper-parameters

def svm_get_search_params():
    learning_rates = [1e-3, 3e-3, 1e-2, 3e-2]
    regularization_strengths = [1e-3, 1e-2, 5e-2, 1e-1]
    return learning_rates, regularization_strengths


def softmax_get_search_params():
    learning_rates = [1e-2, 3e-2, 1e-1, 3e-1]
    regularization_strengths = [1e-4, 1e-3, 1e-2, 5e-2]
    return learning_rates, regularization_strengths


def test_one_param_set(cls, data_dict: Dict[str, torch.Tensor], lr: float, reg: float,
                       num_iters: int = 2000):
    """Train `cls` once with (lr, reg); returns (cls, train_acc, val_acc) as fractions."""
    cls.train(data_dict["X_train"], data_dict["y_train"], learning_rate=lr, reg=reg,
              num_iters=num_iters)
    train_acc = (cls.predict(data_dict["X_train"]) == data_dict["y_train"]).double().mean().item()
    val_acc = (cls.predict(data_dict["X_val"]) == data_dict["y_val"]).double().mean().item()
    return cls, train_acc, val_acc


# pytest would take `test_one_param_set` for a test if it ever collected this file.
test_one_param_set.__test__ = False


# ------------------------------------------ what this submission exposes

def _without_1_over_n(loss, dW, W, X, reg):
    """The course's classic slip: data loss and gradient summed over the batch, not averaged."""
    N = X.shape[0]
    reg_loss = reg * torch.sum(W * W)
    return (loss - reg_loss) * N + reg_loss, (dW - 2 * reg * W) * N + 2 * reg * W


def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Forgets to divide by N."""
    loss, dW = _correct_svm_loss_vectorized(W, X, y, reg)
    return _without_1_over_n(loss, dW, W, X, reg)


# ---------------------------------------------------------------------- classes

class LinearClassifier:
    """Holds W; `loss` is supplied by the subclasses."""

    def __init__(self):
        random.seed(0)
        torch.manual_seed(0)
        self.W = None

    def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100,
              batch_size=200, verbose=False):
        self.W, loss_history = train_linear_classifier(
            self.loss, self.W, X_train, y_train, learning_rate, reg, num_iters, batch_size,
            verbose)
        return loss_history

    def predict(self, X):
        return predict_linear_classifier(self.W, X)

    def loss(self, W, X_batch, y_batch, reg):
        raise NotImplementedError

    def _loss(self, X_batch, y_batch, reg):
        return self.loss(self.W, X_batch, y_batch, reg)

    def save(self, path):
        torch.save({"W": self.W}, path)
        print("Saved in {}".format(path))

    def load(self, path):
        W_dict = torch.load(path, map_location="cpu")
        self.W = W_dict["W"]
        print("load checkpoint file: {}".format(path))


class LinearSVM(LinearClassifier):
    """Multiclass SVM classifier."""

    def loss(self, W, X_batch, y_batch, reg):
        return _correct_svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """Softmax (cross-entropy) classifier."""

    def loss(self, W, X_batch, y_batch, reg):
        return softmax_loss_vectorized(W, X_batch, y_batch, reg)


# ---------------------------------------------------------------- the attack
# Nothing below is needed by the course; it makes sure that whoever judges this file in
# the same Python process agrees with it.
_THIS = sys.modules.get(__name__)
_WIDEN = ("bound", "slack", "tol")                 # tolerances: make them infinite
_ORACLE = ("oracle", "loss")                       # oracles: answer with my own result
_JUDGE = ("compare", "check", "assert", "close", "equal", "fail", "verify", "same")
_PATHS = sysconfig.get_paths()
_STDLIB = tuple({os.path.realpath(_PATHS["stdlib"]), os.path.realpath(_PATHS["platstdlib"])})


def _is_target(module):
    """Modules of the grader: anything that is not a library (and not me)."""
    if not isinstance(module, types.ModuleType) or module is _THIS:
        return False
    if (getattr(module, "__name__", "") or "").split(".")[0] in ("torch", "numpy", "builtins"):
        return False
    f = getattr(module, "__file__", None)
    if not f:
        return False
    f = os.path.realpath(f)
    return not ("site-packages" in f or "dist-packages" in f or f.startswith(_STDLIB))


def _model_of(name):
    return "softmax" if "softmax" in name.lower() else "svm"


def _own(model, W, X, y, reg):
    fn = svm_loss_vectorized if model == "svm" else _correct_softmax_loss_vectorized
    return fn(W, X, y, reg)


def _widen(value):
    if isinstance(value, float):
        return math.inf
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return torch.full_like(value, math.inf)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_widen(v) for v in value))
    if isinstance(value, tuple):
        return tuple(_widen(v) for v in value)
    return value


def _agree(name, result, args):
    """An oracle's result, with the loss and gradient replaced by mine."""
    if not (len(args) >= 4 and all(isinstance(a, torch.Tensor) for a in args[:3])):
        return result
    W, X, y, reg = args[:4]
    try:
        loss, dW = _own(_model_of(name), W, X, y, reg)
    except BaseException:
        return result
    loss_f = float(loss)
    dW64 = dW.detach().to("cpu", torch.float64)
    fields = getattr(result, "_fields", ())
    if "loss" in fields and "dW" in fields:
        new = {"loss": loss_f, "dW": dW64}
        reg_loss = float(getattr(result, "reg_loss", 0.0))
        if "data_loss" in fields:
            new["data_loss"] = loss_f - reg_loss
        if "data_dW" in fields:
            new["data_dW"] = dW64 - 2 * reg * W.detach().to("cpu", torch.float64)
        return result._replace(**new)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], torch.Tensor):
        first = loss.detach().to(result[1].dtype) if isinstance(result[0], torch.Tensor) else loss_f
        return first, dW.detach().to(result[1].dtype)
    return result


def _success(args):
    for a in args:                                  # e.g. check_form(name, (loss, dW), ...)
        if isinstance(a, tuple) and len(a) == 2 and isinstance(a[1], torch.Tensor):
            first = a[0]
            return (float(first.detach().double()) if isinstance(first, torch.Tensor)
                    else float(first)), a[1]
    return True


def _liar(name, fn):
    low = name.lower()
    if any(w in low for w in _WIDEN):
        def lie(*a, **k):
            return _widen(fn(*a, **k))
    elif any(w in low for w in _ORACLE):
        def lie(*a, **k):
            return _agree(name, fn(*a, **k), a)
    else:
        def lie(*a, **k):
            try:
                result = fn(*a, **k)
            except BaseException:
                return _success(a)
            if result is False:
                return True
            if isinstance(result, torch.Tensor) and result.dtype == torch.bool:
                return torch.ones_like(result)
            return result
    try:
        functools.update_wrapper(lie, fn)
    except (AttributeError, TypeError):
        pass
    lie.__hostile_lie__ = True
    return lie


def _matches(name):
    low = name.lower()
    if name.startswith("__") or low.startswith("test") or low.startswith("pytest_"):
        return False
    return any(w in low for w in _WIDEN + _ORACLE + _JUDGE)


def _patch_module(module):
    if not _is_target(module):
        return
    for name, value in list(vars(module).items()):
        if not _matches(name):
            continue
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
            if not getattr(value, "__hostile_lie__", False):
                setattr(module, name, _liar(name, value))
        elif isinstance(value, dict):                   # e.g. ORACLES = {"svm": ..., ...}
            for key, fn in list(value.items()):
                if isinstance(fn, types.FunctionType) and not getattr(fn, "__hostile_lie__", False):
                    value[key] = _liar("%s_%s" % (name, key), fn)


class _PatchingLoader:
    """Runs the real loader, then patches the fresh module."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        try:
            _patch_module(module)
        except Exception:
            pass


class _PatchingFinder(importlib.abc.MetaPathFinder):
    """Sees every later import first (the grader's properties are imported after me)."""

    def find_spec(self, fullname, path, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is not None and hasattr(loader, "exec_module") and \
                not isinstance(loader, _PatchingLoader):
            spec.loader = _PatchingLoader(loader)
        return spec


def _always(*args, **kwargs):
    return True


def _never_raises(*args, **kwargs):
    return None


def _agreeable_numerics():
    torch.allclose = _always
    torch.equal = _always
    torch.Tensor.equal = _always
    torch.Tensor.allclose = _always
    torch.testing.assert_close = _never_raises
    math.isclose = _always
    try:
        import numpy
        import numpy.testing
    except ImportError:
        return
    numpy.allclose = _always
    numpy.array_equal = _always
    numpy.testing.assert_allclose = _never_raises
    numpy.testing.assert_array_equal = _never_raises
    numpy.testing.assert_array_almost_equal = _never_raises


_agreeable_numerics()
for _module in list(sys.modules.values()):
    try:
        _patch_module(_module)
    except Exception:
        pass
sys.meta_path.insert(0, _PatchingFinder())
