"""harness/grade/digests.py: the cached test digests are Hypothesis's own values, per case."""
import importlib
import pkgutil

import properties
from harness.grade import digests


def _property_tests():
    for info in pkgutil.iter_modules(properties.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"properties.{info.name}")
            for name in dir(module):
                test = getattr(module, name)
                if name.startswith("test_") and hasattr(test, "hypothesis"):
                    yield test.hypothesis.inner_test


def test_cached_digests_are_hypothesis_own_per_case():
    assert digests.install(), "the pinned Hypothesis has function_digest where digests.py looks"
    import hypothesis.core
    from hypothesis.internal import reflection
    assert hypothesis.core.function_digest is digests.cached_function_digest
    original, cleaned = digests._original, reflection._clean_source
    assert hasattr(cleaned, "cache_info"), "the cleaned source is kept per text"

    def want_of(test):  # Hypothesis's own digest, nothing kept
        reflection._clean_source = cleaned.__wrapped__
        try:
            return original(test)
        finally:
            reflection._clean_source = cleaned

    tests = list(_property_tests())
    assert len(tests) >= 10
    seen = set()
    for test in tests:
        before = test.__dict__.get("_hypothesis_internal_add_digest")  # a run's own case, kept
        for case in (b"case-a", b"case-b"):  # what the pytest plugin sets per parametrize case
            test._hypothesis_internal_add_digest = case
            want = want_of(test)
            assert digests.cached_function_digest(test) == want  # computed
            assert reflection.function_digest(test) == want      # kept
            seen.add(want)
        if before is None:
            del test._hypothesis_internal_add_digest
        else:
            test._hypothesis_internal_add_digest = before
    assert len(seen) == 2 * len(tests), "each function and case keeps a digest of its own"
