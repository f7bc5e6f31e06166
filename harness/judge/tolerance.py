"""Tolerances derived from the dtype and the size of the computation.

A submission computes in its inputs' dtype; the oracle computes exactly rounded
float64 sums. The standard forward error bound of a dot product of length n is
gamma_n * sum |a_k b_k| with gamma_n ~ n * eps, so every bound below is
    eps(dtype) * (length of the sums) * (the same sums taken over absolute values)
times a safety factor of 4 for the handful of further roundings (subtracting the
max, exp, log, the division by N). A wrong formula (a missing 1/N, a 1/2, a wrong
sign) is off by a multiple of the value itself, far above eps * n.
"""
import math
from typing import NamedTuple

import torch

SAFETY = 4.0


def eps_of(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).eps


class LossBounds(NamedTuple):
    loss: float                 # allowed |loss_got - loss_oracle|
    dW: torch.Tensor            # allowed |dW_got - dW_oracle|, per entry (float64, CPU)
    score: torch.Tensor         # bound on the rounding error of each score s_ij (N, C)


def loss_bounds(model: str, W, X, y, reg: float, dtype: torch.dtype) -> LossBounds:
    """Error bounds for `model` in {"svm", "softmax"} computed in `dtype`."""
    eps = eps_of(dtype)
    W64, X64 = W.detach().to("cpu", torch.float64), X.detach().to("cpu", torch.float64)
    N, D = X64.shape
    C = W64.shape[1]
    absX, absW = X64.abs(), W64.abs()
    mag = absX @ absW                                  # sum_k |x_ik w_kj|, (N, C)
    scores = X64 @ W64
    score_err = SAFETY * eps * (D + 2) * mag + eps * scores.abs()
    rows = torch.arange(N)
    y = y.detach().cpu()
    growth = N + C + D + 4                             # longest chain of summed roundings
    reg_mag = reg * float((W64 * W64).sum())
    if model == "svm":
        # each counted margin carries the errors of its two scores and of the "+ 1"
        margin_err = score_err + score_err[rows, y].unsqueeze(1) + eps * (scores.abs() + 1)
        margin_mag = mag + mag[rows, y].unsqueeze(1) + 1
        loss = float((margin_err.sum() + SAFETY * eps * growth * margin_mag.sum()) / N)
        coeff_mag = torch.ones(N, C, dtype=torch.float64) * (C - 1)   # |coefficients| <= C-1
        coeff_err = torch.zeros(N, C, dtype=torch.float64)
    else:
        shifted = scores - scores.max(dim=1, keepdim=True).values
        p = torch.softmax(scores, dim=1)
        row_err = score_err.max(dim=1).values               # every score may be off this much
        # log-sum-exp and s_y each carry the row's score error; the row sum adds C roundings
        loss = float((2 * row_err.sum() + SAFETY * eps * growth
                      * (shifted.abs().sum(1) + math.log(C) + mag.max(1).values).sum()) / N)
        # d p_j = p_j (d s_j - sum_l p_l d s_l): bounded by 2 p_j max_l |d s_l|
        coeff_err = 2 * p * row_err.unsqueeze(1) + SAFETY * eps * (C + 2) * p
        coeff_mag = p.clone()
        coeff_mag[rows, y] += 1
    loss += SAFETY * eps * (D * C + 2) * reg_mag + SAFETY * eps * abs(loss) * growth
    # dW_kj = (1/N) sum_i x_ik c_ij + 2 reg w_kj
    dW = (SAFETY * eps * growth * (absX.t() @ coeff_mag) + absX.t() @ coeff_err) / N
    dW = dW + SAFETY * eps * 2 * abs(reg) * absW * 4
    dW = dW + eps * float(dW.max()) if dW.numel() else dW   # cancellation across the row
    return LossBounds(loss + eps * 4, dW + torch.finfo(dtype).tiny, score_err)


def margin_ambiguity(score_err: torch.Tensor, y) -> torch.Tensor:
    """How far from 0 an SVM margin may sit and still fall on either side in `dtype`."""
    rows = torch.arange(score_err.shape[0])
    return 2 * (score_err + score_err[rows, y.detach().cpu()].unsqueeze(1))


def argmax_slack(W, X, dtype: torch.dtype) -> torch.Tensor:
    """Scores within this of a row's max may be its argmax in `dtype` (N, C). Besides the
    relative rounding of each of the D products and sums, a product below `dtype`'s
    smallest normal number may be flushed to zero (an absolute error up to `tiny` each)."""
    eps = eps_of(dtype)
    mag = X.detach().to("cpu", torch.float64).abs() @ W.detach().to("cpu", torch.float64).abs()
    return 2 * SAFETY * (eps * mag + torch.finfo(dtype).tiny) * (X.shape[1] + 2)


def exact_update_slack(W, grad, lr: float, dtype: torch.dtype) -> torch.Tensor:
    """`W - lr * grad` in dtype, by any of the usual spellings (fused or not): a few ulps."""
    eps = eps_of(dtype)
    W64 = W.detach().to("cpu", torch.float64)
    g64 = grad.detach().to("cpu", torch.float64)
    return 3 * eps * (W64.abs() + abs(lr) * g64.abs()) + torch.finfo(dtype).tiny
