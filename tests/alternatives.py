"""Independent formulations, used only by tests/ to check the oracles in reference/losses.py
(kept out of reference/: an autograd loss is a vectorized answer under another name, and
reference/ ships in the student edition).

Two routes that share no code with the loops: PyTorch's own loss functions
differentiated by autograd, and central finite differences of the oracle's loss.
"""
import torch
import torch.nn.functional as F


def _with_autograd(data_loss_of_scores, W, X, y, reg):
    W = W.detach().to(torch.float64).clone().requires_grad_(True)
    X = X.detach().to(torch.float64)
    loss = data_loss_of_scores(X @ W, y) + reg * (W * W).sum()
    loss.backward()
    return float(loss.detach()), W.grad.detach()


def svm_loss_autograd(W, X, y, reg):
    """multi_margin_loss averages over the C classes too, so scale it back by C."""
    C = W.shape[1]
    return _with_autograd(lambda s, t: F.multi_margin_loss(s, t, p=1, margin=1.0) * C, W, X, y, reg)


def softmax_loss_autograd(W, X, y, reg):
    return _with_autograd(lambda s, t: F.cross_entropy(s, t), W, X, y, reg)


def finite_difference_gradient(loss_of_W, W, h=1e-6):
    """Central differences, one entry of W at a time, in float64."""
    W = W.detach().to(torch.float64)
    grad = torch.zeros_like(W)
    for idx in range(W.numel()):
        plus, minus = W.clone(), W.clone()
        plus.view(-1)[idx] += h
        minus.view(-1)[idx] -= h
        grad.view(-1)[idx] = (loss_of_W(plus) - loss_of_W(minus)) / (2 * h)
    return grad
