"""Naming the usual mistake behind a failure: "looks like: ...".

The catalogue is data (harness/mistakes.toml, one entry per mistake); this module
holds the recognizers the entries name. A property that fails hands `recognize`
its evidence: what it replayed (the shrunk counterexample, what came back, and
facts it measured) as a dict with at least "kind" and "function". The first
entry, in catalogue order, whose function matches and whose recognizer accepts
the evidence names the mistake. A recognizer replays the counterexample (a loss
recomputed with the mistake put in, in float64), compares facts, or probes the
submission once more through evidence["probe"] (test_one_param_set after an error:
evidence["replay"], a call with a fresh spy classifier).

Adding a mistake: one [[mistake]] entry in mistakes.toml (with an existing
recognizer and its args, or a new function registered here with @recognizer)
and one zoo file under tests/zoo/wrong/ with a `# zoo-mistake: ID` header.
"""
import ast
import math
import re
import tomllib
from pathlib import Path
from typing import Callable, Dict, NamedTuple, Optional

import torch

CATALOGUE = Path(__file__).with_name("mistakes.toml")
GROUPS = {"svm": ("svm_loss_naive", "svm_loss_vectorized"),
          "softmax": ("softmax_loss_naive", "softmax_loss_vectorized"),
          "search": ("svm_get_search_params", "softmax_get_search_params")}
GROUPS["loss"] = GROUPS["svm"] + GROUPS["softmax"]


class Mistake(NamedTuple):
    id: str
    functions: tuple
    looks_like: str
    recognizer: str
    args: dict
    explains: tuple = ()  # ids whose failure this mistake causes too (named alongside, they are dropped)


RECOGNIZERS: Dict[str, Callable] = {}


def recognizer(fn):
    RECOGNIZERS[fn.__name__] = fn
    return fn


def load(path: Path = CATALOGUE):
    entries = []
    for raw in tomllib.loads(path.read_text())["mistake"]:
        functions = tuple(n for f in raw["functions"] for n in GROUPS.get(f, (f,)))
        entries.append(Mistake(raw["id"], functions, raw["looks_like"], raw["recognizer"],
                               raw.get("args", {}), tuple(raw.get("explains", ()))))
    return entries


MISTAKES = load()
BY_ID = {m.id: m for m in MISTAKES}


def explained(ids) -> set:
    """The ids among `ids` that another of them explains: one mistake, one line."""
    return {e for i in ids if i in BY_ID for e in BY_ID[i].explains if e in ids and e != i}


def recognize(evidence: Optional[dict]) -> Optional[Mistake]:
    if not evidence:
        return None
    for m in MISTAKES:
        if evidence.get("function") in m.functions:
            try:
                if RECOGNIZERS[m.recognizer](evidence, **m.args):
                    return m
            except Exception:  # a probe that raises, an odd shape: not this mistake
                continue
    return None


# ------------------------------------------------------------------- facts

@recognizer
def facts(ev, **want):
    """Every fact named in the entry has the given value (lists: any of them)."""
    for key, value in want.items():
        got = ev.get(key)
        if isinstance(value, list) and not isinstance(got, list):
            if got not in value:
                return False
        elif got != value:
            return False
    return True


@recognizer
def text(ev, contains, kind=None):
    """The failure's text (an error, a rule) contains a phrase (case-insensitive)."""
    return (kind is None or ev.get("kind") == kind) and contains.lower() in ev.get("text", "").lower()


# ------------------------------------------------------------ loss variants

def _close(got, want, tol, rtol=1e-7) -> bool:
    got = torch.as_tensor(got, dtype=torch.float64)
    want = torch.as_tensor(want, dtype=torch.float64)
    if got.shape != want.shape:
        return False
    finite = torch.isfinite(want)
    if not torch.equal(torch.isfinite(got), finite):
        return False
    tol = torch.as_tensor(tol, dtype=torch.float64).expand_as(want)
    return bool(((got - want).abs()[finite] <= tol[finite] + rtol * want.abs()[finite]).all())


def loss_with(model, W, X, y, reg, delta=1.0, count_correct_loss=False, count_correct_grad=False,
              loss_div="N", grad_div="N", reg_loss=1.0, reg_grad=2.0, sign=1.0, grad="right",
              shift="row", norm_dim=1, loss_terms="correct", transposed=False, hinge=True,
              loss_sign=1.0, weights="mean", reg_form="elementwise", reg_loss_div="1", reg_grad_div="1",
              equal_scores_delta=True, reg_grad_form="times", eps=0.0, eps_at="sum", dtype=torch.float64):
    """(loss, dW) in float64 of `model` with the given mistakes put in.

    loss_div, grad_div: what the data loss / gradient is divided by (N, 1, N*C, the number
    C of classes, the dimension D, N twice). weights="in_loop": the division by N sits in
    the loop over the examples, so example i (from 0) is divided N - i times. hinge=False:
    the SVM's margins are summed without max(0, .). loss_sign: the data loss's sign.
    SVM grad="margin_values": each counted class weighs X[i] by its margin, not by 1 (the
    correct class still by minus the count); "correct_margin_sum": the other way round, counted
    classes weigh 1 and the correct class minus the sum of the row's margins, not their count;
    "mask_keeps_negative": counted classes weigh 1,
    the others keep their negative margins, and the correct class minus the row's sum.
    Softmax shift="self": every score shifted by itself (all zero: a uniform softmax);
    loss_terms="after_onehot": -log(p[y] - 1), the one-hot subtracted before the loss;
    "outer": the correct-class term sums scores[i, y[k]] over every k (scores[:, y]).
    reg_form="WtW": the loss's regulariser is reg * sum(W.T @ W), cross terms and all;
    reg_loss_div, reg_grad_div: what the regulariser of the loss / of dW is divided by (N: it
    sits inside the division by N). reg_grad_form: the regulariser's gradient is reg_grad * reg * W
    ("times", right); "square": reg_grad * reg * W * W, W's square for W; "plus": reg + reg_grad * W,
    a + where the product with reg belongs (every entry gets the constant reg). SVM grad="scores": the scores stand for the score gradient.
    Softmax grad="onehot_assigned": the correct class's score gradient is set to -1, not p - 1;
    loss_terms="no_log": -p[y] without the log. weights="in_loop_reg": the division by N and
    the regulariser both sit in the loop over the examples. Softmax shift="input_row": by the
    max of X[i], not of the scores; "twice_global": by twice the max of all scores. Softmax
    eps: a small constant added "for safety", eps_at="sum" to each row's sum of exps (the
    probabilities of the loss and of the gradient are e / (sum + eps)), "log" to p[y] inside the
    loss's log only (-log(p[y] + eps)), "both" the two. Softmax grad="exp_minus_labels": the
    score gradient is the unnormalised exp(scores) minus each row's label value y[i] (broadcast
    over the row), not p - onehot(y). dtype: the dtype computed in (a shift's overflow shows only
    in the submission's own).
    SVM grad="zeros_fixed_count": counted classes weigh 1 and every other entry of the row (the
    correct class and each class whose margin is not > 0 alike) -(C - 1), a fixed count given to
    every zero of the 0/1 mask. equal_scores_delta=False: the SVM's delta is added only where s_ij - s_iy_i != 0, so a class
    whose score equals the correct class's exactly has margin 0, not delta (loss and mask). hinge="nonzero_rows": the clamp is
    m[torch.nonzero(m < 0)] = 0 (the correct class's margin zeroed first): indexing with the
    (k, 2) index pairs zeroes every ROW numbered by an entry of a pair, so those rows count
    nothing in the loss and the gradient and the others count fully (an entry >= N raises
    IndexError, as the submission's indexing does). SVM grad="row_by_class": a counted class j
    adds X[j], the row of X numbered by the class, not the example's X[i] (the correct class
    still minus the count times X[i]; IndexError when C > N)."""
    W, X = W.detach().to("cpu", dtype), X.detach().to("cpu", dtype)
    y = y.detach().cpu()
    N, D, C = X.shape[0], X.shape[1], W.shape[1]
    rows = torch.arange(N)
    s = X @ W
    if model == "svm":
        diff = s - s[rows, y].unsqueeze(1)
        m = diff + delta if equal_scores_delta else torch.where(diff != 0, diff + delta, diff)
        pos = (m > 0).double()
        counted = (pos if hinge else torch.ones_like(pos)).clone()
        if not count_correct_loss:
            counted[rows, y] = 0
        kept = torch.ones(N, dtype=torch.float64)
        if hinge == "nonzero_rows":
            m0 = m.clone()
            m0[rows, y] = 0
            numbered = torch.nonzero(m0 < 0).flatten()
            if bool((numbered >= N).any()):
                raise IndexError("a row number >= N: the submission's indexing raises here")
            kept[numbered] = 0
            pos = pos * kept.unsqueeze(1)
            counted = counted * kept.unsqueeze(1)
        per_row = (m * counted).sum(dim=1)
        g = torch.ones_like(pos) if grad == "all" else pos.clone()
        if not count_correct_grad:
            g[rows, y] = 0
        coeff = g.clone()
        coeff[rows, y] = -g.sum(dim=0 if grad == "count_per_class" else 1)
        if grad == "scores":
            coeff = s.clone()
        if grad == "correct_margin_sum":
            coeff[rows, y] = -(m.clamp(min=0) * g).sum(dim=1)
        if grad in ("margin_values", "mask_keeps_negative"):
            others = torch.ones_like(pos)
            others[rows, y] = 0
            weight = m.clamp(min=0) if grad == "margin_values" else torch.where(m > 0, 1.0, m)
            coeff = weight * others
            coeff[rows, y] = -(g if grad == "margin_values" else coeff).sum(dim=1)
        if grad == "correct_only":
            keep = torch.zeros_like(coeff)
            keep[rows, y] = coeff[rows, y]
            coeff = keep
        elif grad == "correct_every_class":  # the correct column's update outside the `if`
            coeff[rows, y] = -(C - 1.0)
        elif grad == "zeros_fixed_count":
            coeff = torch.where(g > 0, 1.0, -(C - 1.0)).double()
    else:
        z = {"row": s - s.max(dim=1, keepdim=True).values, "none": s,
             "global": s - s.max(), "column": s - s.max(dim=0, keepdim=True).values,
             "self": s - s, "input_row": s - X.max(dim=1, keepdim=True).values,
             "twice_global": s - 2 * s.max()}[shift]
        e = torch.exp(z)
        in_sum = eps if eps_at in ("sum", "both") else 0.0
        in_log = eps if eps_at in ("log", "both") else 0.0
        p = e / ((e.sum() if norm_dim == "all" else e.sum(dim=norm_dim, keepdim=True)) + in_sum)
        per_row = {"all": lambda: -torch.log(p).sum(dim=1),
                   "after_onehot": lambda: -torch.log(p[rows, y] - 1),
                   "outer": lambda: torch.logsumexp(z, dim=1) - z[:, y].sum(dim=1),
                   "no_log": lambda: -p[rows, y],
                   "correct": lambda: -torch.log(p[rows, y] + in_log)}[loss_terms]()
        coeff = p.clone()
        if grad == "right":
            coeff[rows, y] -= 1
        elif grad == "columns":
            coeff[:, torch.unique(y)] -= 1
        elif grad == "onehot_assigned":
            coeff[rows, y] = -1.0
        elif grad == "exp_minus_labels":
            coeff = e - y.to(e.dtype).unsqueeze(1)
    in_loop_reg = 1.0
    if weights in ("in_loop", "in_loop_reg"):  # divided by N after every example: example i, N - i times
        w = torch.tensor([float(N) ** -(N - i) for i in range(N)], dtype=torch.float64)
        per_row, coeff = per_row * w, coeff * w.unsqueeze(1)
        loss_div = grad_div = "1"
        if weights == "in_loop_reg":  # the regulariser added after every division: sum of N^-k, k < N
            in_loop_reg = float(sum(float(N) ** -k for k in range(N)))
    data = loss_sign * float(per_row.sum())
    data_dW = sign * (X.t() @ coeff)
    if model == "svm" and grad == "row_by_class":  # column j: (its count) * X[j]; minus the counts at y_i
        if C > N:
            raise IndexError("a class index >= N: X[j] raises here")
        others = coeff.clone()
        others[rows, y] = 0
        correct = coeff - others
        data_dW = sign * (X.t() @ correct + X[:C].t() * others.sum(dim=0))
    if transposed:  # (coeff.T @ X): runs only when D == C
        data_dW = data_dW.t()
    divide = {"N": N, "1": 1, "NC": N * C, "C": C, "D": D, "NN": N * N}
    penalty = (W.t() @ W).sum() if reg_form == "WtW" else (W * W).sum()
    loss = data / divide[loss_div] + in_loop_reg * reg_loss * reg * float(penalty) / divide[reg_loss_div]
    reg_dW = {"times": lambda: reg_grad * reg * W, "square": lambda: reg_grad * reg * W * W,
              "plus": lambda: reg + reg_grad * W}[reg_grad_form]()
    dW = data_dW / divide[grad_div] + in_loop_reg * reg_dW / divide[reg_grad_div]
    return loss, dW


def _variant_matches(ev, W, X, y, reg, loss, dW, tol_loss, tol_dW, mistake, rtol=1e-7) -> Optional[bool]:
    """True/False: the answer is/is not the mistaken one; None: the mistake changes nothing here.
    rtol: the relative slack of every comparison (a mistake smaller than 1e-7 relative, such as
    an epsilon, needs less)."""
    want_loss, want_dW = loss_with(ev["model"], W, X, y, reg, **mistake)
    right_loss, right_dW = loss_with(ev["model"], W, X, y, reg)
    if _close(want_loss, right_loss, tol_loss, rtol) and _close(want_dW, right_dW, tol_dW, rtol):
        return None
    return (_close(loss, want_loss, 1e3 * tol_loss + 1e-9, rtol)
            and _close(dW, want_dW, 1e3 * tol_dW + 1e-9, rtol))


def _probe_case(dtype, device):
    """The richer case the recognizers ask the submission about: every margin kind, reg > 0,
    N = C (a sum over the wrong axis still runs)."""
    gen = torch.Generator().manual_seed(0)
    X = (2 * torch.randn(4, 3, generator=gen, dtype=torch.float64)).to(dtype).to(device)
    W = (0.5 * torch.randn(3, 4, generator=gen, dtype=torch.float64)).to(dtype).to(device)
    return W, X, torch.tensor([0, 1, 1, 3], device=device), 0.1


def _gives(model, case, answer, **mistake) -> bool:
    """`answer` (loss, dW) is loss_with(**mistake)'s on `case` (by default the right answer),
    within the bounds of the case's dtype."""
    from harness.judge.tolerance import loss_bounds
    W, X, y, reg = case
    loss, dW = answer
    b = loss_bounds(model, W, X, y, reg, W.dtype)
    want_loss, want_dW = loss_with(model, W, X, y, reg, **mistake)
    return _close(float(loss), want_loss, b.loss) and _close(dW.detach().double().cpu(), want_dW, b.dW)


def _probe_answer(ev):
    """The submission's answer on the richer case (_probe_case), asked once."""
    if "_probe" not in ev:
        from harness.judge.tolerance import loss_bounds
        W = ev.get("W", torch.zeros(1, dtype=torch.float64))
        Wp, X, y, reg = _probe_case(W.dtype, W.device)
        ev["_probe"] = None
        loss, dW = ev["probe"](Wp, X, y, reg)
        b = loss_bounds(ev["model"], Wp, X, y, reg, W.dtype)
        ev["_probe"] = (Wp, X, y, reg, float(loss), dW.detach().double().cpu(), b.loss, b.dW)
    return ev["_probe"]


@recognizer
def loss_variant(ev, rtol=1e-7, **mistake):
    """The loss recomputed with the mistake put in gives what the submission gave, on the
    counterexample and (when the submission can be probed) on one richer case. An argument
    given as a list: any one of its values (one mistake that students place in several ways).
    rtol: the comparisons' relative slack (see _variant_matches)."""
    if ev.get("kind") != "loss":
        return False
    for key, values in mistake.items():
        if isinstance(values, list):
            return any(loss_variant(ev, rtol, **dict(mistake, **{key: v})) for v in values)
    return _variant_explains(ev, mistake, probe_may_raise=False, rtol=rtol)


def _variant_explains(ev, mistake, probe_may_raise, rtol=1e-7) -> bool:
    """The mistake gives what the submission gave on the counterexample, and on the richer probe
    case too. A crash on the probe: not this mistake (it is in the values, which a plain case
    does not crash on), unless `probe_may_raise` (a mistake that crashes on shapes the
    counterexample does not have)."""
    here = _variant_matches(ev, ev["W"], ev["X"], ev["y"], ev["reg"], ev["loss"], ev["dW"],
                            ev["tol_loss"], ev["tol_dW"], mistake, rtol)
    if not here:  # None: the mistake changes nothing on the counterexample, so it is not why it failed
        return False
    if "probe" not in ev:
        return True
    try:
        case = _probe_answer(ev)
    except Exception:
        return probe_may_raise
    return _variant_matches(ev, *case, mistake, rtol) is not False


@recognizer
def transposed_grad(ev):
    """dW of shape (C, D) where W is (D, C); or, where D == C lets it run, the transpose."""
    if ev.get("kind") == "form":
        return ev.get("what") == "dW" and bool(ev.get("transposed"))
    if ev.get("kind") != "loss" or ev["W"].shape[0] != ev["W"].shape[1]:
        return False
    # on the probe (W not square) a transposed dW may not even run
    return _variant_explains(ev, {"transposed": True}, probe_may_raise=True)


@recognizer
def crash_then_variant(ev, model, **mistake):
    """The loss raised on the counterexample; on the square probe (N = C) it runs and gives
    the mistaken answer."""
    if ev.get("kind") != "error" or "probe" not in ev:
        return False
    ev = dict(ev, model=model)
    case = _probe_answer(ev)
    return bool(_variant_matches(ev, *case, mistake))


def _shaped_case(N, D, C, dtype, device):
    """A small case of the given shapes, every label 0 .. C-1 present once N >= C."""
    gen = torch.Generator().manual_seed(N * 10000 + D * 100 + C)
    X = torch.randn(N, D, generator=gen, dtype=torch.float64)
    W = 0.5 * torch.randn(D, C, generator=gen, dtype=torch.float64)
    y = torch.arange(N) % C
    return W.to(dtype).to(device), X.to(dtype).to(device), y.to(device), 0.1


@recognizer
def crash_unless(ev, model, fits, misfits, **mistake):
    """The loss raised on the counterexample because it runs only on some shapes: on every case
    shaped (N, D, C) as in `fits` it runs and gives the answer of loss_with(**mistake) (by
    default the right one), on every case shaped as in `misfits` it raises (a size hard-coded,
    or one size used where another belongs: right only where the two happen to be equal)."""
    if ev.get("kind") != "error" or "probe" not in ev:
        return False
    for N, D, C in fits:
        case = _shaped_case(N, D, C, torch.float64, "cpu")
        if not _gives(model, case, ev["probe"](*case), **mistake):
            return False
    for N, D, C in misfits:
        try:
            ev["probe"](*_shaped_case(N, D, C, torch.float64, "cpu"))
        except Exception:
            continue
        return False
    return True


@recognizer
def variant_or_crash(ev, model, error, **mistake):
    """loss_variant on a wrong answer; on an error that says `error` (the crash the mistake
    itself makes on some shapes, e.g. an index >= N), crash_then_variant. A list: any value."""
    for key, values in mistake.items():
        if isinstance(values, list):
            return any(variant_or_crash(ev, model, error, **dict(mistake, **{key: v})) for v in values)
    if ev.get("kind") == "error":
        return error.lower() in ev.get("text", "").lower() and crash_then_variant(ev, model, **mistake)
    return loss_variant(ev, **mistake)


def _dtype_clash(said: str) -> bool:
    """An error text (lower case) that says float32 met float64: torch's "expected m1 and m2 to
    have the same dtype, but got: double != float", "expected scalar type Double but found
    Float", "... must have the same dtype, but got Float, Double", "Float did not match Double"."""
    return ("double" in said and "float" in said
            and any(p in said for p in ("same dtype", "scalar type", "did not match")))


@recognizer
def float32_only(ev, model):
    """A float32 hard-coded in the loss (a .float() mask): on the float64 inputs it raised an
    error that says float32 met float64; on the probe case given in float32 it runs and gives
    the right answer, in float32 (so the clash, not the formula, is what broke)."""
    if ev.get("kind") != "error" or "probe" not in ev:
        return False
    said = " ".join(ev.get("text", "").lower().split())
    if not _dtype_clash(said):
        return False
    case = _probe_case(torch.float32, "cpu")
    loss, dW = ev["probe"](*case)
    if not isinstance(dW, torch.Tensor) or dW.dtype != torch.float32 or dW.shape != case[0].shape:
        return False
    return _gives(model, case, (loss, dW))


@recognizer
def overflow(ev, single_row_breaks: bool, loss_finite=None):
    """Non-finite under huge row offsets; a single huge row alone breaks it (no shift at all)
    or not (a shift, but by a global max). loss_finite: the loss stays finite (and right)
    while dW is not (the shift left out of the gradient only), or not."""
    if ev.get("kind") != "loss" or "probe" not in ev:
        return False
    if math.isfinite(ev["loss"]) and bool(torch.isfinite(ev["dW"]).all()):
        return False
    if loss_finite is not None and math.isfinite(ev["loss"]) != loss_finite:
        return False
    # an overflow needs large scores: on the small probe case, where no shift matters, the answer
    # must be right; wrong there (or not finite) is another mistake, which this line would hide
    Wp, Xp, yp, regp, small_loss, small_dW, tol_loss, tol_dW = _probe_answer(ev)
    right_loss, right_dW = loss_with(ev["model"], Wp, Xp, yp, regp)
    if not (_close(small_loss, right_loss, tol_loss) and _close(small_dW, right_dW, tol_dW)):
        return False
    W, X, y, reg = ev["W"], ev["X"], ev["y"], ev["reg"]
    top = int(torch.argmax((X.double() @ W.double()).max(dim=1).values))
    loss, dW = ev["probe"](W, X[top:top + 1], y[top:top + 1], reg)
    broke = not (math.isfinite(float(loss)) and bool(torch.isfinite(dW).all()))
    return broke == single_row_breaks


# A shift by something else than each row's max score leaves the softmax unchanged in exact
# arithmetic, so only the dtype's range shows it: `shifted` recomputes the softmax loss in the
# submission's own dtype with the mistaken shift (loss_with's "input_row", "twice_global"), on
# the counterexample and on small cases built at the edge of that range, and compares which
# answers overflow and the finite values.
def softmax_in_dtype(W, X, y, reg, shift):
    """(loss, dW) of a softmax loss computed in W's dtype with the shift `shift`."""
    return loss_with("softmax", W, X, y, reg, shift=shift, dtype=W.dtype)


def _shift_cases(dtype):
    """Cases at the edge of the dtype's range (L = log of its largest number): a row of small
    scores from huge pixels; one row of scores near 1.5 L; rows near 0.7 L and near 0; rows near
    1.5 L and near 0. Each a (W, X, y, reg) with X @ W the scores described."""
    L = math.log(torch.finfo(dtype).max)
    t = lambda rows: torch.tensor(rows, dtype=torch.float64).to(dtype)
    small = [[0.0, 0.0, 0.0], [0.5, -0.3, 0.1]]
    eye = t([[1.0, 0.0], [0.0, 1.0]])
    top = lambda a: t([[a, a - 1, a - 2], [0.0, -1.0, -2.0]])
    return [(t(small), t([[1.5 * L, 1.0]]), torch.tensor([0]), 0.0),
            (top(1.5 * L), t([[1.0, 0.0]]), torch.tensor([1]), 0.0),
            (top(0.7 * L), eye, torch.tensor([0, 2]), 0.0),
            (top(1.5 * L), eye, torch.tensor([1, 0]), 0.0)]


def _same_answer(got, want) -> bool:
    """Overflow in the same places, the finite values alike (to the dtype's rounding, loosely)."""
    (got_loss, got_dW), (want_loss, want_dW) = got, want
    got_dW, want_dW = got_dW.detach().double().cpu(), want_dW.double()
    if got_dW.shape != want_dW.shape or math.isfinite(float(got_loss)) != math.isfinite(want_loss):
        return False
    if math.isfinite(want_loss) and abs(float(got_loss) - want_loss) > 1e-3 * max(1.0, abs(want_loss)):
        return False
    return _close(got_dW, want_dW, 1e-3 * max(1.0, float(want_dW[torch.isfinite(want_dW)].abs().max())) if bool(torch.isfinite(want_dW).any()) else 0.0)


@recognizer
def shifted(ev, shift):
    """The submission overflows where, and gives what, the softmax loss computed in its dtype
    with the mistaken shift gives: on the counterexample (where the right answer is finite and
    the mistaken one is not) and on every case of _shift_cases."""
    if ev.get("kind") != "loss" or ev.get("model") != "softmax" or "probe" not in ev:
        return False
    W, X, y, reg = ev["W"], ev["X"], ev["y"], ev["reg"]
    want = softmax_in_dtype(W, X, y, reg, shift)
    if math.isfinite(want[0]) and bool(torch.isfinite(want[1]).all()):
        return False  # the mistake does not overflow here: not why it failed
    if not _same_answer((ev["loss"], ev["dW"]), want):
        return False
    for case in _shift_cases(W.dtype):
        Wc, Xc, yc, regc = (v.to(W.device) if isinstance(v, torch.Tensor) else v for v in case)
        if not _same_answer(ev["probe"](Wc, Xc, yc, regc), softmax_in_dtype(*case, shift)):
            return False
    return True


# ---------------------------------------------------------------- sampling

def _rows_probe(ev):
    """draw(n, batch_size, seed) -> the rows drawn: the sampling property's probe, or, after
    an error (where the probe is the plain call), one built on it (unseeded: the seed is not
    the submission's to set there, so only facts that hold for every draw use it)."""
    if ev.get("kind") != "error":
        return ev["probe"]

    def draw(n, batch_size, seed):
        X = torch.cat([torch.arange(n, dtype=torch.float64).unsqueeze(1),
                       torch.zeros(n, 1, dtype=torch.float64)], dim=1)
        X_batch, _ = ev["probe"](X, torch.zeros(n, dtype=torch.long), n, batch_size)
        return X_batch[:, 0].long().tolist()
    return draw


@recognizer
def sampler(ev, deterministic=None, distinct=None, below_batch_size=None, num_train_rows=None):
    """Probe the sampler: the same rows for two seeds (no randomness), never a repeated row
    when batch_size == num_train (drawn without replacement), or, from 40 rows, only rows
    below batch_size = 4 in 10 draws (indices drawn below batch_size: a uniform sampler does
    so with probability 10^-40). num_train_rows: num_train rows of X come back whatever
    batch_size is (fewer and more than num_train asked for), drawn at random (num_train draws
    instead of batch_size), not all of X in order."""
    if "probe" not in ev:
        return False
    draw = _rows_probe(ev)
    if num_train_rows is not None:
        got = [(n, draw(n, batch_size, seed)) for n, batch_size in ((7, 3), (3, 8), (6, 1)) for seed in (1, 2)]
        drawn = all(len(rows) == n and all(0 <= r < n for r in rows) for n, rows in got)
        random = all(rows != list(range(n)) for n, rows in got[:2]) and got[0][1] != got[1][1]
        if (drawn and random) != num_train_rows:
            return False
    if deterministic is not None:
        if ev.get("kind") == "error":
            return False
        a, b = draw(10, 5, 1), draw(10, 5, 2)
        if (a == b == list(range(5))) != deterministic:
            return False
    if distinct is not None:
        rows = draw(20, 20, 3)
        if (len(set(rows)) == len(rows) == 20) != distinct:
            return False
    if below_batch_size is not None:
        rows = [r for seed in range(10) for r in draw(40, 4, seed)]
        if all(0 <= r < 4 for r in rows) != below_batch_size:
            return False
    return True


# ------------------------------------------------------------------ errors

_UNBOUND = re.compile(r"\b(?:UnboundLocalError: .*?local variable|NameError: name) '(\w+)'")
_FRAME = re.compile(r"\n    at .+?:\d+ in (\w+): (.*)")


@recognizer
def unbound_update(ev):
    """The error is a name read before anything was assigned to it (UnboundLocalError, or
    NameError), raised in the failing function's own frame (its innermost one in the file) on a
    statement that updates that very name: NAME -= ..., NAME = ... NAME ..., NAME.sub_(...).
    The update goes to a variable that does not exist (a typo of the one meant), not to it."""
    text = ev.get("text", "")
    unbound = _UNBOUND.search(text)
    frames = _FRAME.findall(text)
    if ev.get("kind") != "error" or not unbound or not frames or frames[-1][0] != ev.get("function"):
        return False
    name = unbound.group(1)
    statement = ast.parse(frames[-1][1].strip()).body[0]
    if isinstance(statement, ast.AugAssign):
        targets = [statement.target]
    elif isinstance(statement, ast.Assign):
        targets = statement.targets
    elif (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
          and isinstance(statement.value.func, ast.Attribute) and statement.value.func.attr.endswith("_")):
        targets = [statement.value.func.value]  # an in-place method: NAME.sub_(...)
    else:
        return False
    return any(isinstance(t, ast.Name) and t.id == name for t in targets)


# -------------------------------------------------------------- prediction

def _predict_matches(what, labels, W, X) -> Optional[bool]:
    """True/False: the labels are/are not what the mistake gives on W, X (up to the rounding of
    the scores in W's dtype); None: here the mistake gives the right labels too."""
    from harness.judge.tolerance import argmax_slack
    if type(labels) is not torch.Tensor:
        return False
    scores = X.detach().double().cpu() @ W.detach().double().cpu()
    slack = argmax_slack(W, X, W.dtype)
    got = labels.detach().cpu()
    right = scores.argmax(dim=1)
    if what == "max_values":
        want = scores.max(dim=1).values
        if torch.equal(want, right.double()):
            return None
        if got.shape != want.shape or not got.is_floating_point():
            return False
        return bool(((got.double() - want).abs() <= slack.max(dim=1).values).all())
    if what == "column_argmax":
        if scores.shape[0] == scores.shape[1] and torch.equal(scores.argmax(dim=0), right):
            return None
        if got.dim() != 1 or got.shape[0] != scores.shape[1] or got.is_floating_point():
            return False
        if bool(((got < 0) | (got >= scores.shape[0])).any()):
            return False
        chosen = scores.gather(0, got.long().unsqueeze(0)).squeeze(0)
        return bool(((scores.max(dim=0).values - chosen) <= slack.max(dim=0).values).all())
    return False


@recognizer
def predicted(ev, what):
    """The labels that came back are what the mistake gives on the counterexample, and (when
    the submission can be probed) on one richer case, 5 examples and 4 classes, where the
    mistake and the right labels differ: "max_values" the row maxima of the scores
    (torch.max(...)[0], the values, not the indices), "column_argmax" the argmax over the
    examples (dim=0) instead of over the classes. Where the counterexample cannot tell
    (all scores 0: the maxima are the labels 0.0), only the probe decides."""
    W, X = ev.get("W"), ev.get("X")
    if W is None or X is None:
        return False
    here = _predict_matches(what, ev.get("labels"), W, X)
    if here is False:
        return False
    probed = None
    if "probe" in ev:
        gen = torch.Generator().manual_seed(0)
        Wp = torch.randn(3, 4, generator=gen, dtype=torch.float64).to(W.dtype).to(W.device)
        Xp = (2 * torch.randn(5, 3, generator=gen, dtype=torch.float64)).to(W.dtype).to(W.device)
        try:
            probed = _predict_matches(what, ev["probe"](Wp, Xp), Wp, Xp)
        except Exception:
            probed = None
    return probed is True if here is None else probed is not False


# ------------------------------------------------------------------ test_one_param_set

def _one_param_case(splits):
    """data_dict and W for test_one_param_set: for each (name, n, correct) of `splits`, n rows of
    the identity (so any labelling is linear) with labels such that argmax(X @ W) is right on
    exactly `correct` of them. Returns (data_dict, W, {name: accuracy as a fraction})."""
    D = sum(n for _, n, _ in splits)
    data, preds, accs, first = {}, [], {}, 0
    for name, n, correct in splits:
        y = torch.tensor([(k + first) % 3 for k in range(n)])
        pred = y.clone()
        pred[correct:] = (y[correct:] + 1) % 3
        data[f"X_{name}"] = torch.eye(D, dtype=torch.float64)[first:first + n]
        data[f"y_{name}"] = y
        preds.append(pred)
        accs[name] = correct / n
        first += n
    return data, torch.nn.functional.one_hot(torch.cat(preds), 3).double(), accs


def _accuracy_is(value, want) -> bool:
    """A returned accuracy is `want`, as a fraction or a percentage (a float or a 0-dim tensor)."""
    if type(value) is torch.Tensor and value.dim() == 0:
        value = float(value)
    if type(value) not in (float, int):
        return False
    return any(abs(value - w) <= 1e-6 * max(1.0, w) for w in (want, 100 * want))


@recognizer
def one_param_replay(ev, val_split=None, candidates=False):
    """test_one_param_set raised; called once more (evidence["replay"]: a fresh spy classifier
    that trains to W) on a case that differs from the counterexample in one way, it runs and
    answers as the mistake does. val_split="test": the error is a KeyError (a key data_dict
    lacks) and, with the notebook's test split (X_test, y_test) added to data_dict, cls.train
    runs once and val_acc comes back as the accuracy on the test split (train_acc right, and
    the three accuracies all different). candidates=True: the error is a TypeError about a
    float that is not iterable, and with lr and reg given as lists of candidates the call
    runs: it loops over lr and reg (a grid search of its own) where each is one number."""
    if ev.get("kind") != "error" or "replay" not in ev:
        return False
    text = ev.get("text", "").split("\n")[0]  # what was raised (not the source line shown below it)
    if val_split is not None:
        if "KeyError" not in text:
            return False
        data, W, accs = _one_param_case([("train", 4, 1), ("val", 5, 3), (val_split, 4, 2)])
        out, state = ev["replay"](W, data, 0.5, 0.01, 3)
        return (isinstance(out, tuple) and len(out) == 3 and len(state["train_calls"]) == 1
                and _accuracy_is(out[1], accs["train"]) and _accuracy_is(out[2], accs[val_split])
                and not _accuracy_is(out[2], accs["val"]))
    if candidates:
        if "TypeError" not in text or "float" not in text or "iterable" not in text:
            return False
        data, W, _ = _one_param_case([("train", 4, 1), ("val", 5, 3)])
        ev["replay"](W, data, [1e-3, 0.5], [0.0, 0.01], 3)  # raises if lists do not help either
        return True
    return False
