"""Naming the usual mistake behind a failure: "looks like: ...".

The catalogue is data (harness/mistakes.toml, one entry per mistake); this module
holds the recognizers the entries name. A property that fails hands `recognize`
its evidence: what it replayed (the shrunk counterexample, what came back, and
facts it measured) as a dict with at least "kind" and "function". The first
entry, in catalogue order, whose function matches and whose recognizer accepts
the evidence names the mistake. A recognizer replays the counterexample (a loss
recomputed with the mistake put in, in float64), compares facts, or probes the
submission once more through evidence["probe"].

Adding a mistake: one [[mistake]] entry in mistakes.toml (with an existing
recognizer and its args, or a new function registered here with @recognizer)
and one zoo file under tests/zoo/wrong/ with a `# zoo-mistake: ID` header.
"""
import math
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


RECOGNIZERS: Dict[str, Callable] = {}


def recognizer(fn):
    RECOGNIZERS[fn.__name__] = fn
    return fn


def load(path: Path = CATALOGUE):
    entries = []
    for raw in tomllib.loads(path.read_text())["mistake"]:
        functions = tuple(n for f in raw["functions"] for n in GROUPS.get(f, (f,)))
        entries.append(Mistake(raw["id"], functions, raw["looks_like"], raw["recognizer"],
                               raw.get("args", {})))
    return entries


MISTAKES = load()


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

def _close(got, want, tol) -> bool:
    got = torch.as_tensor(got, dtype=torch.float64)
    want = torch.as_tensor(want, dtype=torch.float64)
    if got.shape != want.shape:
        return False
    finite = torch.isfinite(want)
    if not torch.equal(torch.isfinite(got), finite):
        return False
    tol = torch.as_tensor(tol, dtype=torch.float64).expand_as(want)
    return bool(((got - want).abs()[finite] <= tol[finite] + 1e-7 * want.abs()[finite]).all())


def loss_with(model, W, X, y, reg, delta=1.0, count_correct_loss=False, count_correct_grad=False,
              loss_div="N", grad_div="N", reg_loss=1.0, reg_grad=2.0, sign=1.0, grad="right",
              shift="row", norm_dim=1, loss_terms="correct", transposed=False):
    """(loss, dW) in float64 of `model` with the given mistakes put in."""
    W, X = W.detach().to("cpu", torch.float64), X.detach().to("cpu", torch.float64)
    y = y.detach().cpu()
    N, C = X.shape[0], W.shape[1]
    rows = torch.arange(N)
    s = X @ W
    if model == "svm":
        m = s - s[rows, y].unsqueeze(1) + delta
        pos = (m > 0).double()
        counted = pos.clone()
        if not count_correct_loss:
            counted[rows, y] = 0
        data = float((m * counted).sum())
        g = torch.ones_like(pos) if grad == "all" else pos.clone()
        if not count_correct_grad:
            g[rows, y] = 0
        coeff = g.clone()
        coeff[rows, y] = -g.sum(dim=0 if grad == "count_per_class" else 1)
        if grad == "correct_only":
            keep = torch.zeros_like(coeff)
            keep[rows, y] = coeff[rows, y]
            coeff = keep
    else:
        z = {"row": s - s.max(dim=1, keepdim=True).values, "none": s,
             "global": s - s.max(), "column": s - s.max(dim=0, keepdim=True).values}[shift]
        e = torch.exp(z)
        p = e / e.sum(dim=norm_dim, keepdim=True)
        data = float(-torch.log(p).sum()) if loss_terms == "all" else float(-torch.log(p[rows, y]).sum())
        coeff = p.clone()
        if grad == "right":
            coeff[rows, y] -= 1
        elif grad == "columns":
            coeff[:, torch.unique(y)] -= 1
    data_dW = sign * (X.t() @ coeff)
    if transposed:  # (coeff.T @ X): runs only when D == C
        data_dW = data_dW.t()
    divide = {"N": N, "1": 1, "NC": N * C}
    loss = data / divide[loss_div] + reg_loss * reg * float((W * W).sum())
    dW = data_dW / divide[grad_div] + reg_grad * reg * W
    return loss, dW


def _variant_matches(ev, W, X, y, reg, loss, dW, tol_loss, tol_dW, mistake) -> Optional[bool]:
    """True/False: the answer is/is not the mistaken one; None: the mistake changes nothing here."""
    want_loss, want_dW = loss_with(ev["model"], W, X, y, reg, **mistake)
    right_loss, right_dW = loss_with(ev["model"], W, X, y, reg)
    if _close(want_loss, right_loss, tol_loss) and _close(want_dW, right_dW, tol_dW):
        return None
    return (_close(loss, want_loss, 1e3 * tol_loss + 1e-9)
            and _close(dW, want_dW, 1e3 * tol_dW + 1e-9))


def _probe_answer(ev):
    """The submission's answer on one richer case (every margin kind, reg > 0), asked once."""
    if "_probe" not in ev:
        from harness.judge.tolerance import loss_bounds
        W = ev.get("W", torch.zeros(1, dtype=torch.float64))
        gen = torch.Generator().manual_seed(0)
        X = (2 * torch.randn(4, 3, generator=gen, dtype=torch.float64)).to(W.dtype).to(W.device)
        Wp = (0.5 * torch.randn(3, 4, generator=gen, dtype=torch.float64)).to(W.dtype).to(W.device)
        y = torch.tensor([0, 1, 1, 3], device=W.device)  # N = C: a sum over the wrong axis still runs
        ev["_probe"] = None
        loss, dW = ev["probe"](Wp, X, y, 0.1)
        b = loss_bounds(ev["model"], Wp, X, y, 0.1, W.dtype)
        ev["_probe"] = (Wp, X, y, 0.1, float(loss), dW.detach().double().cpu(), b.loss, b.dW)
    return ev["_probe"]


@recognizer
def loss_variant(ev, **mistake):
    """The loss recomputed with the mistake put in gives what the submission gave, on the
    counterexample and (when the submission can be probed) on one richer case."""
    if ev.get("kind") != "loss":
        return False
    here = _variant_matches(ev, ev["W"], ev["X"], ev["y"], ev["reg"], ev["loss"], ev["dW"],
                            ev["tol_loss"], ev["tol_dW"], mistake)
    if not here:  # None: the mistake changes nothing on the counterexample, so it is not why it failed
        return False
    probed = None
    if "probe" in ev:
        try:
            case = _probe_answer(ev)
        except Exception:
            case = None
        if case is not None:
            probed = _variant_matches(ev, *case, mistake)
    return probed is not False


@recognizer
def transposed_grad(ev):
    """dW of shape (C, D) where W is (D, C); or, where D == C lets it run, the transpose."""
    if ev.get("kind") == "form":
        return ev.get("what") == "dW" and bool(ev.get("transposed"))
    return ev.get("kind") == "loss" and ev["W"].shape[0] == ev["W"].shape[1] and loss_variant(ev, transposed=True)


@recognizer
def crash_then_variant(ev, model, **mistake):
    """The loss raised on the counterexample; on the square probe (N = C) it runs and gives
    the mistaken answer."""
    if ev.get("kind") != "error" or "probe" not in ev:
        return False
    ev = dict(ev, model=model)
    case = _probe_answer(ev)
    return bool(_variant_matches(ev, *case, mistake))


@recognizer
def overflow(ev, single_row_breaks: bool):
    """Non-finite under huge row offsets; a single huge row alone breaks it (no shift at all)
    or not (a shift, but by a global max)."""
    if ev.get("kind") != "loss" or "probe" not in ev:
        return False
    if math.isfinite(ev["loss"]) and bool(torch.isfinite(ev["dW"]).all()):
        return False
    W, X, y, reg = ev["W"], ev["X"], ev["y"], ev["reg"]
    top = int(torch.argmax((X.double() @ W.double()).max(dim=1).values))
    loss, dW = ev["probe"](W, X[top:top + 1], y[top:top + 1], reg)
    broke = not (math.isfinite(float(loss)) and bool(torch.isfinite(dW).all()))
    return broke == single_row_breaks


# ---------------------------------------------------------------- sampling

@recognizer
def sampler(ev, deterministic=None, distinct=None):
    """Probe the sampler: the same rows for two seeds (no randomness), or never a repeated
    row when batch_size == num_train (drawn without replacement)."""
    if "probe" not in ev:
        return False
    if deterministic is not None:
        a, b = ev["probe"](10, 5, 1), ev["probe"](10, 5, 2)
        if (a == b == list(range(5))) != deterministic:
            return False
    if distinct is not None:
        rows = ev["probe"](20, 20, 3)
        if (len(set(rows)) == len(rows) == 20) != distinct:
            return False
    return True
