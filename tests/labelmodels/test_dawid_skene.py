"""Dawid-Skene: agreement with the NumPy reference, EM properties, edge cases, recovery."""

import dataclasses
import warnings

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests.reference import GOLDEN
from tests.reference.dawid_skene_numpy import dawid_skene_em
from wsbench.data import WeakLabels
from wsbench.labelmodels import DawidSkene, MajorityVote
from wsbench.metrics import accuracy, confusion_error
from wsbench.synthetic import bayes_posterior, sample_dawid_skene, sample_independent

ATOL = 2e-4  # float32 EM vs the float64 reference after tens of iterations


@pytest.mark.parametrize("smoothing", [0.0, 0.5])
@pytest.mark.slow
def test_matches_numpy_reference(key, smoothing):
    sim = sample_dawid_skene(key, n=150, m=5, n_classes=3, propensity=0.5)
    fitted = DawidSkene(n_iter=15, smoothing=smoothing).fit(sim.weak, key=key)
    want = dawid_skene_em(np.asarray(sim.weak.L), n_classes=3, n_iter=15, smoothing=smoothing)
    np.testing.assert_allclose(fitted.predict_proba(sim.weak.L), want["probs"], atol=ATOL)
    np.testing.assert_allclose(fitted.confusions(), want["confusions"], atol=ATOL)
    np.testing.assert_allclose(fitted.class_prior(), want["prior"], atol=ATOL)
    np.testing.assert_allclose(fitted.trace["objective"], want["objective"], rtol=1e-5)


@pytest.mark.reference
def test_matches_crowdkit_golden(key):
    """crowd-kit 1.4.2 ``DawidSkene(n_iter=200, tol=-inf)`` (from tests/reference/regenerate.py)."""
    g = np.load(GOLDEN / "crowdkit_dawid_skene_toy.npz")
    data = WeakLabels(L=g["L"], n_classes=int(g["n_classes"]))
    probs = (
        DawidSkene(n_iter=int(g["n_iter"]), smoothing=0.0).fit(data, key=key).predict_proba(data.L)
    )
    np.testing.assert_allclose(probs, g["probas"], atol=1e-4)


@pytest.mark.slow
def test_matches_numpy_reference_with_class_balance(key):
    sim = sample_dawid_skene(key, n=150, m=4, n_classes=2, propensity=0.6, class_balance=[0.7, 0.3])
    weak = WeakLabels(L=sim.weak.L, n_classes=2, class_balance=[0.7, 0.3])
    fitted = DawidSkene(n_iter=10, smoothing=0.1).fit(weak, key=key)
    want = dawid_skene_em(np.asarray(weak.L), 2, n_iter=10, smoothing=0.1, class_balance=[0.7, 0.3])
    np.testing.assert_allclose(fitted.predict_proba(weak.L), want["probs"], atol=ATOL)
    np.testing.assert_allclose(fitted.class_prior(), [0.7, 0.3], atol=1e-6)  # kept fixed
    np.testing.assert_allclose(fitted.trace["objective"], want["objective"], rtol=1e-5)


@pytest.mark.parametrize("smoothing", [0.0, 0.01, 1.0])
@pytest.mark.parametrize("init", ["majority_vote", "uniform"])
@pytest.mark.slow
def test_em_objective_is_monotone(key, smoothing, init):
    sim = sample_dawid_skene(key, n=2000, m=8, n_classes=3)
    trace = np.asarray(
        DawidSkene(n_iter=40, init=init, smoothing=smoothing)
        .fit(sim.weak, key=key)
        .trace["objective"],
        dtype=np.float64,
    )
    assert trace.shape == (40,) and np.all(np.isfinite(trace))
    slack = 1e-6 * np.abs(trace).max()  # float32 rounding of a sum over n rows
    assert np.all(np.diff(trace) >= -slack), np.diff(trace).min()


@pytest.mark.slow
def test_uniform_init_breaks_symmetry(key):
    sim = sample_dawid_skene(key, n=3000, m=10, n_classes=3, diag=(0.6, 0.9))
    probs = DawidSkene(n_iter=50, init="uniform").fit(sim.weak, key=key).predict_proba(sim.weak.L)
    mv = MajorityVote().fit(sim.weak, key=key).predict_proba(sim.weak.L)
    assert float(accuracy(probs, sim.y)) >= float(accuracy(mv, sim.y)) - 0.01


@pytest.mark.slow
def test_k20_works(key):
    sim = sample_dawid_skene(key, n=4000, m=12, n_classes=20, diag=(0.6, 0.9), propensity=0.7)
    fitted = DawidSkene(n_iter=30).fit(sim.weak, key=key)
    probs = fitted.predict_proba(sim.weak.L)
    assert probs.shape == (4000, 20) and bool(jnp.all(jnp.isfinite(probs)))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    mv = MajorityVote().fit(sim.weak, key=key).predict_proba(sim.weak.L)
    assert float(accuracy(probs, sim.y)) >= float(accuracy(mv, sim.y))


@pytest.mark.parametrize("with_balance", [False, True])
@pytest.mark.slow
def test_rows_without_votes_get_the_prior_exactly(key, with_balance):
    sim = sample_dawid_skene(key, n=400, m=5, n_classes=3, propensity=0.3)
    cb = [0.5, 0.3, 0.2] if with_balance else None
    fitted = DawidSkene(n_iter=20).fit(WeakLabels(sim.weak.L, 3, class_balance=cb), key=key)
    L = np.asarray(sim.weak.L).copy()
    L[:7] = -1
    probs = np.asarray(fitted.predict_proba(L))
    np.testing.assert_array_equal(
        probs[:7], np.broadcast_to(np.asarray(fitted.class_prior()), (7, 3))
    )
    if with_balance:
        np.testing.assert_allclose(fitted.class_prior(), cb, atol=1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.01])
@pytest.mark.slow
def test_never_voting_lf_gives_finite_output(key, smoothing):
    sim = sample_dawid_skene(key, n=300, m=4, n_classes=3)
    L = jnp.concatenate([sim.weak.L, jnp.full((300, 1), -1, jnp.int32)], axis=1)
    fitted = DawidSkene(n_iter=20, smoothing=smoothing).fit(WeakLabels(L, 3), key=key)
    assert bool(jnp.all(jnp.isfinite(fitted.predict_proba(L))))
    assert bool(jnp.all(jnp.isfinite(fitted.trace["objective"])))
    np.testing.assert_allclose(fitted.confusions()[-1], 1.0 / 3, atol=1e-6)  # uninformative LF
    base = DawidSkene(n_iter=20, smoothing=smoothing).fit(sim.weak, key=key)
    np.testing.assert_allclose(fitted.predict_proba(L), base.predict_proba(sim.weak.L), atol=1e-5)


def test_unseen_vote_with_zero_smoothing_is_finite(key):
    # LF 0 never outputs class 2 in training, so theta[0, :, 2] = 0 with smoothing=0.
    L = np.array([[0, 0, 1], [1, 1, 1], [0, 2, 2], [1, 0, 0], [0, 0, 0]] * 20)
    fitted = DawidSkene(n_iter=10, smoothing=0.0).fit(WeakLabels(L, 3), key=key)
    probs = fitted.predict_proba(np.array([[2, 2, 2], [2, -1, -1]]))
    assert bool(jnp.all(jnp.isfinite(probs)))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.slow
def test_classes_are_aligned_with_lf_outputs(key):
    # Every LF is accurate, so the fitted latent class t must be the LF output class t.
    sim = sample_independent(key, n=2000, m=6, n_classes=4, accuracy=(0.7, 0.9), propensity=0.8)
    conf = DawidSkene(n_iter=30).fit(sim.weak, key=key).confusions()
    diag = jnp.diagonal(conf, axis1=1, axis2=2)
    assert bool(jnp.all(diag.mean(axis=0) > 0.5))


@pytest.mark.slow
def test_jit_and_vmap_over_smoothing(key):
    sim = sample_dawid_skene(key, n=500, m=6, n_classes=3)
    est = DawidSkene(n_iter=15)
    grid = jnp.array([0.0, 0.1, 2.0])
    stacked = dataclasses.replace(est, smoothing=grid)

    @jax.jit
    def fit_all(stacked, weak):
        return jax.vmap(lambda e: e.fit(weak, key=key).predict_proba(weak.L))(stacked)

    got = fit_all(stacked, sim.weak)
    for i, s in enumerate(grid.tolist()):
        want = (
            dataclasses.replace(est, smoothing=s).fit(sim.weak, key=key).predict_proba(sim.weak.L)
        )
        np.testing.assert_allclose(got[i], want, atol=1e-5)


def test_invalid_hyperparameters_raise():
    with pytest.raises(ValueError, match="n_iter"):
        DawidSkene(n_iter=0)
    with pytest.raises(ValueError, match="init"):
        DawidSkene(init="random")
    with pytest.raises(ValueError, match="smoothing"):
        DawidSkene(smoothing=-0.1)


def test_predict_proba_validates_L(key):
    sim = sample_dawid_skene(key, n=100, m=4, n_classes=3)
    fitted = DawidSkene(n_iter=5).fit(sim.weak, key=key)
    with pytest.raises(ValueError, match="labeling functions"):
        fitted.predict_proba(np.zeros((3, 5), int))
    with pytest.raises(ValueError, match="outside"):
        fitted.predict_proba(np.full((3, 4), 3))


@pytest.mark.slow
def test_matches_bayes_posterior_accuracy(key):
    """Issue acceptance: within 0.5 accuracy points of the Bayes posterior with true parameters."""
    sim = sample_dawid_skene(key, n=20_000, m=10, n_classes=3)
    probs = DawidSkene().fit(sim.weak, key=key).predict_proba(sim.weak.L)
    acc = float(accuracy(probs, sim.y))
    bayes = float(accuracy(bayes_posterior(sim, sim.weak.L), sim.y))
    assert acc >= bayes - 0.005, (acc, bayes)


@pytest.mark.slow
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_recovers_confusions(key, n_classes):
    sim = sample_dawid_skene(key, n=50_000, m=10, n_classes=n_classes, propensity=0.6)
    fitted = DawidSkene(n_iter=200).fit(sim.weak, key=key)
    assert float(confusion_error(fitted.confusions(), sim.confusions)) < 0.01
    np.testing.assert_allclose(fitted.class_prior(), sim.class_balance, atol=0.01)


def test_memory_is_a_mask_not_a_one_hot():
    """XLA's temporaries stay at a few (n, m) masks; an (n, m, k) float one-hot would be k masks."""
    n, m, k = 100_000, 50, 10
    run = jax.jit(
        lambda L: DawidSkene(n_iter=2).fit(WeakLabels(L, k), key=jr.key(0)).predict_proba(L)
    )
    stats = run.lower(jax.ShapeDtypeStruct((n, m), jnp.int32)).compile().memory_analysis()
    if stats is None:
        pytest.skip("this backend reports no memory analysis")
    mask_bytes = n * m * 4
    assert stats.temp_size_in_bytes < 3 * mask_bytes, stats.temp_size_in_bytes / mask_bytes


# ----------------------------------------------------------------------------- abstain="observed"


def _observed_em_reference(L, k, n_iter, smoothing):
    """Loop-based MAP-EM with abstain as output k (float64); majority-vote start, no alignment."""
    from tests.reference.majority_vote_numpy import majority_vote

    L = np.asarray(L)
    n, m = L.shape
    Lo = np.where(L == -1, k, L)
    q = majority_vote(L, k, np.full(k, 1.0 / k))
    for _ in range(n_iter):
        counts = np.zeros((m, k, k + 1))
        for i in range(n):
            for j in range(m):
                counts[j, :, Lo[i, j]] += q[i]
        conf = (counts + smoothing) / (counts + smoothing).sum(axis=2, keepdims=True)
        prior = (q.sum(axis=0) + smoothing) / (q.sum() + k * smoothing)
        logp = np.log(prior)[None, :] + np.stack(
            [np.log(conf[np.arange(m), t, Lo]).sum(axis=1) for t in range(k)], axis=1
        )
        q = np.exp(logp - logp.max(axis=1, keepdims=True))
        q /= q.sum(axis=1, keepdims=True)
    return q, prior, conf


def _one_sided(key, n=4000, m=8):
    """Binary data whose LFs vote for a single class (keyword-style), abstaining otherwise."""
    k_y, k_v = jr.split(key)
    y = np.asarray(jr.bernoulli(k_y, 0.5, (n,))).astype(int)
    u = np.asarray(jr.uniform(k_v, (n, m)))
    target = np.arange(m) % 2  # half the LFs vote 1, half vote 0
    fire = np.where(y[:, None] == target[None, :], 0.5, 0.08)  # fires mostly on its own class
    L = np.where(u < fire, target[None, :], -1).astype(np.int32)
    return WeakLabels(L=L, n_classes=2), y


@pytest.mark.slow
def test_observed_abstain_matches_loop_reference(key):
    weak, _ = _one_sided(key, n=120, m=4)
    fitted = DawidSkene(n_iter=8, smoothing=0.1, abstain="observed").fit(weak, key=key)
    q, prior, conf = _observed_em_reference(weak.L, 2, n_iter=8, smoothing=0.1)
    np.testing.assert_allclose(fitted.predict_proba(weak.L), q, atol=ATOL)
    np.testing.assert_allclose(fitted.class_prior(), prior, atol=ATOL)
    np.testing.assert_allclose(np.exp(fitted.log_confusion), conf, atol=ATOL)
    uncovered = np.asarray((weak.L == -1).all(axis=1))
    assert uncovered.any()
    np.testing.assert_allclose(
        fitted.predict_proba(weak.L)[uncovered],
        np.broadcast_to(fitted.uncovered_prior(), (uncovered.sum(), 2)),
        atol=1e-5,
    )


def test_observed_abstain_objective_is_monotone(key):
    weak, _ = _one_sided(key)
    trace = np.asarray(
        DawidSkene(n_iter=40, abstain="observed").fit(weak, key=key).trace["objective"]
    )
    assert np.all(np.diff(trace) >= -1e-6 * np.abs(trace[1:])), np.diff(trace).min()


@pytest.mark.slow
def test_observed_abstain_uses_one_sided_lfs(key):
    """With one-sided LFs the classic model cannot tell the classes apart; the observed one can."""
    weak, y = _one_sided(key)
    acc = {}
    for mode in ("ignore", "observed"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ignore mode warns on one-sided LFs
            probs = DawidSkene(abstain=mode).fit(weak, key=key).predict_proba(weak.L)
        acc[mode] = float(accuracy(probs, jnp.asarray(y)))
    mv = float(accuracy(MajorityVote().fit(weak, key=key).predict_proba(weak.L), jnp.asarray(y)))
    assert acc["observed"] > acc["ignore"] + 0.1, acc
    assert acc["observed"] >= mv - 0.01, (acc, mv)


def test_rejects_unknown_abstain_mode():
    with pytest.raises(ValueError, match="abstain must be one of"):
        DawidSkene(abstain="informative")


# ----------------------------------------------------------------------------- issue 13 regressions


def _six_class_one_sided(seed=0):
    from tests.labelmodels._problems import one_sided

    return one_sided(
        seed,
        n=3000,
        k=6,
        lfs_per_class=[6, 5, 4, 4, 3, 3],
        prior=[0.35, 0.25, 0.15, 0.12, 0.08, 0.05],
    )


@pytest.mark.parametrize("abstain", ["ignore", "observed"])
def test_alignment_follows_the_majority_vote_labelling(key, abstain):
    """Cause 3: summed confusion diagonals are flat for one-sided LFs and renamed the dominant class.

    Aligned to the majority-vote labelling, the fitted labels agree with MV at least as well as
    under any other naming of the classes (checked by relabelling with every transposition).
    """
    from tests.labelmodels._problems import expected_accuracy

    weak, y, _ = _six_class_one_sided()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = DawidSkene(abstain=abstain).fit(weak, key=key)
    probs = np.asarray(fitted.predict_proba(weak.L))
    mv = np.asarray(MajorityVote().fit(weak, key=key).predict_proba(weak.L))
    voted = np.asarray((weak.L >= 0).any(axis=1))
    agree = probs[voted].T @ mv[voted]  # [t, o]
    best_swap = max(np.trace(agree[:, p]) for p in _transpositions(6))
    assert np.trace(agree) >= best_swap - 1e-3
    if abstain == "ignore":  # a constant: then at least the dominant class
        assert expected_accuracy(probs, y) >= np.bincount(y).max() / len(y) - 0.02


def _transpositions(k):
    out = [np.arange(k)]
    for a in range(k):
        for b in range(a + 1, k):
            p = np.arange(k)
            p[[a, b]] = p[[b, a]]
            out.append(p)
    return out


def test_ignore_mode_warns_on_one_sided_lfs(key):
    """Cause 5: classic DS on one-sided LFs predicts a constant; it must say so."""
    weak, _, _ = _six_class_one_sided()
    with pytest.warns(UserWarning, match="single class"):
        DawidSkene(n_iter=3).fit(weak, key=key)


def test_dawid_skene_yaml_does_not_predict_a_constant(key):
    """Cause 5: ``estimator=dawid_skene`` (weak-supervision default) uses one-sided LFs."""
    from tests._utils import estimator_configs, instantiate_config
    from tests.labelmodels._problems import expected_accuracy, mv_accuracy

    est = instantiate_config(estimator_configs()["dawid_skene"])
    weak, y, _ = _six_class_one_sided()
    probs = np.asarray(est.fit(weak, key=key).predict_proba(weak.L))
    assert len(np.unique(probs.argmax(1))) >= 5
    assert expected_accuracy(probs, y) >= mv_accuracy(np.asarray(weak.L), y, 6) - 0.01


def test_vote_fraction_init_is_the_soft_vote(key):
    L = np.array([[0, 0, 1], [1, -1, -1], [-1, -1, -1]])
    from wsbench.labelmodels._dawid_skene import _vote_fraction_posterior

    q = _vote_fraction_posterior(jnp.asarray(L), jnp.full((2,), 0.5))
    np.testing.assert_allclose(q, [[2 / 3, 1 / 3], [0, 1], [0.5, 0.5]], atol=1e-6)
