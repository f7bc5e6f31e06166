"""Hypothesis's pool of "local constants", kept empty in a grading run: each property
draws the same examples whichever of the harness's modules happen to be loaded.

Hypothesis mixes into the data it generates (with probability 0.05 a draw) the constants
it finds in the source of every *local* module loaded so far
(hypothesis.internal.conjecture.providers._get_local_constants). In a checkout those are
the harness's own modules (in an installed copy, none), and only those imported by the
time of the draw. So a property's examples, and the counterexample a failure shrinks
to, depended on what else was loaded: a warm run's server imports the warm command's
module, a run with the verdict cache imports the cache's, a failure earlier in the run
imports a recognizer, and a checkout holds what an installed copy does not. None of those
constants are the code under test (the submission runs in the worker and is never
scanned). With the pool empty, Hypothesis's own constants (0, 1, -1, the float edge
cases, ...) are still drawn, and a fresh run, a warm one, batch mode and a run that
reuses cached verdicts draw alike (tests/test_cache.py compares their reports).
"""


def install() -> bool:
    """Make the pool empty and keep it so: True if Hypothesis has one to empty."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:
        return False
    if not callable(getattr(providers, "_get_local_constants", None)) or not hasattr(providers, "Constants"):
        return False
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()  # pools computed from constants scanned before this
    return True
