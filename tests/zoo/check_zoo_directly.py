"""Sanity check of the bug zoo, independent of the harness (run by hand, not by pytest):

    python tests/zoo/check_zoo_directly.py [FILE ...]

Each zoo file is imported with importlib and every API name is checked on small
random float64 (and float32) examples against the shipped implementation and
SPEC.md. A file under wrong/ is OK when every name its header blames shows a
problem and no other name does; a file under right/ is OK when no name shows one.
One line per file; the exit status is 1 if any file is a PROBLEM.

Each name is checked in isolation, as far as possible, from the submission's other
functions: training is compared with SPEC.md's loop run on the submission's own
sample_batch, the classes with the submission's own train/predict/losses, and
test_one_param_set is handed a classifier of the shipped implementation.
"""
import contextlib
import importlib.util
import inspect
import io
import math
import random
import re
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

HERE = Path(__file__).resolve().parent
SHIPPED = HERE.parent.parent / "implementations" / "linear_classifier.py"

NAMES = ("svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive",
         "softmax_loss_vectorized", "sample_batch", "train_linear_classifier",
         "predict_linear_classifier", "svm_get_search_params", "softmax_get_search_params",
         "test_one_param_set", "LinearClassifier", "LinearSVM", "Softmax")
LOSSES = NAMES[:4]
VECTORIZED = ("svm_loss_vectorized", "softmax_loss_vectorized")

_counter = 0


def load(path):
    global _counter
    _counter += 1
    name = "zoo_module_%d" % _counter
    spec = importlib.util.spec_from_file_location(name, str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def header(path):
    """('blames', [names]) or ('passes', [])."""
    lines = Path(path).read_text().splitlines()
    m = re.fullmatch(r"# zoo: blames (.+)", lines[0])
    if m:
        assert re.fullmatch(r"# bug: .+", lines[1]), "second line must be '# bug: ...'"
        blamed = [n.strip() for n in m.group(1).split(",")]
        for n in blamed:
            assert n in NAMES, "unknown API name %r in the header" % n
        return "blames", blamed
    assert lines[0] == "# zoo: passes", "first line must be '# zoo: blames ...' or '# zoo: passes'"
    assert re.fullmatch(r"# style: .+", lines[1]), "second line must be '# style: ...'"
    return "passes", []


def reset(n):
    random.seed(n)
    torch.manual_seed(n)
    np.random.seed(n)


@contextlib.contextmanager
def quiet():
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def close(a, b, rtol, atol):
    a = torch.as_tensor(a).detach().to("cpu", torch.float64)
    b = torch.as_tensor(b).detach().to("cpu", torch.float64)
    return a.shape == b.shape and torch.allclose(a, b, rtol=rtol, atol=atol)


def problem_of(exc):
    tb = traceback.extract_tb(exc.__traceback__)
    where = tb[-1]
    return "raised %s: %s (at %s:%s)" % (type(exc).__name__, str(exc).splitlines()[0][:120]
                                        if str(exc) else "", Path(where.filename).name,
                                        where.lineno)


# --------------------------------------------------------------------- losses

class OpCounter(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.n = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.n += 1
        return func(*args, **(kwargs or {}))


def loss_inputs(N, D, C, seed, dtype=torch.float64, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    W = (scale * torch.randn(D, C, generator=g, dtype=torch.float64)).to(dtype)
    X = torch.randn(N, D, generator=g, dtype=torch.float64).to(dtype)
    y = torch.randint(C, (N,), generator=g)
    y[: min(N, C)] = torch.arange(min(N, C))  # every class occurs when N >= C
    return W, X, y


def check_loss(name, mod, ref):
    f, g = getattr(mod, name), getattr(ref, name)
    vectorized = name in VECTORIZED
    problems = []
    reg = 0.3

    def one(W, X, y, tag, rtol=1e-7, atol=1e-9, compare=True):
        W0, X0, y0 = W.clone(), X.clone(), y.clone()
        Wa, Xa, ya = W.clone(), X.clone(), y.clone()
        try:
            loss, dW = f(Wa, Xa, ya, reg)
        except Exception as exc:
            problems.append("%s: %s" % (tag, problem_of(exc)))
            return
        if not (torch.equal(Wa, W0) and torch.equal(Xa, X0) and torch.equal(ya, y0)):
            problems.append("%s: modifies its inputs in place" % tag)
        if isinstance(dW, torch.Tensor) and dW.untyped_storage().data_ptr() == \
                Wa.untyped_storage().data_ptr():
            problems.append("%s: dW shares memory with W" % tag)
        if vectorized and not isinstance(loss, torch.Tensor):
            problems.append("%s: vectorized loss is a %s, not a tensor" % (tag, type(loss).__name__))
        if isinstance(loss, torch.Tensor):
            if loss.dim() != 0:
                problems.append("%s: loss has shape %s, not 0-dim" % (tag, tuple(loss.shape)))
            if loss.dtype != W.dtype:
                problems.append("%s: loss dtype %s for %s inputs" % (tag, loss.dtype, W.dtype))
        elif not isinstance(loss, float):
            problems.append("%s: loss is a %s" % (tag, type(loss).__name__))
        if not isinstance(dW, torch.Tensor):
            problems.append("%s: dW is a %s" % (tag, type(dW).__name__))
            return
        if dW.shape != W.shape or dW.dtype != W.dtype:
            problems.append("%s: dW %s %s for W %s %s" % (tag, tuple(dW.shape), dW.dtype,
                                                         tuple(W.shape), W.dtype))
            return
        if not compare:
            return
        ref_loss, ref_dW = g(W.clone().double(), X.clone().double(), y.clone(), reg)
        lv = float(loss)
        if not math.isfinite(lv) or not close(lv, ref_loss, rtol, atol):
            problems.append("%s: loss %.10g, expected %.10g" % (tag, lv, float(ref_loss)))
        if not torch.isfinite(dW).all() or not close(dW, ref_dW, rtol, atol):
            err = (dW.double() - ref_dW).abs().max().item()
            problems.append("%s: dW differs from the expected gradient (max abs error %.3g)"
                            % (tag, err))

    for (N, D, C), seed in zip([(7, 5, 4), (4, 4, 4), (3, 6, 6), (12, 3, 5)], range(4)):
        W, X, y = loss_inputs(N, D, C, seed)
        one(W, X, y, "float64 N=%d D=%d C=%d" % (N, D, C))
    W, X, y = loss_inputs(9, 5, 4, 11, dtype=torch.float32)
    one(W, X, y, "float32", rtol=1e-4, atol=1e-5)
    # huge scores shared by all classes of a row, with very different row offsets
    W, X, y = loss_inputs(6, 5, 4, 21)
    X[:, -1] = torch.tensor([0.0, 1e3, -2e3, 5e3, 3e2, -4e3], dtype=torch.float64)
    W[-1, :] = 1.0
    one(W, X, y, "row offsets up to 5e3", rtol=1e-6, atol=1e-6)
    if vectorized and not problems:
        counts = []
        for N in (8, 32):
            W, X, y = loss_inputs(N, 5, 4, 31)
            with OpCounter() as counter:
                f(W, X, y, reg)
            counts.append(counter.n)
        if counts[0] != counts[1]:
            problems.append("runs %d tensor operations for N=8 and %d for N=32 (a loop over "
                            "examples)" % tuple(counts))
    return problems


# ------------------------------------------------------------------- sampling

def check_sample_batch(mod, ref):
    f = mod.sample_batch
    problems = []
    N, D = 6, 3
    X = torch.arange(N, dtype=torch.float64).unsqueeze(1).repeat(1, D)
    X[:, 1:] += torch.randn(N, D - 1, dtype=torch.float64)
    y = torch.tensor([2, 0, 1, 1, 0, 2])
    for bs in (4, 10):
        reset(0)
        Xb, yb = f(X, y, N, bs)
        if tuple(Xb.shape) != (bs, D) or tuple(yb.shape) != (bs,):
            problems.append("batch_size=%d, num_train=%d: shapes %s, %s" % (
                bs, N, tuple(Xb.shape), tuple(yb.shape)))
            continue
        rows = Xb[:, 0].long()
        if not torch.equal(Xb, X[rows]):
            problems.append("X_batch holds rows that are not rows of X")
        elif not torch.equal(yb, y[rows]):
            problems.append("y_batch is not the labels of X_batch's rows")
    a = []
    for _ in range(2):
        random.seed(5)
        torch.manual_seed(5)
        a.append(f(X, y, N, 8))
    if not (torch.equal(a[0][0], a[1][0]) and torch.equal(a[0][1], a[1][1])):
        problems.append("not reproducible after random.seed(5); torch.manual_seed(5)")
    torch.manual_seed(1)
    b1 = f(X, y, N, 8)[0]
    b2 = f(X, y, N, 8)[0]
    if torch.equal(b1, b2):
        problems.append("two successive batches are identical (no randomness)")
    reset(2)
    Xs = torch.arange(3, dtype=torch.float64).unsqueeze(1)
    Xb, _ = f(Xs, torch.tensor([0, 1, 2]), 3, 6000)
    counts = torch.bincount(Xb[:, 0].long(), minlength=3).tolist()
    if min(counts) < 0.28 * sum(counts) or max(counts) > 0.39 * sum(counts):
        problems.append("num_train=3, batch_size=6000: row counts %s are not uniform" % counts)
    return problems


# ------------------------------------------------------------------- training

def spec_train(loss_func, W, X, y, learning_rate, reg, num_iters, batch_size, sample):
    num_train, dim = X.shape
    if W is None:
        W = 0.000001 * torch.randn(dim, int(y.max()) + 1, device=X.device, dtype=X.dtype)
    history = []
    for _ in range(num_iters):
        X_batch, y_batch = sample(X, y, num_train, batch_size)
        loss, grad = loss_func(W, X_batch, y_batch, reg)
        history.append(loss.item())
        W = W - learning_rate * grad
    return W, history


def train_data(dtype=torch.float64):
    g = torch.Generator().manual_seed(3)
    X = torch.randn(40, 5, generator=g, dtype=torch.float64).to(dtype)
    y = torch.randint(3, (40,), generator=g)
    y[:3] = torch.arange(3)
    return X, y


def check_train(mod, ref):
    f = mod.train_linear_classifier
    problems = []
    calls = []

    def spy(W, Xb, yb, reg):
        calls.append((Xb.shape[0], reg))
        return ref.svm_loss_vectorized(W, Xb, yb, reg)

    for case, dtype, W_given in (("W given", torch.float64, True),
                                 ("W=None", torch.float64, False),
                                 ("W=None float32", torch.float32, False)):
        X, y = train_data(dtype)
        W0 = (0.01 * torch.randn(5, 3, generator=torch.Generator().manual_seed(4),
                                 dtype=torch.float64)).to(dtype) if W_given else None
        calls.clear()
        reset(7)
        try:
            with quiet():
                W, hist = f(spy, None if W0 is None else W0.clone(), X, y, 0.5, 0.1, 6, 8)
        except Exception as exc:
            problems.append("%s: %s" % (case, problem_of(exc)))
            continue
        if any(r != 0.1 for _, r in calls):
            problems.append("%s: calls loss_func with reg %s, not 0.1" % (
                case, sorted({r for _, r in calls})))
        reset(7)
        eW, ehist = spec_train(ref.svm_loss_vectorized, None if W0 is None else W0.clone(),
                               X, y, 0.5, 0.1, 6, 8, mod.sample_batch)
        if not isinstance(hist, list) or len(hist) != 6:
            problems.append("%s: history is %s of length %s, not a list of 6" % (
                case, type(hist).__name__, len(hist) if hasattr(hist, "__len__") else "?"))
        elif not all(type(v) is float for v in hist):
            problems.append("%s: history holds %s, not Python floats" % (
                case, sorted({type(v).__name__ for v in hist})))
        elif not close(hist, ehist, 1e-6, 1e-9):
            problems.append("%s: loss history differs from SPEC.md's loop" % case)
        if not isinstance(W, torch.Tensor) or W.shape != (5, 3) or W.dtype != dtype:
            problems.append("%s: returned W is %s" % (case, getattr(W, "shape", W)))
        elif not close(W, eW, 1e-6, 1e-9):
            problems.append("%s: returned W differs from SPEC.md's loop" % case)
    return problems


def check_predict(mod, ref):
    problems = []
    for dtype in (torch.float64, torch.float32):
        W, X, _ = loss_inputs(9, 5, 4, 41, dtype=dtype)
        try:
            p = mod.predict_linear_classifier(W, X)
        except Exception as exc:
            problems.append("%s: %s" % (dtype, problem_of(exc)))
            continue
        if not isinstance(p, torch.Tensor) or p.dtype != torch.int64 or p.shape != (9,):
            problems.append("%s: returns %s %s, not int64 (9,)" % (
                dtype, getattr(p, "dtype", type(p)), tuple(getattr(p, "shape", ()))))
        elif not torch.equal(p, torch.argmax(X @ W, dim=1)):
            problems.append("%s: labels differ from argmax of the scores" % dtype)
    return problems


def check_search(name):
    def check(mod, ref):
        try:
            out = getattr(mod, name)()
            lrs, regs = out
        except Exception as exc:
            return [problem_of(exc)]
        problems = []
        for what, vals in (("learning rates", lrs), ("regularisation strengths", regs)):
            if not isinstance(vals, (list, tuple)) or len(vals) < 2:
                problems.append("%s: %r has fewer than two candidates" % (what, vals))
            elif not all(isinstance(v, (int, float)) and v > 0 for v in vals):
                problems.append("%s: %r are not all positive numbers" % (what, vals))
        if not problems and len(lrs) * len(regs) > 25:
            problems.append("%d combinations, more than 25" % (len(lrs) * len(regs)))
        return problems
    return check


def search_data():
    g = torch.Generator().manual_seed(8)
    centers = 3 * torch.randn(3, 4, generator=g, dtype=torch.float64)
    def split(n):
        yy = torch.randint(3, (n,), generator=g)
        XX = centers[yy] + 2.5 * torch.randn(n, 4, generator=g, dtype=torch.float64)
        return torch.cat([XX, torch.ones(n, 1, dtype=torch.float64)], dim=1), yy
    X_train, y_train = split(60)
    X_val, y_val = split(40)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


def check_test_one_param_set(mod, ref):
    data = search_data()
    lr, reg, num_iters = 0.05, 0.002, 17
    expected = ref.LinearSVM()
    expected.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg, num_iters=num_iters)
    acc = lambda c, s: (c.predict(data["X_" + s]) == data["y_" + s]).double().mean().item()
    e_train, e_val = acc(expected, "train"), acc(expected, "val")
    assert abs(e_train - e_val) > 0.02, "choose data whose train and val accuracies differ"
    calls = []
    sig = inspect.signature(ref.LinearClassifier.train)

    class Spy(ref.LinearSVM):
        def train(self, *args, **kwargs):
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            calls.append(dict(bound.arguments))
            return super().train(*args, **kwargs)

    spy = Spy()
    try:
        with quiet():
            out = mod.test_one_param_set(spy, data, lr, reg, num_iters=num_iters)
        cls, tr, va = out
        tr, va = float(tr), float(va)
    except Exception as exc:
        return [problem_of(exc)]
    problems = []
    if cls is not spy:
        problems.append("does not return the classifier it was given")
    if len(calls) != 1:
        problems.append("calls cls.train %d times, not once" % len(calls))
    else:
        c = calls[0]
        if c["X_train"] is not data["X_train"] or c["y_train"] is not data["y_train"]:
            problems.append("does not train on X_train / y_train")
        for key, want in (("learning_rate", lr), ("reg", reg), ("num_iters", num_iters)):
            if c[key] != want:
                problems.append("trains with %s=%r, not %r" % (key, c[key], want))
    fractions = close([tr, va], [e_train, e_val], 1e-6, 1e-9)
    percents = close([tr, va], [100 * e_train, 100 * e_val], 1e-6, 1e-7)
    if not (fractions or percents):
        problems.append("returns accuracies (%g, %g); expected (%g, %g) as fractions (or both "
                        "as percentages)" % (tr, va, e_train, e_val))
    return problems


# -------------------------------------------------------------------- classes

def check_linear_classifier(mod, ref):
    problems = []
    X, y = train_data()
    Xv, _ = train_data()
    Xv = Xv.flip(0) + 0.5

    class Own(mod.LinearClassifier):
        def loss(self, W, X_batch, y_batch, reg):
            return ref.svm_loss_vectorized(W, X_batch, y_batch, reg)

    with quiet():
        c2 = Own()
        np.random.seed(9)
        try:
            eW, ehist = mod.train_linear_classifier(c2.loss, None, X, y, 0.3, 0.01, 7, 9)
        except Exception as exc:
            eW, ehist = None, exc
    with quiet():
        c = Own()
        np.random.seed(9)
        try:
            hist = c.train(X, y, learning_rate=0.3, reg=0.01, num_iters=7, batch_size=9)
        except Exception as exc:
            hist = exc
    if isinstance(ehist, Exception):
        # train_linear_classifier's own fault: train must only fail the same way
        if type(hist) is not type(ehist):
            problems.append("train does not behave as train_linear_classifier (which raises "
                            "%s)" % type(ehist).__name__)
        c.W = 0.1 * torch.randn(5, 3, generator=torch.Generator().manual_seed(6),
                                dtype=torch.float64)
    elif isinstance(hist, Exception):
        problems.append("train: " + problem_of(hist))
    else:
        if not isinstance(hist, list) or not close(hist, ehist, 1e-9, 1e-12):
            problems.append("train returns %s, not the loss history of train_linear_classifier"
                            % type(hist).__name__)
        if not isinstance(c.W, torch.Tensor) or not close(c.W, eW, 1e-9, 1e-12):
            problems.append("after train, self.W is not train_linear_classifier's W")
    if isinstance(c.W, torch.Tensor):
        try:
            e = mod.predict_linear_classifier(c.W, Xv)
        except Exception as exc:
            e = exc
        try:
            p = c.predict(Xv)
        except Exception as exc:
            p = exc
        if isinstance(e, Exception) or isinstance(p, Exception):
            if type(p) is not type(e):
                problems.append("predict: does not behave as predict_linear_classifier(self.W, X)"
                                + (": " + problem_of(p) if isinstance(p, Exception) else ""))
        elif not (isinstance(p, torch.Tensor) and p.shape == e.shape and torch.equal(p, e)):
            problems.append("predict differs from predict_linear_classifier(self.W, X)")
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "w.pth")
            try:
                with quiet():
                    c.save(path)
                    c3 = Own()
                    c3.load(path)
                if not (isinstance(c3.W, torch.Tensor) and torch.equal(c3.W.cpu(), c.W.cpu())):
                    problems.append("save/load does not round-trip W")
            except Exception as exc:
                problems.append("save/load: " + problem_of(exc))
    return problems


def check_subclass(cls_name, fn_name):
    def check(mod, ref):
        cls = getattr(mod, cls_name)
        problems = []
        if not issubclass(cls, mod.LinearClassifier):
            problems.append("is not a subclass of LinearClassifier")
        with quiet():
            obj = cls()
        for seed, dtype in ((51, torch.float64), (52, torch.float32)):
            W, X, y = loss_inputs(8, 5, 4, seed, dtype=dtype)
            try:
                expected = getattr(mod, fn_name)(W.clone(), X.clone(), y.clone(), 0.2)
            except Exception as exc:
                expected = type(exc)
            try:
                got = obj.loss(W.clone(), X.clone(), y.clone(), 0.2)
            except Exception as exc:
                got = type(exc)
            if isinstance(expected, type) or isinstance(got, type):
                if got is not expected:
                    problems.append("loss is not %s" % fn_name)
            elif not (close(float(got[0]), float(expected[0]), 1e-9, 1e-12)
                      and close(got[1], expected[1], 1e-9, 1e-12)):
                problems.append("loss differs from %s" % fn_name)
        return problems
    return check


CHECKS = {name: (lambda n: lambda mod, ref: check_loss(n, mod, ref))(name) for name in LOSSES}
CHECKS.update({
    "sample_batch": check_sample_batch,
    "train_linear_classifier": check_train,
    "predict_linear_classifier": check_predict,
    "svm_get_search_params": check_search("svm_get_search_params"),
    "softmax_get_search_params": check_search("softmax_get_search_params"),
    "test_one_param_set": check_test_one_param_set,
    "LinearClassifier": check_linear_classifier,
    "LinearSVM": check_subclass("LinearSVM", "svm_loss_vectorized"),
    "Softmax": check_subclass("Softmax", "softmax_loss_vectorized"),
})


def check_file(path, ref, verbose=False):
    try:
        kind, blamed = ("passes", []) if Path(path) == SHIPPED else header(path)
    except AssertionError as exc:
        return False, "header: %s" % exc
    try:
        with quiet():
            mod = load(path)
    except Exception as exc:
        return False, "import " + problem_of(exc)
    missing = [n for n in NAMES if not callable(getattr(mod, n, None))]
    if missing:
        return False, "missing names %s" % missing
    found = {}
    for name in NAMES:
        try:
            found[name] = CHECKS[name](mod, ref)
        except Exception as exc:  # a crash of the checker itself
            found[name] = ["checker crashed: " + problem_of(exc)]
    failing = [n for n in NAMES if found[n]]
    detail = "; ".join("%s: %s" % (n, " | ".join(found[n][:2])) for n in failing)
    if kind == "passes":
        return not failing, ("agrees everywhere" if not failing else detail)
    ok = set(failing) == set(blamed)
    msg = detail if verbose or not ok else "; ".join(
        "%s: %s" % (n, found[n][0]) for n in failing)
    if not ok:
        msg = "blamed %s but failing %s -- %s" % (blamed, failing, msg)
    return ok, msg


def main(argv):
    sys.dont_write_bytecode = True  # leave no __pycache__ in the zoo
    torch.set_num_threads(1)
    with quiet():
        ref = load(SHIPPED)
    paths = [Path(p).resolve() for p in argv] or [SHIPPED] + \
        sorted((HERE / "wrong").glob("*.py")) + sorted((HERE / "right").glob("*.py"))
    bad = 0
    for path in paths:
        ok, msg = check_file(path, ref)
        bad += not ok
        print("%-8s %-48s %s" % ("OK" if ok else "PROBLEM", path.parent.name + "/" + path.name,
                                 msg[:300]))
    print("%d files, %d problems" % (len(paths), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
