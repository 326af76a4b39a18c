"""Synthetic generators: large samples match the requested parameters within a few SEs."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from wsbench.labelmodels import MajorityVote
from wsbench.synthetic import (
    bayes_posterior,
    make_dawid_skene,
    make_independent,
    sample_dawid_skene,
    sample_independent,
    to_dataset,
)

Z = 4.5  # standard errors allowed per estimated quantity (many quantities per test, fixed keys)


def _within(emp, want, se, what):
    emp, want, se = np.asarray(emp), np.asarray(want), np.asarray(se)
    z = np.abs(emp - want) / np.maximum(se, 1e-12)
    assert np.all(z < Z), (
        f"{what}: empirical {emp.round(4).tolist()} vs requested {want.round(4).tolist()}; "
        f"z={z.round(2).tolist()}"
    )


def _empirical_confusions(L, y, k):
    """``[j, t, o]`` = count(L_j = o, Y = t) / count(L_j votes, Y = t), and the denominators."""
    onehot_y = y[:, None] == np.arange(k)[None, :]  # [n, t]
    onehot_L = L[:, :, None] == np.arange(k)[None, None, :]  # [n, j, o]
    counts = np.einsum("nt,njo->jto", onehot_y.astype(float), onehot_L.astype(float))
    totals = counts.sum(axis=2, keepdims=True)
    return counts / totals, totals


def _check_sample(sim, *, n, k):
    L, y = np.asarray(sim.weak.L), np.asarray(sim.y)
    assert L.shape == (n, sim.confusions.shape[0]) and y.shape == (n,)
    assert L.dtype == np.int32 and L.min() >= -1 and L.max() <= k - 1
    # class balance
    cb = np.asarray(sim.class_balance)
    freq = np.bincount(y, minlength=k) / n
    _within(freq, cb, np.sqrt(cb * (1 - cb) / n), "class balance")
    # propensities
    prop = np.asarray(sim.propensity)
    _within((L != -1).mean(axis=0), prop, np.sqrt(prop * (1 - prop) / n), "propensity")
    # confusions: every cell of every LF, with a binomial standard error per cell
    emp, totals = _empirical_confusions(L, y, k)
    conf = np.asarray(sim.confusions)
    _within(emp, conf, np.sqrt(conf * (1 - conf) / totals), "confusions")
    # accuracy among votes (averaged over the class balance)
    voted = L != -1
    acc_emp = ((L == y[:, None]) & voted).sum(axis=0) / voted.sum(axis=0)
    acc = np.asarray(sim.accuracy)
    _within(acc_emp, acc, np.sqrt(acc * (1 - acc) / voted.sum(axis=0)), "accuracy")
    return acc_emp


def test_sample_independent_matches_requested_parameters(key):
    accuracy = [0.55, 0.65, 0.75, 0.85, 0.95]
    propensity = [0.1, 0.3, 0.5, 0.7, 0.9]
    cb = [0.2, 0.3, 0.5]
    n = 40_000
    sim = sample_independent(
        key, n=n, m=5, n_classes=3, accuracy=accuracy, propensity=propensity, class_balance=cb
    )
    np.testing.assert_allclose(sim.accuracy, accuracy, atol=1e-6)
    np.testing.assert_allclose(sim.propensity, propensity, atol=1e-6)
    np.testing.assert_allclose(sim.class_balance, cb, atol=1e-6)
    # wrong votes are uniform over the other classes
    conf = np.asarray(sim.confusions)
    off = conf[:, ~np.eye(3, dtype=bool)].reshape(5, 6)
    np.testing.assert_allclose(
        off, np.repeat((1 - np.array(accuracy))[:, None] / 2, 6, axis=1), atol=1e-6
    )
    _check_sample(sim, n=n, k=3)
    assert sim.edges == () and sim.weak.class_balance is None


def test_sample_independent_ranges_and_scalars(key):
    sim = sample_independent(key, n=20_000, m=4, n_classes=2, accuracy=(0.6, 0.9), propensity=0.4)
    np.testing.assert_allclose(sim.accuracy, np.linspace(0.6, 0.9, 4), atol=1e-6)
    np.testing.assert_allclose(sim.propensity, np.full(4, 0.4), atol=1e-6)
    np.testing.assert_allclose(sim.class_balance, [0.5, 0.5])
    _check_sample(sim, n=20_000, k=2)


def test_sample_dawid_skene_matches_confusions(key):
    n, m, k = 50_000, 4, 3
    sim = sample_dawid_skene(
        key,
        n=n,
        m=m,
        n_classes=k,
        diag=(0.5, 0.8),
        propensity=[0.3, 0.5, 0.7, 0.9],
        class_balance=[0.5, 0.3, 0.2],
        concentration=0.5,
    )
    conf = np.asarray(sim.confusions)
    assert conf.shape == (m, k, k)
    np.testing.assert_allclose(conf.sum(axis=2), 1.0, atol=1e-5)
    assert np.all(conf >= 0)
    np.testing.assert_allclose(
        np.diagonal(conf, axis1=1, axis2=2),
        np.repeat(np.linspace(0.5, 0.8, m)[:, None], k, 1),
        atol=1e-6,
    )
    # errors are asymmetric (Dirichlet-spread), unlike the independent generator
    off = conf[:, ~np.eye(k, dtype=bool)]
    assert np.ptp(off) > 0.05
    _check_sample(sim, n=n, k=k)


def test_conditionals_table(key):
    sim = sample_dawid_skene(key, n=50_000, m=4, n_classes=3, propensity=[0.2, 0.5, 0.8, 0.6])
    table = np.asarray(sim.conditionals())  # [j, a, y] with a = abstain, 0..k-1
    assert table.shape == (4, 4, 3)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=1e-5)
    L, y = np.asarray(sim.weak.L), np.asarray(sim.y)
    for j in range(4):
        for t in range(3):
            rows = y == t
            emp = np.array([(L[rows, j] == a).mean() for a in range(-1, 3)])
            se = np.sqrt(table[j, :, t] * (1 - table[j, :, t]) / rows.sum())
            _within(emp, table[j, :, t], se, f"conditionals LF {j} class {t}")


@pytest.mark.parametrize(
    "sampler", [sample_independent, sample_dawid_skene], ids=lambda f: f.__name__
)
def test_same_key_same_data_different_key_different_data(sampler, key):
    a = sampler(key, n=300, m=4, n_classes=3)
    b = sampler(key, n=300, m=4, n_classes=3)
    c = sampler(jr.fold_in(key, 1), n=300, m=4, n_classes=3)
    np.testing.assert_array_equal(a.weak.L, b.weak.L)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.confusions, b.confusions)
    assert not np.array_equal(a.weak.L, c.weak.L)
    assert not np.array_equal(a.y, c.y)


def test_bayes_posterior_beats_majority_vote_on_asymmetric_ds(key):
    k_data, k_fit = jr.split(key)
    sim = sample_dawid_skene(
        k_data,
        n=5000,
        m=8,
        n_classes=3,
        diag=(0.35, 0.75),
        propensity=0.6,
        class_balance=[0.6, 0.25, 0.15],
        concentration=0.2,
    )
    post = np.asarray(bayes_posterior(sim, sim.weak.L))
    assert post.shape == (5000, 3) and np.all(np.isfinite(post))
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-5)
    y = np.asarray(sim.y)
    bayes_acc = (post.argmax(1) == y).mean()
    mv = MajorityVote().fit(sim.weak, key=k_fit).predict_proba(sim.weak.L)
    mv_acc = (np.asarray(mv).argmax(1) == y).mean()
    assert bayes_acc > mv_acc + 0.03, (bayes_acc, mv_acc)
    # rows without votes get the class balance
    none = np.asarray(bayes_posterior(sim, jnp.full((3, sim.weak.m), -1, jnp.int32)))
    np.testing.assert_allclose(none, np.broadcast_to(sim.class_balance, (3, 3)), atol=1e-6)


def test_bayes_posterior_is_at_least_majority_vote_on_independent(key):
    sim = sample_independent(key, n=5000, m=7, n_classes=2, accuracy=(0.55, 0.95), propensity=0.5)
    y = np.asarray(sim.y)
    bayes_acc = (np.asarray(bayes_posterior(sim, sim.weak.L)).argmax(1) == y).mean()
    mv_acc = (
        np.asarray(MajorityVote().fit(sim.weak, key=key).predict_proba(sim.weak.L)).argmax(1) == y
    ).mean()
    assert bayes_acc >= mv_acc - 0.005, (bayes_acc, mv_acc)


@pytest.mark.parametrize(
    "make,sample", [(make_independent, sample_independent), (make_dawid_skene, sample_dawid_skene)]
)
def test_make_dataset_split_sizes(make, sample, key):
    ds = make(key=key, name="toy", n_train=120, n_valid=30, n_test=50, m=4, n_classes=3)
    assert ds.name == "toy" and ds.n_classes == 3
    assert (ds.train.n, ds.valid.n, ds.test.n) == (120, 30, 50)
    for split in (ds.train, ds.valid, ds.test):
        assert split.weak.m == 4 and split.y.shape == (split.n,)
    # consecutive cuts of one simulation with the same key
    sim = sample(key, n=200, m=4, n_classes=3)
    np.testing.assert_array_equal(ds.valid.weak.L, sim.weak.L[120:150])
    np.testing.assert_array_equal(ds.test.y, sim.y[150:])
    ds2 = to_dataset(sim, 100, 50, 50, name="other")
    assert (ds2.train.n, ds2.valid.n, ds2.test.n) == (100, 50, 50)


@pytest.mark.parametrize(
    "call,match",
    [
        (
            lambda k: sample_independent(k, n=10, m=3, accuracy=1.2),
            r"accuracy values must lie in \[0\.0, 1\.0\]",
        ),
        (
            lambda k: sample_independent(k, n=10, m=3, accuracy=[0.7, 0.8, 0.9, 0.6]),
            r"accuracy must be a scalar, a \[low, high\] range or 3 per-LF values",
        ),
        (
            lambda k: sample_independent(k, n=10, m=3, propensity=-0.1),
            r"propensity values must lie in",
        ),
        (
            lambda k: sample_independent(k, n=10, m=3, accuracy=np.nan),
            r"accuracy values must lie in",
        ),
        (
            lambda k: sample_independent(k, n=10, m=3, n_classes=3, class_balance=[0.5, 0.5]),
            r"class_balance must be a distribution of length 3",
        ),
        (
            lambda k: sample_independent(k, n=10, m=3, class_balance=[0.7, 0.7]),
            r"class_balance must be a distribution",
        ),
        (
            lambda k: sample_independent(k, n=10, m=3, class_balance=[1.5, -0.5]),
            r"class_balance must be a distribution",
        ),
        (lambda k: sample_independent(k, n=0, m=3), r"n must be a positive int, got 0"),
        (lambda k: sample_independent(k, n=10.0, m=3), r"n must be a positive int, got 10\.0"),
        (lambda k: sample_independent(k, n=10, m=0), r"m must be a positive int"),
        (lambda k: sample_independent(k, n=10, m=3, n_classes=1), r"n_classes must be >= 2"),
        (lambda k: sample_dawid_skene(k, n=10, m=3, diag=1.5), r"diag values must lie in"),
        (lambda k: sample_dawid_skene(k, n=0, m=3), r"n must be a positive int"),
        (
            lambda k: sample_dawid_skene(k, n=10, m=3, class_balance=[0.2, 0.8]),
            r"distribution of length 3",
        ),
        (
            lambda k: make_independent(key=k, n_train=10, n_valid=0, n_test=5, m=3),
            r"n_valid|positive|no rows",
        ),
    ],
    ids=[
        "accuracy>1",
        "accuracy-length",
        "propensity<0",
        "accuracy-nan",
        "cb-length",
        "cb-sum",
        "cb-negative",
        "n=0",
        "n-float",
        "m=0",
        "k=1",
        "diag>1",
        "ds-n=0",
        "ds-cb-length",
        "empty-split",
    ],
)
def test_bad_generator_arguments(call, match, key):
    with pytest.raises(ValueError, match=match):
        call(key)


def test_to_dataset_rejects_wrong_total(key):
    sim = sample_independent(key, n=50, m=3)
    with pytest.raises(ValueError, match=r"simulation has 50 rows but the splits need 60"):
        to_dataset(sim, 30, 10, 20, name="x")


def test_samplers_are_jax_arrays(key):
    sim = sample_dawid_skene(key, n=300, m=4)
    for leaf in (sim.weak.L, sim.y, sim.confusions, sim.propensity, sim.class_balance):
        assert isinstance(leaf, jnp.ndarray)
