"""What a vectorized loss's counters say, in words (for the student note and the
benchmarks' counter gate): its work against the shipped implementation's at the same
size, in units a student can act on. The counters come from harness/confine/counting.py.

A counter of the submission measured in the worker is a hint only (a submission
written against this harness could forge it): it is printed as a note, never judged.
"""
from typing import Dict, List

# The units: one matrix product with X (N x D times D x C) is 2*N*D*C flops; an N x C
# array (the scores, a mask, the probabilities) and a copy of X, in bytes.
COUNTERS = ("flops", "ops", "peak_bytes")


def units(N: int, D: int, C: int, itemsize: int) -> Dict[str, float]:
    return {"product": 2.0 * N * D * C, "scores": float(N * C * itemsize),
            "copy_of_X": float(N * D * itemsize)}


def _times(a, b) -> str:
    return f"{a / b:.2f}x" if b else "-"


def compare(got: Dict[str, int], ref: Dict[str, int], N: int, D: int, C: int,
            itemsize: int) -> List[str]:
    """Sentences on where `got` costs more than `ref` (both from harness/confine/counting.py at
    the same N, D, C, dtype); [] when it costs no more."""
    u = units(N, D, C, itemsize)
    out = []
    products, ref_products = got["flops"] / u["product"], ref["flops"] / u["product"]
    if round(products, 1) > round(ref_products, 1):
        out.append(f"{products:.1f} products with X (N x D by D x C) where the reference "
                   f"needs {ref_products:.0f}: {_times(got['flops'], ref['flops'])} the "
                   "floating-point work (compute the scores once and reuse them)")
    extra = got["peak_bytes"] - ref["peak_bytes"]
    if extra > 0.5 * u["scores"]:
        what = (f"{extra / u['copy_of_X']:.1f} copies of X" if extra >= u["copy_of_X"]
                else f"{extra / u['scores']:.1f} N x C temporaries more")
        out.append(f"allocates {_times(got['peak_bytes'], ref['peak_bytes'])} the memory of "
                   f"the reference at its peak ({got['peak_bytes']:,} bytes beyond the inputs "
                   f"against {ref['peak_bytes']:,}: {what}; work in place, e.g. "
                   "`scores.sub_(...)`, `clamp_`, and drop arrays you no longer need)")
    if got["ops"] > 2 * ref["ops"]:
        out.append(f"dispatches {got['ops']} tensor operations where the reference needs "
                   f"{ref['ops']} (each costs microseconds however small: fuse the steps)")
    return out
