"""What the grading needs from a correct solution, as data (harness/judge/shipped.json):
the shipped implementation's search grids (the end-to-end check's reference grid) and its
vectorized losses' work counters (the efficiency note's reference). Both editions read
them from here, so the student edition (docs/install.md), which ships no solution, grades
exactly as the full tree does.

tests/test_packaging.py checks that the file equals what implementations/linear_classifier.py
gives today; `python -m tests.test_packaging --write-shipped` rewrites it after a change there.
"""
import functools
import json
from pathlib import Path
from typing import Dict, List, Tuple

FILE = Path(__file__).with_name("shipped.json")


@functools.lru_cache(maxsize=None)
def _data() -> dict:
    return json.loads(FILE.read_text())


def grid(search: str) -> Tuple[List[float], List[float]]:
    """The shipped `search()` (svm_get_search_params, softmax_get_search_params): its
    learning rates and regularization strengths, as floats."""
    learning_rates, regs = _data()["grids"][search]
    return list(learning_rates), list(regs)


def counters(name: str) -> Dict[str, int]:
    """The shipped vectorized loss's counters (harness.judge.efficiency.COUNTERS) at the
    efficiency note's size (properties/test_efficiency.py)."""
    return dict(_data()["counters"][name])
