"""The teaching side of the report, checked without grading anything: every SPEC.md
section a message cites exists, the catalogue of mistakes is well-formed, and the
recognizers name a mistake from its replayed counterexample."""
import re
from pathlib import Path

import torch

from harness.judge import mistakes
from harness.judge.tolerance import loss_bounds

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"SPEC\.md, ([A-Za-z_' ]+?)(?=[:;)\"]|$)", re.M)


def sections():
    return {line[3:].strip() for line in (ROOT / "SPEC.md").read_text().splitlines() if line.startswith("## ")}


def test_every_cited_section_exists():
    cited = {}
    for path in [*ROOT.glob("harness/**/*.py"), *ROOT.glob("properties/*.py"), ROOT / "harness" / "judge" / "mistakes.toml"]:
        for m in CITATION.finditer(path.read_text()):
            cited.setdefault(m.group(1).strip(), path.name)
    assert len(cited) >= 6, cited
    missing = {s: f for s, f in cited.items() if s not in sections()}
    assert not missing, f"messages cite SPEC.md sections that do not exist: {missing}"
    for path in [*ROOT.glob("harness/**/*.py"), *ROOT.glob("properties/*.py")]:
        assert '"(SPEC: ' not in path.read_text() and "(SPEC: " not in path.read_text().replace(
            "# SPEC: ", ""), f"{path.name}: cite SPEC.md sections as (SPEC.md, Section)"


def test_catalogue_is_well_formed():
    ids = [m.id for m in mistakes.MISTAKES]
    assert len(ids) == len(set(ids)), "mistake ids must be unique"
    from harness.api import NAMES
    for m in mistakes.MISTAKES:
        assert m.recognizer in mistakes.RECOGNIZERS, f"{m.id}: unknown recognizer {m.recognizer}"
        assert set(m.functions) <= set(NAMES), f"{m.id}: unknown functions {m.functions}"
        assert m.looks_like and "\n" not in m.looks_like and "```" not in m.looks_like


def _without_rtol(mistake):
    """An entry's args as loss_with takes them (rtol: the recognizer's own tolerance)."""
    return {k: v for k, v in mistake.items() if k != "rtol"}


def _evidence(model, W, X, y, reg, **mistake):
    mistake = _without_rtol(mistake)
    loss, dW = mistakes.loss_with(model, W, X, y, reg, **mistake)
    b = loss_bounds(model, W, X, y, reg, W.dtype)
    return dict(kind="loss", model=model, function=f"{model}_loss_vectorized", W=W, X=X, y=y, reg=reg,
                loss=loss, dW=dW, tol_loss=b.loss, tol_dW=b.dW,
                probe=lambda *a: mistakes.loss_with(model, *a, **mistake))


def _each_variant(args):
    """An entry's args with each list (any of its values) taken one value at a time."""
    for key, values in args.items():
        if isinstance(values, list):
            return [a for v in values for a in _each_variant(dict(args, **{key: v}))]
    return [args]


def _changes(model, case, mistake) -> bool:
    """The mistake gives another loss or dW than the right answer on `case`."""
    mistake = _without_rtol(mistake)
    (loss, dW), (right, right_dW) = (mistakes.loss_with(model, *case, 0.25, **mistake),
                                     mistakes.loss_with(model, *case, 0.25))
    return loss != right or not torch.equal(dW, right_dW)


def test_loss_variants_are_told_apart():
    """Each loss mistake, replayed on a generic case (and probed), is named as itself. A mistake
    that changes nothing there (one that shows only where two scores tie) is replayed on a case
    of whole numbers, whose scores tie."""
    gen = torch.Generator().manual_seed(1)
    W = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    X = 2 * torch.randn(5, 3, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 1])
    tied = (torch.tensor([[1.0, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]]),
            torch.tensor([[1.0, 1, 0], [0, 1, 1], [1, 0, 1], [2, 0, 0], [0, 0, 1]]), y)
    for m in mistakes.MISTAKES:
        if m.recognizer != "loss_variant":
            continue
        model = "svm" if m.functions[0].startswith("svm") else "softmax"
        for args in _each_variant(m.args):
            case = next((c for c in ((W, X, y), tied) if _changes(model, c, args)), None)
            assert case is not None, f"{m.id} {args}: the mistake changes nothing on either case"
            found = mistakes.recognize(_evidence(model, *case, 0.25, **args))
            assert found is not None and found.id == m.id, f"{m.id} {args} recognized as {found and found.id}"
    assert mistakes.recognize(_evidence("svm", W, X, y, 0.25)) is None, "a right answer looks like no mistake"
