"""Hypothesis's test digests, computed once per test function and case instead of twice per
test: the same values, less CPU.

Hypothesis keys each test (its database entry and, with `derandomize`, the seed of every
example it generates) by `function_digest(test)`: the test's source, read with
`inspect.getsource` and cleaned by a tokenize round trip, plus its signature and the
parametrize case's id (`_hypothesis_internal_add_digest`). In a grading run that is 82
digests of 11 functions, about 1 ms each (0.08 CPU-s of a correct file's 3-4). A test's
source does not change while a run lasts, so the digest of a (function, signature, case)
is kept: the examples, their order and every verdict stay the same
(tests/test_digests.py checks the values against Hypothesis's own function).

The parametrize cases of one function share its source: the cleaned source (a pure
function of the source text, `_clean_source`) is kept per text too, so 11 functions pay
for the tokenize round trip, not 41 cases.

`install()` replaces the functions where Hypothesis looks them up (hypothesis.core and
hypothesis.internal.reflection); with another Hypothesis that lacks them, it does nothing.
"""
import functools
from typing import Callable, Dict, Optional, Tuple

_original: Optional[Callable] = None
_digests: Dict[Tuple, bytes] = {}


def cached_function_digest(function) -> bytes:
    from hypothesis.internal.reflection import get_signature
    try:
        # The function itself (its source, also through __wrapped__), its signature and case.
        key = (function, repr(get_signature(function)),
               getattr(function, "_hypothesis_internal_add_digest", None))
        hash(key)
    except Exception:  # no signature, or unhashable: as Hypothesis does, uncached
        return _original(function)
    digest = _digests.get(key)
    if digest is None:
        digest = _digests[key] = _original(function)
    return digest


def install() -> bool:
    """Put the cached digest in Hypothesis's place: True if it is there now."""
    global _original
    try:
        import hypothesis.core as core
        from hypothesis.internal import reflection
    except ImportError:
        return False
    if _original is None:
        if not all(callable(f) for f in (getattr(core, "function_digest", None),
                                         getattr(reflection, "function_digest", None),
                                         getattr(reflection, "_clean_source", None))):
            return False
        _original = reflection.function_digest
        reflection._clean_source = functools.lru_cache(maxsize=1024)(reflection._clean_source)
    core.function_digest = reflection.function_digest = cached_function_digest
    return True
