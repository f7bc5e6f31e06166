"""A fixed sample of the mutation run (mutation/sample.json: 30 mutants drawn with a fixed
seed from those that are not triaged as equivalent or accepted): each must be killed by
the property suite, through the harness's real entry point, so a change that weakens the
properties fails CI. The unmutated subject must pass, or every kill would mean nothing.
Cost: 230 CPU-seconds measured (31 harness runs), about 2 minutes on 2 free cores; the
fast tier grades the unmutated subject and one mutant.
The full run is `tox -e mutation` (docs/maintainers.md, "Mutation testing")."""
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mutation.mutants import SUBJECT, Mutant, load_sample, load_triage
from mutation.run import grade
from tests.harness_run import tiered

SAMPLE = load_sample()
UNMUTATED = Mutant("unmutated", 1, (), ())  # replaces nothing: the subject as it is


# The fast tier: the unmutated subject and one mutant; the full tier, the whole sample.
FAST = {SAMPLE[0].id}


@pytest.fixture(scope="module")
def graded(request):
    """The unmutated subject and the selected mutants, each graded as the mutation run does."""
    selected = {item.callspec.params["mutant"].id for item in request.session.items
                if item.originalname == "test_mutant_is_killed"}
    original = SUBJECT.read_text()
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp, \
            ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = pool.map(lambda m: grade(m, original, Path(tmp), timeout=600),
                           [UNMUTATED] + [m for m in SAMPLE if m.id in selected])
        return {r["id"]: r for r in results}


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
