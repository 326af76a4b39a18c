"""Bootstrap intervals over test rows: NumPy reference, masking, coverage, keys, bad input."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from wsbench.metrics import METRICS, accuracy, bootstrap_ci, bootstrap_samples, resample_indices


def _problem(key, n=120, k=3, unknown=0.25):
    kp, ky, km = jr.split(key, 3)
    probs = jax.nn.softmax(2.0 * jr.normal(kp, (n, k)), axis=-1)
    y = jr.randint(ky, (n,), 0, k)
    y = jnp.where(jr.uniform(km, (n,)) < unknown, -1, y)  # some rows have no gold label
    return probs, y.astype(jnp.int32)


def _np_accuracy(probs, y):
    keep = y >= 0
    return float(np.mean(np.argmax(probs[keep], axis=1) == y[keep]))


def test_matches_numpy_reference_on_the_same_resamples():
    probs, y = _problem(jr.key(0))
    key = jr.key(1)
    lo, hi = bootstrap_ci(accuracy, probs, y, n_boot=300, level=0.9, key=key)
    idx, y_boot = (np.asarray(a) for a in resample_indices(y, n_boot=300, key=key))
    P, Y = np.asarray(probs), np.asarray(y)
    n_valid = int((Y >= 0).sum())
    stats = []
    for b in range(300):
        rows = idx[b, :n_valid]
        assert (Y[rows] >= 0).all()  # only scorable rows are drawn
        assert (y_boot[b, n_valid:] == -1).all()  # padding slots are masked out
        np.testing.assert_array_equal(y_boot[b, :n_valid], Y[rows])
        stats.append(_np_accuracy(P[rows], Y[rows]))
    ref_lo, ref_hi = np.percentile(stats, [5.0, 95.0])
    np.testing.assert_allclose([lo, hi], [ref_lo, ref_hi], atol=1e-6)
    samples = bootstrap_samples(accuracy, probs, y, n_boot=300, key=key)
    np.testing.assert_allclose(samples, stats, atol=1e-6)


def test_resamples_are_uniform_over_scorable_rows():
    y = jnp.array([0, -1, 1, -1, 1, 0, -1, 1], dtype=jnp.int32)
    idx, _ = resample_indices(y, n_boot=4000, key=jr.key(3))
    drawn = np.asarray(idx[:, :5]).ravel()
    counts = np.bincount(drawn, minlength=8)
    assert counts[[1, 3, 6]].sum() == 0
    freq = counts[[0, 2, 4, 5, 7]] / drawn.size
    np.testing.assert_allclose(freq, 0.2, atol=0.01)  # 20000 draws: sd 0.003


def test_width_matches_the_binomial_standard_error():
    """Accuracy is a proportion: the 95% interval is about p +- 1.96 sqrt(p (1 - p) / n)."""
    n = 400
    y = jnp.zeros(n, dtype=jnp.int32)
    hit = jnp.arange(n) < 300  # accuracy exactly 0.75
    probs = jnp.where(hit[:, None], jnp.array([0.9, 0.1]), jnp.array([0.1, 0.9]))
    lo, hi = bootstrap_ci(accuracy, probs, y, n_boot=4000, key=jr.key(4))
    half = 1.96 * np.sqrt(0.75 * 0.25 / n)
    assert lo < 0.75 < hi
    np.testing.assert_allclose(float(hi - lo), 2 * half, rtol=0.1)


def test_coverage_on_a_known_problem():
    """300 independent test sets of 150 rows from a classifier with true accuracy 0.8 (and a third
    of the rows unlabeled): the 90% interval holds 0.8 in about 90% of them."""
    n, reps, p = 150, 300, 0.8
    k_hit, k_gold, k_boot = jr.split(jr.key(5), 3)
    hit = jr.uniform(k_hit, (reps, n)) < p
    gold = jnp.where(jr.uniform(k_gold, (reps, n)) < 1 / 3, -1, 0).astype(jnp.int32)
    probs = jnp.where(hit[..., None], jnp.array([0.7, 0.3]), jnp.array([0.3, 0.7]))
    ci = jax.jit(
        jax.vmap(lambda pr, yy, kk: bootstrap_ci(accuracy, pr, yy, n_boot=400, level=0.9, key=kk))
    )
    lo, hi = ci(probs, gold, jr.split(k_boot, reps))
    covered = float(jnp.mean((lo <= p) & (p <= hi)))
    assert 0.84 <= covered <= 0.95, covered  # binomial sd over 300 sets: 0.017


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_gives_an_ordered_finite_interval(name):
    probs, y = _problem(jr.key(6), k=2, unknown=0.1)
    lo, hi = bootstrap_ci(METRICS[name], probs, y, n_boot=200, key=jr.key(7))
    assert np.isfinite(lo) and np.isfinite(hi) and lo < hi
    point = METRICS[name](probs, y)
    assert lo - 1e-6 <= point <= hi + 1e-6


def test_same_key_same_interval_jit_equals_eager():
    probs, y = _problem(jr.key(8))
    a = bootstrap_ci(accuracy, probs, y, n_boot=100, key=jr.key(9))
    b = jax.jit(lambda k: bootstrap_ci(accuracy, probs, y, n_boot=100, key=k))(jr.key(9))
    np.testing.assert_allclose(a, b, atol=1e-6)
    s9 = bootstrap_samples(accuracy, probs, y, n_boot=100, key=jr.key(9))
    s10 = bootstrap_samples(accuracy, probs, y, n_boot=100, key=jr.key(10))
    assert not np.array_equal(s9, s10)  # another key, other resamples
    batched = bootstrap_ci(accuracy, probs, y, n_boot=100, batch_size=7, key=jr.key(9))
    np.testing.assert_allclose(a, batched, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"n_boot": 1}, ValueError, "n_boot must be an integer >= 2"),
        ({"n_boot": 10.0}, ValueError, "n_boot must be an integer"),
        ({"level": 1.5}, ValueError, "level must be a number strictly between 0 and 1"),
        ({"level": float("nan")}, ValueError, "level must be"),
        ({"key": 0}, TypeError, "key must be a typed JAX PRNG key"),
        ({"key": jr.PRNGKey(0)}, TypeError, "jax.random.key"),
        ({"y": jnp.zeros(5, dtype=jnp.int32)}, ValueError, "y must be an"),
        ({"y": jnp.zeros(20)}, TypeError, "integer labels"),
        ({"probs": jnp.zeros(20)}, ValueError, "probs must be an"),
    ],
)
def test_bad_input_raises_with_the_fix(kwargs, err, match):
    args = {"probs": jnp.full((20, 2), 0.5), "y": jnp.zeros(20, dtype=jnp.int32)}
    args |= {"key": jr.key(0)}
    args |= kwargs
    with pytest.raises(err, match=match):
        bootstrap_ci(accuracy, args.pop("probs"), args.pop("y"), **args)
