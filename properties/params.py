"""Parametrisation shared by the property modules: API rows, dtypes, devices.

Every generated test carries `pytest.mark.api(name)`, which is how the report
knows which function a failure blames.
"""
import pytest
import torch
from hypothesis import settings

from harness.api import API

HAS_CUDA = torch.cuda.is_available()

DEVICES = [pytest.param("cpu", id="cpu"),
           pytest.param("cuda", id="cuda",
                        marks=pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device here"))]
DTYPES = [pytest.param(torch.float64, id="float64"), pytest.param(torch.float32, id="float32")]


def names(rows=API):
    """One pytest.param per API row, marked with the name it judges."""
    return [pytest.param(row, id=row.name, marks=pytest.mark.api(row.name)) for row in rows]


def api(name):
    """Mark a test that judges one name."""
    return pytest.mark.api(name)


# The Hypothesis budget is spent where mistakes are found (docs/maintainers.md, "CPU per submission").
# A property that compares a function with its oracle on general inputs runs the
# profile's max_examples (25 in `ci`). The others -- a relation between two calls, a
# special input (zero weights, ties at the hinge, huge row offsets), a class method that
# re-checks a function another property compares -- run SECONDARY_SHARE of it (10 in `ci`).
# Measured with the `ci` profile: over the bug zoo's 82 wrong files and the mutation
# run's mutants, every property that failed had failed by its 7th generated example.
SECONDARY_SHARE = 0.4


def secondary(test):
    """Put above @given: this property runs SECONDARY_SHARE of the loaded profile's
    examples (the profile is loaded before the property modules are imported)."""
    budget = max(1, round(settings.default.max_examples * SECONDARY_SHARE))
    return settings(max_examples=budget)(test)
