"""Every exception (and the one warning) of the harness: a leaf that imports nothing, so
that any layer may raise or catch them without importing the layer that raises them
(as Hypothesis's errors.py).

Who raises what:
- HarnessInputError: the file given cannot be graded at all (confine.subject.check_file).
- SubmissionError: the submission raised, hung or died while called (confine.worker).
- MissingName: the submission does not define a name of the API (confine.subject).
- PropertyFailure: a rule of SPEC.md does not hold (judge.compare.fail).
- Float32Warning: a function broke on float32 inputs (judge.policy).
- IsolationError: the isolation asked for cannot be had here (confine.sandbox.choose).
- ZygoteError: batch mode's worker zygote cannot give a worker (confine.zygote).
- DataUnavailable: the end-to-end data set cannot be had here (grade.datasets).
- MergeError: the folders given to merge are not one whole class (grade.batch.merge).
"""
from pathlib import Path


class HarnessInputError(Exception):
    """The file given to the harness cannot be graded at all (one line for the user)."""


class MissingName(AssertionError):
    """The submission does not define a name of the API."""

    def __init__(self, name: str, path: Path):
        super().__init__(f"{name}: missing: {path.name} defines no `{name}` (SPEC.md lists it)")
        self.name = name


class SubmissionError(Exception):
    """The submission raised, hung, or died while the harness called it."""


class PropertyFailure(AssertionError):
    """A rule of SPEC.md does not hold; the message is what the student reads.
    `repro`: the self-checking snippet; `mistake`: the catalogue id it looks like."""

    def __init__(self, text, repro=None, mistake=None):
        super().__init__(text)
        self.repro, self.mistake = repro, mistake


class Float32Warning(UserWarning):
    """A function broke on float32 inputs (a failure under --strict)."""


class IsolationError(Exception):
    """The isolation asked for cannot be had here (one line for the user)."""


class ZygoteError(Exception):
    """The zygote cannot give a worker (the caller starts a fresh one instead)."""


class DataUnavailable(Exception):
    """The data set cannot be had here (one line for the user)."""


class MergeError(Exception):
    """The folders given to merge do not make one whole class (one line for the user)."""
