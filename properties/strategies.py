"""Hypothesis strategies for the inputs of the API: W, X, y, reg and their shapes.

Values are drawn as float64 numpy arrays (they shrink towards small, simple
numbers) and turned into tensors of the dtype and device under test by `as_torch`.

Hypothesis pays for every choice it makes (tens of microseconds: the draw, its record, the
replay bookkeeping), so arrays drawn element by element cost a loss case some 60 choices and
the grading run a quarter of its CPU (docs/maintainers.md, "CPU per submission"). An array
here is one choice (`float_arrays`) and its labels one (`labels`): a loss case is a dozen
choices, and a failing one still shrinks towards whole numbers, zeros and few non-zero
entries.
"""
import functools
import itertools
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

# Shapes the course's edge cases need, besides the general small ones:
# one example, one feature, two classes, many classes.
EDGE_SHAPES = ((1, 3, 3), (6, 1, 3), (6, 3, 2), (3, 4, 40))


class LossCase(NamedTuple):
    W: np.ndarray   # (D, C) float64
    X: np.ndarray   # (N, D) float64
    y: np.ndarray   # (N,) int64
    reg: float

    def as_torch(self, dtype=torch.float64, device="cpu"):
        return (torch.tensor(self.W, dtype=dtype, device=device),
                torch.tensor(self.X, dtype=dtype, device=device),
                torch.tensor(self.y, dtype=torch.int64, device=device),
                float(self.reg))


# The strategies that depend on a drawn shape are built once per shape and kept
# (lru_cache): Hypothesis validates every new strategy object, which made building
# them anew for each example a good part of the generation's cost. The same strategy
# draws the same values, so the examples are unchanged.

# The grains of an array's values, simplest first (where shrinking goes): whole numbers
# and halves (exact products and sums: ties between scores and margins of exactly 0), any
# float of the range (what a float32 cast or a summation order changes), and the range's
# ends mixed with tiny magnitudes (the values Hypothesis's own float strategy favours).
GRAINS = ("whole", "halves", "any", "extremes")
TINY = (1e-5, 1.1920928955078125e-07, 2.220446049250313e-16, 1.1754943508222875e-38,
        2.2250738585072014e-308)


def _values(rng, grain, bound, size):
    """`size` values of the grain within [-bound, bound]; whole numbers and halves are never 0
    (zeros are the background's), so a failing array shrinks to a few small non-zero ones."""
    if grain in ("whole", "halves"):
        steps = 1 if grain == "whole" else 2
        most = int(np.floor(bound * steps))
        if most == 0:
            return np.zeros(size)
        return rng.choice([-1.0, 1.0], size) * rng.integers(1, most + 1, size) / steps
    if grain == "any":
        return rng.uniform(-bound, bound, size)
    ends = [bound, bound / 2, bound / 3, bound * (1 - 1e-5), *(t for t in TINY if t <= bound)]
    return rng.choice(np.array([0.0, *ends, *(-e for e in ends)]), size)


DENSITIES = 11  # tenths of the entries that hold values of the grain: 0, 1/10, ..., all
KNOBS = len(GRAINS) * DENSITIES * 2  # grain x density x background


def _array(shape, bound, code):
    """The array that `code` names: its low digits the grain, the density and whether the
    background is 0 or a value of the grain (repeated values); the rest the seed of the
    values and of which entries hold them. Shrinking `code` lowers the seed first, then
    the knobs, towards zeros."""
    code, grain = divmod(code, len(GRAINS))
    code, density = divmod(code, DENSITIES)
    seed, background = divmod(code, 2)
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    values = _values(rng, GRAINS[grain], bound, size + 1)
    kept = rng.random(size) < density / (DENSITIES - 1)
    return np.where(kept, values[:size], values[size] if background else 0.0).reshape(shape)


@lru_cache(maxsize=None)
def float_arrays(shape, bound):
    """float64 arrays of `shape` within [-bound, bound], as ONE choice (`_array`)."""
    return st.integers(0, KNOBS * 2**32 - 1).map(functools.partial(_array, shape, bound))


@lru_cache(maxsize=None)
def shapes(max_n=8, max_d=6, max_c=6):
    """(N, D, C): any of the small ones, as one choice (smallest first, where shrinking
    goes), or one of the edge cases."""
    general = sorted(itertools.product(range(1, max_n + 1), range(1, max_d + 1), range(2, max_c + 1)),
                     key=lambda s: (s[0] * s[1] * s[2], s))
    return st.one_of(st.sampled_from(general), st.sampled_from(EDGE_SHAPES))


# Hypothesis draws most integers of a wide range small (its distribution is log-scaled):
# read as digits, the last rows would nearly always be labelled 0. A code is first
# multiplied by this prime (a bijection modulo c**n, for any c < 40 it is prime to): any
# labelling is as likely, and code 0, where shrinking goes, is still every label 0.
SCRAMBLE = 2654435761


def _labels(code, n, c):
    """y[i] = the i-th base-c digit of code * SCRAMBLE mod c**n, from the least significant."""
    code = code * SCRAMBLE % c ** n
    y = np.empty(n, dtype=np.int64)
    for i in range(n):
        code, y[i] = divmod(code, c)
    return y


@lru_cache(maxsize=None)
def labels(n, c):
    """Any of the c**n labellings, as ONE integer choice (`_labels`); plus all rows of one
    label."""
    any_labels = st.integers(0, c ** n - 1).map(functools.partial(_labels, n=n, c=c))
    one_label = st.integers(0, c - 1).map(lambda k: np.full(n, k, dtype=np.int64))
    return st.one_of(any_labels, one_label)


regs = st.one_of(st.just(0.0), st.floats(1e-6, 1.0), st.just(1e3))


@st.composite
def loss_cases(draw, shape=None, w_bound=1.0, x_bound=3.0, reg=regs):
    """Moderate values: scores stay within +-30, so no probability underflows even in float32."""
    n, d, c = draw(shape if shape is not None else shapes())
    W = draw(float_arrays((d, c), w_bound))
    X = draw(float_arrays((n, d), x_bound))
    return LossCase(W, X, draw(labels(n, c)), draw(reg))


@st.composite
def offset_cases(draw):
    """Scores with a huge offset per row, shared by all classes of the row.

    The last column of X holds the row's offset and the last row of W is all ones,
    so s_ij = (moderate part) + offset_i. Offsets differ between rows (a global max
    instead of a per-row max underflows the rows far below it)."""
    case = draw(loss_cases(shape=st.tuples(st.integers(2, 6), st.integers(1, 4), st.integers(2, 5))))
    n, c = case.X.shape[0], case.W.shape[1]
    offsets = draw(arrays(np.float64, (n,), elements=st.sampled_from([-2e3, -800.0, 0.0, 800.0, 2e3, 1e4])))
    offsets[0], offsets[-1] = 1e4, -1e4  # always two rows 2e4 apart
    X = np.concatenate([case.X, offsets[:, None]], axis=1)
    W = np.concatenate([case.W, np.ones((1, c))], axis=0)
    return LossCase(W, X, case.y, case.reg)


dtypes = st.sampled_from([torch.float64, torch.float32])
