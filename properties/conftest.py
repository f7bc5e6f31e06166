"""Settings of the property suite alone (the benchmarks need torch's threads)."""
import pytest
import torch

from harness.errors import SubmissionError

# The properties use tiny tensors: on a busy 2-core machine, waking torch's thread
# pool costs milliseconds per op, which made the suite 4x slower.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _judged_function_is_reachable(request, subject):
    """Once the worker has died, or this function hung, or when the submission does not
    define it, its properties fail at once (Hypothesis would otherwise generate and shrink
    examples that all fail alike: 200 CPU-seconds for a file that defines nothing)."""
    marker = request.node.get_closest_marker("api")
    if not (marker and subject):
        return
    subject.require(marker.args[0])  # a missing name: MissingName, before any example
    reason = subject.unavailable(marker.args[0])
    if reason:
        raise SubmissionError(reason)


@pytest.fixture(scope="session")
def e2e_data(request):
    """The real images of the end-to-end check (loaded at the start when it is on)."""
    return request.config.harness_e2e_data
