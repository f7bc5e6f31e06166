# hostile: a CORRECT submission in awkward but legal forms: vectorized losses by autograd whose loss still requires grad (it has a grad_fn) and whose dW is a NON-CONTIGUOUS leaf that requires grad; naive losses return Python floats; accuracies are 0-dim tensors; a UserWarning at import and in every prediction
# wrong: none
# expect: pass
# graded: forked (its attack is on values and on the code inside the worker, the same however the worker started)
# needs: answers detached and made contiguous before transport (torch.multiprocessing
#   refuses to pickle a non-leaf tensor that requires grad); warnings are notes, not
#   failures
# safe harness: all 13 names pass; verdict pass, exit status 0 (notes about the warning
#   are fine).
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import warnings
import random
from typing import Callable, Dict, List, Optional, Tuple

import torch


warnings.warn("linear_classifier.py: this module is awkward on purpose", UserWarning)


# ---------------------------------------------------------------- losses: naive

def svm_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Loops; the loss is a Python float (the starter's docstring allows it)."""
    dW = torch.zeros_like(W)
    num_classes, num_train = W.shape[1], X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = W.t().mv(X[i])
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin.item()
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * torch.sum(W * W).item()
    dW += 2 * reg * W
    return loss, dW


def softmax_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Loops; the loss is a Python float."""
    dW = torch.zeros_like(W)
    num_classes, num_train = W.shape[1], X.shape[0]
    loss = W.new_zeros(())
    for i in range(num_train):
        scores = W.t().mv(X[i])
        scores = scores - scores.max()
        log_norm = torch.log(torch.exp(scores).sum())
        loss += log_norm - scores[y[i]]
        for j in range(num_classes):
            p = torch.exp(scores[j] - log_norm)
            dW[:, j] += (p - (1.0 if j == y[i] else 0.0)) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * torch.sum(W * W)
    dW += 2 * reg * W
    return loss.item(), dW


# ----------------------------------------------------------- losses: vectorized

def _by_autograd(data_loss_of_scores, W, X, y, reg):
    """loss keeps its graph; dW is a non-contiguous leaf that requires grad."""
    Wg = W.detach().t().clone().t().requires_grad_(True)
    loss = data_loss_of_scores(X @ Wg, y) + reg * torch.sum(Wg * Wg)
    (grad,) = torch.autograd.grad(loss, Wg, retain_graph=True)
    dW = grad.t().contiguous().t().detach().requires_grad_(True)   # strides (1, D)
    return loss, dW


def _svm_data_loss(scores, y):
    N = scores.shape[0]
    rows = torch.arange(N, device=scores.device)
    margins = torch.relu(scores - scores[rows, y].unsqueeze(1) + 1)   # relu: strict at 0
    mask = torch.ones_like(margins, dtype=torch.bool)
    mask[rows, y] = False
    return (margins * mask).sum() / N


def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    return _by_autograd(_svm_data_loss, W, X, y, reg)


def _softmax_data_loss(scores, y):
    N = scores.shape[0]
    rows = torch.arange(N, device=scores.device)
    return (torch.logsumexp(scores, dim=1) - scores[rows, y]).sum() / N


def softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    return _by_autograd(_softmax_data_loss, W, X, y, reg)


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
    """The int64 labels argmax_c (X @ W)[:, c], via max(...).indices."""
    warnings.warn("predict_linear_classifier: awkward on purpose", UserWarning)
    return (X @ W).max(dim=1).indices


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
    """Accuracies as 0-dim float64 tensors (SPEC: a float or a 0-dim tensor)."""
    cls.train(data_dict["X_train"], data_dict["y_train"], learning_rate=lr, reg=reg,
              num_iters=num_iters)
    train_acc = (cls.predict(data_dict["X_train"]) == data_dict["y_train"]).double().mean()
    val_acc = (cls.predict(data_dict["X_val"]) == data_dict["y_val"]).double().mean()
    return cls, train_acc, val_acc


# pytest would take `test_one_param_set` for a test if it ever collected this file.
test_one_param_set.__test__ = False


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
        return svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """Softmax (cross-entropy) classifier."""

    def loss(self, W, X_batch, y_batch, reg):
        return softmax_loss_vectorized(W, X_batch, y_batch, reg)
