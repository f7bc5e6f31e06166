"""Calling a loss of the module under test, with the checks every call gets:
inputs unchanged, the form of (loss, dW), and dW not aliasing W."""
import torch

from harness.judge.compare import check_loss_form, fail, loss_repro
from harness.errors import SubmissionError


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and bool(
        torch.equal(a, b) or (torch.isnan(a) == torch.isnan(b)).all() and
        torch.equal(torch.nan_to_num(a), torch.nan_to_num(b)))


def attach_repro(exc: BaseException, repro):
    """An error of the call (it raised, hung, died) carries the repro of that call."""
    if repro is not None and getattr(exc, "repro", None) is None:
        exc.repro = str(repro)
    return exc


def evidence(subject, row) -> dict:
    """For the mistake recognizers: the function, and a probe that calls it once more."""
    return {"function": row.name, "probe": lambda W, X, y, reg: subject.call(row.name, W, X, y, reg)}


def call_loss(subject, row, W, X, y, reg, call=None, method_of=None):
    """Returns (loss as float, dW, repro). method_of: an instance whose `loss` is called."""
    name = row.name if method_of is None else f"{method_of[1]}.loss"
    repro = loss_repro(call or f"lc.{row.name}", row.loss_model, W, X, y, reg,
                       allow_float=not row.vectorized and method_of is None)
    originals = {"W": W.clone(), "X": X.clone(), "y": y.clone()}
    try:
        out = (subject.call(row.name, W, X, y, reg) if method_of is None
               else subject.method(method_of[0], "loss", W, X, y, reg))
    except (SubmissionError, AssertionError) as exc:
        raise attach_repro(exc, repro)
    ev = evidence(subject, row) if method_of is None else {"function": method_of[1]}
    aliased = [1, 0] in subject.aliases  # result 1 (dW) shares memory with argument 0 (W)
    for label, current in zip(("W", "X", "y"), subject.args_after):
        if not _same(originals[label], current):
            diff = (originals[label] != current).nonzero()
            where = f" (first at index {tuple(diff[0].tolist())})" if len(diff) else ""
            fail(name, "must not change its inputs in place (SPEC.md, Losses: no loss function changes W, X, y)",
                 [f"{label} was changed by the call{where}"], repro,
                 dict(ev, kind="mutation", input=label, aliased=aliased))
    loss, dW = check_loss_form(name, out, W, allow_float=not row.vectorized and method_of is None,
                               repro=repro, evidence=ev)
    if aliased:
        fail(name, "dW must not alias W (SPEC.md, Losses: dW never aliases W)",
             ["dW shares its memory with W: return a new tensor"], repro,
             dict(ev, kind="mutation", input="W", aliased=True))
    return loss, dW, repro


# Two sizes for counting a loss's work (harness/confine/counting.py): a loop over examples
# adds at least one tensor operation, or one line run, per example.
WORK_SIZES = (8, 32)


def work_at(subject, name, N, D=5, C=4) -> dict:
    """The counters of one call of `name` with N examples (fixed inputs, in the worker)."""
    gen = torch.Generator().manual_seed(N)
    W = torch.randn(D, C, generator=gen, dtype=torch.float64)
    X = torch.randn(N, D, generator=gen, dtype=torch.float64)
    y = torch.randint(C, (N,), generator=gen)
    return subject.count_work(name, W, X, y, 0.1)


def work_growth(subject, name) -> list:
    """(what, unit, small, large) for each counter that grows from N=8 to N=32: empty for
    vectorized code."""
    small, large = (work_at(subject, name, n) for n in WORK_SIZES)
    return [(what, unit, small[what], large[what])
            for what, unit in (("ops", "tensor operations dispatched"), ("lines", "lines of Python run"))
            if large[what] > small[what]]
