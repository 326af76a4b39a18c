"""FlyingSquid: the NumPy reference, the ``flyingsquid`` package's golden outputs, recovery, Bayes gap."""

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests.reference import GOLDEN
from tests.reference.flying_squid_numpy import flying_squid as reference
from wsbench.data import WeakLabels
from wsbench.labelmodels import FlyingSquid, FlyingSquidFitted, MajorityVote
from wsbench.metrics import accuracy
from wsbench.synthetic import bayes_posterior, sample_independent

ATOL = 1e-5  # float32 closed form vs the float64 reference
GOLDEN_FILE = GOLDEN / "flyingsquid_package.npz"
MIRROR = os.environ.get("WSBENCH_DATA_MIRROR")


def _fit(est, weak, key) -> FlyingSquidFitted:
    return est.fit(weak, key=key)


def _acc(probs, y) -> float:
    return float(accuracy(probs, y))


def _logit_shift(q, pi):
    """The package's posterior from ours: one extra factor P(y) (see the module docstring)."""
    q = np.clip(np.asarray(q, np.float64), 1e-300, 1 - 1e-16)
    lo = np.log(q) - np.log1p(-q) + np.log(pi) - np.log1p(-pi)
    return 1.0 / (1.0 + np.exp(-lo))


# ----------------------------------------------------------------------------- NumPy reference


def _sparse(key, n_classes: int) -> WeakLabels:
    """Small weak labels in which LFs 0 and 1 never vote together (so the triplet rules differ)."""
    sim = sample_independent(
        key, n=120, m=6, n_classes=n_classes, accuracy=(0.6, 0.85), propensity=(0.2, 0.6)
    )
    L = np.asarray(sim.weak.L).copy()
    L[L[:, 0] >= 0, 1] = -1
    return WeakLabels(L, n_classes)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("aggregate", ["mean", "median"])
@pytest.mark.parametrize("triplets", ["overlapping", "all"])
@pytest.mark.slow
def test_matches_numpy_reference(key, n_classes, aggregate, triplets):
    weak = _sparse(key, n_classes)
    L = np.asarray(weak.L)
    fitted = _fit(FlyingSquid(aggregate=aggregate, triplets=triplets), weak, key)
    want = reference(L, n_classes, aggregate=aggregate, triplets=triplets)
    np.testing.assert_array_equal(fitted.n_triplets, want["counts"])
    np.testing.assert_allclose(fitted.moments, want["moments"], atol=ATOL)
    np.testing.assert_allclose(fitted.tables, want["tables"], atol=ATOL)
    np.testing.assert_allclose(fitted.predict_proba(L), want["probs"], atol=ATOL)


def test_matches_numpy_reference_with_class_balance(key):
    sim = sample_independent(key, n=150, m=5, accuracy=(0.6, 0.9), class_balance=[0.7, 0.3])
    weak = WeakLabels(sim.weak.L, 2, class_balance=[0.7, 0.3])
    fitted = _fit(FlyingSquid(), weak, key)
    want = reference(np.asarray(weak.L), 2, class_balance=[0.7, 0.3])
    np.testing.assert_allclose(fitted.tables, want["tables"], atol=ATOL)
    np.testing.assert_allclose(fitted.predict_proba(weak.L), want["probs"], atol=ATOL)
    np.testing.assert_allclose(fitted.class_prior(), [0.7, 0.3], atol=1e-7)


def test_skipped_triplets_differ_from_the_package_rule(key):
    """The reference cases above are only meaningful if the two triplet rules give different fits."""
    weak = _sparse(key, 2)
    a = _fit(FlyingSquid(), weak, key)
    b = _fit(FlyingSquid(triplets="all"), weak, key)
    assert float(jnp.abs(a.moments - b.moments).max()) > 1e-3
    assert int(a.n_triplets.min()) < int(b.n_triplets.min()) == 10  # C(5, 2) for "all"


# ----------------------------------------------------------------------------- the flyingsquid package


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN_FILE)


@pytest.mark.reference
def test_package_rule_matches_the_package(golden, key):
    """``triplets="all"``: the package's clique marginals and posterior (uniform balance)."""
    L = golden["synth_L"]
    fitted = _fit(FlyingSquid(triplets="all"), WeakLabels(L, 2), key)
    np.testing.assert_allclose(fitted.tables[0], golden["synth_tables"], atol=ATOL)
    p_zero = 1.0 - np.asarray(fitted.coverage)
    agree = 0.5 * (1.0 + np.asarray(fitted.moments[0]) - p_zero)  # P(lambda_j Y = 1)
    np.testing.assert_allclose(agree, golden["synth_agree"], atol=ATOL)
    np.testing.assert_allclose(fitted.task_proba(L)[:, 0], golden["synth_proba"], atol=ATOL)


@pytest.mark.reference
def test_default_matches_the_package_where_every_triplet_is_usable(golden, key):
    L = golden["synth_L"]
    fitted = _fit(FlyingSquid(), WeakLabels(L, 2), key)
    m = L.shape[1]
    full = np.asarray(fitted.n_triplets[0]) == (m - 1) * (m - 2) // 2
    assert full.any() and not full.all()  # the golden L has some M_ij == 0 exactly
    p_zero = 1.0 - np.asarray(fitted.coverage)
    agree = 0.5 * (1.0 + np.asarray(fitted.moments[0]) - p_zero)
    np.testing.assert_allclose(agree[full], golden["synth_agree"][full], atol=ATOL)


@pytest.mark.reference
def test_package_posterior_has_one_extra_prior_factor(golden, key):
    """With balance (0.7, 0.3) the package's posterior is ours times P(y), renormalised."""
    L = golden["synth_L"]
    cb = golden["synth_balance"]
    fitted = _fit(FlyingSquid(triplets="all"), WeakLabels(L, 2, class_balance=cb), key)
    q = np.asarray(fitted.task_proba(L))[:, 0]
    np.testing.assert_allclose(_logit_shift(q, cb[1]), golden["synth_proba_balance"], atol=ATOL)
    assert np.abs(q - golden["synth_proba_balance"]).max() > 0.05  # the difference is real


@pytest.mark.reference
def test_one_vs_rest_matches_the_package(golden, key):
    """k = 3: each task is the package's fit with balance (2/3, 1/3) (WRENCH's reduction)."""
    L = golden["synth3_L"]
    fitted = _fit(FlyingSquid(triplets="all"), WeakLabels(L, 3), key)
    q = fitted.task_proba(L)
    np.testing.assert_allclose(_logit_shift(q, 1 / 3), golden["synth3_task_proba"], atol=ATOL)
    # normalised over tasks, argmax equals WRENCH's softmax of the package's task probabilities
    pkg = golden["synth3_task_proba"]
    distinct = np.sort(pkg, axis=1)[:, -1] - np.sort(pkg, axis=1)[:, -2] > 1e-4
    np.testing.assert_array_equal(
        np.asarray(fitted.predict_proba(L)).argmax(1)[distinct], pkg.argmax(1)[distinct]
    )


WRENCH = {"youtube": ("wrench_youtube", "train"), "sms": ("wrench_sms", "train"),
          "chemprot": ("wrench_chemprot", "valid")}  # fmt: skip


@pytest.mark.reference
@pytest.mark.skipif(
    not MIRROR,
    reason="WSBENCH_DATA_MIRROR is not set (point it at a copy of shared/datasets to compare with "
    "the flyingsquid package on the WRENCH label matrices)",
)
@pytest.mark.parametrize("name", sorted(WRENCH))
def test_package_rule_matches_the_package_on_wrench(golden, key, name):
    import hashlib

    from wsbench.data import load_wrench

    folder, split = WRENCH[name]
    ds = load_wrench(Path(MIRROR) / folder, missing_train="valid")
    weak = getattr(ds, split).weak
    L = np.ascontiguousarray(np.asarray(weak.L), dtype=np.int32)
    assert hashlib.sha256(L.tobytes()).hexdigest() == str(golden[f"{name}_sha256"]), (
        f"the {name} {split} label matrix differs from the one the golden file was made from"
    )
    fitted = _fit(FlyingSquid(triplets="all"), weak, key)
    q = np.asarray(fitted.task_proba(L))
    k = weak.n_classes
    want = golden[f"{name}_task_proba"]
    got = q if k == 2 else _logit_shift(q, 1.0 / k)
    np.testing.assert_allclose(got, want, atol=1e-4)


# ----------------------------------------------------------------------------- recovery, Bayes gap


def _confusion_mae(fitted, sim) -> float:
    return float(jnp.abs(fitted.confusions() - sim.confusions).mean())


@pytest.mark.slow
def test_recovers_binary_parameters(key):
    sim = sample_independent(key, n=50_000, m=8, accuracy=(0.6, 0.9), propensity=(0.3, 0.8))
    fitted = _fit(FlyingSquid(), sim.weak, key)
    assert _confusion_mae(fitted, sim) < 0.01
    np.testing.assert_allclose(fitted.accuracies()[0], 2 * sim.accuracy - 1, atol=0.03)
    np.testing.assert_allclose(fitted.coverage, sim.propensity, atol=0.01)


@pytest.mark.slow
def test_recovery_error_decays_as_one_over_sqrt_n(key):
    """Confusion error vs n on a log-log scale has slope -0.5 +- 0.15 (8 draws per size)."""
    sizes = [1000, 4000, 16_000, 64_000]
    errors = []
    for n in sizes:
        errs = []
        for seed in range(8):
            k_data, k_fit = jr.split(jr.fold_in(key, seed))
            sim = sample_independent(k_data, n=n, m=8, accuracy=(0.6, 0.9), propensity=0.5)
            errs.append(_confusion_mae(_fit(FlyingSquid(), sim.weak, k_fit), sim))
        errors.append(np.mean(errs))
    slope = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert -0.65 <= slope <= -0.35, (slope, errors)


@pytest.mark.parametrize("class_balance", [None, (0.7, 0.3)])
@pytest.mark.slow
def test_within_half_a_point_of_bayes_binary(key, class_balance):
    """Conditionally independent binary LFs are FlyingSquid's model: near the Bayes posterior."""
    sim = sample_independent(
        key, n=20_000, m=10, accuracy=(0.55, 0.85), propensity=0.4, class_balance=class_balance
    )
    weak = WeakLabels(sim.weak.L, 2, class_balance=class_balance)
    probs = _fit(FlyingSquid(), weak, key).predict_proba(weak.L)
    bayes = _acc(bayes_posterior(sim, weak.L), sim.y)
    assert _acc(probs, sim.y) >= bayes - 0.005, (_acc(probs, sim.y), bayes)


@pytest.mark.slow
def test_one_vs_rest_near_bayes_and_above_majority_vote(key):
    sim = sample_independent(key, n=20_000, m=10, n_classes=4, accuracy=(0.5, 0.85), propensity=0.5)
    probs = _fit(FlyingSquid(), sim.weak, key).predict_proba(sim.weak.L)
    acc = _acc(probs, sim.y)
    bayes = _acc(bayes_posterior(sim, sim.weak.L), sim.y)
    mv = _acc(MajorityVote().fit(sim.weak, key=key).predict_proba(sim.weak.L), sim.y)
    assert acc >= bayes - 0.02 and acc > mv, (acc, bayes, mv)


# ----------------------------------------------------------------------------- edge cases


def test_fewer_than_three_lfs_is_a_clear_error(key):
    L = np.array([[0, 1], [1, 1], [0, -1]])
    with pytest.raises(ValueError, match="at least 3 labeling functions"):
        FlyingSquid().fit(WeakLabels(L, 2), key=key)


def test_fewer_than_three_voting_lfs_is_a_clear_error(key):
    L = np.array([[0, 1, -1, -1], [1, 1, -1, -1], [0, -1, -1, -1]])
    with pytest.raises(ValueError, match="only 2 of 4 ever vote"):
        FlyingSquid().fit(WeakLabels(L, 2), key=key)


def test_lfs_that_never_vote_together_are_a_clear_error(key):
    L = np.array([[0, -1, -1], [-1, 1, -1], [-1, -1, 0], [1, -1, -1]])
    with pytest.raises(ValueError, match="vote together"):
        FlyingSquid().fit(WeakLabels(L, 2), key=key)


def test_invalid_hyperparameters_raise():
    with pytest.raises(ValueError, match="aggregate"):
        FlyingSquid(aggregate="mode")
    with pytest.raises(ValueError, match="triplets"):
        FlyingSquid(triplets="some")


@pytest.mark.slow
def test_lf_that_never_votes_is_ignored(key):
    sim = sample_independent(key, n=2000, m=6, n_classes=3)
    L = jnp.concatenate([sim.weak.L, jnp.full((2000, 1), -1, jnp.int32)], axis=1)
    fitted = _fit(FlyingSquid(), WeakLabels(L, 3), key)
    base = _fit(FlyingSquid(), sim.weak, key)
    assert bool(jnp.all(fitted.n_triplets[:, -1] == 0)) and bool(
        jnp.all(fitted.moments[:, -1] == 0)
    )
    np.testing.assert_allclose(fitted.moments[:, :-1], base.moments, atol=1e-6)
    np.testing.assert_allclose(fitted.predict_proba(L), base.predict_proba(sim.weak.L), atol=1e-6)
    # a vote it never made in training is neutral at prediction time
    L2 = L.at[:, -1].set(0)
    np.testing.assert_allclose(fitted.predict_proba(L2), base.predict_proba(sim.weak.L), atol=1e-5)


def test_rows_without_votes_get_the_prior_exactly(key):
    sim = sample_independent(key, n=1000, m=5, n_classes=3, propensity=0.4)
    cb = np.array([0.5, 0.3, 0.2], np.float32)
    fitted = _fit(FlyingSquid(), WeakLabels(sim.weak.L, 3, class_balance=cb), key)
    probs = fitted.predict_proba(jnp.full((3, 5), -1, jnp.int32))
    np.testing.assert_allclose(probs, np.broadcast_to(cb, (3, 3)), atol=1e-6)
    np.testing.assert_allclose(fitted.uncovered_prior(), cb, atol=1e-6)


def test_class_with_zero_prior_is_never_predicted(key):
    sim = sample_independent(key, n=1000, m=6, n_classes=3)
    cb = np.array([0.6, 0.4, 0.0], np.float32)
    fitted = _fit(FlyingSquid(), WeakLabels(sim.weak.L, 3, class_balance=cb), key)
    probs = np.asarray(fitted.predict_proba(sim.weak.L))
    assert np.all(np.isfinite(probs)) and np.all(probs[:, 2] == 0.0)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_jitted_fit_on_degenerate_data_is_finite(key):
    """Under jit the eager data checks cannot run; degenerate data must still give finite output."""
    L = jnp.full((50, 4), -1, jnp.int32).at[:, 0].set(1)
    fit = jax.jit(lambda L: FlyingSquid().fit(WeakLabels(L, 2), key=key).predict_proba(L))
    probs = np.asarray(fit(L))
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)


def test_confusions_are_distributions(key):
    sim = sample_independent(key, n=3000, m=6, n_classes=4, propensity=(0.2, 0.7))
    conf = np.asarray(_fit(FlyingSquid(), sim.weak, key).confusions())
    assert conf.shape == (6, 4, 4) and np.all(conf >= 0)
    np.testing.assert_allclose(conf.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.diagonal(conf, axis1=1, axis2=2).mean(0) > 0.25)  # LFs better than random


# ----------------------------------------------------------------------------- centred moments


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("aggregate", ["mean", "median"])
def test_centred_matches_numpy_reference(key, n_classes, aggregate):
    from tests.reference.flying_squid_numpy import flying_squid_centred

    weak = _sparse(key, n_classes)
    L = np.asarray(weak.L)[:60]
    fitted = _fit(
        FlyingSquid(aggregate=aggregate, moments="centred"), WeakLabels(L, n_classes), key
    )
    want = flying_squid_centred(L, n_classes, aggregate=aggregate)
    # covariances are differences of float32 moments and the triplet ratio amplifies their rounding
    np.testing.assert_allclose(fitted.predict_proba(L), want["probs"], atol=1e-4)


def _one_sided_binary(seed, n=4000):
    from tests.labelmodels._problems import one_sided

    return one_sided(seed, n=n, k=2, lfs_per_class=(5, 5), prior=(0.5, 0.5), prop=(0.1, 0.4))


def test_centred_moments_use_one_sided_lfs(key):
    """The raw-moment estimator assumes E[lambda_j | Y] = a_j Y (symmetric accuracies), which an LF
    that votes one class only violates (its mean vote is not 0): on one-sided keyword LFs it falls
    below majority vote. The centred triplets (covariances of the vote indicators) do not assume it
    and must be at least as good as majority vote and close to the true model's posterior."""
    from tests.labelmodels._problems import expected_accuracy, mv_accuracy

    gaps = []
    for seed in range(3):
        weak, y, _ = _one_sided_binary(seed)
        L = np.asarray(weak.L)
        raw = expected_accuracy(_fit(FlyingSquid(), weak, key).predict_proba(L), y)
        cen = expected_accuracy(_fit(FlyingSquid(moments="centred"), weak, key).predict_proba(L), y)
        mv = mv_accuracy(L, y, 2)
        assert cen >= mv - 0.005, (seed, cen, mv)
        gaps.append(cen - raw)
    assert np.mean(gaps) > 0.01, gaps


def test_centred_moments_recover_vote_rates_of_one_sided_lfs(key):
    """P(lambda_j = class_j | Y) of every one-sided LF, recovered within 0.02 at n = 20000."""
    weak, y, targets = _one_sided_binary(0, n=20000)
    L = np.asarray(weak.L)
    rates = np.asarray(_fit(FlyingSquid(moments="centred"), weak, key).vote_rates())  # [j, a, y]
    for j, c in enumerate(targets):
        for cls in (0, 1):
            true = np.mean(L[y == cls, j] == c)
            assert abs(rates[j, c, cls] - true) < 0.02, (j, c, cls, rates[j, c, cls], true)


def test_rejects_unknown_moments():
    with pytest.raises(ValueError, match="moments"):
        FlyingSquid(moments="central")
