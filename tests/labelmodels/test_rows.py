"""Row-blocked passes (``_rows``): equal to the whole-matrix computation, and the estimators that use
them equal their references when ``n`` spans several blocks (an int8 ``L``, a remainder block)."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests.reference.dawid_skene_numpy import dawid_skene_em
from tests.reference.majority_vote_numpy import majority_vote
from wsbench.data import WeakLabels
from wsbench.labelmodels import DawidSkene, FlyingSquid, MajorityVote, MatrixCompletion
from wsbench.labelmodels._rows import ROW_CHUNK, block_rows, map_rows, sum_rows
from wsbench.synthetic import sample_dawid_skene


def _L(n, m=4, k=3, seed=0):
    return np.random.default_rng(seed).integers(-1, k, size=(n, m)).astype(np.int8)


@pytest.mark.parametrize("n", [53, 60, 7])  # prime (remainder block), divisible, one block
def test_sum_and_map_rows_equal_the_whole_matrix(n):
    L = jnp.asarray(_L(n))
    w = jnp.arange(n, dtype=jnp.float32)

    def f(Lc, wc):
        return {"votes": (Lc >= 0).sum(axis=0), "weighted": (wc[:, None] * (Lc == 1)).sum(axis=0)}

    got = jax.jit(lambda L, w: sum_rows(f, L, w, chunk=8))(L, w)
    want = f(L, w)
    np.testing.assert_array_equal(got["votes"], want["votes"])
    np.testing.assert_allclose(got["weighted"], want["weighted"], rtol=1e-6)

    def g(Lc, wc):
        return (Lc.astype(jnp.float32) * wc[:, None], (Lc == -1).any(axis=1))

    got = jax.jit(lambda L, w: map_rows(g, L, w, chunk=8))(L, w)
    for a, b in zip(got, g(L, w), strict=True):
        np.testing.assert_array_equal(a, b)


def test_block_rows_avoids_a_remainder_when_it_can():
    assert block_rows(1_000_000, 16384) == 15625  # 5**6 divides 1e6: no remainder block
    assert block_rows(32768, 16384) == 16384
    assert block_rows(16411, 16384) == 16384  # a prime: remainder block


@pytest.fixture(scope="module")
def big():
    """More rows than one block, not a multiple of any block size near it (a remainder block)."""
    n = 36857  # a prime above 2 x ROW_CHUNK: two full blocks and a remainder block
    sim = sample_dawid_skene(jr.key(5), n=n, m=5, n_classes=3, propensity=0.6)
    return np.asarray(sim.weak.L).astype(np.int8)


@pytest.mark.slow
def test_dawid_skene_over_blocks_matches_numpy_reference(big, key):
    assert block_rows(big.shape[0], ROW_CHUNK) == ROW_CHUNK  # the remainder path runs
    fitted = DawidSkene(n_iter=8, smoothing=0.5).fit(WeakLabels(L=big, n_classes=3), key=key)
    want = dawid_skene_em(big.astype(np.int64), n_classes=3, n_iter=8, smoothing=0.5)
    np.testing.assert_allclose(fitted.predict_proba(big), want["probs"], atol=2e-4)
    np.testing.assert_allclose(fitted.confusions(), want["confusions"], atol=2e-4)
    np.testing.assert_allclose(fitted.trace["objective"], want["objective"], rtol=1e-5)


@pytest.mark.slow
def test_int8_and_int32_give_the_same_fits_over_blocks(big, key):
    for est in (MajorityVote(), MatrixCompletion(n_iter=50), FlyingSquid()):
        a = est.fit(WeakLabels(L=big, n_classes=3), key=key)
        b = est.fit(WeakLabels(L=big.astype(np.int32), n_classes=3), key=key)
        np.testing.assert_allclose(a.predict_proba(big), b.predict_proba(big.astype(np.int32)))
    np.testing.assert_allclose(
        MajorityVote().fit(WeakLabels(L=big, n_classes=3), key=key).predict_proba(big),
        majority_vote(big.astype(np.int64), 3),
        atol=1e-6,
    )
