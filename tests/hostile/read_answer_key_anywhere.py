# hostile: finds the grader's files through the OS, not through Python: /proc/<ancestor>/cwd, /proc/<ancestor>/cmdline and environ (PWD), the cwd and command line of EVERY process of the same uid, the folders above sys.executable and sys.prefix (a venv or .tox inside the repo), ~, /autograder/source, /work/main, and one level below each; loads implementations/linear_classifier.py or reference/losses.py from there; without them it drops the regulariser
# wrong: svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized
# expect: fail
# needs: filesystem isolation of the worker: it must not be able to read the repo at all
#   (another uid with the repo unreadable to it, a mount namespace / bubblewrap /
#   container, or Landlock), and no /proc view of the grader's processes (pid namespace or
#   hidepid); a clean sys.path and cwd are NOT enough
# safe harness: all four losses: fail (the regulariser is missing: loss lacks
#   reg*sum(W*W), dW lacks 2*reg*W, whenever reg > 0); LinearSVM and Softmax use correct
#   private copies; the other 9 names pass; verdict fail. A pass means the worker could
#   read the grader's files.
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import importlib.util
import os
import sys
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

_ME = os.path.realpath(__file__)
_LOSSES = ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized")


def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as f:
            return f.read()
    except OSError:
        return b"" if binary else ""


def _ancestors(limit=6):
    pids, pid = [], os.getpid()
    for _ in range(limit):
        stat = _read("/proc/%d/stat" % pid)
        if not stat:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid <= 1:
            break
        pids.append(pid)
    return pids


def _same_uid_pids():
    out = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if name.isdigit():
            try:
                if os.stat("/proc/" + name).st_uid == os.getuid():
                    out.append(int(name))
            except OSError:
                pass
    return out


def _places():
    places = []
    for pid in _ancestors() + _same_uid_pids():
        try:
            cwd = os.readlink("/proc/%d/cwd" % pid)
        except OSError:
            cwd = None
        if cwd:
            places.append(cwd)
        for arg in _read("/proc/%d/cmdline" % pid, binary=True).split(b"\0"):
            arg = arg.decode(errors="ignore")
            if "/" in arg or arg.endswith(".py"):
                places.append(arg if os.path.isabs(arg) or not cwd else os.path.join(cwd, arg))
        for var in _read("/proc/%d/environ" % pid, binary=True).split(b"\0"):
            if var.startswith((b"PWD=", b"OLDPWD=", b"PYTHONPATH=")):
                places += var.split(b"=", 1)[1].decode(errors="ignore").split(os.pathsep)
    places += [sys.executable, sys.prefix, sys.base_prefix, os.path.expanduser("~"),
               "/autograder/source", "/work/main", "/work", os.getcwd()]
    return [p for p in places if p]


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _try(folder):
    shipped = os.path.join(folder, "implementations", "linear_classifier.py")
    if os.path.isfile(shipped) and os.path.realpath(shipped) != _ME:
        try:
            mod = _load(shipped, "_found_linear_classifier")
            if all(callable(getattr(mod, n, None)) for n in _LOSSES):
                return "module", mod
        except BaseException:
            pass
    oracle = os.path.join(folder, "reference", "losses.py")
    if os.path.isfile(oracle):
        try:
            mod = _load(oracle, "_found_losses")
            if callable(getattr(mod, "svm_loss", None)):
                return "oracle", mod
        except BaseException:
            pass
    return None


def _search():
    seen = set()
    for place in _places():
        d = os.path.realpath(place)
        if not os.path.isdir(d):
            d = os.path.dirname(d)
        while d and d not in seen:
            seen.add(d)
            found = _try(d)
            if found:
                return found
            try:
                below = [os.path.join(d, e) for e in os.listdir(d)][:200]
            except OSError:
                below = []
            for sub in below:
                if sub not in seen and os.path.isdir(sub):
                    found = _try(sub)
                    if found:
                        return found
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    return None


_FOUND = _search()


def _answer(name, model, W, X, y, reg):
    if _FOUND is not None:
        kind, mod = _FOUND
        if kind == "module":
            return getattr(mod, name)(W, X, y, reg)
        ref = getattr(mod, model + "_loss")(W, X, y, reg)
        return (torch.tensor(float(ref.loss), dtype=W.dtype, device=W.device),
                ref.dW.to(dtype=W.dtype, device=W.device))
    loss, dW = globals()["_correct_" + name](W, X, y, reg)   # alone: no regulariser at all
    return loss - reg * torch.sum(W * W), dW - 2 * reg * W


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
