"""The one pass over ``L`` behind MatrixCompletion: overlap moments against a NumPy loop."""

import itertools

import numpy as np
import pytest

from wsbench.labelmodels import _statistics, overlap_stats
from wsbench.labelmodels._dependencies import _structure


def _numpy_triple_counts(L, triples, k):
    """``[t, (a k + b) k + c]``: rows on which triple t votes (a, b, c), by a loop over rows."""
    out = np.zeros((len(triples), k**3))
    for row in L:
        for t, (i, j, l) in enumerate(triples):
            if row[i] >= 0 and row[j] >= 0 and row[l] >= 0:
                out[t, (row[i] * k + row[j]) * k + row[l]] += 1
    return out


@pytest.mark.parametrize("sub_block", [False, True])
def test_third_moments_match_a_loop_over_rows(monkeypatch, sub_block):
    """Also with the triple counts split into row sub-blocks (the memory bound at large n): the
    counts are integers, so both ways give them exactly."""
    if sub_block:  # 256-row sub-blocks (the floor), and a remainder: 1201 = 4 * 256 + 177
        monkeypatch.setattr(_statistics, "_TRIPLE_ELEMENTS", 1)
    rng = np.random.default_rng(0)
    # a shape of its own per case: jit would otherwise reuse the other case's compiled program
    n, m, k = (1201 if sub_block else 1100), 7, 3
    L = np.where(rng.random((n, m)) < 0.6, rng.integers(0, k, (n, m)), -1).astype(np.int8)
    triples = _structure(m, k, ()).triples
    assert (_statistics._triple_chunk(len(triples)) < n) == sub_block
    stats = overlap_stats(L, k, triples=True)
    expected = _numpy_triple_counts(L, triples, k) / n
    np.testing.assert_allclose(np.asarray(stats.third_moments), expected, rtol=0, atol=1e-7)


def test_second_moments_match_numpy():
    rng = np.random.default_rng(1)
    n, m, k = 500, 5, 2
    L = np.where(rng.random((n, m)) < 0.5, rng.integers(0, k, (n, m)), -1)
    X = np.zeros((n, m * k))
    for r, j in itertools.product(range(n), range(m)):
        if L[r, j] >= 0:
            X[r, j * k + L[r, j]] = 1.0
    stats = overlap_stats(L, k, triples=False)
    np.testing.assert_allclose(np.asarray(stats.second_moments), X.T @ X / n, atol=1e-6)
    np.testing.assert_allclose(np.asarray(stats.coverage), (L >= 0).mean(0), atol=1e-7)
