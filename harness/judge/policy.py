"""The two policies of SPEC.md for inputs in a dtype other than the course's float64.

Course (default): a function that breaks on float32 inputs gets a warning and a
note in the report. Strict (`--strict`): it fails.
"""
import warnings
from contextlib import contextmanager

import torch

from harness.errors import Float32Warning, PropertyFailure, SubmissionError


@contextmanager
def dtype_policy(dtype: torch.dtype, strict: bool, note):
    if dtype == torch.float64 or strict:
        yield
        return
    try:
        yield
    except (PropertyFailure, SubmissionError) as exc:
        first = str(exc).splitlines()
        text = (f"{first[0]} [with {str(dtype)[6:]} inputs: a warning under the course policy, "
                f"a failure under --strict]" + ("\n" + "\n".join(first[1:3]) if len(first) > 1 else ""))
        note(text)
        warnings.warn(Float32Warning(text))
