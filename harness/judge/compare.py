"""Judging a loss function's answer: its form, its values against the oracle, and a
message that teaches (which function, which rule, expected vs got, the mistake it
looks like, a repro that checks itself)."""
import math
from typing import Optional, Sequence

import torch

from harness.judge import mistakes, repro as repros
from harness.judge.tolerance import loss_bounds, margin_ambiguity
from reference import losses as oracle
from harness.errors import PropertyFailure


def fail(name: str, rule: str, details: Sequence[str] = (), repro=None, evidence: Optional[dict] = None):
    """Raise the failure of `name`. evidence: what the property replayed, for naming the
    mistake (harness/judge/mistakes.py); without it the rule's text is the only evidence."""
    evidence = dict(evidence or {}, text=rule)
    evidence.setdefault("function", name.split(".")[0].split(" ")[0])
    evidence.setdefault("kind", "rule")
    found = mistakes.recognize(evidence)
    lines = [f"{name}: {rule}"] + [f"  {d}" for d in details if d]
    if found:
        lines.append(f"  looks like: {found.looks_like}")
    text = str(repro) if repro else None
    if text:
        lines += ["  repro:"] + ["    " + line for line in text.splitlines()]
    raise PropertyFailure("\n".join(lines), repro=text, mistake=found.id if found else None)


def type_name(value) -> str:
    """The type a submission returned, also for values the worker could not send back."""
    return getattr(value, "type_name", None) or f"{type(value).__module__}.{type(value).__qualname__}"


def fmt(v: float) -> str:
    return f"{v:.6g}" if math.isfinite(v) else str(v)


# ------------------------------------------------------------------ repros

class LossRepro:
    """The repro of a loss call: check(...) on one or more cases, each with the oracle's
    answer and the harness's tolerance as literals (harness/judge/repro.py). The cases are
    worked out only when the repro is shown (a failure): a passing call, nearly every
    call, pays for no second oracle run."""

    def __init__(self, call: str, cases):
        self.call, self._cases = call, list(cases)  # each a dict, or a function making one

    @property
    def cases(self):
        return [case() if callable(case) else case for case in self._cases]

    def __add__(self, other: "LossRepro") -> "LossRepro":
        return LossRepro(self.call, self._cases + other._cases)

    def __str__(self):
        return repros.loss_snippet(self.call, self.cases)


def loss_repro(call: str, model: str, W, X, y, reg, allow_float=False) -> LossRepro:
    """call: source of the function under test, e.g. "lc.svm_loss_naive". W, X, y are
    kept as they are now (the caller never changes them; the submission gets copies)."""
    def case():
        ref = oracle.ORACLES[model](W, X, y, reg)
        bounds = loss_bounds(model, W, X, y, reg, W.dtype)
        expected, allowed = ref.dW, bounds.dW
        ties = _svm_ties(W, X, y, ref, bounds) if model == "svm" else None
        if ties is not None:  # the snippet finds the valid gradient nearest to dW, as the harness does
            expected = ties[0]
        made = dict(W=W, X=X, y=y, reg=reg, expected_loss=ref.loss, allowed_loss=bounds.loss,
                    expected_dW=expected, allowed_dW=allowed)
        if ties is not None:
            made["ties"] = ties[1]
        if allow_float:
            made["allow_float"] = True
        if model == "softmax" and _py_underflows(W, X, y):
            made["inf_ok"] = True
        return made
    return LossRepro(call, [case])


# ----------------------------------------------------------- form of the answer

def check_loss_form(name: str, out, W, allow_float: bool, repro, evidence: Optional[dict] = None):
    """(loss, dW): loss a 0-dim tensor (a float for the naive ones), dW like W."""
    ev = dict(evidence or {}, kind="form")
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(name, "must return a tuple (loss, dW) (SPEC.md, Losses)",
             [f"got {type_name(out)}: {str(out)[:200]}"], repro, dict(ev, what="tuple"))
    loss, dW = out
    if type(loss) is torch.Tensor:
        if loss.dim() != 0:
            fail(name, "loss must be a 0-dim tensor (SPEC.md, Losses)", [f"got shape {tuple(loss.shape)}"],
                 repro, dict(ev, what="loss", got="shape"))
    elif not (allow_float and type(loss) is float):
        allowed = "a 0-dim torch.Tensor" + (" or a Python float" if allow_float else
                                            " (training calls loss.item())")
        fail(name, f"loss must be {allowed} (SPEC.md, Losses)", [f"got {type_name(loss)}"], repro,
             dict(ev, what="loss", got=type_name(loss)))
    if type(dW) is not torch.Tensor:
        fail(name, "dW must be a plain torch.Tensor (SPEC.md, Losses)", [f"got {type_name(dW)}"], repro,
             dict(ev, what="dW", got=type_name(dW)))
    for what, got, want in (("shape", tuple(dW.shape), tuple(W.shape)), ("dtype", dW.dtype, W.dtype),
                            ("device", dW.device, W.device)):
        if got != want:
            facts = dict(ev, what="dW", transposed=what == "shape" and got == want[::-1] and got != want)
            if what == "dtype":
                facts["wrong_dtype"] = str(got)
            fail(name, f"dW must have the {what} of W (SPEC.md, Losses)", [f"expected {want}, got {got}"],
                 repro, facts)
    return (float(loss) if type(loss) is float else float(loss.detach().cpu().to(torch.float64))), dW


# ---------------------------------------------------------- values vs the oracle

def compare_loss(name: str, model: str, loss: float, dW: torch.Tensor, W, X, y, reg: float,
                 repro, underflow_ok: bool = True, evidence: Optional[dict] = None):
    """Loss and gradient against the float64 oracle, within the dtype's bounds."""
    ref = oracle.ORACLES[model](W, X, y, reg)
    bounds = loss_bounds(model, W, X, y, reg, W.dtype)
    ev = loss_evidence(model, W, X, y, reg, loss, dW, bounds, evidence)
    if not (math.isfinite(loss) and abs(loss - ref.loss) <= bounds.loss):
        if underflow_ok and loss == math.inf and model == "softmax" and _py_underflows(W, X, y):
            pass  # SPEC: the naive formula may give inf when p_y underflows
        else:
            rule = ("L = mean over N of the hinge terms max(0, s_j - s_y + 1), j != y, + reg*sum(W*W)"
                    if model == "svm" else "L = mean over N of -log softmax(s)_y + reg*sum(W*W)")
            fail(name, f"the loss differs from the oracle ({rule}; SPEC.md, Losses)",
                 [f"expected {fmt(ref.loss)}, got {fmt(loss)} (|diff| {fmt(abs(loss - ref.loss))}"
                  f" > allowed {bounds.loss:.2g} for {str(W.dtype)[6:]})"], repro, ev)
    got = dW.detach().to("cpu", torch.float64)
    expected, slack = ref.dW, bounds.dW
    if model == "svm":
        expected, slack = _svm_tie_adjusted(W, X, y, got, ref, bounds, slack)
    bad = ~((got - expected).abs() <= slack)
    if bool(bad.any()):
        k, j = (int(v) for v in torch.nonzero(bad)[0])
        fail(name, "dW differs from the oracle's gradient (SPEC.md, Losses"
                   + ("; a margin counts only when > 0)" if model == "svm" else ")"),
             [f"dW[{k}, {j}]: expected {fmt(float(expected[k, j]))}, got {fmt(float(got[k, j]))}"
              f" (allowed {float(slack[k, j]):.2g}); {int(bad.sum())} of {bad.numel()} entries differ"],
             repro, ev)


def loss_evidence(model, W, X, y, reg, loss, dW, bounds=None, extra=None) -> dict:
    """What a loss failure hands the mistake recognizers: the case and what came back."""
    bounds = bounds or loss_bounds(model, W, X, y, reg, W.dtype)
    return dict(extra or {}, kind="loss", model=model, W=W, X=X, y=y, reg=reg, loss=loss, dW=dW,
                tol_loss=bounds.loss, tol_dW=bounds.dW)


def _py_underflows(W, X, y) -> bool:
    probs = oracle.softmax_probabilities(W, X)
    tiny = torch.finfo(W.dtype).tiny
    return any(p[int(label)] < tiny * 2 ** 24 for p, label in zip(probs, y.tolist()))


def _svm_ties(W, X, y, ref, bounds):
    """Margins that are 0 up to rounding: (base, pairs), pairs the tied (i, j) (each adds
    x_i / N to column j and -x_i / N to column y_i when counted), base the gradient with
    none of them counted; None when there is no tie."""
    margins = torch.tensor(oracle.svm_margins(W, X, y), dtype=torch.float64)
    N = X.shape[0]
    amb = margin_ambiguity(bounds.score, y)
    tied = (margins.abs() <= amb)
    tied[torch.arange(N), y.cpu()] = False
    pairs = torch.nonzero(tied).tolist()
    if not pairs:
        return None
    X64 = X.detach().to("cpu", torch.float64)
    base = ref.dW.clone()
    for i, j in pairs:
        if margins[i, j] > 0:  # the oracle counted it: take it out of the base
            base[:, j] -= X64[i] / N
            base[:, int(y[i])] += X64[i] / N
    return base, pairs


def _svm_tie_adjusted(W, X, y, got, ref, bounds, slack):
    """At a margin that is 0 up to rounding, counting it or not (or any mix) is valid: the
    valid gradient nearest to `got` (repro.nearest_valid, the function the repro prints)."""
    ties = _svm_ties(W, X, y, ref, bounds)
    if ties is None:
        return ref.dW, slack
    base, pairs = ties
    return repros.nearest_valid(got, base, X, y, pairs, slack), slack
