"""A fixed sample of the mutation run (mutation/sample.json: 30 mutants drawn with a fixed
seed from those that are not triaged as equivalent or accepted): each must be killed by
the property suite, so a change that weakens the properties fails CI. The unmutated
subject must pass, or every kill would mean nothing.
The sample is graded as the mutation run grades (the harness's exit status, with -x: a
kill at the first failing property), but as one batch (grading runs forked from one fork
server, workers from one zygote) rather than one fresh pytest process each: 92 CPU-seconds
for the 31 files, measured, where the fresh processes took 144. The fast tier grades the
unmutated subject and one mutant.
The full run is `tox -e mutation` (docs/maintainers.md, "Mutation testing")."""
import tempfile
from pathlib import Path

import pytest

from mutation.mutants import SUBJECT, Mutant, enclosing_name, load_sample, load_triage
from mutation.run import outcome
from tests.harness_run import grade_in_batch, tiered

SAMPLE = load_sample()
UNMUTATED = Mutant("unmutated", 1, (), ())  # replaces nothing: the subject as it is


# The fast tier: the unmutated subject and one mutant; the full tier, the whole sample.
FAST = {SAMPLE[0].id}


@pytest.fixture(scope="module")
def graded(request):
    """The unmutated subject and the selected mutants, graded in one batch with -x:
    {id: {"id", "function", "change", "outcome", "output"}}, judged as mutation/run.py judges."""
    selected = {item.callspec.params["mutant"].id for item in request.session.items
                if item.originalname == "test_mutant_is_killed"}
    original = SUBJECT.read_text()
    mutants = [UNMUTATED] + [m for m in SAMPLE if m.id in selected]
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        files = {m.id: Path(tmp, "subs", f"m{i:02d}.py") for i, m in enumerate(mutants)}
        Path(tmp, "subs").mkdir()
        for mutant in mutants:
            files[mutant.id].write_text(mutant.source(original))
        runs = grade_in_batch(list(files.values()), Path(tmp, "out"), extra=["-x"])
    return {m.id: {"id": m.id, "function": enclosing_name(original, m.start), "change": m.change(),
                   "outcome": outcome(runs[files[m.id]].returncode),
                   "output": runs[files[m.id]].output[-2000:]}
            for m in mutants}


def test_sample_is_current():
    """Each sampled mutant still applies to the subject and is not triaged as a survivor."""
    original, triage = SUBJECT.read_text(), load_triage()
    assert 20 <= len(SAMPLE) <= 40
    for mutant in SAMPLE:
        assert mutant.source(original) != original, mutant.id  # raises if stale
        assert mutant.id not in triage, f"{mutant.id} is triaged: run python -m mutation.run --write-sample 30"


def test_unmutated_subject_passes(graded):
    result = graded["unmutated"]
    assert result["outcome"] == "survived", f"the plain subject must pass the suite: {result}"


@pytest.mark.parametrize("mutant", tiered([(m,) for m in SAMPLE], [m.id for m in SAMPLE], FAST))
def test_mutant_is_killed(graded, mutant):
    result = graded[mutant.id]
    assert result["outcome"] != "survived", (
        f"mutant {mutant.id} in {result['function']} survived the property suite: {result['change']}")
