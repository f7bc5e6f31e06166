"""sample_batch: shapes, rows drawn with their own labels, the course's RNG."""
import math

import torch
from hypothesis import given
from hypothesis import strategies as st

import pytest

from harness.compare import type_name, fail, repro_call
from properties.params import api

NAME = "sample_batch"
pytestmark = api(NAME)


def indexed_data(n, d, num_classes=3, seed=0):
    """Row i of X starts with i, so every drawn row tells which row it is."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.cat([torch.arange(n, dtype=torch.float64).unsqueeze(1),
                   torch.randn(n, d - 1, generator=gen, dtype=torch.float64)], dim=1)
    y = torch.randint(num_classes, (n,), generator=gen)
    return X, y


def draw(subject, X, y, batch_size):
    repro = repro_call(NAME, "X, y, X.shape[0], batch_size",
                       {"X": X, "y": y, "batch_size": batch_size}, "X_batch, y_batch")
    out = subject.call(NAME, X, y, X.shape[0], batch_size)
    if not (isinstance(out, tuple) and len(out) == 2 and all(type(t) is torch.Tensor for t in out)):
        fail(NAME, "must return a tuple (X_batch, y_batch) of two tensors",
             [f"got {type_name(out)}: {str(out)[:200]}"], repro)
    return out[0], out[1], repro


@given(n=st.integers(1, 12), d=st.integers(1, 4), batch_size=st.integers(1, 30), seed=st.integers(0, 99))
def test_rows_with_their_labels(subject, n, d, batch_size, seed):
    """The primary property: (batch_size, D) rows of X, each with its own label."""
    X, y = indexed_data(n, d + 1, seed=seed)
    subject.reset_seed(seed)  # the course's reset_seed: random.seed + torch.manual_seed
    X_batch, y_batch, repro = draw(subject, X, y, batch_size)
    want = ((batch_size, X.shape[1]), (batch_size,))
    if (tuple(X_batch.shape), tuple(y_batch.shape)) != want:
        fail(NAME, "X_batch must be (batch_size, D) and y_batch (batch_size,)"
                   + (" (batch_size may exceed num_train: sample with replacement)" if batch_size > n else ""),
             [f"expected shapes {want}, got {tuple(X_batch.shape)}, {tuple(y_batch.shape)}"], repro)
    if X_batch.dtype != X.dtype or y_batch.dtype != y.dtype or X_batch.device != X.device:
        fail(NAME, "the batch must keep the dtype and device of X and y",
             [f"got {X_batch.dtype}, {y_batch.dtype} on {X_batch.device}"], repro)
    for k in range(batch_size):
        i = int(X_batch[k, 0])
        if not (0 <= i < n and X_batch[k, 0] == i and torch.equal(X_batch[k], X[i])):
            fail(NAME, "every row of X_batch must be a row of X", [f"X_batch[{k}] = {X_batch[k].tolist()}"],
                 repro)
        if y_batch[k] != y[i]:
            fail(NAME, "every row must come with its own label (draw one set of indices for X and y)",
                 [f"X_batch[{k}] is X[{i}], whose label is {int(y[i])}, but y_batch[{k}] = {int(y_batch[k])}"],
                 repro)


@given(seed=st.integers(0, 2**31 - 1))
def test_reproducible_after_reset_seed(subject, seed):
    """After the course's reset_seed (random + torch) the same batch comes out."""
    X, y = indexed_data(10, 3)
    subject.reset_seed(seed)
    first, _, repro = draw(subject, X, y, 20)
    subject.reset_seed(seed)
    second, _, _ = draw(subject, X, y, 20)
    if not torch.equal(first, second):
        fail(NAME, "is not reproducible after reset_seed(n) (random.seed + torch.manual_seed):"
                   " draw with torch's generator (torch.randint), not numpy's",
             [f"seed {seed}: first rows {first[:, 0].long().tolist()}, then {second[:, 0].long().tolist()}"],
             f"reset_seed({seed})  # random.seed and torch.manual_seed\n" + repro)


def test_batches_differ_across_seeds(subject):
    """20 draws from 10 rows: two seeds agree by chance with probability 1e-20."""
    X, y = indexed_data(10, 3)
    batches = []
    for seed in (1, 2):
        subject.reset_seed(seed)
        batches.append(draw(subject, X, y, 20)[0])
    if torch.equal(*batches):
        fail(NAME, "returns the same batch for different seeds: rows must be drawn at random",
             [f"rows {batches[0][:, 0].long().tolist()} for seeds 1 and 2"])


def draws_for_coverage(n, false_alarm=1e-9):
    """Draws m such that P(some row of n is never drawn) <= n (1 - 1/n)^m <= false_alarm."""
    return math.ceil(math.log(false_alarm / n) / math.log(1 - 1 / n))


@pytest.mark.parametrize("n", [2, 10])
def test_every_row_reachable(subject, n):
    """Uniform draws reach every row; a correct sampler fails this with probability < 1e-9."""
    X, y = indexed_data(n, 2)
    batch_size = 25
    seen = set()
    calls = math.ceil(draws_for_coverage(n) / batch_size)
    for _ in range(calls):
        X_batch, _, _ = draw(subject, X, y, batch_size)
        seen.update(int(v) for v in X_batch[:, 0])
    missing = sorted(set(range(n)) - seen)
    if missing:
        fail(NAME, "never draws some rows of X: every row must be reachable (torch.randint(num_train, ...))",
             [f"rows {missing} of {n} never drawn in {calls * batch_size} draws"])


def chi2_sf_even(x, df):
    """P(chi-square with an even number df of degrees of freedom > x), in closed form:
    exp(-x/2) * sum_{i < df/2} (x/2)^i / i!."""
    assert df % 2 == 0
    term, total = 1.0, 1.0
    for i in range(1, df // 2):
        term *= (x / 2) / i
        total += term
    return math.exp(-x / 2) * total


def chi2_threshold(df, false_alarm=1e-9):
    """The smallest x (to 1e-6) with P(chi-square_df > x) <= false_alarm, by bisection."""
    lo, hi = 0.0, 1000.0
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if chi2_sf_even(mid, df) > false_alarm else (lo, mid)
    return hi


# Uniformity: UNIFORM_DRAWS draws from UNIFORM_ROWS = 11 rows, at a fixed seed. Pearson's
# statistic sum (count - m/11)^2 / (m/11) follows chi-square with 10 degrees of freedom
# for a uniform sampler (m = 20000 draws: every expected count is 1818, where the
# approximation is accurate); it exceeds chi2_threshold(10) = 62.9 with probability
# 1e-9, so a correct sampler fails with probability below 1e-9. A sampler that draws one
# row twice as often has a noncentrality 0.069 * m = 1388: it is always caught.
UNIFORM_ROWS, UNIFORM_DRAWS, UNIFORM_SEED = 11, 20000, 498


def test_rows_equally_likely(subject):
    X, y = indexed_data(UNIFORM_ROWS, 2)
    subject.reset_seed(UNIFORM_SEED)
    X_batch, _, repro = draw(subject, X, y, UNIFORM_DRAWS)
    rows = X_batch[:, 0].long() if tuple(X_batch.shape) == (UNIFORM_DRAWS, 2) else None
    if rows is None or not bool(((rows >= 0) & (rows < UNIFORM_ROWS)).all()):
        return  # test_rows_with_their_labels blames the shape and the rows
    counts = torch.bincount(rows, minlength=UNIFORM_ROWS).tolist()
    expected = UNIFORM_DRAWS / UNIFORM_ROWS
    statistic = sum((c - expected) ** 2 / expected for c in counts)
    limit = chi2_threshold(UNIFORM_ROWS - 1)
    if statistic > limit:
        fail(NAME, "rows must be equally likely on every draw (torch.randint(num_train, (batch_size,)))",
             [f"{UNIFORM_DRAWS} draws from {UNIFORM_ROWS} rows after reset_seed({UNIFORM_SEED}): counts {counts}"
              f" (expected {expected:.0f} each); chi-square {statistic:.1f} > {limit:.1f}, which a uniform"
              " sampler exceeds with probability 1e-9"], f"reset_seed({UNIFORM_SEED})\n" + repro)
