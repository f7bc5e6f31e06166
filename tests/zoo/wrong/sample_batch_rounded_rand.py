# zoo: blames sample_batch
# zoo-mistake: sample-not-uniform
# bug: rounds torch.rand * (num_train - 1): the first and the last row are drawn half as often as the others
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import random
from typing import Callable, Dict, Optional

import torch


def hello_linear_classifier():
    print("Hello from linear_classifier.py!")


class LinearClassifier:
    """An abstarct class for the linear classifiers"""

    def __init__(self):
        random.seed(0)
        torch.manual_seed(0)
        self.W = None

    def train(self, X_train: torch.Tensor, y_train: torch.Tensor, learning_rate: float = 1e-3,
              reg: float = 1e-5, num_iters: int = 100, batch_size: int = 200,
              verbose: bool = False):
        self.W, loss_history = train_linear_classifier(
            self.loss, self.W, X_train, y_train, learning_rate=learning_rate, reg=reg,
            num_iters=num_iters, batch_size=batch_size, verbose=verbose)
        return loss_history

    def predict(self, X: torch.Tensor):
        return predict_linear_classifier(self.W, X)

    def loss(self, W: torch.Tensor, X_batch: torch.Tensor, y_batch: torch.Tensor, reg: float):
        raise NotImplementedError

    def _loss(self, X_batch: torch.Tensor, y_batch: torch.Tensor, reg: float):
        self.loss(self.W, X_batch, y_batch, reg)

    def save(self, path: str):
        torch.save({"W": self.W}, path)
        print("Saved in {}".format(path))

    def load(self, path: str):
        W_dict = torch.load(path, map_location="cpu")
        self.W = W_dict["W"]
        if self.W is None:
            raise Exception("Failed to load your checkpoint")


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
                dW[:, y[i]] = dW[:, y[i]] - X[i]
                dW[:, j] = dW[:, j] + X[i]
    loss = loss / num_train + reg * torch.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    N = X.shape[0]
    idx = torch.arange(N, device=X.device)
    scores = X @ W
    correct = scores[idx, y].unsqueeze(1)
    hinge = torch.maximum(scores - correct + 1, torch.zeros_like(scores))
    hinge[idx, y] = 0.0
    loss = hinge.sum() / N + reg * (W * W).sum()
    mask = (hinge > 0).to(scores.dtype)
    mask[idx, y] = -mask.sum(dim=1)
    dW = X.T @ mask / N + 2 * reg * W
    return loss, dW


def softmax_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    dW = torch.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]
    loss = 0.0
    for i in range(num_train):
        s = X[i] @ W
        s = s - torch.max(s)
        denom = torch.sum(torch.exp(s))
        loss = loss + torch.log(denom) - s[y[i]]
        for j in range(num_classes):
            p_j = torch.exp(s[j]) / denom
            if j == y[i]:
                dW[:, j] += (p_j - 1) * X[i]
            else:
                dW[:, j] += p_j * X[i]
    loss = loss / num_train + reg * torch.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    N = X.shape[0]
    idx = torch.arange(N, device=X.device)
    scores = X @ W
    scores = scores - torch.max(scores, dim=1, keepdim=True).values
    exp_scores = torch.exp(scores)
    sums = torch.sum(exp_scores, dim=1, keepdim=True)
    loss = (torch.log(sums).squeeze(1) - scores[idx, y]).mean() + reg * (W * W).sum()
    probs = exp_scores / sums
    probs[idx, y] -= 1
    dW = X.T @ probs / N + 2 * reg * W
    return loss, dW


def sample_batch(X: torch.Tensor, y: torch.Tensor, num_train: int, batch_size: int):
    # a random position in [0, num_train - 1], rounded to a row index
    indices = (torch.rand(batch_size, device=X.device) * (num_train - 1)).round().long()
    return X[indices, :], y[indices]


def train_linear_classifier(loss_func: Callable, W: Optional[torch.Tensor], X: torch.Tensor,
                            y: torch.Tensor, learning_rate: float = 1e-3, reg: float = 1e-5,
                            num_iters: int = 100, batch_size: int = 200, verbose: bool = False):
    num_train, dim = X.shape
    if W is None:
        num_classes = int(y.max()) + 1
        W = 0.000001 * torch.randn(dim, num_classes, device=X.device, dtype=X.dtype)
    loss_history = []
    for it in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, num_train, batch_size)
        loss, grad = loss_func(W, X_batch, y_batch, reg)
        loss_history.append(loss.item())
        W = W - learning_rate * grad
        if verbose and it % 100 == 0:
            print("iteration %d / %d: loss %f" % (it, num_iters, loss.item()))
    return W, loss_history


def predict_linear_classifier(W: torch.Tensor, X: torch.Tensor):
    scores = X @ W
    return scores.argmax(dim=1)


def svm_get_search_params():
    learning_rates = [1e-2, 1e-1]
    regularization_strengths = [1e-3, 1e-2]
    return learning_rates, regularization_strengths


def softmax_get_search_params():
    learning_rates = [5e-2, 2e-1]
    regularization_strengths = [1e-4, 1e-3]
    return learning_rates, regularization_strengths


def test_one_param_set(cls: LinearClassifier, data_dict: Dict[str, torch.Tensor], lr: float,
                       reg: float, num_iters: int = 2000):
    cls.train(data_dict["X_train"], data_dict["y_train"], lr, reg, num_iters)
    train_pred = cls.predict(data_dict["X_train"])
    val_pred = cls.predict(data_dict["X_val"])
    train_acc = 100.0 * (train_pred == data_dict["y_train"]).double().mean().item()
    val_acc = 100.0 * (val_pred == data_dict["y_val"]).double().mean().item()
    return cls, train_acc, val_acc
