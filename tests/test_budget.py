"""The Hypothesis budget (properties/params.py, `secondary`): the primary properties run
the loaded profile's max_examples, the secondary ones their share of it, in every profile."""
import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from properties.params import SECONDARY_SHARE, secondary

PROPERTIES = Path(__file__).resolve().parent.parent / "properties"

# A property that compares a function with its oracle on general inputs: the full budget.
PRIMARY = {"test_matches_oracle", "test_argmax_of_scores", "test_rows_with_their_labels",
           "test_sgd_steps", "test_trains_once_and_measures_both_splits"}


@pytest.mark.parametrize("profile, full", [("ci", 25), ("thorough", 400)])
def test_secondary_runs_its_share_of_the_loaded_profile(profile, full):
    before = settings.get_current_profile_name()
    settings.load_profile(profile)
    try:
        @secondary
        @given(st.integers())
        def prop(x):
            pass

        @given(st.integers())
        def primary(x):
            pass
        assert settings.default.max_examples == full
        assert prop._hypothesis_internal_use_settings.max_examples == round(full * SECONDARY_SHARE)
        assert prop._hypothesis_internal_use_settings.derandomize == settings.default.derandomize
        assert primary._hypothesis_internal_use_settings.max_examples == full
    finally:
        settings.load_profile(before)


def test_every_given_property_is_primary_or_secondary_as_listed():
    """Every @given property is either named here as primary or marked @secondary: a new
    property gets its budget by a decision, not by default."""
    found_primary, found_secondary = set(), set()
    for module in sorted(PROPERTIES.glob("test_*.py")):
        for node in ast.parse(module.read_text()).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            decorators = [ast.unparse(d) for d in node.decorator_list]
            if not any(d.startswith("given(") for d in decorators):
                continue
            (found_secondary if "secondary" in decorators else found_primary).add(node.name)
    assert found_primary == PRIMARY
    assert found_secondary and not found_secondary & PRIMARY
