"""train_linear_classifier, watched through a spy loss function (harness/confine/spies.py).

Blame (SPEC.md, Blame): a batch that is wrong only because the submission's own
sample_batch is wrong gives a note, not a failure of training."""
import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from harness.judge.compare import type_name, fail
from harness.judge.policy import dtype_policy
from harness.judge.repro import bind, snippet, train_snippet
from harness.confine.spies import SpyLoss
from harness.errors import SubmissionError
from harness.judge.tolerance import exact_update_slack
from properties.loss_calls import attach_repro
from properties.params import api
from properties.test_sampling import indexed_data

NAME = "train_linear_classifier"
pytestmark = api(NAME)
SPEC = "SPEC.md, train_linear_classifier"


class CalleeFails(Exception):
    """train_linear_classifier raised because the file's own sample_batch raises here."""


def run(subject, W, X, y, lr, reg, num_iters, batch_size, repro, verbose=False, loss=None):
    """Returns (the spy's records, W, loss_history); with `loss` given (a loss_func of the
    subject's own, Subject.constant_loss) no spy watches, and the records are None."""
    spy = subject.spy("SpyLoss") if loss is None else loss
    try:
        out = subject.call(NAME, spy, W, X, y, learning_rate=lr, reg=reg, num_iters=num_iters,
                           batch_size=batch_size, verbose=verbose)
    except (SubmissionError, AssertionError) as exc:
        # 20 draws: a sampler that raises only on some draws (an index out of range by chance) is caught
        fault = sample_batch_fault(subject, X, y, batch_size) if subject.has("sample_batch") else None
        if fault and fault.startswith("it fails") and subject.unavailable(NAME) is None:
            raise CalleeFails(fault) from exc  # blamed on sample_batch (SPEC.md, Blame)
        raise attach_repro(exc, repro)
    if not (isinstance(out, tuple) and len(out) == 2):
        fail(NAME, f"must return (W, loss_history) ({SPEC})", [f"got {type_name(out)}"], repro,
             {"rule": "form"})
    return (subject.spy_state(spy) if loss is None else None), out[0], out[1]


def sample_batch_fault(subject, X, y, batch_size, draws=20):
    """Why the submission's own sample_batch gives wrong batches here (None: it does not).
    A wrong batch may be right by chance (labels drawn apart can match): it draws 20 times."""
    for _ in range(draws):
        try:
            Xb, yb = subject.call("sample_batch", X, y, X.shape[0], batch_size)
        except Exception as exc:  # raises, missing, or not a pair
            return f"it fails: {str(exc).splitlines()[0][:120]}"
        if tuple(Xb.shape) != (batch_size, X.shape[1]) or tuple(yb.shape) != (batch_size,):
            return f"it returns shapes {tuple(Xb.shape)}, {tuple(yb.shape)} for batch_size {batch_size}"
        rows = Xb[:, 0].long()
        if not (torch.equal(Xb, X[rows]) and torch.equal(yb, y[rows])):
            return "its rows do not come with their own labels"
    return None


def sign_step(before, grad, after) -> bool:
    """Every entry moved by one and the same amount against its gradient's sign, though the
    gradient's magnitudes differ (the largest over twice the smallest): a step that divides the
    gradient by its own size per entry, as Adam, RMSProp or Adagrad do on their first step, not
    any multiple of grad."""
    step, g = (after.double() - before.double()).cpu(), grad.double().cpu()
    size = step.abs()
    if g.numel() < 2 or not bool((g != 0).all()) or float(g.abs().max()) <= 2 * float(g.abs().min()):
        return False
    if float(size.min()) <= 0 or float(size.max()) > 1.01 * float(size.min()):
        return False
    return bool((torch.sign(step) == -torch.sign(g)).all())


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
    repro = train_snippet(SpyLoss, W0, X, y, lr, reg, num_iters, batch_size)
    with dtype_policy(dtype, strict, note):
        try:
            spy, W, history = run(subject, W0.clone() if given_w else None, X, y, lr, reg, num_iters,
                                  batch_size, repro)
        except CalleeFails as exc:
            note(f"{NAME}: raises where sample_batch raises ({exc}); judged on the other examples")
            return
        if len(spy['calls']) != num_iters:
            fail(NAME, f"must call loss_func exactly once per iteration ({SPEC})",
                 [f"num_iters = {num_iters}, loss_func called {len(spy['calls'])} times"], repro,
                 {"rule": "iterations", "short_by": num_iters - len(spy['calls']),
                  "constant": len(spy['calls']) == 100})  # the starter's default
        first_W = spy['calls'][0][0]
        if not given_w:
            want = ((d + 1, c), dtype, X.device)
            got = (tuple(first_W.shape), first_W.dtype, first_W.device)
            if got != want:
                fail(NAME, f"W = None must start as 0.000001 * torch.randn(D, C), C = max(y) + 1,"
                           f" with X's dtype and device ({SPEC})", [f"expected {want}, got {got}"], repro,
                     {"rule": "init", "columns_short": c - first_W.shape[-1],
                      "wrong_dtype": str(first_W.dtype) if first_W.dtype != dtype else None})
        elif not torch.equal(first_W, W0):
            fail(NAME, f"the first iteration must use the W it was given ({SPEC})", [], repro, {"rule": "first"})
        check_batches = True
        for k, (Wk, Xb, yb, reg_k) in enumerate(spy['calls']):
            rows = Xb[:, 0].long()
            wrong_shape = tuple(Xb.shape) != (batch_size, d + 1) or tuple(yb.shape) != (batch_size,)
            if check_batches and (wrong_shape or not (torch.equal(Xb, X[rows]) and torch.equal(yb, y[rows]))):
                fault = sample_batch_fault(subject, X, y, batch_size)
                if fault:  # the callee's mistake, blamed there (SPEC.md, Blame)
                    note(f"{NAME}: its batches are wrong because sample_batch fails ({fault})")
                    check_batches = False
                    repro = train_snippet(SpyLoss, W0, X, y, lr, reg, num_iters, batch_size, check_batches=False)
                elif wrong_shape:
                    fail(NAME, f"each iteration must train on a batch from sample_batch(X, y, num_train,"
                               f" batch_size) ({SPEC})",
                         [f"iteration {k}: X_batch {tuple(Xb.shape)}, y_batch {tuple(yb.shape)};"
                          f" expected ({batch_size}, {d + 1}), ({batch_size},)"], repro,
                         {"rule": "batch", "full_data": Xb.shape[0] == n and torch.equal(Xb, X)})
                else:
                    fail(NAME, f"each batch must hold rows of X with their own labels ({SPEC})",
                         [f"iteration {k}"], repro, {"rule": "batch"})
            if reg_k != reg:
                fail(NAME, f"must pass reg on to loss_func ({SPEC})",
                     [f"iteration {k}: expected reg={reg}, got {reg_k!r}"], repro, {"rule": "reg"})
        steps = [c[0] for c in spy['calls'][1:]] + [W]
        for k, (before, grad, after) in enumerate(zip((c[0] for c in spy['calls']), spy['grads'], steps)):
            if type(after) is not torch.Tensor or after.shape != before.shape:
                fail(NAME, f"must return W as a tensor of shape (D, C) ({SPEC})", [f"got {type_name(after)}"],
                     repro, {"rule": "form"})
            expected = before.double() - lr * grad.double()
            slack = exact_update_slack(before, grad, lr, dtype)
            if not bool(((after.double().cpu() - expected.cpu()).abs() <= slack.cpu()).all()):
                ascent = bool(((after.double() - (before.double() + lr * grad.double())).abs() <= slack).all())
                fail(NAME, f"each step must be W = W - learning_rate * grad ({SPEC})",
                     [f"step {k}: largest difference {float((after.double() - expected).abs().max()):.3g}"],
                     repro, {"rule": "step", "ascent": ascent, "unchanged": torch.equal(after, before),
                             "sign_step": k == 0 and sign_step(before, grad, after)})
        if not (isinstance(history, list) and len(history) == num_iters
                and all(type(v) is float for v in history)):
            kinds = sorted({type_name(v) for v in history}) if isinstance(history, list) else []
            fail(NAME, f"loss_history must be a list of num_iters Python floats ({SPEC})",
                 [f"got {type_name(history)} of length {len(history) if hasattr(history, '__len__') else '?'}"
                  f" holding {kinds}"], repro, {"rule": "history", "tensors": "torch.Tensor" in kinds})
        if history != spy['losses']:
            fail(NAME, f"loss_history must hold the loss of each iteration, in order ({SPEC})",
                 [f"expected {spy['losses']}, got {history}"], repro, {"rule": "history"})


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
    repro = snippet(f"""
random.seed(0); torch.manual_seed(0)
X = torch.arange(6.0 * {INIT_D}, dtype=torch.float64).reshape(6, {INIT_D})
y = torch.tensor([{INIT_C - 1}, 0, 1, 2, 3, 4])
seen = []
def loss_func(W, X_batch, y_batch, reg):
    seen.append(W.detach().clone())
    return torch.tensor(0.5, dtype=W.dtype), torch.zeros_like(W)
lc.train_linear_classifier(loss_func, None, X, y, learning_rate=1e-3, reg=0.0, num_iters=1, batch_size=4)
w = seen[0].double().abs().flatten()
median, largest, distinct = float(w.median()), float(w.max()), len(set(seen[0].flatten().tolist()))
got = f"median |w| {{median:.3g}}, largest |w| {{largest:.3g}}, {{distinct}} distinct values"
assert median > 0 and distinct >= w.numel() // 2, f"expected a random draw, got {{got}}"
assert median <= {0.674 * MAX_SCALE!r}, f"expected a scale of about 1e-6 (median |w| at most {0.674 * MAX_SCALE:.3g}), got {{got}}"
assert largest <= {MAX_SPREAD!r} * median, f"expected values spread like a normal draw (largest at most {MAX_SPREAD:g} x median), got {{got}}"
print("ok")""")
    try:
        spy, _, _ = run(subject, None, X, y, 1e-3, 0.0, 1, 4, repro)
    except CalleeFails:
        return  # sample_batch raises here: blamed there
    if not spy['calls']:
        return  # test_sgd_steps blames a loss_func never called
    W0 = spy['calls'][0][0]
    if tuple(W0.shape) != (INIT_D, INIT_C):
        return  # test_sgd_steps blames the shape
    magnitudes = W0.double().abs().flatten()
    median, largest = float(magnitudes.median()), float(magnitudes.max())
    where = [f"the first W (D={INIT_D}, C={INIT_C}): median |w| {median:.3g}, largest |w| {largest:.3g},"
             f" distinct values {len(set(W0.flatten().tolist()))}"]
    rule = "W = None must start as 0.000001 * torch.randn(D, C): small and random"
    if len(set(W0.flatten().tolist())) < W0.numel() // 2 or median == 0.0:
        fail(NAME, rule, where + ["looks like: zeros or a constant, not torch.randn"], repro,
             {"rule": "init", "problem": "constant"})
    if not median <= 0.674 * MAX_SCALE:
        fail(NAME, rule, where + [f"the scale must be of the order of 1e-6 (at most {MAX_SCALE:g});"
                                  " looks like: the factor 0.000001 is missing or not multiplied"], repro,
             {"rule": "init", "problem": "scale"})
    if not largest <= MAX_SPREAD * median:
        fail(NAME, rule, where + ["the values are not spread like a normal draw:"
                                  " looks like 0.000001 combined with randn by another operator than *"], repro,
             {"rule": "init", "problem": "spread"})


VERBOSE_ITERS = 250  # progress at iterations 0, 100 and 200


def _mentions(line: str, number: int) -> bool:
    return re.search(rf"(?<![\w.]){number}(?![\w.])", line) is not None


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_verbose_prints_every_100_iterations(subject, verbose):
    """verbose=False prints nothing; verbose=True one line at iterations 0, 100, 200, ...
    (the lines holding a digit, printed from the first loss_func call on, are counted:
    the starter prints its progress line after the loss)."""
    X, y = indexed_data(6, 3)
    repro = snippet(bind(X=X, y=y) + f"""
import contextlib, io
printed = io.StringIO()
zero_loss = lambda W, X_batch, y_batch, reg: (torch.tensor(0.5, dtype=W.dtype), torch.zeros_like(W))
with contextlib.redirect_stdout(printed):
    lc.train_linear_classifier(zero_loss, None, X, y, learning_rate=1e-3, reg=0.0, num_iters={VERBOSE_ITERS},
                               batch_size=4, verbose={verbose})
lines = [l for l in printed.getvalue().splitlines() if any(ch.isdigit() for ch in l)]
expected = {len(range(0, VERBOSE_ITERS, 100)) if verbose else 0}
assert len(lines) == expected, f"expected {{expected}} progress lines with verbose={verbose}, got {{len(lines)}}: {{lines[:3]}}"
print("ok")""")
    try:
        # The repro's zero_loss, on the submission's side: the lines are what that side reports,
        # so a spy (a round trip for each of the 250 calls) would add nothing to the judgement.
        run(subject, None, X, y, 1e-3, 0.0, VERBOSE_ITERS, 4, repro, verbose=verbose,
            loss=subject.constant_loss())
    except CalleeFails:
        return  # sample_batch raises here: blamed there
    lines = subject.progress_lines
    want = list(range(0, VERBOSE_ITERS, 100))
    call = f"train_linear_classifier(..., num_iters={VERBOSE_ITERS}, verbose={verbose})"
    if not verbose and lines:
        fail(NAME, f"with verbose=False must print nothing ({SPEC})",
             [f"{call} printed {len(lines)} progress lines, the first: {lines[0]!r}"], repro,
             {"rule": "verbose", "quiet": True})
    if verbose and not (len(lines) == len(want) and all(_mentions(l, it) for l, it in zip(lines, want))):
        fail(NAME, "with verbose=True must print one progress line at iterations 0, 100, 200, ..."
                   " (if it % 100 == 0)",
             [f"{call}: expected {len(want)} lines for iterations {want}, got {len(lines)}: {lines[:5]}"],
             repro, {"rule": "verbose", "quiet": False})
