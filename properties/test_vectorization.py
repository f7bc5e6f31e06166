"""The vectorized losses run no Python loop over examples (SPEC.md). Three views, each
able to fail on its own:
- the work they do, counted in the worker (tensor operations dispatched, lines of the
  file run), does not grow from N=8 to N=32: precise, but measured beside the
  submission, which could switch the counters off;
- the file's syntax tree, read here (harness/judge/static_checks.py): no loop over examples and
  no use of the naive losses in the function or in any function of the file it reaches;
- the time of one call at a large N, measured here around the round trip (less the time
  its arguments take to travel), against one `X @ W` of the same shapes timed here: a
  Python loop over 32768 examples is two to three orders of magnitude slower than
  whole-tensor code.
"""
import time

import pytest
import torch

from harness.api import VECTORIZED_LOSSES
from harness.judge.compare import fail
from harness.judge.repro import vectorized_snippet
from harness.judge.static_checks import vectorization_findings
from properties.loss_calls import WORK_SIZES, work_growth
from properties.params import names

REWRITE = "rewrite the loop over examples as whole-matrix operations (X @ W, masks, gather)"
RULE = "is not vectorized: {} (SPEC.md, Losses: no Python loop over examples; do not call the naive version)"
# The timing check. Calibrated on this 2-core machine under load 5 (median of the zoo's
# correct files and the shipped code): correct files take 0-46 x one X @ W at this size,
# a loop over examples 3000-4000 x (svm_vec_hidden_loop). The limit sits between, with a
# factor of 8 below it for a loaded machine; the floor is timed in the same run, so load
# slows both sides.
TIMED_N, TIMED_D, TIMED_C = 32768, 16, 10
TIME_LIMIT_FLOORS = 400


@pytest.mark.parametrize("row", names(VECTORIZED_LOSSES))
def test_work_does_not_grow_with_n(subject, row):
    for what, unit, small, large in work_growth(subject, row.name):
        fail(row.name, RULE.format("its work grows with the number of examples N"),
             [f"{unit}: {small} at N = {WORK_SIZES[0]}, {large} at N = {WORK_SIZES[1]}", REWRITE],
             vectorized_snippet(row.name))


@pytest.mark.parametrize("row", names(VECTORIZED_LOSSES))
def test_source_has_no_loop_over_examples(subject, row):
    subject.require(row.name)
    findings = vectorization_findings(subject.path.read_text(errors="replace"), row.name)
    if findings:
        fail(row.name, RULE.format("its source loops over the examples or uses a naive loss"),
             [f"line {f.line} (in {f.function}): {f.what}" for f in findings[:3]] + [REWRITE],
             vectorized_snippet(row.name))


def _floor_seconds(W, X, repeat=5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        X @ W
        best = min(best, time.perf_counter() - start)
    return best


def _floor_over(W, X, span: float, quiet: float) -> float:
    """One X @ W's mean time over a run of them lasting about `span` seconds."""
    runs = max(1, min(int(span / max(quiet, 1e-6)), 20000))
    start = time.perf_counter()
    for _ in range(runs):
        X @ W
    return (time.perf_counter() - start) / runs


@pytest.mark.parametrize("row", names(VECTORIZED_LOSSES))
def test_time_at_large_n_is_not_a_loop(request, subject, row):
    # Once the work or the source check has found the loop, this call adds nothing to the
    # verdict, and a loop over TIMED_N examples can outlast the call timeout on a loaded
    # machine, which would turn that named failure into an error (softmax_vec_calls_naive).
    outcomes = request.config.harness_outcomes
    if outcomes is not None and any(RULE.split("{}")[0] in m for m in outcomes.messages[row.name]):
        pytest.skip(f"{row.name} already fails the vectorization rule")
    gen = torch.Generator().manual_seed(TIMED_N)
    W = torch.randn(TIMED_D, TIMED_C, generator=gen, dtype=torch.float64)
    X = torch.randn(TIMED_N, TIMED_D, generator=gen, dtype=torch.float64)
    y = torch.randint(TIMED_C, (TIMED_N,), generator=gen)
    # Sent to the submission's side once (4 MiB of X): every timed call names them there.
    kept = [subject.keep(t) for t in (W, X, y)]
    for attempt in range(3):  # a slow call may be noise: it fails only if it stays slow
        seconds = subject.time_call(row.name, *kept, 0.1)
        floor = _floor_seconds(W, X)
        if seconds <= TIME_LIMIT_FLOORS * floor:
            return
        if seconds > 10 * TIME_LIMIT_FLOORS * floor:
            break  # no machine's noise is that large: no need to wait for more loops
        # The best of a few short products escapes the load that a call of 50-200 ms does
        # not (a real student's `scores[range(N), y]`, 80 x quiet, went past 400 x beside
        # CI's other worker): so the floor is timed again over as long as the call took
        # (half a second at most: a loop over examples takes seconds, and stays 3000 x).
        floor = max(floor, _floor_over(W, X, min(seconds, 0.5), floor))
        if seconds <= TIME_LIMIT_FLOORS * floor:
            return
    fail(row.name, RULE.format("one call at a large N takes as long as a loop over examples"),
         [f"N = {TIMED_N}, D = {TIMED_D}, C = {TIMED_C}: {seconds * 1e3:.0f} ms, "
          f"{seconds / floor:.0f} x one X @ W ({floor * 1e3:.2f} ms; the limit is {TIME_LIMIT_FLOORS} x)",
          REWRITE], vectorized_snippet(row.name))
