# zoo: passes
# style: vectorized losses built on F.multi_margin_loss (times C) and F.cross_entropy, dW from autograd on a detached copy of W; explicit loops only in the naive versions
"""
Implements linear classifiers in PyTorch.
WARNING: you SHOULD NOT use ".to()" or ".cuda()" in each implementation block.
"""
import random

import torch
import torch.nn.functional as F


def hello_linear_classifier():
    print("Hello from linear_classifier.py!")


def _loss_and_grad(data_loss_fn, W, X, y, reg):
    """Data loss of the scores plus reg * sum(W*W), and its gradient by autograd."""
    with torch.enable_grad():
        W_var = W.detach().clone().requires_grad_(True)
        scores = X.detach() @ W_var
        loss = data_loss_fn(scores, y) + reg * (W_var * W_var).sum()
        (dW,) = torch.autograd.grad(loss, W_var)
    return loss.detach(), dW


def svm_loss_naive(W, X, y, reg):
    dW = torch.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = torch.zeros((), dtype=W.dtype, device=W.device)
    for i in range(num_train):
        scores = torch.zeros(num_classes, dtype=W.dtype, device=W.device)
        for j in range(num_classes):
            scores[j] = (X[i] * W[:, j]).sum()
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss = loss + margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / num_train + reg * (W ** 2).sum()
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    num_classes = W.shape[1]
    return _loss_and_grad(
        lambda s, t: F.multi_margin_loss(s, t, p=1, margin=1.0) * num_classes, W, X, y, reg)


def softmax_loss_naive(W, X, y, reg):
    dW = torch.zeros_like(W)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = torch.zeros((), dtype=W.dtype, device=W.device)
    for i in range(num_train):
        scores = X[i] @ W
        log_probs = torch.log_softmax(scores, dim=0)
        loss = loss - log_probs[y[i]]
        for j in range(num_classes):
            indicator = 1.0 if j == int(y[i]) else 0.0
            dW[:, j] += (torch.exp(log_probs[j]) - indicator) * X[i]
    loss = loss / num_train + reg * (W ** 2).sum()
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    return _loss_and_grad(lambda s, t: F.cross_entropy(s, t), W, X, y, reg)


def sample_batch(X, y, num_train, batch_size):
    idx = torch.randint(high=num_train, size=(batch_size,), device=X.device)
    return X.index_select(0, idx), y.index_select(0, idx)


def train_linear_classifier(loss_func, W, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100,
                            batch_size=200, verbose=False):
    num_train, dim = X.shape
    if W is None:
        num_classes = int(y.max().item()) + 1
        W = 0.000001 * torch.randn(dim, num_classes, dtype=X.dtype, device=X.device)
    loss_history = []
    for it in range(num_iters):
        X_batch, y_batch = sample_batch(X, y, num_train, batch_size)
        loss, grad = loss_func(W, X_batch, y_batch, reg)
        loss_history.append(float(loss.item()))
        W = W.sub(grad, alpha=learning_rate)
        if verbose and it % 100 == 0:
            print("iteration %d / %d: loss %f" % (it, num_iters, loss_history[-1]))
    return W, loss_history


def predict_linear_classifier(W, X):
    return torch.argmax(torch.mm(X, W), dim=1).long()


def svm_get_search_params():
    return [1e-3, 1e-2, 1e-1], [1e-3, 1e-2, 1e-1]


def softmax_get_search_params():
    return [1e-2, 1e-1, 1.0], [1e-4, 1e-3, 1e-2]


def test_one_param_set(cls, data_dict, lr, reg, num_iters=2000):
    cls.train(data_dict["X_train"], data_dict["y_train"], learning_rate=lr, reg=reg,
              num_iters=num_iters)
    correct_train = (cls.predict(data_dict["X_train"]) == data_dict["y_train"]).sum().item()
    correct_val = (cls.predict(data_dict["X_val"]) == data_dict["y_val"]).sum().item()
    train_acc = correct_train / len(data_dict["y_train"])
    val_acc = correct_val / len(data_dict["y_val"])
    return cls, train_acc, val_acc


class LinearClassifier:
    def __init__(self):
        random.seed(0)
        torch.manual_seed(0)
        self.W = None

    def train(self, X_train, y_train, learning_rate=1e-3, reg=1e-5, num_iters=100,
              batch_size=200, verbose=False):
        self.W, loss_history = train_linear_classifier(
            self.loss, self.W, X_train, y_train, learning_rate=learning_rate, reg=reg,
            num_iters=num_iters, batch_size=batch_size, verbose=verbose)
        return loss_history

    def predict(self, X):
        return predict_linear_classifier(self.W, X)

    def loss(self, W, X_batch, y_batch, reg):
        raise NotImplementedError

    def save(self, path):
        torch.save({"W": self.W.detach().cpu()}, path)
        print("Saved in {}".format(path))

    def load(self, path):
        self.W = torch.load(path, map_location="cpu")["W"]
        print("load checkpoint file: {}".format(path))


class LinearSVM(LinearClassifier):
    def loss(self, W, X_batch, y_batch, reg):
        return svm_loss_vectorized(W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    def loss(self, W, X_batch, y_batch, reg):
        return softmax_loss_vectorized(W, X_batch, y_batch, reg)
