"""Signatures and defaults (SPEC.md): names, order and default values of every function
and method, read from the submission's syntax tree in the harness process."""
import pytest

from harness.judge.compare import fail
from harness.judge.repro import signature_snippet
from harness.judge.signatures import SIGNATURES, expected, judge
from properties.params import names


@pytest.mark.parametrize("row", names())
def test_signature_and_defaults(subject, note, row):
    """The primary property: the course's parameters, in order, with the course's defaults
    (the notebook calls these with their defaults, so a changed default changes what it does)."""
    subject.require(row.name)
    assert row.name in SIGNATURES, f"harness: no signature for {row.name}"
    problems, notes = judge(subject.path, row.name)
    for text in notes:
        note(f"{row.name}: {text}")
    if problems:
        fail(row.name, "must keep the course's signature and defaults (SPEC.md, Signatures and defaults)",
             problems + [f"expected: {expected(row.name)}"], signature_snippet(row.name))
