# zoo: blames train_linear_classifier
# zoo-mistake: init-without-scale
# bug: W = None starts as torch.randn(D, C): the 0.000001 factor is forgotten
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import torch
import random
import statistics
from abc import abstractmethod
from typing import Dict, List, Callable, Optional


def hello_linear_classifier():
    """
    This is a sample function that we will try to import and run to ensure that
    our environment is correctly set up on Google Colab.
    """
    print("Hello from linear_classifier.py!")


class LinearClassifier:
    """An abstarct class for the linear classifiers"""

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
        train_args = (
            self.loss,
            self.W,
            X_train,
            y_train,
            learning_rate,
            reg,
            num_iters,
            batch_size,
            verbose,
        )
        self.W, loss_history = train_linear_classifier(*train_args)
        return loss_history

    def predict(self, X: torch.Tensor):
        return predict_linear_classifier(self.W, X)

    @abstractmethod
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
    """A subclass that uses the Multiclass SVM loss function"""

    def loss(self, W: torch.Tensor, X_batch: torch.Tensor, y_batch: torch.Tensor, reg: float):
        return svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """A subclass that uses the Softmax + Cross-entropy loss function"""

    def loss(self, W: torch.Tensor, X_batch: torch.Tensor, y_batch: torch.Tensor, reg: float):
        return softmax_loss_vectorized(W, X_batch, y_batch, reg)


def svm_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    dW = torch.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].matmul(W)
        correct_class_score = scores[y[i]]
        num_positive = 0
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                num_positive += 1
                dW[:, j] += X[i] / num_train
        dW[:, y[i]] -= num_positive * X[i] / num_train
    loss /= num_train
    loss += reg * torch.sum(W * W)
    dW += 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    num_train = X.shape[0]
    scores = X.matmul(W)
    correct_class_scores = scores[range(num_train), y]
    margins = torch.clamp(scores - correct_class_scores[:, None] + 1, min=0)
    margins[range(num_train), y] = 0
    loss = torch.sum(margins) / num_train
    loss += reg * torch.sum(W * W)

    X_mask = torch.zeros_like(margins)
    X_mask[margins > 0] = 1
    incorrect_counts = torch.sum(X_mask, dim=1)
    X_mask[range(num_train), y] = -incorrect_counts
    dW = X.t().matmul(X_mask)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW


def sample_batch(X: torch.Tensor, y: torch.Tensor, num_train: int, batch_size: int):
    idx = torch.randint(0, num_train, (batch_size,), device=X.device)
    X_batch = X[idx, :]
    y_batch = y[idx]
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
        W = torch.randn(dim, num_classes, device=X.device, dtype=X.dtype)
    else:
        num_classes = W.shape[1]

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
    y_pred = torch.zeros(X.shape[0], dtype=torch.int64)
    scores = X.matmul(W)
    y_pred = torch.max(scores, 1)[1]
    return y_pred


def svm_get_search_params():
    learning_rates = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    regularization_strengths = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    return learning_rates, regularization_strengths


def test_one_param_set(cls: LinearClassifier, data_dict: Dict[str, torch.Tensor], lr: float,
                       reg: float, num_iters: int = 2000):
    train_acc = 0.0
    val_acc = 0.0
    cls.train(data_dict["X_train"], data_dict["y_train"], learning_rate=lr, reg=reg,
              num_iters=num_iters)
    train_acc = (cls.predict(data_dict["X_train"]) == data_dict["y_train"]).float().mean()
    val_acc = (cls.predict(data_dict["X_val"]) == data_dict["y_val"]).float().mean()
    return cls, train_acc, val_acc


def softmax_loss_naive(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    loss = 0.0
    dW = torch.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].matmul(W)
        scores -= torch.max(scores)
        correct_class_score = scores[y[i]]
        exp_sum = torch.sum(torch.exp(scores))
        loss += torch.log(exp_sum) - correct_class_score
        for j in range(num_classes):
            if j == y[i]:
                dW[:, j] += (torch.exp(scores[j]) / exp_sum - 1) * X[i]
            else:
                dW[:, j] += torch.exp(scores[j]) / exp_sum * X[i]
    loss /= num_train
    loss += reg * torch.sum(W * W)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    num_train = X.shape[0]
    scores = X.matmul(W)
    scores = scores - torch.max(scores, dim=1, keepdim=True)[0]
    exp_scores = torch.exp(scores)
    sum_exp = torch.sum(exp_scores, dim=1, keepdim=True)
    loss = torch.sum(torch.log(sum_exp).view(-1) - scores[range(num_train), y])
    loss /= num_train
    loss += reg * torch.sum(W * W)

    probs = exp_scores / sum_exp
    probs[range(num_train), y] -= 1
    dW = X.t().matmul(probs)
    dW /= num_train
    dW += 2 * reg * W
    return loss, dW


def softmax_get_search_params():
    learning_rates = [1e-2, 5e-2, 1e-1, 5e-1, 1.0]
    regularization_strengths = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    return learning_rates, regularization_strengths
