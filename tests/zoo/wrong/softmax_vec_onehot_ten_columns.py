# zoo: blames softmax_loss_vectorized
# zoo-mistake: softmax-hardcoded-ten-classes
# bug: the one-hot matrix is torch.zeros(N, 10), CIFAR-10's number of classes: right for C = 10, a shape error for any other C
"""Linear classifiers (multiclass SVM and softmax) in PyTorch: the API of SPEC.md.

This is the harness's shipped implementation and the default module under test.
Every function follows the dtype and device of its inputs.
"""
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

# Both losses make one pass over X in row blocks: a block's scores (X_b @ W) and,
# while the block is still in cache, its share of the gradient (dS_b^T @ X_b). Both
# products keep X's rows as the contiguous reduction axis (W^T @ X_b^T, dS_b^T @ X_b,
# summed in a C x D buffer), which MKL runs several times faster than the textbook
# X.T @ dS. Blocks hold about _BLOCK_BYTES of X: one block below twice that, at most
# _MAX_BLOCKS however large X is, so the operations dispatched stay bounded and never
# grow with N past that bound (SPEC.md); every batch the course trains with is one block.
# On one thread (measured at N = 20000, float32: 0.8x one X @ W product, against 1.0x
# in one block) the blocks go one after the other. With T threads they go T at a time:
# a group of T equal blocks is one batched product (bmm, which MKL splits across the
# threads, one block each), and each thread sums its blocks' gradient into its own
# C x D accumulator (T x C x D in all, added up at the end). The one-block
# dS^T @ X hardly gains from a second thread: its output is only C x D and MKL does
# not split the long reduction over N. With threads the blocks are larger
# (_THREAD_BLOCK_BYTES): each group is two parallel regions that wait for every thread,
# which on a busy machine costs a time slice each (measured at load 14, two threads:
# 4 MiB blocks 3.9x / 6.0x the floor, 32 MiB blocks 1.3x / 1.7x; on a quiet machine
# both are estimated near 1.0x). On CUDA it is one block, scores laid out N x C.
_BLOCK_BYTES = 4 << 20
_THREAD_BLOCK_BYTES = 32 << 20
_MAX_BLOCKS = 128


def _plan(X: torch.Tensor):
    """(threads T, blocks). T == 1: the blocks one after the other, scores C x n.
    T > 1: T blocks at a time (or, below two blocks' worth of X, and on CUDA, one
    block of n x C scores: blocks == 1)."""
    nbytes = X.numel() * X.element_size()
    blocks = max(1, min(_MAX_BLOCKS, nbytes // _BLOCK_BYTES))
    if X.device.type != "cpu":
        return 2, 1
    threads = torch.get_num_threads()
    if threads == 1 or blocks == 1:
        return threads, blocks
    # Several threads: fewer, larger blocks (about _THREAD_BLOCK_BYTES, at least one per
    # thread): every group is two parallel regions that wait for all threads.
    return threads, max(threads, min(blocks, nbytes // _THREAD_BLOCK_BYTES))


def _pieces(X: torch.Tensor, y: torch.Tensor, threads: int, blocks: int):
    """[(X_b, y_b)]: the row blocks of X, batched T at a time as (T, n, D) views."""
    if threads == 1:
        return [(X, y)] if blocks == 1 else zip(X.tensor_split(blocks), y.tensor_split(blocks))
    groups = blocks // threads
    rows = X.shape[0] // (groups * threads)
    whole = groups * threads * rows  # the rest (< groups * threads rows) is one last block
    pieces = list(zip(X[:whole].unflatten(0, (groups, threads, rows)),
                      y[:whole].unflatten(0, (groups, threads, rows))))
    if whole < X.shape[0]:
        pieces.append((X[whole:].unsqueeze(0), y[whole:].unsqueeze(0)))
    return pieces


def _one_pass(block, W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """(loss, dW). `block(scores, y_idx, dim)` turns one block's scores into its summed
    data loss, leaving dL/dscores in `scores`. Inputs are never written."""
    num_train = X.shape[0]
    Wt = W.t().contiguous()  # C x D; read only
    y = y.to(device=X.device, dtype=torch.long)
    threads, blocks = _plan(X)
    data = None
    if threads == 1:
        G = W.new_zeros(W.shape[1], W.shape[0])  # sum of dS_b^T @ X_b, C x D
        for X_b, y_b in _pieces(X, y, threads, blocks):
            scores = Wt @ X_b.t()  # C x n
            part = block(scores, y_b.view(1, -1), 0)
            G.addmm_(scores, X_b)
            data = part if data is None else data.add_(part)
    elif blocks == 1:
        scores = X @ Wt.t()  # n x C
        data = block(scores, y.view(-1, 1), 1)
        G = scores.t() @ X  # C x D
    else:
        G_t = W.new_zeros(threads, W.shape[1], W.shape[0])  # one C x D sum per thread
        for X_b, y_b in _pieces(X, y, threads, blocks):
            k = X_b.shape[0]  # T blocks, or 1 for the last short one
            scores = torch.bmm(Wt.expand(k, -1, -1), X_b.transpose(1, 2))  # k x C x n
            part = block(scores, y_b.unsqueeze(1), 1)
            G_t[:k].baddbmm_(scores, X_b)
            data = part if data is None else data.add_(part)
        G = G_t.sum(0)
    loss = data / num_train + reg * torch.sum(W * W)
    dW = W * (2 * reg)  # a new tensor laid out like W
    dW.add_(G.t(), alpha=1.0 / num_train)
    return loss, dW


def _svm_block(scores, y_idx, dim):
    margins = scores.sub_(scores.gather(dim, y_idx)).add_(1)  # s_j - s_y + 1, as the loop
    margins.scatter_(dim, y_idx, 0.0).clamp_(min=0)
    data = margins.sum()
    coeff = margins.sign_()  # 1 where margin > 0 (strict, the loop's `if margin > 0`), else 0
    coeff.scatter_(dim, y_idx, coeff.sum(dim=dim, keepdim=True).neg_())
    return data


def _softmax_block(scores, y_idx, dim):
    log_probs = scores.sub_(torch.logsumexp(scores, dim=dim, keepdim=True))  # max-shifted
    data = log_probs.gather(dim, y_idx).sum().neg_()
    probs = log_probs.exp_()
    probs.scatter_(dim, y_idx, probs.gather(dim, y_idx).sub_(1))
    return data


def svm_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Multiclass SVM loss without loops; returns (0-dim loss tensor, dW)."""
    return _one_pass(_svm_block, W, X, y, reg)


def softmax_loss_vectorized(W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, reg: float):
    """Softmax loss without loops; returns (0-dim loss tensor, dW)."""
    num_train = X.shape[0]
    scores = X @ W
    scores = scores - scores.max(dim=1, keepdim=True).values
    log_probs = scores - torch.logsumexp(scores, dim=1, keepdim=True)
    onehot = torch.zeros(num_train, 10, dtype=X.dtype, device=X.device)
    onehot[torch.arange(num_train, device=X.device), y] = 1.0
    loss = -(log_probs * onehot).sum() / num_train + reg * (W * W).sum()
    dW = X.t() @ (log_probs.exp() - onehot) / num_train + 2 * reg * W
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
