"""The oracles: naive loop implementations of the two losses, as SPEC.md defines them.

They loop over Python floats (IEEE float64) rather than torch scalars: that keeps
them fast enough to run on every generated example, makes every sum exactly
rounded (`math.fsum`), and keeps them independent of torch, whose functions a
submission might patch. They return float64 CPU tensors for the gradient.

Conventions (SPEC.md): mean over N, `reg * sum(W*W)` with no 1/2 (gradient
`2 * reg * W`), SVM delta = 1 with the strict `margin > 0` rule, softmax shifted
by each row's max.
"""
import math
from typing import List, NamedTuple, Tuple

import torch


class OracleResult(NamedTuple):
    loss: float            # the full loss, data + regularisation
    data_loss: float       # averaged over N
    reg_loss: float        # reg * sum(W*W)
    dW: torch.Tensor       # float64 CPU, the full gradient
    data_dW: torch.Tensor  # the data part alone, float64 CPU


def _as_lists(W, X, y) -> Tuple[List[List[float]], List[List[float]], List[int]]:
    return (W.detach().to("cpu", torch.float64).tolist(),
            X.detach().to("cpu", torch.float64).tolist(),
            [int(v) for v in y.detach().cpu().tolist()])


def scores_of(W, X) -> List[List[float]]:
    """s = X @ W, each entry an exactly rounded dot product."""
    Wl, Xl, _ = _as_lists(W, X, torch.zeros(0, dtype=torch.int64))
    D, C = len(Wl), (len(Wl[0]) if Wl else 0)
    return [[math.fsum(x[k] * Wl[k][j] for k in range(D)) for j in range(C)] for x in Xl]


def _finish(Wl, data_sum, grad_rows, N, reg) -> OracleResult:
    """Average the data part over N and add `reg * sum(W*W)` (no 1/2)."""
    D = len(Wl)
    C = len(Wl[0]) if D else 0
    data_loss = data_sum / N
    reg_loss = reg * math.fsum(w * w for row in Wl for w in row)
    data_dW = [[math.fsum(grad_rows[k][j]) / N for j in range(C)] for k in range(D)]
    dW = [[data_dW[k][j] + 2.0 * reg * Wl[k][j] for j in range(C)] for k in range(D)]
    as_t = lambda rows: torch.tensor(rows, dtype=torch.float64).reshape(D, C)
    return OracleResult(data_loss + reg_loss, data_loss, reg_loss, as_t(dW), as_t(data_dW))


def svm_loss(W, X, y, reg: float) -> OracleResult:
    """Multiclass SVM (Weston-Watkins, delta = 1), the course's naive double loop."""
    Wl, Xl, yl = _as_lists(W, X, y)
    D, C, N = len(Wl), len(Wl[0]), len(Xl)
    scores = scores_of(W, X)
    terms: List[float] = []
    grad_rows = [[[] for _ in range(C)] for _ in range(D)]  # grad_rows[k][j]: addends
    for i in range(N):
        correct = scores[i][yl[i]]
        for j in range(C):
            if j == yl[i]:
                continue
            margin = scores[i][j] - correct + 1.0
            if margin > 0:  # strict: an exact tie counts nothing
                terms.append(margin)
                for k in range(D):
                    grad_rows[k][j].append(Xl[i][k])
                    grad_rows[k][yl[i]].append(-Xl[i][k])
    return _finish(Wl, math.fsum(terms), grad_rows, N, reg)


def svm_margins(W, X, y) -> List[List[float]]:
    """margin[i][j] = s_ij - s_iy_i + 1 (and 0.0 at j == y_i, which never counts)."""
    _, _, yl = _as_lists(W[:0], X[:0], y)
    scores = scores_of(W, X)
    return [[(s[j] - s[yl[i]] + 1.0) if j != yl[i] else 0.0 for j in range(len(s))]
            for i, s in enumerate(scores)]


def softmax_loss(W, X, y, reg: float) -> OracleResult:
    """Cross-entropy of the max-shifted softmax, one example at a time."""
    Wl, Xl, yl = _as_lists(W, X, y)
    D, C, N = len(Wl), len(Wl[0]), len(Xl)
    scores = scores_of(W, X)
    terms: List[float] = []
    grad_rows = [[[] for _ in range(C)] for _ in range(D)]
    for i in range(N):
        top = max(scores[i])
        shifted = [s - top for s in scores[i]]
        exps = [math.exp(s) for s in shifted]
        total = math.fsum(exps)
        terms.append(math.log(total) - shifted[yl[i]])  # -log p_y, never exp'd back
        for j in range(C):
            coeff = exps[j] / total - (1.0 if j == yl[i] else 0.0)
            for k in range(D):
                grad_rows[k][j].append(coeff * Xl[i][k])
    return _finish(Wl, math.fsum(terms), grad_rows, N, reg)


def softmax_probabilities(W, X) -> List[List[float]]:
    out = []
    for s in scores_of(W, X):
        top = max(s)
        exps = [math.exp(v - top) for v in s]
        total = math.fsum(exps)
        out.append([e / total for e in exps])
    return out


# The oracle of each loss model ("loss_model" in harness/api.py).
ORACLES = {"svm": svm_loss, "softmax": softmax_loss}
