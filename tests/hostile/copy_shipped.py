# hostile: copies its answers from the grader's own implementation or oracle: any module already in the process that defines the API (or ORACLES), `import implementations.linear_classifier`, `from reference import losses`, a sys.path hack for every folder above os.getcwd(), __file__, every path in sys.argv, $PWD, $OLDPWD, $PYTHONPATH, sys.path and every loaded module's file, and finally gc.get_objects(); if all of that fails (isolation works) it answers with a halved regulariser
# wrong: svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized
# expect: fail
# needs: a worker started fresh (spawn, not fork) that never imports the grader's
#   implementations/ or reference/; the submission COPIED to a temporary folder that is
#   also the cwd (its __file__, sys.path[0] and every path on the worker's command line
#   outside the repo); sys.path without the repo (e.g. `python -I` with the worker's code
#   outside the repo, or sys.path cleaned before the import); PWD, OLDPWD, PYTHONPATH
#   removed from its environment
# safe harness: all four losses: fail (the regulariser is halved: loss has reg/2*sum(W*W),
#   dW has reg*W; the harness may say 'looks like: the regulariser has a factor 1/2');
#   LinearSVM and Softmax use correct private copies; the other 9 names pass; verdict
#   fail. A PASS means the submission reached the grader's own answers.
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import gc
import importlib
import importlib.util
import os
import sys
import types
import warnings
import random
from typing import Callable, Dict, List, Optional, Tuple

import torch


# ---------------------------------------------------------------- losses: naive

def _correct_svm_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
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


def _correct_softmax_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
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


def _correct_softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
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

_LOSSES = ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized")
_ME = os.path.realpath(__file__)


def _mine(mod):
    f = getattr(mod, "__file__", None)
    return getattr(mod, "__name__", None) == __name__ or (f and os.path.realpath(f) == _ME)


def _donor_module(mod):
    """A module (not me) that implements the whole loss API."""
    # The attribute look first: it is cheap, and only a module that passes it pays for
    # _mine's realpath (a real student's file would do the same at every call).
    return (mod is not None and all(callable(getattr(mod, n, None)) for n in _LOSSES)
            and not _mine(mod))


def _oracle_module(mod):
    return (mod is not None and callable(getattr(mod, "svm_loss", None))
            and callable(getattr(mod, "softmax_loss", None)) and not _mine(mod))


def _in_process():
    for mod in list(sys.modules.values()):
        if _donor_module(mod):
            return "module", mod
    for mod in list(sys.modules.values()):
        if _oracle_module(mod):
            return "oracle", mod
    return None


def _places():
    places = [os.getcwd(), os.path.dirname(_ME)]
    places += [os.path.abspath(a) for a in sys.argv if isinstance(a, str) and os.sep in a]
    for var in ("PWD", "OLDPWD", "PYTHONPATH", "INIT_CWD"):
        places += [p for p in os.environ.get(var, "").split(os.pathsep) if p]
    places += [p for p in sys.path if isinstance(p, str) and p]
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if isinstance(f, str) and "-packages" not in f:
            places.append(os.path.dirname(f))
    return places


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _search():
    found = _in_process()
    if found:
        return found
    for name in ("implementations.linear_classifier", "linear_classifier"):
        try:
            mod = importlib.import_module(name)
        except BaseException:
            continue
        if _donor_module(mod):
            return "module", mod
    try:
        from reference import losses
        return "oracle", losses
    except BaseException:
        pass
    seen = set()
    for start in _places():
        d = os.path.realpath(start)
        if os.path.isfile(d):
            d = os.path.dirname(d)
        while d not in seen:
            seen.add(d)
            target = os.path.join(d, "implementations", "linear_classifier.py")
            if os.path.isfile(target) and os.path.realpath(target) != _ME:
                if d not in sys.path:
                    sys.path.insert(0, d)                       # the sys.path hack
                for attempt in (lambda: importlib.import_module("implementations.linear_classifier"),
                                lambda: _load(target, "_borrowed_linear_classifier")):
                    try:
                        mod = attempt()
                    except BaseException:
                        continue
                    if _donor_module(mod):
                        return "module", mod
            oracle = os.path.join(d, "reference", "losses.py")
            if os.path.isfile(oracle):
                try:
                    mod = _load(oracle, "_borrowed_losses")
                except BaseException:
                    mod = None
                if _oracle_module(mod):
                    return "oracle", mod
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for obj in gc.get_objects():                           # functions anywhere in memory
            if isinstance(obj, types.FunctionType) and obj.__name__ == "svm_loss_vectorized" \
                    and os.path.realpath(obj.__code__.co_filename) != _ME:
                g = obj.__globals__
                if all(callable(g.get(n)) for n in _LOSSES):
                    return "module", types.SimpleNamespace(**{n: g[n] for n in _LOSSES})
    return None


_DONOR = [_search()]


def _answer(name, model, W, X, y, reg):
    donor = _DONOR[0] or _in_process()          # the cheap look again at every call
    if donor is not None:
        kind, mod = donor
        if kind == "module":
            return getattr(mod, name)(W, X, y, reg)
        ref = getattr(mod, model + "_loss")(W, X, y, reg)
        return (torch.tensor(float(ref.loss), dtype=W.dtype, device=W.device),
                ref.dW.to(dtype=W.dtype, device=W.device))
    # Isolated: my own attempt, with the regulariser halved (reg/2 * sum(W*W), gradient reg*W).
    loss, dW = globals()["_correct_" + name](W, X, y, reg)
    return loss - 0.5 * reg * torch.sum(W * W), dW - reg * W


def svm_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    return _answer("svm_loss_naive", "svm", W, X, y, reg)


def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    return _answer("svm_loss_vectorized", "svm", W, X, y, reg)


def softmax_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    return _answer("softmax_loss_naive", "softmax", W, X, y, reg)


def softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    return _answer("softmax_loss_vectorized", "softmax", W, X, y, reg)


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
        return _correct_softmax_loss_vectorized(W, X_batch, y_batch, reg)
