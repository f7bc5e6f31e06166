"""End to end: the submission's own grid, through its own test_one_param_set and
classes, must train on real images (harness/grade/e2e.py, harness/grade/datasets.py).

Opt-in (`--e2e`, `--cifar DIR`, or `-m e2e` to run these alone); on by default in
batch grading and the Gradescope script. These run after every other property
(harness/grade/plugin.py orders them last), so that a failure already found in the training
chain is not blamed twice.
"""
import pytest

from harness.grade import e2e
from harness.errors import PropertyFailure
from properties.params import api

pytestmark = pytest.mark.e2e


def chain(classifier):
    """The functions that training a classifier through test_one_param_set runs."""
    return (e2e.LOSS_OF[classifier], "sample_batch", "train_linear_classifier",
            "predict_linear_classifier", "test_one_param_set", "LinearClassifier", classifier)


def blamed(name, rule, details=()):
    exc = PropertyFailure("\n".join([f"{name}: {rule}"] + [f"  {d}" for d in details]))
    exc.blame = name  # harness/grade/plugin.py records it against `name`, not the test's own marker
    return exc


@pytest.mark.parametrize("classifier", [pytest.param(c, marks=api(c)) for c in e2e.CLASSIFIERS])
def test_grid_trains(request, subject, e2e_data, note, classifier):
    """The best (lr, reg) of the submission's grid reaches the threshold on real images."""
    search = e2e.CLASSIFIERS[classifier]
    for name in (classifier, search, "test_one_param_set"):
        subject.require(name)
    status = request.config.harness_outcomes.status
    if status[search] != "pass":
        note(f"end to end: {classifier} not trained ({search} already fails)")
        return
    grid = subject.call(search)
    try:
        lrs, regs = (e2e.as_list(v) for v in grid)
    except (TypeError, ValueError) as exc:
        raise blamed(search, "must return (learning_rates, regularization_strengths), two lists of "
                             "positive numbers", [f"got {str(grid)[:200]}: {exc}"]) from None
    setting = e2e_data.setting
    threshold, num_iters = setting["thresholds"][classifier], setting["num_iters"]
    data = subject.keep(e2e_data.train_val)
    X_val, y_val = e2e_data.train_val["X_val"], e2e_data.train_val["y_val"]
    result = e2e.run_grid(subject, classifier, data, X_val, y_val, lrs, regs, num_iters, threshold)
    request.config.harness_e2e[classifier] = result
    line = f"end to end on {e2e_data.name}: {result.summary()}; threshold: {setting['calibration']}"
    if result.passed:
        note(line)
        return
    details = [f"{p.lr:g}, {p.reg:g}: " + (p.problem or f"{p.val_acc:.3f}") for p in result.points]
    reference = e2e.shipped_grid(search)
    shipped = e2e.run_grid(subject, classifier, data, X_val, y_val, *reference, num_iters, threshold,
                           stop_at_threshold=True)
    if shipped.passed:
        best = shipped.best
        raise blamed(search, "the grid cannot train: no (lr, reg) of it reaches the validation "
                             f"accuracy {threshold:.2f} on real images ({e2e_data.name})",
                     [line, f"the same training ({classifier}, test_one_param_set) with the grid "
                            f"lr {reference[0]}, reg {reference[1]} reaches {best.val_acc:.3f} at "
                            f"({best.lr:g}, {best.reg:g})", "learning rate, reg: validation accuracy"]
                     + details)
    earlier = [n for n in chain(classifier) if status[n] != "pass"]
    if earlier:
        note(f"{line}; not blamed again: {', '.join(earlier)} already fail")
        return
    raise blamed(classifier, "does not train on real images: every function passes its own "
                             f"properties, but neither its grid nor the reference grid reaches the "
                             f"validation accuracy {threshold:.2f} ({e2e_data.name})",
                 [line, f"the reference grid's best: {shipped.summary()}",
                  f"the training chain: {', '.join(chain(classifier))}"] + details)
