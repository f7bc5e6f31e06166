"""A plain, correct linear_classifier.py (Winter 2022 style), kept as the subject of
the mutation run (mutation/README.md): the course's straightforward solution, not the
shipped implementation's blocked losses, so its mutants are mistakes a student makes."""
import random
from abc import abstractmethod
from typing import Callable, Dict, List, Optional

import torch


class LinearClassifier:
    """An abstract class for the linear classifiers."""

    def __init__(self):
        random.seed(0)
        torch.manual_seed(0)
        self.W = None

    def train(
        self,
        X_train: torch.Tensor,
        y_train: torch.Tensor,
        learning_rate: float = 1e-3,
        reg: float = 1e-5,
        num_iters: int = 100,
        batch_size: int = 200,
        verbose: bool = False,
    ):
        train_args = (self.loss, self.W, X_train, y_train, learning_rate, reg,
                      num_iters, batch_size, verbose)
        self.W, loss_history = train_linear_classifier(*train_args)
        return loss_history

    def predict(self, X: torch.Tensor):
        return predict_linear_classifier(self.W, X)

    @abstractmethod
    def loss(self, W: torch.Tensor, X_batch: torch.Tensor, y_batch: torch.Tensor, reg: float):
        raise NotImplementedError

    def save(self, path: str):
        torch.save({"W": self.W}, path)

    def load(self, path: str):
        W_dict = torch.load(path, map_location="cpu")
        self.W = W_dict["W"]


class LinearSVM(LinearClassifier):
    def loss(self, W: torch.Tensor, X_batch: torch.Tensor, y_batch: torch.Tensor, reg: float):
        return svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    def loss(self, W: torch.Tensor, X_batch: torch.Tensor, y_batch: torch.Tensor, reg: float):
        return softmax_loss_vectorized(W, X_batch, y_batch, reg)


def svm_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    dW = torch.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
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
    loss += reg * torch.sum(W * W)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    num_train = X.shape[0]
    rows = torch.arange(num_train, device=X.device)
    scores = X.mm(W)
    correct_class_scores = scores[rows, y].view(-1, 1)
    margins = (scores - correct_class_scores + 1).clamp(min=0)
    margins[rows, y] = 0
    loss = margins.sum() / num_train + reg * torch.sum(W * W)
    mask = (margins > 0).to(X.dtype)
    mask[rows, y] = -mask.sum(dim=1)
    dW = X.t().mm(mask) / num_train + 2 * reg * W
    return loss, dW


def sample_batch(X: torch.Tensor, y: torch.Tensor, num_train: int, batch_size: int):
    indices = torch.randint(num_train, (batch_size,), device=X.device)
    X_batch = X[indices]
    y_batch = y[indices]
    return X_batch, y_batch


def train_linear_classifier(
    loss_func: Callable,
    W: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    learning_rate: float = 1e-3,
    reg: float = 1e-5,
    num_iters: int = 100,
    batch_size: int = 200,
    verbose: bool = False,
):
    num_train, dim = X.shape
    if W is None:
        num_classes = torch.max(y) + 1
        W = 0.000001 * torch.randn(dim, num_classes, device=X.device, dtype=X.dtype)
    loss_history = []
    for it in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, num_train, batch_size)
        loss, grad = loss_func(W, X_batch, y_batch, reg)
        loss_history.append(loss.item())
        W -= learning_rate * grad
        if verbose and it % 100 == 0:
            print("iteration %d / %d: loss %f" % (it, num_iters, loss))
    return W, loss_history


def predict_linear_classifier(W: torch.Tensor, X: torch.Tensor):
    y_pred = torch.argmax(X.mm(W), dim=1)
    return y_pred


def svm_get_search_params():
    learning_rates = [1e-3, 5e-3, 1e-2, 5e-2]
    regularization_strengths = [1e-3, 1e-2, 1e-1, 1.0]
    return learning_rates, regularization_strengths


def test_one_param_set(
    cls: LinearClassifier,
    data_dict: Dict[str, torch.Tensor],
    lr: float,
    reg: float,
    num_iters: int = 2000,
):
    cls.train(data_dict["X_train"], data_dict["y_train"], lr, reg, num_iters)
    y_train_pred = cls.predict(data_dict["X_train"])
    train_acc = (y_train_pred == data_dict["y_train"]).double().mean().item()
    y_val_pred = cls.predict(data_dict["X_val"])
    val_acc = (y_val_pred == data_dict["y_val"]).double().mean().item()
    return cls, train_acc, val_acc


def softmax_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    dW = torch.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = W.t().mv(X[i])
        scores = scores - scores.max()
        probs = torch.exp(scores) / torch.exp(scores).sum()
        loss += -torch.log(probs[y[i]])
        for j in range(num_classes):
            dW[:, j] += probs[j] * X[i]
        dW[:, y[i]] -= X[i]
    loss /= num_train
    loss += reg * torch.sum(W * W)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    num_train = X.shape[0]
    rows = torch.arange(num_train, device=X.device)
    scores = X.mm(W)
    scores = scores - scores.max(dim=1, keepdim=True).values
    log_probs = scores - torch.log(torch.exp(scores).sum(dim=1, keepdim=True))
    loss = -log_probs[rows, y].sum() / num_train + reg * torch.sum(W * W)
    dscores = torch.exp(log_probs)
    dscores[rows, y] -= 1
    dW = X.t().mm(dscores) / num_train + 2 * reg * W
    return loss, dW


def softmax_get_search_params():
    learning_rates = [1e-2, 5e-2, 1e-1, 5e-1]
    regularization_strengths = [1e-4, 1e-3, 1e-2, 1e-1]
    return learning_rates, regularization_strengths
