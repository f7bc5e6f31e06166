"""The end-to-end check: the submission's own grid, through its own test_one_param_set
and classes, on real images (harness/grade/datasets.py), must train.

For each classifier the harness keeps the data in the worker once (Subject.keep),
then for every (lr, reg) of the submission's `*_get_search_params()`: resets the
seed, makes a fresh instance, calls `test_one_param_set(cls, data_dict, lr, reg,
num_iters)`, reads back the trained `W` and measures the validation accuracy
itself (argmax of X_val @ W; the submission's own accounting is judged by
properties/test_search.py). The best of the grid must reach the threshold.

Thresholds (see THRESHOLDS and docs/maintainers.md, "The end-to-end check", for the
calibration): digits at NUM_ITERS iterations; CIFAR-10 at the course's 2000
iterations and its own targets (0.37 SVM, 0.36 softmax).
"""
import math
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch

CLASSIFIERS = {"LinearSVM": "svm_get_search_params", "Softmax": "softmax_get_search_params"}
LOSS_OF = {"LinearSVM": "svm_loss_vectorized", "Softmax": "softmax_loss_vectorized"}
SEED = 0

# Digits: calibrated on the shipped implementation and tests/zoo/right/* over repeated
# seeds (tests/e2e_calibration.py; numbers in docs/maintainers.md). CIFAR-10: the course's targets.
DIGITS = dict(num_iters=200, thresholds={"LinearSVM": 0.90, "Softmax": 0.90},
              calibration="correct grids reach at least 0.963 over 3 seeds (margin 0.063), "
                          "grids that cannot train at most 0.857 (margin 0.043)")
CIFAR10 = dict(num_iters=2000, thresholds={"LinearSVM": 0.37, "Softmax": 0.36},
               calibration="the course's own targets for CIFAR-10")


class Point(NamedTuple):
    lr: float
    reg: float
    val_acc: float          # measured by the harness from the trained W
    problem: str = ""       # why there is no accuracy (the call raised, W is not a tensor, ...)


class GridResult(NamedTuple):
    classifier: str
    points: List[Point]
    threshold: float
    num_iters: int

    @property
    def best(self) -> Optional[Point]:
        scored = [p for p in self.points if not p.problem]
        return max(scored, key=lambda p: p.val_acc) if scored else None

    @property
    def passed(self) -> bool:
        return self.best is not None and self.best.val_acc >= self.threshold

    def summary(self) -> str:
        best = self.best
        if best is None:
            first = self.points[0].problem if self.points else "the grid is empty"
            return f"{self.classifier}: no grid point trained ({first})"
        verdict = ">=" if self.passed else "<"
        return (f"{self.classifier}: best of {len(self.points)} (lr, reg) = ({best.lr:g}, {best.reg:g}), "
                f"validation accuracy {best.val_acc:.3f} {verdict} threshold {self.threshold:.2f} "
                f"({self.num_iters} iterations)")


def accuracy(W, X: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of rows of X whose argmax of X @ W is y (float64, on the harness's side)."""
    if type(W) is not torch.Tensor or W.dim() != 2 or W.shape[0] != X.shape[1] or not W.is_floating_point():
        raise ValueError(f"the trained W is {type(W).__name__} {tuple(getattr(W, 'shape', ()))}, "
                         f"not a ({X.shape[1]}, C) float tensor")
    if not torch.isfinite(W).all():
        raise ValueError("the trained W has inf or NaN entries (training diverged)")
    scores = X.to(torch.float64) @ W.detach().to("cpu", torch.float64)
    return (scores.argmax(dim=1) == y).double().mean().item()


def as_list(values) -> List[float]:
    """The candidates of a search list (list, tuple, array or 1-D tensor) as floats."""
    if type(values) is torch.Tensor:
        values = values.reshape(-1).tolist()
    out = [float(v) for v in values]
    if not out or not all(math.isfinite(v) and v > 0 for v in out):
        raise ValueError(f"not a list of positive numbers: {values!r}"[:200])
    return out


def run_grid(subject, classifier: str, data, X_val, y_val, lrs: Sequence[float],
             regs: Sequence[float], num_iters: int, threshold: float, seed: int = SEED,
             stop_at_threshold: bool = False) -> GridResult:
    """Train the submission's `classifier` on every (lr, reg) through its test_one_param_set.

    data: what Subject.keep returned for the data_dict. stop_at_threshold: stop at the
    first point that reaches the threshold (used for the shipped grid, only a yes/no)."""
    from harness.errors import SubmissionError
    points = []
    for lr in lrs:
        for reg in regs:
            subject.reset_seed(seed)
            try:
                cls = subject.new(classifier)
                subject.call("test_one_param_set", cls, data, lr, reg, num_iters)
                points.append(Point(lr, reg, accuracy(subject.attribute(cls, "W"), X_val, y_val)))
            except (SubmissionError, AssertionError, ValueError) as exc:
                points.append(Point(lr, reg, float("nan"), str(exc).splitlines()[0][:200]))
                if subject.unavailable("test_one_param_set") or subject.unavailable(classifier):
                    return GridResult(classifier, points, threshold, num_iters)
            if stop_at_threshold and points[-1].val_acc >= threshold:
                break
        if stop_at_threshold and points and points[-1].val_acc >= threshold:
            break
    return GridResult(classifier, points, threshold, num_iters)


def plot(results: Dict[str, GridResult], path: str, title: str) -> str:
    """A heat map of validation accuracy over each grid, written to `path`; returns a line
    saying where it went (or why not)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot: not written (matplotlib is not installed: pip install -r requirements-e2e.txt)"
    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4.5), squeeze=False)
    for ax, result in zip(axes[0], results.values()):
        lrs = sorted({p.lr for p in result.points})
        regs = sorted({p.reg for p in result.points})
        grid = torch.full((len(lrs), len(regs)), float("nan"))
        for p in result.points:
            grid[lrs.index(p.lr), regs.index(p.reg)] = p.val_acc
        image = ax.imshow(grid.numpy(), vmin=0.0, vmax=1.0, cmap="viridis", origin="lower")
        for i in range(len(lrs)):
            for j in range(len(regs)):
                v = grid[i, j].item()
                text = "-" if math.isnan(v) else f"{v:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if math.isnan(v) or v < result.threshold else "black",
                        fontweight="bold" if not math.isnan(v) and v >= result.threshold else "normal")
        ax.set_xticks(range(len(regs)), [f"{r:g}" for r in regs], rotation=45)
        ax.set_yticks(range(len(lrs)), [f"{r:g}" for r in lrs])
        ax.set_xlabel("regularization strength")
        ax.set_ylabel("learning rate")
        best = result.best
        ax.set_title(f"{result.classifier}: best {best.val_acc:.3f} "
                     f"({'pass' if result.passed else 'FAIL'}, threshold {result.threshold:.2f})"
                     if best else f"{result.classifier}: nothing trained", fontsize=10)
        fig.colorbar(image, ax=ax, label="validation accuracy")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return f"plot: {path}"


class Data(NamedTuple):
    name: str                           # "digits" or "CIFAR-10 (DIR)"
    setting: dict                       # DIGITS or CIFAR10
    train_val: Dict[str, torch.Tensor]  # the data_dict handed to test_one_param_set


def load(cifar_dir: Optional[str] = None) -> Data:
    """The data of the end-to-end check (raises datasets.DataUnavailable)."""
    from harness.grade import datasets
    full = datasets.cifar10(cifar_dir) if cifar_dir else datasets.digits()
    train_val = {k: full[k] for k in ("X_train", "y_train", "X_val", "y_val")}
    if cifar_dir:
        return Data(f"CIFAR-10 ({cifar_dir})", CIFAR10, train_val)
    return Data("scikit-learn's digits as 32x32x3 images", DIGITS, train_val)


def shipped_grid(search: str):
    """The shipped implementation's grid (as data: harness/judge/shipped.json)."""
    from harness.judge import shipped
    return tuple(as_list(v) for v in shipped.grid(search))


OFF_ENV = "HARNESS_E2E"  # "0": batch grading and run_autograder leave the check out


def batch_args(config):
    """What batch grading adds to each submission's command for the end-to-end check (on by
    default where its data is available), and a note when it is off."""
    import os
    from pathlib import Path
    cifar = config.getoption("cifar", None)
    if cifar:
        return ["--cifar", str(Path(cifar).expanduser().resolve())], None
    if config.getoption("e2e", False):
        return ["--e2e"], None
    if os.environ.get(OFF_ENV) == "0":
        return [], f"note: the end-to-end check is off ({OFF_ENV}=0)"
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return [], ("note: the end-to-end check is off: scikit-learn is not installed "
                    "(pip install -r requirements-e2e.txt)")
    return ["--e2e"], None
