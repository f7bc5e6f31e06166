"""Hypothesis strategies for the inputs of the API: W, X, y, reg and their shapes.

Values are drawn as float64 numpy arrays (they shrink towards small, simple
numbers) and turned into tensors of the dtype and device under test by `as_torch`.
"""
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

@lru_cache(maxsize=None)
def floats(bound):
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@lru_cache(maxsize=None)
def float_arrays(shape, bound):
    return arrays(np.float64, shape, elements=floats(bound))


@lru_cache(maxsize=None)
def shapes(max_n=8, max_d=6, max_c=6):
    general = st.tuples(st.integers(1, max_n), st.integers(1, max_d), st.integers(2, max_c))
    return st.one_of(general, st.sampled_from(EDGE_SHAPES))


@lru_cache(maxsize=None)
def labels(n, c):
    one_label = st.integers(0, c - 1).map(lambda k: np.full(n, k, dtype=np.int64))
    return st.one_of(arrays(np.int64, (n,), elements=st.integers(0, c - 1)), one_label)


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
