"""The bootstrap's counts-only inner loop gives what building a table per replicate gives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from undercount import datasets
from undercount.core.table import patterns_from_codes
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import _run_chunk, replicate_estimate, replicate_table


def _per_table(estimator, lists, codes, draws) -> np.ndarray:
    patterns = patterns_from_codes(codes, len(lists))
    out = []
    for counts in draws:
        keep = counts > 0
        table = replicate_table(lists, patterns[keep], counts[keep])
        out.append(math.inf if table is None else replicate_estimate(estimator, table))
    return np.array(out)


@pytest.mark.parametrize(
    ("name", "estimator"),
    [
        ("uk_2013_5", LogLinearEstimator(select="stepwise")),
        ("uk_2013", LogLinearEstimator(select="stepwise", non_overlap="exclude")),
        # Not stepwise: goes through a table as before.
        ("korea", LogLinearEstimator(select="bic")),
    ],
)
def test_run_chunk_matches_table_per_replicate(name, estimator) -> None:
    table = datasets.load(name)
    J = table.n_lists
    codes = np.arange(1, 2**J)
    observed = table.full_counts()[1:]
    rng = np.random.default_rng(5)
    n = int(observed.sum())
    # Full-size resamples, sparse ones, and degenerate rows (an empty list; one list holding
    # everyone; no one at all).
    draws = np.vstack([
        rng.multinomial(n, observed / n, size=15),
        rng.multinomial(60, observed / n, size=15),
        np.where(codes & 1, 0, observed)[None, :],
        np.where(codes & (1 << (J - 1)), observed, 0)[None, :],
        np.zeros((1, len(codes)), dtype=np.int64),
    ])
    got = _run_chunk((estimator, table.lists, codes, draws))
    want = _per_table(estimator, table.lists, codes, draws)
    assert np.array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-12)
    assert np.isinf(got[-3:]).all()
