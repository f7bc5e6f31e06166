"""train_linear_classifier, watched through a spy loss function (harness/spies.py)."""
import math
import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from harness.compare import type_name, fail, repro_call
from harness.policy import dtype_policy
from harness.tolerance import exact_update_slack
from properties.params import api
from properties.test_sampling import indexed_data

NAME = "train_linear_classifier"
pytestmark = api(NAME)


def run(subject, W, X, y, lr, reg, num_iters, batch_size, verbose=False):
    """Returns (the spy's records, W, loss_history, repro)."""
    spy = subject.spy("SpyLoss", watch_output=True)
    repro = repro_call(NAME, "loss_func, W, X, y, learning_rate=lr, reg=reg, num_iters=num_iters, "
                             "batch_size=batch_size",
                       {"W": W, "X": X, "y": y, "lr": lr, "reg": reg, "num_iters": num_iters,
                        "batch_size": batch_size}, "W, loss_history")
    repro = "# loss_func: any loss, e.g. lc.svm_loss_vectorized\n" + repro
    out = subject.call(NAME, spy, W, X, y, learning_rate=lr, reg=reg, num_iters=num_iters,
                       batch_size=batch_size, verbose=verbose)
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(NAME, "must return (W, loss_history)", [f"got {type_name(out)}"], repro)
    return subject.spy_state(spy), out[0], out[1], repro


@given(n=st.integers(1, 10), d=st.integers(1, 4), c=st.integers(2, 4), batch_size=st.integers(1, 12),
       num_iters=st.integers(1, 5), lr=st.sampled_from([1e-3, 0.1, 0.5, 2.0]),
       reg=st.sampled_from([0.0, 1e-5, 0.25]), given_w=st.booleans(),
       dtype=st.sampled_from([torch.float64, torch.float32]))
def test_sgd_steps(subject, strict, note, n, d, c, batch_size, num_iters, lr, reg, given_w, dtype):
    """The primary property: num_iters batches, reg passed on, W -= lr * grad, a float history."""
    X, y = indexed_data(n, d + 1, num_classes=c)
    y[0] = c - 1  # so max(y) + 1 == c
    X = X.to(dtype)
    W0 = (torch.randn(d + 1, c, generator=torch.Generator().manual_seed(n), dtype=torch.float64).to(dtype)
          if given_w else None)
    with dtype_policy(dtype, strict, note):
        spy, W, history, repro = run(subject, W0.clone() if given_w else None, X, y, lr, reg, num_iters,
                                     batch_size)
        if len(spy['calls']) != num_iters:
            fail(NAME, "must call loss_func exactly once per iteration",
                 [f"num_iters = {num_iters}, loss_func called {len(spy['calls'])} times"], repro)
        first_W = spy['calls'][0][0]
        if not given_w:
            want = ((d + 1, c), dtype, X.device)
            got = (tuple(first_W.shape), first_W.dtype, first_W.device)
            if got != want:
                fail(NAME, "W = None must start as 0.000001 * torch.randn(D, C), C = max(y) + 1,"
                           " with X's dtype and device", [f"expected {want}, got {got}"], repro)
        elif not torch.equal(first_W, W0):
            fail(NAME, "the first iteration must use the W it was given", [], repro)
        for k, (Wk, Xb, yb, reg_k) in enumerate(spy['calls']):
            if tuple(Xb.shape) != (batch_size, d + 1) or tuple(yb.shape) != (batch_size,):
                fail(NAME, "each iteration must train on a batch from sample_batch(X, y, num_train, batch_size)",
                     [f"iteration {k}: X_batch {tuple(Xb.shape)}, y_batch {tuple(yb.shape)};"
                      f" expected ({batch_size}, {d + 1}), ({batch_size},)"], repro)
            rows = Xb[:, 0].long()
            if not (torch.equal(Xb, X[rows]) and torch.equal(yb, y[rows])):
                fail(NAME, "each batch must hold rows of X with their own labels", [f"iteration {k}"], repro)
            if reg_k != reg:
                fail(NAME, "must pass reg on to loss_func", [f"iteration {k}: expected reg={reg}, got {reg_k!r}"],
                     repro)
        steps = [c[0] for c in spy['calls'][1:]] + [W]
        for k, (before, grad, after) in enumerate(zip((c[0] for c in spy['calls']), spy['grads'], steps)):
            if type(after) is not torch.Tensor or after.shape != before.shape:
                fail(NAME, "must return W as a tensor of shape (D, C)", [f"got {type_name(after)}"], repro)
            expected = before.double() - lr * grad.double()
            slack = exact_update_slack(before, grad, lr, dtype)
            if not bool(((after.double().cpu() - expected.cpu()).abs() <= slack.cpu()).all()):
                ascent = bool(((after.double() - (before.double() + lr * grad.double())).abs() <= slack).all())
                fail(NAME, "each step must be W = W - learning_rate * grad",
                     [f"step {k}: largest difference {float((after.double() - expected).abs().max()):.3g}",
                      "looks like: gradient ascent (W + lr * grad)" if ascent else ""], repro)
        if not (isinstance(history, list) and len(history) == num_iters
                and all(type(v) is float for v in history)):
            kinds = sorted({type_name(v) for v in history}) if isinstance(history, list) else []
            fail(NAME, "loss_history must be a list of num_iters Python floats (append loss.item())",
                 [f"got {type_name(history)} of length {len(history) if hasattr(history, '__len__') else '?'}"
                  f" holding {kinds}"], repro)
        if history != spy['losses']:
            fail(NAME, "loss_history must hold the loss of each iteration, in order",
                 [f"expected {spy['losses']}, got {history}"], repro)


# The initial W: 0.000001 * torch.randn(D, C) (SPEC.md), D * C = 1000 entries of a
# normal of scale s. The median |w| is about 0.674 s: at most 0.674 * MAX_SCALE for any
# scale up to 1e-3 unless over half the draws lie 10 times further out than expected
# (negligible), so randn alone, 1e-6 + randn, 1e-6 - randn, ... fail on the scale. The
# largest |w| stays below MAX_SPREAD * median|w| unless median|w| < 0.5 s (over 500 of
# 1000 |z| below 0.5, p = 0.383 each: Chernoff bound exp(-1000 KL(0.5||0.383)) < 1e-12)
# or some |z| > 7.5 (1000 * 6.4e-14 < 1e-10): a false alarm below 1e-9 for any scale.
# A heavy-tailed draw such as 1e-6 / randn has largest/median about 500 and passes
# only if all 1000 |z| exceed 0.045 (probability exp(-36)).
INIT_D, INIT_C, MAX_SCALE, MAX_SPREAD = 40, 25, 1e-2, 15.0


def test_initial_w_small_and_random(subject):
    X, y = indexed_data(6, INIT_D, num_classes=INIT_C)
    y[0] = INIT_C - 1
    subject.reset_seed(0)
    spy, _, _, repro = run(subject, None, X, y, 1e-3, 0.0, 1, 4)
    W0 = spy['calls'][0][0]
    if tuple(W0.shape) != (INIT_D, INIT_C):
        return  # test_sgd_steps blames the shape
    magnitudes = W0.double().abs().flatten()
    median, largest = float(magnitudes.median()), float(magnitudes.max())
    where = [f"the first W (D={INIT_D}, C={INIT_C}): median |w| {median:.3g}, largest |w| {largest:.3g},"
             f" distinct values {len(set(W0.flatten().tolist()))}"]
    rule = "W = None must start as 0.000001 * torch.randn(D, C): small and random"
    if len(set(W0.flatten().tolist())) < W0.numel() // 2 or median == 0.0:
        fail(NAME, rule, where + ["looks like: zeros or a constant, not torch.randn"], repro)
    if not median <= 0.674 * MAX_SCALE:
        fail(NAME, rule, where + [f"the scale must be of the order of 1e-6 (at most {MAX_SCALE:g});"
                                  " looks like: the factor 0.000001 is missing or not multiplied"], repro)
    if not largest <= MAX_SPREAD * median:
        fail(NAME, rule, where + ["the values are not spread like a normal draw:"
                                  " looks like 0.000001 combined with randn by another operator than *"], repro)


VERBOSE_ITERS = 250  # progress at iterations 0, 100 and 200


def _mentions(line: str, number: int) -> bool:
    return re.search(rf"(?<![\w.]){number}(?![\w.])", line) is not None


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_verbose_prints_every_100_iterations(subject, verbose):
    """verbose=False prints nothing; verbose=True one line at iterations 0, 100, 200, ...
    (the lines holding a digit, printed from the first loss_func call on, are counted:
    the starter prints its progress line after the loss)."""
    X, y = indexed_data(6, 3)
    spy, _, _, _ = run(subject, None, X, y, 1e-3, 0.0, VERBOSE_ITERS, 4, verbose=verbose)
    lines = spy['printed_lines']
    want = list(range(0, VERBOSE_ITERS, 100))
    call = f"train_linear_classifier(..., num_iters={VERBOSE_ITERS}, verbose={verbose})"
    if not verbose and lines:
        fail(NAME, "with verbose=False must print nothing", [f"{call} printed {len(lines)} progress lines,"
                                                             f" the first: {lines[0]!r}"])
    if verbose and not (len(lines) == len(want) and all(_mentions(l, it) for l, it in zip(lines, want))):
        fail(NAME, "with verbose=True must print one progress line at iterations 0, 100, 200, ..."
                   " (if it % 100 == 0)",
             [f"{call}: expected {len(want)} lines for iterations {want}, got {len(lines)}: {lines[:5]}"])
