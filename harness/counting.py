"""Counting the work a call does, to tell a vectorized function from a loop.

Two counters, both deterministic: the tensor operations torch dispatches (a loop
over examples dispatches more of them as N grows), and the lines of the
submission's own file that Python executes (which also catches loops over numpy
arrays or Python lists, which dispatch nothing)."""
import sys
from contextlib import contextmanager

from torch.utils._python_dispatch import TorchDispatchMode


class _OpCounter(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls):
        # Otherwise torch wraps __torch_dispatch__ in torch._dynamo.disable, whose first
        # call imports torch._dynamo (and sympy): 1.5 CPU-seconds per worker, for nothing
        # here (this mode compiles nothing).
        return False

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


@contextmanager
def counting(filename: str):
    """Yields a dict that holds {"ops": n, "lines": m} once the block ends."""
    result = {"ops": 0, "lines": 0}
    lines = [0]

    def local(frame, event, arg):
        if event == "line":
            lines[0] += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == filename else None

    previous = sys.gettrace()
    counter = _OpCounter()
    sys.settrace(tracer)
    try:
        with counter:
            yield result
    finally:
        sys.settrace(previous)
        result["ops"], result["lines"] = counter.count, lines[0]
