"""Parametrisation shared by the property modules: API rows, dtypes, devices.

Every generated test carries `pytest.mark.api(name)`, which is how the report
knows which function a failure blames.
"""
import pytest
import torch

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
