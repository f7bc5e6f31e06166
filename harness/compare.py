"""Judging a loss function's answer: its form, its values against the oracle, and a
message that teaches (which function, which rule, expected vs got, a repro)."""
import math
from typing import Optional, Sequence

import torch

from harness.tolerance import loss_bounds, margin_ambiguity
from reference import losses as oracle


class PropertyFailure(AssertionError):
    """A rule of SPEC.md does not hold; the message is what the student reads."""


def fail(name: str, rule: str, details: Sequence[str] = (), repro: Optional[str] = None):
    lines = [f"{name}: {rule}"] + [f"  {d}" for d in details if d]
    if repro:
        lines += ["  repro:"] + ["    " + line for line in repro.splitlines()]
    raise PropertyFailure("\n".join(lines))


# ------------------------------------------------------------------ repro text

def tensor_literal(t: torch.Tensor) -> str:
    dtype = str(t.dtype)
    body = repr(t.detach().cpu().tolist())
    device = "" if t.device.type == "cpu" else f", device={str(t.device)!r}"
    return f"torch.tensor({body}, dtype={dtype}{device})"


def repro_call(name: str, args_src: str, bindings: dict, result: str = "out") -> str:
    lines = ["import torch, linear_classifier as lc"]
    for var, value in bindings.items():
        lines.append(f"{var} = {tensor_literal(value) if isinstance(value, torch.Tensor) else repr(value)}")
    lines.append(f"{result} = lc.{name}({args_src})")
    return "\n".join(lines)


def loss_repro(name, W, X, y, reg) -> str:
    return repro_call(name, "W, X, y, reg", {"W": W, "X": X, "y": y, "reg": reg}, "loss, dW")


def type_name(value) -> str:
    """The type a submission returned, also for values the worker could not send back."""
    return getattr(value, "type_name", None) or f"{type(value).__module__}.{type(value).__qualname__}"


def fmt(v: float) -> str:
    return f"{v:.6g}" if math.isfinite(v) else str(v)


# ----------------------------------------------------------- form of the answer

def check_loss_form(name: str, out, W, allow_float: bool, repro: str):
    """(loss, dW): loss a 0-dim tensor (a float for the naive ones), dW like W."""
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(name, "must return a tuple (loss, dW)", [f"got {type_name(out)}: {str(out)[:200]}"],
             repro)
    loss, dW = out
    if type(loss) is torch.Tensor:
        if loss.dim() != 0:
            fail(name, "loss must be a 0-dim tensor", [f"got shape {tuple(loss.shape)}"], repro)
    elif not (allow_float and type(loss) is float):
        allowed = "a 0-dim torch.Tensor" + (" or a Python float" if allow_float else
                                            " (training calls loss.item())")
        fail(name, f"loss must be {allowed}", [f"got {type_name(loss)}"],
             repro)
    if type(dW) is not torch.Tensor:
        fail(name, "dW must be a plain torch.Tensor", [f"got {type_name(dW)}"],
             repro)
    for what, got, want in (("shape", tuple(dW.shape), tuple(W.shape)), ("dtype", dW.dtype, W.dtype),
                            ("device", dW.device, W.device)):
        if got != want:
            fail(name, f"dW must have the {what} of W", [f"expected {want}, got {got}"], repro)
    return (float(loss) if type(loss) is float else float(loss.detach().cpu().to(torch.float64))), dW


# ---------------------------------------------------------- values vs the oracle

def _diagnose(candidates, got, tol) -> Optional[str]:
    for label, value in candidates:
        if isinstance(value, torch.Tensor):
            if bool(((got - value).abs() <= tol).all()):
                return label
        elif abs(got - value) <= tol:
            return label
    return None


def compare_loss(name: str, model: str, loss: float, dW: torch.Tensor, W, X, y, reg: float,
                 repro: str, underflow_ok: bool = True):
    """Loss and gradient against the float64 oracle, within the dtype's bounds."""
    ref = oracle.ORACLES[model](W, X, y, reg)
    bounds = loss_bounds(model, W, X, y, reg, W.dtype)
    if not (math.isfinite(loss) and abs(loss - ref.loss) <= bounds.loss):
        if underflow_ok and loss == math.inf and model == "softmax" and _py_underflows(W, X, y):
            pass  # SPEC: the naive formula may give inf when p_y underflows
        else:
            N = X.shape[0]
            rule = ("L = mean over N of the hinge terms max(0, s_j - s_y + 1), j != y, + reg*sum(W*W)"
                    if model == "svm" else "L = mean over N of -log softmax(s)_y + reg*sum(W*W)")
            guess = _diagnose([
                ("the data loss is summed over N, not averaged", ref.data_loss * N + ref.reg_loss),
                ("the regulariser has a factor 1/2 (SPEC: reg * sum(W*W), no 1/2)",
                 ref.data_loss + ref.reg_loss / 2),
                ("the regulariser is missing", ref.data_loss),
                ("the regulariser is counted twice", ref.data_loss + 2 * ref.reg_loss),
                ("the correct class is counted too (adds 1 per example)", ref.loss + 1.0),
            ], loss, bounds.loss)
            fail(name, f"the loss differs from the oracle ({rule})",
                 [f"expected {fmt(ref.loss)}, got {fmt(loss)} (|diff| {fmt(abs(loss - ref.loss))}"
                  f" > allowed {bounds.loss:.2g} for {str(W.dtype)[6:]})",
                  f"looks like: {guess}" if guess else ""], repro)
    got = dW.detach().to("cpu", torch.float64)
    expected = ref.dW
    slack = bounds.dW
    if model == "svm":
        expected, slack = _svm_tie_adjusted(W, X, y, got, ref, bounds, slack)
    bad = ~((got - expected).abs() <= slack)
    if bool(bad.any()):
        k, j = (int(v) for v in torch.nonzero(bad)[0])
        N = X.shape[0]
        reg_grad = 2 * reg * W.detach().to("cpu", torch.float64)
        guess = _diagnose([
            ("the gradient has the wrong sign", -ref.dW),
            ("the data gradient is summed over N, not averaged", ref.data_dW * N + reg_grad),
            ("the regulariser's gradient is reg*W; with no 1/2 it is 2*reg*W", ref.data_dW + reg_grad / 2),
            ("the regulariser's gradient is missing", ref.data_dW),
        ], got, slack)
        fail(name, "dW differs from the oracle's gradient"
                   + (" (SPEC: a margin counts only when > 0)" if model == "svm" else ""),
             [f"dW[{k}, {j}]: expected {fmt(float(expected[k, j]))}, got {fmt(float(got[k, j]))}"
              f" (allowed {float(slack[k, j]):.2g}); {int(bad.sum())} of {bad.numel()} entries differ",
              f"looks like: {guess}" if guess else ""], repro)


def _py_underflows(W, X, y) -> bool:
    probs = oracle.softmax_probabilities(W, X)
    tiny = torch.finfo(W.dtype).tiny
    return any(p[int(label)] < tiny * 2 ** 24 for p, label in zip(probs, y.tolist()))


def _svm_tie_adjusted(W, X, y, got, ref, bounds, slack):
    """At a margin that is 0 up to rounding, counting it or not (or any mix) is valid.

    The valid gradients are base + sum_a t_a g_a with t_a in [0, 1], where g_a is the
    contribution of tied pair a = (i, j): x_i / N to column j and -x_i / N to column
    y_i. Return the member of that set nearest to `got` (projected gradient on t)."""
    margins = torch.tensor(oracle.svm_margins(W, X, y), dtype=torch.float64)
    N = X.shape[0]
    amb = margin_ambiguity(bounds.score, y)
    tied = (margins.abs() <= amb)
    tied[torch.arange(N), y.cpu()] = False
    pairs = torch.nonzero(tied).tolist()
    if not pairs:
        return ref.dW, slack
    X64 = X.detach().to("cpu", torch.float64)
    D, C = W.shape
    G = torch.zeros(len(pairs), D, C, dtype=torch.float64)
    base = ref.dW.clone()
    for a, (i, j) in enumerate(pairs):
        G[a, :, j] += X64[i] / N
        G[a, :, int(y[i])] -= X64[i] / N
        if margins[i, j] > 0:  # the oracle counted it: take it out of the base
            base -= G[a]
    A = G.reshape(len(pairs), -1).t()           # (D*C, pairs)
    r = (got - base).reshape(-1)
    t = torch.linalg.lstsq(A, r.unsqueeze(1)).solution.squeeze(1).clamp(0, 1)
    step = 1.0 / max(float(torch.linalg.matrix_norm(A, ord=2)) ** 2, 1e-300)
    for _ in range(200):
        t = (t - step * (A.t() @ (A @ t - r))).clamp(0, 1)
    return base + (A @ t).reshape(D, C), slack
