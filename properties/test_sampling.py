"""sample_batch: shapes, rows drawn with their own labels, the course's RNG."""
import math

import torch
from hypothesis import given
from hypothesis import strategies as st

import pytest

from harness.judge.compare import type_name, fail
from harness.judge.repro import sample_snippet
from harness.errors import SubmissionError
from properties.loss_calls import attach_repro
from properties.params import api, secondary

NAME = "sample_batch"
pytestmark = api(NAME)
SPEC = "SPEC.md, sample_batch"


def indexed_data(n, d, num_classes=3, seed=0):
    """Row i of X starts with i, so every drawn row tells which row it is."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.cat([torch.arange(n, dtype=torch.float64).unsqueeze(1),
                   torch.randn(n, d - 1, generator=gen, dtype=torch.float64)], dim=1)
    y = torch.randint(num_classes, (n,), generator=gen)
    return X, y


def evidence(subject, **facts) -> dict:
    """For the mistake recognizers: facts, and a probe drawing from n indexed rows after a seed."""
    def probe(n, batch_size, seed):
        X, y = indexed_data(n, 2)
        subject.reset_seed(seed)
        return subject.call(NAME, X, y, n, batch_size)[0][:, 0].long().tolist()
    return dict(facts, function=NAME, probe=probe)


def draw(subject, X, y, batch_size, repro):
    try:
        out = subject.call(NAME, X, y, X.shape[0], batch_size)
    except (SubmissionError, AssertionError) as exc:
        raise attach_repro(exc, repro)
    if not (isinstance(out, tuple) and len(out) == 2 and all(type(t) is torch.Tensor for t in out)):
        fail(NAME, f"must return a tuple (X_batch, y_batch) of two tensors ({SPEC})",
             [f"got {type_name(out)}: {str(out)[:200]}"], repro, evidence(subject, rule="form"))
    return out[0], out[1]


@given(n=st.integers(1, 12), d=st.integers(1, 4), batch_size=st.integers(1, 30), seed=st.integers(0, 99))
def test_rows_with_their_labels(subject, n, d, batch_size, seed):
    """The primary property: (batch_size, D) rows of X, each with its own label."""
    X, y = indexed_data(n, d + 1, seed=seed)
    repro = sample_snippet(X, y, f"draw(X, y, batch_size={batch_size}, seed={seed})")
    subject.reset_seed(seed)  # the course's reset_seed: random.seed + torch.manual_seed
    X_batch, y_batch = draw(subject, X, y, batch_size, repro)
    want = ((batch_size, X.shape[1]), (batch_size,))
    if (tuple(X_batch.shape), tuple(y_batch.shape)) != want:
        fail(NAME, "X_batch must be (batch_size, D) and y_batch (batch_size,)"
                   + (" (batch_size may exceed num_train: sample with replacement)" if batch_size > n else "")
                   + f" ({SPEC})",
             [f"expected shapes {want}, got {tuple(X_batch.shape)}, {tuple(y_batch.shape)}"], repro,
             evidence(subject, rule="shape",  # short of rows it could have drawn (not of num_train)
                      short_by=batch_size - (X_batch.shape[0] if X_batch.dim() else 0) if batch_size <= n else None))
    if X_batch.dtype != X.dtype or y_batch.dtype != y.dtype or X_batch.device != X.device:
        fail(NAME, f"the batch must keep the dtype and device of X and y ({SPEC})",
             [f"got {X_batch.dtype}, {y_batch.dtype} on {X_batch.device}"], repro,
             evidence(subject, rule="dtype"))
    for k in range(batch_size):
        i = int(X_batch[k, 0])
        if not (0 <= i < n and X_batch[k, 0] == i and torch.equal(X_batch[k], X[i])):
            fail(NAME, f"every row of X_batch must be a row of X ({SPEC})",
                 [f"X_batch[{k}] = {X_batch[k].tolist()}"], repro, evidence(subject, rule="rows"))
        if y_batch[k] != y[i]:
            fail(NAME, f"every row must come with its own label ({SPEC})",
                 [f"X_batch[{k}] is X[{i}], whose label is {int(y[i])}, but y_batch[{k}] = {int(y_batch[k])}"],
                 repro, evidence(subject, rule="labels"))


@secondary
@given(seed=st.integers(0, 2**31 - 1))
def test_reproducible_after_reset_seed(subject, seed):
    """After the course's reset_seed (random + torch) the same batch comes out."""
    X, y = indexed_data(10, 3)
    repro = sample_snippet(X, y, f"""
first = draw(X, y, 20, seed={seed})
second = draw(X, y, 20, seed={seed})
assert first == second, f"expected the same rows after the same seed: {{first}}, then {{second}}"
""")
    subject.reset_seed(seed)
    first, _ = draw(subject, X, y, 20, repro)
    subject.reset_seed(seed)
    second, _ = draw(subject, X, y, 20, repro)
    if not torch.equal(first, second):
        fail(NAME, f"is not reproducible after reset_seed(n) (random.seed + torch.manual_seed; {SPEC})",
             [f"seed {seed}: first rows {first[:, 0].long().tolist()}, then {second[:, 0].long().tolist()}"],
             repro, evidence(subject, rule="reproducible"))


def test_batches_differ_across_seeds(subject):
    """20 draws from 10 rows: two seeds agree by chance with probability 1e-20."""
    X, y = indexed_data(10, 3)
    repro = sample_snippet(X, y, """
first, second = draw(X, y, 20, seed=1), draw(X, y, 20, seed=2)
assert first != second, f"expected different rows for seeds 1 and 2, got {first} for both"
""")
    batches = []
    for seed in (1, 2):
        subject.reset_seed(seed)
        batches.append(draw(subject, X, y, 20, repro)[0])
    if torch.equal(*batches):
        fail(NAME, f"returns the same batch for different seeds: rows must be drawn at random ({SPEC})",
             [f"rows {batches[0][:, 0].long().tolist()} for seeds 1 and 2"], repro,
             evidence(subject, rule="random"))


def draws_for_coverage(n, false_alarm=1e-9):
    """Draws m such that P(some row of n is never drawn) <= n (1 - 1/n)^m <= false_alarm."""
    return math.ceil(math.log(false_alarm / n) / math.log(1 - 1 / n))


@pytest.mark.parametrize("n", [2, 10])
def test_every_row_reachable(subject, n):
    """Uniform draws reach every row; a correct sampler fails this with probability < 1e-9."""
    X, y = indexed_data(n, 2)
    batch_size = 25
    calls = math.ceil(draws_for_coverage(n) / batch_size)
    repro = sample_snippet(X, y, f"""
torch.manual_seed(0)
seen = set()
for _ in range({calls}):  # a correct sampler misses a row with probability < 1e-9
    seen.update(draw(X, y, {batch_size}))
missing = sorted(set(range(X.shape[0])) - seen)
assert not missing, f"expected every row to be drawn in {calls * batch_size} draws; rows {{missing}} never were"
""")
    seen = set()
    for _ in range(calls):
        X_batch, _ = draw(subject, X, y, batch_size, repro)
        seen.update(int(v) for v in X_batch[:, 0])
    missing = sorted(set(range(n)) - seen)
    if missing:
        fail(NAME, f"never draws some rows of X: every row must be reachable ({SPEC})",
             [f"rows {missing} of {n} never drawn in {calls * batch_size} draws"], repro,
             evidence(subject, rule="coverage", last_row_only=missing == [n - 1]))


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
    limit = chi2_threshold(UNIFORM_ROWS - 1)
    repro = sample_snippet(X, y, f"""
rows = draw(X, y, {UNIFORM_DRAWS}, seed={UNIFORM_SEED})
counts = torch.bincount(torch.tensor(rows), minlength={UNIFORM_ROWS}).tolist()
statistic = sum((c - {UNIFORM_DRAWS / UNIFORM_ROWS}) ** 2 / {UNIFORM_DRAWS / UNIFORM_ROWS} for c in counts)
assert statistic <= {limit:.6f}, f"expected every row equally likely (about {UNIFORM_DRAWS / UNIFORM_ROWS:.0f} draws each), got counts {{counts}}: chi-square {{statistic:.1f}} > {limit:.1f}"
""")
    subject.reset_seed(UNIFORM_SEED)
    X_batch, _ = draw(subject, X, y, UNIFORM_DRAWS, repro)
    rows = X_batch[:, 0].long() if tuple(X_batch.shape) == (UNIFORM_DRAWS, 2) else None
    if rows is None or not bool(((rows >= 0) & (rows < UNIFORM_ROWS)).all()):
        return  # test_rows_with_their_labels blames the shape and the rows
    counts = torch.bincount(rows, minlength=UNIFORM_ROWS).tolist()
    expected = UNIFORM_DRAWS / UNIFORM_ROWS
    statistic = sum((c - expected) ** 2 / expected for c in counts)
    if statistic > limit:
        fail(NAME, "rows must be equally likely on every draw (torch.randint(num_train, (batch_size,)))",
             [f"{UNIFORM_DRAWS} draws from {UNIFORM_ROWS} rows after reset_seed({UNIFORM_SEED}): counts {counts}"
              f" (expected {expected:.0f} each); chi-square {statistic:.1f} > {limit:.1f}, which a uniform"
              " sampler exceeds with probability 1e-9"], repro, evidence(subject, rule="uniform"))
