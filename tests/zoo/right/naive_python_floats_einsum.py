# zoo: passes
# style: naive losses accumulate and return Python floats (allowed for the two naive ones); vectorized losses via torch.einsum and torch.where; predict via max(dim=1).indices
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import math
import random
from typing import Callable, Dict, Optional

import torch


def hello_linear_classifier():
    print("Hello from linear_classifier.py!")


class LinearClassifier:
    def __init__(self):
        random.seed(0)
        torch.manual_seed(0)
        self.W = None

    def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100,
              batch_size=200, verbose=False):
        W, loss_history = train_linear_classifier(
            self.loss, self.W, X_train, y_train, learning_rate, reg, num_iters, batch_size,
            verbose)
        self.W = W
        return loss_history

    def predict(self, X):
        return predict_linear_classifier(self.W, X)

    def loss(self, W, X_batch, y_batch, reg):
        raise NotImplementedError

    def _loss(self, X_batch, y_batch, reg):
        self.loss(self.W, X_batch, y_batch, reg)

    def save(self, path):
        torch.save({"W": self.W}, path)
        print("Saved in {}".format(path))

    def load(self, path):
        checkpoint = torch.load(path, map_location="cpu")
        self.W = checkpoint["W"]
        print("load checkpoint file: {}".format(path))


class LinearSVM(LinearClassifier):
    def loss(self, W, X_batch, y_batch, reg):
        return svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    def loss(self, W, X_batch, y_batch, reg):
        return softmax_loss_vectorized(W, X_batch, y_batch, reg)


def svm_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    dW = torch.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = W.t().mv(X[i])
        correct_class_score = scores[y[i]].item()
        for j in range(num_classes):
            if j == y[i].item():
                continue
            margin = scores[j].item() - correct_class_score + 1.0
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    loss += reg * torch.sum(W * W).item()
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    N = X.shape[0]
    scores = torch.einsum("nd,dc->nc", X, W)
    correct = scores.gather(1, y.unsqueeze(1))
    margins = scores - correct + 1.0
    is_correct = torch.zeros_like(margins, dtype=torch.bool).scatter_(1, y.unsqueeze(1), True)
    counted = (margins > 0) & ~is_correct
    loss = torch.where(counted, margins, torch.zeros_like(margins)).sum() / N
    loss = loss + reg * torch.einsum("dc,dc->", W, W)
    coeff = counted.to(W.dtype)
    coeff = coeff - is_correct.to(W.dtype) * coeff.sum(dim=1, keepdim=True)
    dW = torch.einsum("nd,nc->dc", X, coeff) / N + 2 * reg * W
    return loss, dW


def softmax_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    dW = torch.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = W.t().mv(X[i])
        shifted = [s - scores.max().item() for s in scores.tolist()]
        total = sum(math.exp(s) for s in shifted)
        loss += math.log(total) - shifted[int(y[i])]
        for j in range(num_classes):
            p = math.exp(shifted[j]) / total
            dW[:, j] += (p - float(j == int(y[i]))) * X[i]
    loss = loss / num_train + reg * float(torch.sum(W * W))
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    N = X.shape[0]
    scores = torch.einsum("nd,dc->nc", X, W)
    log_probs = scores - torch.logsumexp(scores, dim=1, keepdim=True)
    loss = -log_probs.gather(1, y.unsqueeze(1)).mean() + reg * torch.einsum("dc,dc->", W, W)
    grad_scores = log_probs.exp()
    grad_scores.scatter_add_(1, y.unsqueeze(1),
                             -torch.ones(N, 1, dtype=W.dtype, device=W.device))
    dW = torch.einsum("nd,nc->dc", X, grad_scores) / N + 2 * reg * W
    return loss, dW


def sample_batch(X, y, num_train, batch_size):
    batch_indices = torch.randint(num_train, (batch_size,))
    X_batch = X[batch_indices]
    y_batch = y[batch_indices]
    return X_batch, y_batch


def train_linear_classifier(loss_func: Callable, W: Optional[torch.Tensor], X: torch.Tensor,
                            y: torch.Tensor, learning_rate: float = 1e-3, reg: float = 1e-5,
                            num_iters: int = 100, batch_size: int = 200, verbose: bool = False):
    num_train, dim = X.shape
    if W is None:
        num_classes = int(torch.max(y)) + 1
        W = 0.000001 * torch.randn(dim, num_classes, device=X.device, dtype=X.dtype)
    loss_history = []
    for it in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, num_train, batch_size)
        loss, grad = loss_func(W, X_batch, y_batch, reg)
        loss_history.append(loss.item())
        W = W - learning_rate * grad
        if verbose and it % 100 == 0:
            print(f"iteration {it} / {num_iters}: loss {loss.item():f}")
    return W, loss_history


def predict_linear_classifier(W: torch.Tensor, X: torch.Tensor):
    return (X @ W).max(dim=1).indices


def svm_get_search_params():
    learning_rates = [1e-3, 1e-2, 1e-1]
    regularization_strengths = [1e-4, 1e-3, 1e-2, 1e-1]
    return learning_rates, regularization_strengths


def softmax_get_search_params():
    learning_rates = [1e-2, 1e-1, 1.0]
    regularization_strengths = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    return learning_rates, regularization_strengths


def test_one_param_set(cls, data_dict: Dict[str, torch.Tensor], lr: float, reg: float,
                       num_iters: int = 2000):
    cls.train(data_dict["X_train"], data_dict["y_train"], learning_rate=lr, reg=reg,
              num_iters=num_iters)
    train_acc = float((cls.predict(data_dict["X_train"]) == data_dict["y_train"]).sum()) \
        / data_dict["y_train"].shape[0]
    val_acc = float((cls.predict(data_dict["X_val"]) == data_dict["y_val"]).sum()) \
        / data_dict["y_val"].shape[0]
    return cls, train_acc, val_acc
