"""Calling a loss of the module under test, with the checks every call gets:
inputs unchanged, the form of (loss, dW), and dW not aliasing W."""
import torch

from harness.compare import check_loss_form, fail, loss_repro


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and bool(
        torch.equal(a, b) or (torch.isnan(a) == torch.isnan(b)).all() and
        torch.equal(torch.nan_to_num(a), torch.nan_to_num(b)))


def call_loss(subject, row, W, X, y, reg):
    """Returns (loss as float, dW, repro snippet)."""
    name = row.name
    repro = loss_repro(name, W, X, y, reg)
    originals = {"W": W.clone(), "X": X.clone(), "y": y.clone()}
    out = subject.call(name, W, X, y, reg)
    for label, current in zip(("W", "X", "y"), subject.args_after):
        if not _same(originals[label], current):
            diff = (originals[label] != current).nonzero()
            where = f" (first at index {tuple(diff[0].tolist())})" if len(diff) else ""
            fail(name, "must not change its inputs in place (SPEC: no loss function changes W, X, y)",
                 [f"{label} was changed by the call{where}"], repro)
    loss, dW = check_loss_form(name, out, W, allow_float=not row.vectorized, repro=repro)
    if [1, 0] in subject.aliases:  # result 1 (dW) shares memory with argument 0 (W)
        fail(name, "dW must not alias W (SPEC: dW never aliases W)",
             ["dW shares its memory with W: return a new tensor"], repro)
    return loss, dW, repro
