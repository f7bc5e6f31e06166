"""Self-checking repros: a standalone snippet per failure that a student can run.

Each snippet loads the graded file from its absolute path (one string literal at
the top), runs the failing call on the shrunk counterexample and asserts the right
answer, embedded as literals the oracle computed, with the harness's tolerance:
on the wrong file it stops with an AssertionError saying what was expected and
what came back; pointed at a correct file it passes. It needs only torch. Spies
and stand-ins are written out in the snippet (their source), never imported.
"""
import functools
import inspect
import math
import re
from pathlib import Path
from typing import Optional

import torch

TARGET: Optional[Path] = None   # the file under test (set once per run by harness/grade/plugin.py)

# Loads the file as the grader's worker does (harness/worker_main.py): its folder first on
# sys.path and the module registered as linear_classifier (a dataclass, pickling or an
# import of the file's neighbours works in the repro as it did when graded).
HEADER = '''PATH = {path!r}  # the file under test: edit to point at another
import importlib.util, math, os, random, sys, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(PATH)))
_spec = importlib.util.spec_from_file_location("linear_classifier", PATH)
lc = sys.modules["linear_classifier"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lc)
'''


def set_target(path) -> None:
    global TARGET
    TARGET = Path(path).resolve() if path else None


def _finite_names(text: str) -> str:
    """repr writes inf and nan as bare names: math.inf and math.nan run (the header imports math)."""
    return re.sub(r"(?<![\w.'\"])(inf|nan)(?![\w'\"])", r"math.\1", text)


def literal(value) -> str:
    """Python source that rebuilds a value exactly (tensors with dtype, shape and device)."""
    if isinstance(value, torch.Tensor):
        device = "" if value.device.type == "cpu" else f", device={str(value.device)!r}"
        data = _finite_names(repr(value.detach().cpu().tolist()))
        shape = "" if 0 not in value.shape else f".reshape{tuple(value.shape)!r}"  # [] loses an empty shape
        return f"torch.tensor({data}, dtype={value.dtype}{device}){shape}"
    if isinstance(value, float) and not math.isfinite(value):
        return _finite_names(repr(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        body = ", ".join(literal(v) for v in value)
        return f"[{body}]" if isinstance(value, list) else f"({body}{',' if len(value) == 1 else ''})"
    return repr(value)


def bind(**values) -> str:
    return "\n".join(f"{k} = {literal(v)}" for k, v in values.items())


def snippet(body: str) -> str:
    """The header (path, loader) and the body: the snippet as a student runs it."""
    path = str(TARGET) if TARGET else "linear_classifier.py"
    return HEADER.format(path=path) + body.strip() + "\n"


@functools.lru_cache(maxsize=None)
def source_of(*objects) -> str:
    """Source text of helper classes/functions written out in a snippet (read once: a
    passing property builds its repro for every example)."""
    return "\n\n".join(inspect.getsource(o) for o in objects)


# ------------------------------------------------------------------- losses

TIES_HELPER = '''
def nearest_valid(got, base, X, y, ties, allowed):
    """Margins (i, j) in ties are 0 (up to rounding): counting each or not, or any mix, gives
    a valid gradient base + sum t_a * g_a (t_a in [0, 1]). The one nearest to got, each entry
    weighed by its allowed error: the rounding of a loose entry (one the reg term dominates)
    must not pull the fit off a tight one."""
    X64, N = X.detach().double().cpu(), X.shape[0]
    D, C = base.shape
    G = torch.zeros(len(ties), D, C, dtype=torch.float64)
    for a, (i, j) in enumerate(ties):
        G[a, :, j] += X64[i] / N
        G[a, :, int(y[i])] -= X64[i] / N
    A = G.reshape(len(ties), -1).t()
    allowed = torch.as_tensor(allowed, dtype=torch.float64).expand(D, C).reshape(-1, 1)
    weight = allowed.min() / allowed
    Aw, r = A * weight, ((got - base).reshape(-1, 1) * weight).squeeze(1)
    # min |Aw t - r| over the box t in [0, 1]^k, exactly (an active-set method: the weights
    # make the problem ill-conditioned, too much for a fixed number of gradient steps): solve
    # on the free coordinates, stop at the box where that leaves it, free a bound one whose
    # gradient points into the box.
    k = len(ties)
    t, free = torch.zeros(k, dtype=torch.float64), torch.zeros(k, dtype=torch.bool)
    scale = float(Aw.abs().max()) * max(float(r.abs().max()), 1e-300)
    for _ in range(4 * k + 8):
        grad = Aw.t() @ (r - Aw @ t)  # minus the gradient of the fit's squared error
        inward = ~free & (((t == 0) & (grad > 1e-12 * scale)) | ((t == 1) & (grad < -1e-12 * scale)))
        if not inward.any():
            break
        free[int(torch.argmax(grad.abs() * inward))] = True
        while free.any():
            s = t.clone()
            s[free] = torch.linalg.lstsq(Aw[:, free], (r - Aw[:, ~free] @ t[~free]).unsqueeze(1)).solution.squeeze(1)
            if bool(((s[free] >= 0) & (s[free] <= 1)).all()):
                t = s
                break
            d = s - t  # go toward s as far as the box lets, and fix what reaches a bound there
            room = torch.where(d < 0, -t / d.clamp(max=-1e-300), (1 - t) / d.clamp(min=1e-300))
            alpha = float(room[free & (d != 0)].min().clamp(0, 1))
            t = (t + alpha * d).clamp(0, 1)
            at = free & ((t <= 1e-15) | (t >= 1 - 1e-15))
            t[at & (t <= 1e-15)], t[at & (t >= 1 - 1e-15)] = 0.0, 1.0
            free &= ~at
    return base + (A @ t).reshape(D, C)
'''
# The harness judges with the very function the repro prints.
_ties = {"torch": torch}
exec(TIES_HELPER, _ties)
nearest_valid = _ties["nearest_valid"]

LOSS_CHECK = '''
def check(call, W, X, y, reg, expected_loss, allowed_loss, expected_dW, allowed_dW,
          allow_float=False, inf_ok=False, ties=None):
    W0, X0, y0 = W.clone(), X.clone(), y.clone()
    out = call(W, X, y, reg)
    assert isinstance(out, tuple) and len(out) == 2, f"expected a tuple (loss, dW), got {type(out)}"
    loss, dW = out
    for name, now, before in (("W", W, W0), ("X", X, X0), ("y", y, y0)):
        assert torch.equal(now, before), f"{name} was changed in place: expected {before.tolist()}, got {now.tolist()}"
    assert (type(loss) is torch.Tensor and loss.dim() == 0) or (allow_float and type(loss) is float), \\
        f"loss: expected a 0-dim tensor, got {type(loss).__name__} {getattr(loss, 'shape', '')}"
    assert type(dW) is torch.Tensor and (dW.shape, dW.dtype, dW.device) == (W.shape, W.dtype, W.device), \\
        f"dW: expected a tensor like W {tuple(W.shape)} {W.dtype} {W.device}, got {type(dW).__name__} {getattr(dW, 'shape', '')} {getattr(dW, 'dtype', '')}"
    assert dW.untyped_storage().data_ptr() != W.untyped_storage().data_ptr(), "dW: expected a new tensor, got W itself (they share memory)"
    got = float(loss)
    assert abs(got - expected_loss) <= allowed_loss or (inf_ok and got == math.inf), \\
        f"loss: expected {expected_loss!r} (+- {allowed_loss:.2g}), got {got!r}"
    got_dW = dW.detach().double().cpu()
    tied = ""
    if ties:  # expected_dW counts none of the tied margins
        expected_dW = nearest_valid(got_dW, expected_dW, X, y, ties, allowed_dW)
        tied = f" (the valid gradient nearest to dW: the margins (i, j) in {ties} are 0, so counting each or not is valid)"
    bad = ~((got_dW - expected_dW).abs() <= allowed_dW)
    assert not bool(bad.any()), \\
        f"dW: expected {expected_dW.tolist()} (+- {float(torch.as_tensor(allowed_dW).max()):.2g}){tied}, got {dW.tolist()}"
'''


def loss_case_lines(call: str, case: dict) -> str:
    """One call of check(...) with the case's literals (from harness.judge.compare.loss_repro)."""
    case = dict(case)
    allowed = case["allowed_dW"]
    if allowed.numel() and bool((allowed == allowed.flatten()[0]).all()):
        case["allowed_dW"] = float(allowed.flatten()[0])   # one number for every entry
    args = "".join(f",\n      {k}={literal(v)}" for k, v in case.items())
    return f"check({call}{args})"


def loss_snippet(call: str, cases) -> str:
    """check(...) on each case; the helper for SVM ties (margins that are 0, where counting
    them or not are both valid) only where a case has one: the harness judges dW as the
    valid gradient nearest to it (harness/compare.py), and so does the snippet, not a box
    around the valid ones (which passes answers that no valid gradient is)."""
    cases = list(cases)
    helper = TIES_HELPER if any(c.get("ties") for c in cases) else ""
    return snippet(helper + LOSS_CHECK + "\n" + "\n".join(loss_case_lines(call, c) for c in cases)
                   + '\nprint("ok: matches the oracle")')


# --------------------------------------------------------------- prediction

PREDICT_CHECK = '''
def check(labels, W, X, expected, allowed):
    assert type(labels) is torch.Tensor, f"expected a tensor of labels, got {type(labels).__name__}"
    assert (tuple(labels.shape), labels.dtype, labels.device) == ((X.shape[0],), torch.int64, X.device), \\
        f"expected an int64 tensor of shape {(X.shape[0],)} on {X.device}, got {labels.dtype} {tuple(labels.shape)} on {labels.device}"
    scores = X.double().cpu() @ W.double().cpu()
    lab = labels.cpu()
    ok = (lab >= 0) & (lab < W.shape[1])
    assert bool(ok.all()), f"expected labels {expected}, got {lab.tolist()}"
    chosen = scores.gather(1, lab.unsqueeze(1)).squeeze(1)
    assert bool(((scores.max(dim=1).values - chosen) <= allowed).all()), \\
        f"expected labels {expected} (the argmax of each row of X @ W), got {lab.tolist()}"
'''


def predict_snippet(W, X, expected, allowed, call: str = "lc.predict_linear_classifier(W, X)",
                    alternative: str = "", setup: str = "") -> str:
    body = PREDICT_CHECK + "\n" + bind(W=W, X=X) + "\n" + setup + f"labels = {call}\n"
    body += (f"if not {alternative}:\n    " if alternative else "")
    body += f"check(labels, W, X, expected={expected!r}, allowed={literal(allowed)})"
    return snippet(body + '\nprint("ok")')


# ----------------------------------------------------------------- sampling

SAMPLE_CHECK = '''
def draw(X, y, batch_size, seed=None):
    if seed is not None:
        random.seed(seed); torch.manual_seed(seed)  # the course's reset_seed(seed)
    out = lc.sample_batch(X, y, X.shape[0], batch_size)
    assert isinstance(out, tuple) and len(out) == 2, f"expected (X_batch, y_batch), got {type(out).__name__}"
    X_batch, y_batch = out
    want = ((batch_size, X.shape[1]), (batch_size,))
    got = (tuple(X_batch.shape), tuple(y_batch.shape))
    assert got == want, f"shapes: expected {want}, got {got}"
    assert (X_batch.dtype, y_batch.dtype) == (X.dtype, y.dtype), \\
        f"dtypes: expected {X.dtype}, {y.dtype}, got {X_batch.dtype}, {y_batch.dtype}"
    for k in range(batch_size):
        i = int(X_batch[k, 0])  # row i of X starts with the number i
        assert 0 <= i < X.shape[0] and torch.equal(X_batch[k], X[i]), \\
            f"X_batch[{k}]: expected a row of X, got {X_batch[k].tolist()}"
        assert y_batch[k] == y[i], f"X_batch[{k}] is X[{i}]: expected its label {int(y[i])}, got {int(y_batch[k])}"
    return X_batch[:, 0].long().tolist()
'''


def sample_snippet(X, y, body: str) -> str:
    return snippet(SAMPLE_CHECK + "\n" + bind(X=X, y=y) + "\n" + body.strip() + '\nprint("ok")')


# ----------------------------------------------------------------- training

TRAIN_CHECK = '''
def check(W, X, y, lr, reg, num_iters, batch_size, check_batches=True):
    spy = SpyLoss()  # the loss_func the harness hands to train_linear_classifier
    out = lc.train_linear_classifier(spy, None if W is None else W.clone(), X, y, learning_rate=lr,
                                     reg=reg, num_iters=num_iters, batch_size=batch_size)
    assert isinstance(out, tuple) and len(out) == 2, f"expected (W, loss_history), got {type(out).__name__}"
    W_out, history = out
    assert len(spy.calls) == num_iters, f"expected {num_iters} calls of loss_func, got {len(spy.calls)}"
    first = spy.calls[0][0]
    if W is None:
        want = ((X.shape[1], int(y.max()) + 1), X.dtype, X.device)
        got = (tuple(first.shape), first.dtype, first.device)
        assert got == want, f"W = None: expected a first W of (shape, dtype, device) {want}, got {got}"
    else:
        assert torch.equal(first, W), "expected the first iteration to use the W it was given"
    for k, (Wk, Xb, yb, reg_k) in enumerate(spy.calls):
        if check_batches:
            assert (tuple(Xb.shape), tuple(yb.shape)) == ((batch_size, X.shape[1]), (batch_size,)), \\
                f"iteration {k}: expected a batch of {batch_size} rows, got X_batch {tuple(Xb.shape)}, y_batch {tuple(yb.shape)}"
            rows = Xb[:, 0].long()  # row i of X starts with the number i
            assert torch.equal(Xb, X[rows]) and torch.equal(yb, y[rows]), \\
                f"iteration {k}: expected rows of X with their own labels"
        assert reg_k == reg, f"iteration {k}: expected reg={reg}, got {reg_k!r}"
    afters = [c[0] for c in spy.calls[1:]] + [W_out]
    for k, (before, grad, after) in enumerate(zip([c[0] for c in spy.calls], spy.grads, afters)):
        assert type(after) is torch.Tensor and after.shape == before.shape, \\
            f"step {k}: expected W of shape {tuple(before.shape)}, got {type(after).__name__} {getattr(after, 'shape', '')}"
        expected = before.double() - lr * grad.double()
        eps = torch.finfo(before.dtype).eps
        slack = 3 * eps * (before.double().abs() + abs(lr) * grad.double().abs()) + torch.finfo(before.dtype).tiny
        assert bool(((after.double().cpu() - expected.cpu()).abs() <= slack.cpu()).all()), \\
            f"step {k}: expected W - learning_rate * grad = {expected.tolist()}, got {after.tolist()}"
    assert isinstance(history, list) and len(history) == num_iters and all(type(v) is float for v in history), \\
        f"expected loss_history: a list of {num_iters} Python floats, got {history!r}"
    assert history == spy.losses, f"expected the history {spy.losses}, got {history}"


def check_seeds(*args, **kwargs):  # a mistake may show on some random draws only: 20 seeds
    for seed in range(20):
        random.seed(seed); torch.manual_seed(seed)  # the course's reset_seed(seed)
        check(*args, **kwargs)
'''


def train_snippet(spy_class, W, X, y, lr, reg, num_iters, batch_size, check_batches=True) -> str:
    call = (f"check_seeds({literal(W)}, X, y, lr={lr!r}, reg={reg!r}, num_iters={num_iters}, "
            f"batch_size={batch_size}" + ("" if check_batches else ", check_batches=False") + ")")
    return snippet(source_of(spy_class) + "\n" + TRAIN_CHECK + "\n" + bind(X=X, y=y) + "\n" + call
                   + '\nprint("ok")')


# ------------------------------------------------------------------- search

SEARCH_CHECK = '''
def check(name):
    out = getattr(lc, name)()
    assert isinstance(out, tuple) and len(out) == 2, f"expected (learning_rates, regularization_strengths), got {out!r}"
    for label, values in zip(("learning_rates", "regularization_strengths"), out):
        values = values.tolist() if hasattr(values, "tolist") else values
        assert isinstance(values, (list, tuple)) and all(
            isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values), \\
            f"{label}: expected a 1-D sequence of positive finite numbers, got {values!r}"
        assert len(values) >= 2, f"{label}: expected at least two candidates, got {values!r}"
    combos = len(out[0]) * len(out[1])
    assert combos <= 25, f"expected at most 25 combinations, got {len(out[0])} x {len(out[1])} = {combos}"
'''


def search_snippet(name: str) -> str:
    return snippet(SEARCH_CHECK + f"\ncheck({name!r})\nprint('ok')")


ONE_PARAM_CHECK = '''
def check(data_dict, W, lr, reg, num_iters, expected_acc):
    cls = SpyClassifier(W)  # trains instantly: self.W = W; predicts argmax(X @ self.W)
    args = (cls, data_dict, lr, reg) + (() if num_iters is None else (num_iters,))
    out = lc.test_one_param_set(*args)
    calls = cls.train_calls
    assert len(calls) == 1, f"expected cls.train to be called once, got {len(calls)} calls"
    want = {"learning_rate": lr, "reg": reg, "num_iters": 2000 if num_iters is None else num_iters}
    got = {k: calls[0][k] for k in want}
    assert got == want, f"cls.train: expected {want}, got {got}"
    assert torch.equal(calls[0]["X_train"], data_dict["X_train"]) and torch.equal(calls[0]["y_train"], data_dict["y_train"]), \\
        "expected cls.train to get data_dict['X_train'], data_dict['y_train']"
    assert isinstance(out, tuple) and len(out) == 3 and out[0] is cls, f"expected (cls, train_acc, val_acc), got {out!r}"
    accs = tuple(float(a) for a in out[1:])
    close = lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(b))
    fractions = all(close(a, w) for a, w in zip(accs, expected_acc))
    percentages = all(close(a, 100 * w) for a, w in zip(accs, expected_acc))
    assert fractions or percentages, f"(train_acc, val_acc): expected {expected_acc}, got {accs}"
'''


def one_param_snippet(spy_class, data_dict, W, lr, reg, num_iters, expected_acc) -> str:
    return snippet(source_of(spy_class) + "\n" + ONE_PARAM_CHECK + "\n" + bind(data_dict=data_dict, W=W)
                   + f"\ncheck(data_dict, W, lr={lr!r}, reg={reg!r}, num_iters={num_iters!r}, "
                     f"expected_acc={expected_acc!r})\nprint('ok')")


# ------------------------------------------------------------------ classes

CLASS_TRAIN_CHECK = '''
def same_calls(a, b):  # the same W, batch shapes and reg at every call of the loss
    seen = lambda calls: [(W.tolist(), tuple(Xb.shape), tuple(yb.shape), reg) for W, Xb, yb, reg in calls]
    return seen(a) == seen(b)

clf = lc.LinearClassifier()
clf.loss = SpyLoss()  # the loss a subclass would supply
random.seed(7); torch.manual_seed(7)
try:
    history = clf.train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=7, batch_size=5)
except Exception as exc:
    raise AssertionError(f"expected train to run train_linear_classifier with its arguments, got {type(exc).__name__}: {exc}") from exc
spy = SpyLoss()
random.seed(7); torch.manual_seed(7)
W, expected_history = lc.train_linear_classifier(spy, None, X, y, 1e-2, 1e-3, 7, 5)
assert same_calls(clf.loss.calls, spy.calls), \\
    "expected train to run train_linear_classifier(self.loss, self.W, X, y, learning_rate, reg, num_iters, batch_size, verbose): the calls of the loss differ"
assert history is not None and len(history) == len(expected_history) and all(float(a) == float(b) for a, b in zip(history, expected_history)), \\
    f"expected train to return the loss history {expected_history}, got {history!r}"
assert isinstance(clf.W, torch.Tensor) and torch.equal(clf.W, W), f"expected self.W to hold the trained W {W.tolist()}, got {clf.W!r}"
'''


def class_train_snippet(spy_class, X, y) -> str:
    return snippet(source_of(spy_class) + "\n" + bind(X=X, y=y) + "\n" + CLASS_TRAIN_CHECK + "print('ok')")


def save_load_snippet(W) -> str:
    return snippet(bind(W=W) + '''
import os, tempfile
path = os.path.join(tempfile.mkdtemp(), "W.pth")
first, second = lc.LinearClassifier(), lc.LinearClassifier()
first.W = W.clone()
first.save(path)
second.load(path)
assert isinstance(second.W, torch.Tensor) and second.W.shape == W.shape and torch.equal(second.W.cpu(), W), \\
    f"expected load to give back W = {W.tolist()}, got {second.W!r}"
print("ok")''')


# ------------------------------------------------------------ vectorization

VECTORIZED_CHECK = '''
from torch.utils._python_dispatch import TorchDispatchMode


class Count(TorchDispatchMode):  # counts the tensor operations a call dispatches
    def __init__(self):
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        return func(*args, **(kwargs or {}))


def work(N, D=5, C=4):
    gen = torch.Generator().manual_seed(N)
    W = torch.randn(D, C, generator=gen, dtype=torch.float64)
    X = torch.randn(N, D, generator=gen, dtype=torch.float64)
    y = torch.randint(C, (N,), generator=gen)
    with Count() as count:
        FN(W, X, y, 0.1)
    return count.ops


small, large = work(8), work(32)
assert large <= small, f"expected no more tensor operations at N = 32 than at N = 8 (no loop over examples), got {small} at N = 8 and {large} at N = 32"
print("ok")
'''


def vectorized_snippet(name: str) -> str:
    return snippet(f"FN = lc.{name}\n" + VECTORIZED_CHECK)


# --------------------------------------------------------------- signatures

SIGNATURE_CHECK = '''
import functools
import inspect
def check(fn, want):
    got = list(inspect.signature(fn).parameters.values())
    shown = ", ".join(str(p.replace(annotation=inspect.Parameter.empty)) for p in got)
    message = f"{fn.__qualname__}: expected ({', '.join(want)}), got ({shown})"
    for i, w in enumerate(want):
        name, _, default = w.partition("=")
        assert i < len(got) and got[i].name == name, message
        if default:
            assert got[i].default == eval(default), message
        else:
            assert got[i].default is inspect.Parameter.empty, message
    extra = [p for p in got[len(want):] if p.default is inspect.Parameter.empty
             and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert not extra, message
'''


def signature_snippet(name: str) -> str:
    """Checks the course's parameters and defaults of one API name with inspect."""
    from harness.judge.signatures import SIGNATURES
    calls = []
    for method, spec in SIGNATURES[name].items():
        want = [p.strip() for p in spec.split(",") if p.strip()]
        calls.append(f"check(lc.{name}{'.' + method if method else ''}, {want!r})")
    return snippet(SIGNATURE_CHECK + "\n" + "\n".join(calls) + '\nprint("ok")')
