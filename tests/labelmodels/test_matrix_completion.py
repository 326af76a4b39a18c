"""MatrixCompletion: recovery bars, exactness, dependencies, class balance, degenerate inputs, reference."""

import dataclasses

import equinox as eqx
import jax
import jax.extend
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests.reference import matrix_completion_numpy as ref
from wsbench.data import WeakLabels
from wsbench.labelmodels import MatrixCompletion, MatrixCompletionFitted, overlap_stats
from wsbench.labelmodels.grid import expand_grid
from wsbench.synthetic import (
    bayes_posterior,
    dependent_posterior,
    sample_dependent,
    sample_independent,
)


@eqx.filter_jit
def _fit(est, data, key):
    return est.fit(data, key=key)


def _error(fitted, sim) -> float:
    return float(jnp.abs(fitted.conditionals() - sim.conditionals()).mean())


def _accuracy(probs, y) -> float:
    return float(jnp.mean(jnp.argmax(probs, axis=-1) == y))


def _tv(p, q) -> float:
    return float(0.5 * jnp.abs(p - q).sum(axis=1).mean())


# ----------------------------------------------------------------------------------------------------------
# recovery and exactness


@pytest.mark.slow
def test_recovery_independent_snorkel_bar(key):
    """n=10,000, m=10, k=2: mean |conditional table error| <= 0.01 and accuracy >= 0.90 (Snorkel's bar)."""
    k_data, k_fit = jr.split(key)
    sim = sample_independent(
        k_data, n=10_000, m=10, n_classes=2, accuracy=(0.7, 0.9), propensity=0.5
    )
    fitted = _fit(MatrixCompletion(), sim.weak, k_fit)
    assert _error(fitted, sim) <= 0.01
    assert _accuracy(fitted.predict_proba(sim.weak.L), sim.y) >= 0.90
    loss = np.asarray(fitted.trace["loss"])
    assert loss.shape == (500,) and np.all(np.isfinite(loss)) and loss[-1] < loss[0]


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.slow
def test_true_parameters_give_bayes_posterior(key, n_classes):
    """predict_proba with the true parameters plugged in is the exact Bayes posterior."""
    cb = np.linspace(1.0, 2.0, n_classes)
    sim = sample_independent(
        key,
        n=500,
        m=7,
        n_classes=n_classes,
        accuracy=(0.5, 0.9),
        propensity=(0.2, 0.9),
        class_balance=cb / cb.sum(),
    )
    fitted = MatrixCompletionFitted.from_tables(sim.conditionals(), sim.class_balance)
    np.testing.assert_allclose(
        fitted.predict_proba(sim.weak.L), bayes_posterior(sim, sim.weak.L), atol=2e-5
    )
    np.testing.assert_allclose(fitted.confusions(), sim.confusions, atol=1e-5)


@pytest.mark.slow
def test_k20_runs_and_is_finite(key):
    k_data, k_fit = jr.split(key)
    sim = sample_independent(k_data, n=3000, m=8, n_classes=20, accuracy=(0.6, 0.9), propensity=0.6)
    fitted = _fit(MatrixCompletion(n_iter=300), sim.weak, k_fit)
    probs = np.asarray(fitted.predict_proba(sim.weak.L))
    assert probs.shape == (3000, 20) and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-4)
    assert np.all(np.isfinite(np.asarray(fitted.conditionals())))
    assert _accuracy(probs, sim.y) > 0.8


# ----------------------------------------------------------------------------------------------------------
# dependencies


def _dependent_sim(key, n=20_000):
    return sample_dependent(
        key,
        n=n,
        m=12,
        n_classes=2,
        accuracy=(0.6, 0.85),
        propensity=0.5,
        block_size=3,
        correlation=0.8,
    )


@pytest.mark.slow
def test_true_clique_tables_give_dependent_posterior(key):
    sim = _dependent_sim(key, n=2000)
    fitted = MatrixCompletionFitted.from_tables(
        sim.conditionals(), sim.class_balance, edges=sim.edges, clique_tables=sim.clique_tables
    )
    np.testing.assert_allclose(
        fitted.predict_proba(sim.weak.L), dependent_posterior(sim, sim.weak.L), atol=2e-5
    )


@pytest.mark.slow
def test_dependencies_given_recover_parameters_and_posterior(key):
    """With edges: parameter error < 0.025 (MeTaL's bar) and a posterior closer to the truth than without."""
    k_data, k_fit = jr.split(key)
    sim = _dependent_sim(k_data)
    truth = dependent_posterior(sim, sim.weak.L)
    weak = WeakLabels(
        L=sim.weak.L, n_classes=2, class_balance=sim.class_balance
    )  # isolate dependencies
    with_edges = _fit(MatrixCompletion(edges=sim.edges), weak, k_fit)
    without = _fit(MatrixCompletion(), weak, k_fit)
    assert _error(with_edges, sim) < 0.025
    tv_with = _tv(with_edges.predict_proba(sim.weak.L), truth)
    tv_without = _tv(without.predict_proba(sim.weak.L), truth)
    assert tv_with < 0.5 * tv_without, (tv_with, tv_without)
    assert tv_with < 0.04


@pytest.mark.slow
def test_separators_divide(key):
    """Multiplying separators in (MeTaL's sign bug) double-counts leaders; our posterior does not."""
    sim = _dependent_sim(key, n=5000)
    truth = dependent_posterior(sim, sim.weak.L)
    fitted = MatrixCompletionFitted.from_tables(
        sim.conditionals(), sim.class_balance, edges=sim.edges, clique_tables=sim.clique_tables
    )
    L = sim.weak.L
    logc = jnp.log(sim.clique_tables)
    logm = jnp.log(sim.conditionals())
    buggy = (
        jnp.log(sim.class_balance)[None, :]
        + sum(logc[e, L[:, i] + 1, L[:, j] + 1] for e, (i, j) in enumerate(sim.edges))
        + sum(logm[j, L[:, j] + 1] for j in {i for i, _ in sim.edges})
    )
    buggy = jax.nn.softmax(buggy, axis=-1)
    assert _tv(fitted.predict_proba(L), truth) < 1e-5 < 0.01 < _tv(buggy, truth)


# ----------------------------------------------------------------------------------------------------------
# class balance


@pytest.mark.slow
def test_class_balance_modes(key):
    k_data, k_fit = jr.split(key)
    sim = sample_independent(
        k_data,
        n=10_000,
        m=10,
        n_classes=2,
        accuracy=(0.6, 0.9),
        propensity=0.5,
        class_balance=[0.8, 0.2],
    )
    given = WeakLabels(L=sim.weak.L, n_classes=2, class_balance=np.array([0.7, 0.3]))
    np.testing.assert_allclose(
        _fit(MatrixCompletion(), given, k_fit).class_prior(), [0.7, 0.3], atol=1e-6
    )
    np.testing.assert_allclose(
        _fit(MatrixCompletion(class_balance_from="data"), given, k_fit).class_prior(),
        [0.7, 0.3],
        atol=1e-6,
    )
    np.testing.assert_allclose(
        _fit(MatrixCompletion(class_balance_from="uniform"), given, k_fit).class_prior(),
        [0.5, 0.5],
        atol=1e-6,
    )
    unsup = _fit(MatrixCompletion(class_balance_from="unsupervised"), given, k_fit).class_prior()
    np.testing.assert_allclose(unsup, [0.8, 0.2], atol=0.03)
    auto = _fit(
        MatrixCompletion(), sim.weak, k_fit
    ).class_prior()  # no class_balance -> unsupervised
    np.testing.assert_allclose(auto, unsup, atol=1e-6)
    with pytest.raises(ValueError, match="class_balance"):
        MatrixCompletion(class_balance_from="data").fit(sim.weak, key=k_fit)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unsupervised_class_balance_n1e5(key, seed):
    """The three-way-overlap estimate recovers 0.8/0.2 within 0.03 at n=1e5 (independent generator)."""
    sim = sample_independent(
        jr.fold_in(key, seed),
        n=100_000,
        m=10,
        n_classes=2,
        accuracy=(0.6, 0.9),
        propensity=0.5,
        class_balance=[0.8, 0.2],
    )
    prior = _fit(MatrixCompletion(class_balance_from="unsupervised"), sim.weak, key).class_prior()
    np.testing.assert_allclose(prior, [0.8, 0.2], atol=0.03)


# ----------------------------------------------------------------------------------------------------------
# statistics reuse and sweeps


@pytest.mark.slow
def test_fit_from_stats_matches_fit_and_sweep_matches_loop(key):
    k_data, k_fit = jr.split(key)
    sim = sample_independent(k_data, n=2000, m=6, n_classes=3, accuracy=(0.6, 0.9), propensity=0.6)
    est = MatrixCompletion(n_iter=200, class_balance_from="uniform", init_noise=0.05)
    stats = est.statistics(sim.weak)
    a = est.fit(sim.weak, key=k_fit).predict_proba(sim.weak.L)
    b = est.fit_from_stats(stats, key=k_fit).predict_proba(sim.weak.L)
    np.testing.assert_allclose(a, b, atol=1e-6)
    stacked, points = expand_grid(est, {"lr": [0.005, 0.02], "l2": [0.0, 0.1]})
    keys = jr.split(k_fit, 2)

    def one(e, kk):
        return e.fit_from_stats(stats, key=kk).conditionals()

    sweep = eqx.filter_jit(
        eqx.filter_vmap(eqx.filter_vmap(one, in_axes=(None, 0)), in_axes=(eqx.if_array(0), None))
    )(stacked, keys)
    assert sweep.shape == (4, 2, 6, 4, 3)
    for h, point in enumerate(points):
        for s in range(2):
            want = (
                dataclasses.replace(est, **point).fit_from_stats(stats, key=keys[s]).conditionals()
            )
            np.testing.assert_allclose(sweep[h, s], want, atol=1e-5)


def test_vmapped_sweep_computes_overlaps_once(key):
    """Under vmap over (lr, l2, seeds), the O(n) overlap computation is not batched (traced once)."""
    sim = sample_independent(key, n=3000, m=6, n_classes=2)
    stacked, _ = expand_grid(
        MatrixCompletion(n_iter=20, class_balance_from="uniform"), {"lr": [0.01, 0.02]}
    )
    keys = jr.split(key, 3)

    def sweep(stacked, weak, keys):
        one = lambda e, kk: e.fit(weak, key=kk).conditionals()  # noqa: E731
        return eqx.filter_vmap(
            eqx.filter_vmap(one, in_axes=(None, 0)), in_axes=(eqx.if_array(0), None)
        )(stacked, keys)

    closed = eqx.filter_make_jaxpr(sweep)(stacked, sim.weak, keys)[0]
    big = []

    def walk(jx):
        for eqn in jx.eqns:
            if eqn.primitive.name == "dot_general":
                shapes = [v.aval.shape for v in eqn.invars]
                if any(3000 in s for s in shapes):
                    big.append([v.aval.shape for v in eqn.outvars])
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(closed.jaxpr)
    assert big == [[(12, 12)]], big  # one (d, d) overlap product, without grid or seed axes


# ----------------------------------------------------------------------------------------------------------
# reference implementation


@pytest.mark.parametrize("n_classes", [2, 3])
def test_agrees_with_numpy_reference(key, n_classes):
    sim = sample_independent(
        key, n=5000, m=8, n_classes=n_classes, accuracy=(0.7, 0.9), propensity=0.6
    )
    L = np.asarray(sim.weak.L)
    prior = np.full(n_classes, 1.0 / n_classes)
    want = ref.fit(L, n_classes, prior)
    fitted = MatrixCompletion(class_balance_from="uniform").fit(sim.weak, key=key)
    np.testing.assert_allclose(fitted.conditionals(), want["tables"], atol=2e-3)
    np.testing.assert_allclose(float(fitted.trace["loss"][-1]), want["loss"], rtol=1e-3)
    got_post = np.asarray(fitted.predict_proba(L[:300]))
    assert np.abs(got_post - ref.posterior(L[:300], want["tables"], prior)).mean() < 3e-3
    O = np.asarray(overlap_stats(sim.weak.L, n_classes, triples=False).second_moments)
    np.testing.assert_allclose(O, ref.overlap_matrix(L, n_classes), atol=1e-6)


def _shipped_vs_reference(weak, prior, key, *, prior_power=1.0):
    """The shipped ``conf/estimator/matrix_completion.yaml`` (init='marginal', l2 towards it, the
    anchor constraint) against the NumPy reference with the same settings, given the class balance
    (``class_balance_from: auto`` then uses it; the unsupervised balance is tested elsewhere)."""
    from tests._utils import instantiate_estimator

    est = instantiate_estimator("matrix_completion")
    assert est.init == "marginal" and float(est.l2) > 0 and est.anchor, est
    est = dataclasses.replace(est, prior_power=prior_power)
    weak = dataclasses.replace(weak, class_balance=jnp.asarray(prior, jnp.float32))
    L, k = np.asarray(weak.L), weak.n_classes
    fitted = est.fit(weak, key=key)
    settings = dict(
        l2=float(est.l2),
        prec_init=float(est.prec_init),
        init="marginal",
        prior_power=prior_power,
        anchor=True,
    )
    want = ref.fit(L, k, prior, **settings)
    tol = 1e-4  # measured: 2e-7 on the tables, 1e-6 on the posterior
    np.testing.assert_allclose(fitted.class_prior(), want["prior"], atol=1e-6)
    got = np.asarray(fitted.conditionals())
    np.testing.assert_allclose(got, want["tables"], atol=tol)
    post = np.asarray(fitted.predict_proba(L[:300]))
    np.testing.assert_allclose(
        post, ref.posterior(L[:300], want["tables"], want["prior"]), atol=tol
    )
    # the comparison can fail: l2 pulling towards zero instead of the guess moves the tables by
    # far more than the tolerance (measured: 0.018 to 0.15)
    wrong = ref.fit(L, k, prior, **settings, l2_target=np.zeros((L.shape[1], k, k)))
    assert np.abs(got - wrong["tables"]).max() > 10 * tol
    return est, want


@pytest.mark.parametrize("prior_power", [1.0, 0.5])
def test_shipped_configuration_agrees_with_numpy_reference(key, prior_power):
    sim = sample_independent(
        jr.key(0),
        n=3000,
        m=8,
        n_classes=2,
        accuracy=(0.6, 0.9),
        propensity=(0.3, 0.8),
        class_balance=[0.7, 0.3],
    )
    prior = np.bincount(np.asarray(sim.y), minlength=2) / sim.weak.n
    _shipped_vs_reference(sim.weak, prior, key, prior_power=prior_power)


def test_shipped_configuration_agrees_with_numpy_reference_on_sparse_one_sided_lfs(key):
    """Sparse one-sided LFs (each votes one class, propensity 0.05-0.3): the anchor constraint is
    active and l2 decides among the moment objective's flat family of solutions."""
    from tests.labelmodels._problems import one_sided
    from wsbench.labelmodels._dependencies import _structure
    from wsbench.labelmodels._matrix_completion import _marginal_init_mu

    weak, y, _ = one_sided(3, n=3000, k=3, lfs_per_class=[3, 3, 2], prior=[0.5, 0.3, 0.2])
    prior = np.bincount(y, minlength=3) / len(y)
    est, want = _shipped_vs_reference(weak, prior, key)
    L = np.asarray(weak.L)
    O = overlap_stats(weak.L, 3, triples=False).second_moments
    guess = _marginal_init_mu(
        O, jnp.asarray(prior, jnp.float32), _structure(L.shape[1], 3, ()), 0.7
    )
    want_guess = ref.initial_guess(L, 3, prior, init="marginal", prec_init=float(est.prec_init))
    np.testing.assert_allclose(np.asarray(guess).reshape(want_guess.shape), want_guess, atol=1e-6)
    mu = want["mu"]  # the constraint holds at the reference's optimum
    diag = np.einsum("jaa->ja", mu)[:, :, None]
    assert np.all(diag >= mu - 1e-8)


# ----------------------------------------------------------------------------------------------------------
# degenerate inputs


def test_fewer_than_three_lfs_is_a_clear_error(key):
    L = np.array([[0, 1], [1, 1], [0, -1]])
    with pytest.raises(ValueError, match="at least 3.*MajorityVote or DawidSkene"):
        MatrixCompletion().fit(WeakLabels(L=L, n_classes=2), key=key)
    sim = sample_independent(key, n=100, m=4)
    with pytest.raises(ValueError, match="at least 3"):  # 4 LFs but only 2 independent groups
        MatrixCompletion(edges=((0, 1), (2, 3))).fit(sim.weak, key=key)


def test_bad_edges_are_clear_errors(key):
    sim = sample_independent(key, n=100, m=6)
    with pytest.raises(ValueError, match="cycle"):
        MatrixCompletion(edges=((0, 1), (1, 2), (0, 2))).fit(sim.weak, key=key)
    with pytest.raises(ValueError, match="only 6 LFs"):
        MatrixCompletion(edges=((0, 9),)).fit(sim.weak, key=key)
    with pytest.raises(ValueError, match="two different LFs"):
        MatrixCompletion(edges=((1, 1),))
    with pytest.raises(ValueError, match="balance"):
        MatrixCompletion(class_balance_from="dev")


def _finite_fit(L, n_classes, key, **kw):
    fitted = _fit(MatrixCompletion(n_iter=200, **kw), WeakLabels(L=L, n_classes=n_classes), key)
    probs = np.asarray(fitted.predict_proba(L))
    for arr in (
        probs,
        fitted.conditionals(),
        fitted.confusions(),
        fitted.class_prior(),
        fitted.trace["loss"],
    ):
        assert np.all(np.isfinite(np.asarray(arr)))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-4)
    return fitted, probs


@pytest.mark.parametrize("balance", ["uniform", "unsupervised"])
@pytest.mark.slow
def test_lf_that_never_votes(key, balance):
    """A silent LF gets P(abstain) = 1 (up to the 1e-6 floor) and does not change the posterior."""
    sim = sample_independent(key, n=1000, m=6, n_classes=2)
    L = np.asarray(sim.weak.L).copy()
    L[:, 2] = -1
    fitted, probs = _finite_fit(L, 2, key, class_balance_from=balance)
    np.testing.assert_allclose(fitted.conditionals()[2, 0], 1.0, atol=1e-5)
    _, without = _finite_fit(np.delete(L, 2, axis=1), 2, key, class_balance_from=balance)
    np.testing.assert_allclose(probs, without, atol=1e-3)


@pytest.mark.slow
def test_lfs_that_always_agree(key):
    sim = sample_independent(key, n=1000, m=3, n_classes=2)
    L = np.repeat(np.asarray(sim.weak.L)[:, :1], 4, axis=1)
    _finite_fit(L, 2, key)
    _finite_fit(L, 2, key, class_balance_from="uniform")


@pytest.mark.slow
def test_binary_with_one_class_never_voted(key):
    sim = sample_independent(key, n=1000, m=5, n_classes=2)
    L = np.where(np.asarray(sim.weak.L) == 1, -1, np.asarray(sim.weak.L))
    _finite_fit(L, 2, key)
    _finite_fit(L, 2, key, class_balance_from="uniform")


def test_all_abstain_matrix(key):
    L = np.full((50, 4), -1)
    fitted, probs = _finite_fit(L, 3, key, class_balance_from="uniform")
    np.testing.assert_allclose(probs, 1.0 / 3, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# slow: Bayes-accuracy gap and the recovery rate


@pytest.mark.slow
@pytest.mark.parametrize("n_classes", [2, 5])
def test_within_one_point_of_bayes_at_n1e5(key, n_classes):
    k_data, k_fit = jr.split(key)
    sim = sample_independent(
        k_data, n=100_000, m=10, n_classes=n_classes, accuracy=(0.55, 0.85), propensity=0.4
    )
    fitted = _fit(MatrixCompletion(), sim.weak, k_fit)
    gap = _accuracy(bayes_posterior(sim, sim.weak.L), sim.y) - _accuracy(
        fitted.predict_proba(sim.weak.L), sim.y
    )
    assert gap <= 0.01, gap


@pytest.mark.slow
def test_recovery_error_decays_as_one_over_sqrt_n(key):
    """Parameter error vs n on a log-log scale has slope -0.5 +- 0.1."""
    sizes = [1000, 3000, 10_000, 30_000, 100_000]
    errors = []
    for n in sizes:
        errs = []
        for seed in range(4):
            k_data, k_fit = jr.split(jr.fold_in(key, seed))
            sim = sample_independent(
                k_data, n=n, m=10, n_classes=2, accuracy=(0.6, 0.9), propensity=0.5
            )
            errs.append(
                _error(_fit(MatrixCompletion(class_balance_from="uniform"), sim.weak, k_fit), sim)
            )
        errors.append(np.mean(errs))
    slope = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert -0.6 <= slope <= -0.4, (slope, errors)


# ----------------------------------------------------------------------------- issue 13 regressions


def _one_sided_problem(k=6, seed=0, n=4000):
    from tests.labelmodels._problems import one_sided

    lfs = [6, 5, 4, 4, 3, 3, 3, 2, 2][:k]
    prior = np.array([0.3, 0.2, 0.12, 0.1, 0.08, 0.07, 0.05, 0.05, 0.03][:k])
    return one_sided(seed, n=n, k=k, lfs_per_class=lfs, prior=prior / prior.sum())


def _share_supporting_own_class(fitted, L) -> float:
    """Share of (LF, voted class a) with ``P(lambda_j = a | Y = a) >= P(lambda_j = a | Y = y)``."""
    L = np.asarray(L)
    conf = np.asarray(fitted.conditionals())[:, 1:, :]  # [j, a, y]
    ok = [
        conf[j, a, a] >= conf[j, a].max() - 1e-6
        for j in range(L.shape[1])
        for a in np.unique(L[:, j][L[:, j] >= 0])
    ]
    return float(np.mean(ok))


@pytest.mark.slow
def test_unsupervised_balance_does_not_collapse_on_sparse_one_sided_lfs(key):
    """Cause 1: the three-way overlaps of sparse one-sided LFs carry almost no signal; the balance
    must not walk into a corner of the simplex (it did within ~10 Adam steps)."""
    from tests.labelmodels._problems import expected_accuracy, mv_accuracy

    weak, y, _ = _one_sided_problem()
    fitted = MatrixCompletion(class_balance_from="unsupervised").fit(weak, key=key)
    assert float(fitted.class_prior().min()) > 0.02, fitted.class_prior()
    probs = fitted.predict_proba(weak.L)
    assert expected_accuracy(probs, y) >= mv_accuracy(np.asarray(weak.L), y, 6) - 0.02


@pytest.mark.slow
def test_converged_fit_keeps_one_sided_lfs_on_their_class(key):
    """Cause 2: run to convergence, one-sided LFs must still vote most often on their own class."""
    weak, _, _ = _one_sided_problem(k=9)
    fitted = MatrixCompletion(n_iter=2000, lr=0.05, class_balance_from="uniform").fit(weak, key=key)
    assert _share_supporting_own_class(fitted, weak.L) == 1.0


# ----------------------------------------------------------------------------- sparse Bayes-gap regimes


def _sparse_gap(est, key, *, n, k):
    """Bayes accuracy minus the fitted model's on m = 30 sparse LFs (propensity 0.05-0.3)."""
    from tests.labelmodels._problems import expected_accuracy

    k_data, k_fit = jr.split(key)
    sim = sample_independent(
        k_data, n=n, m=30, n_classes=k, accuracy=(0.55, 0.9), propensity=(0.05, 0.3)
    )
    y = np.asarray(sim.y)
    bayes = expected_accuracy(bayes_posterior(sim, sim.weak.L), y)
    return bayes - expected_accuracy(est.fit(sim.weak, key=k_fit).predict_proba(sim.weak.L), y)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.slow
def test_sparse_lfs_within_half_a_point_of_bayes(key, n_classes):
    from wsbench.labelmodels import DawidSkene

    for est in (MatrixCompletion(), DawidSkene()):
        gap = _sparse_gap(est, key, n=10_000, k=n_classes)
        assert gap <= 0.005, (type(est).__name__, gap)


@pytest.mark.slow
@pytest.mark.parametrize("n_classes", [2, 4])
def test_sparse_lfs_within_a_quarter_point_of_bayes_at_n5e4(key, n_classes):
    from wsbench.labelmodels import DawidSkene

    for est in (MatrixCompletion(), DawidSkene()):
        gap = _sparse_gap(est, key, n=50_000, k=n_classes)
        assert gap <= 0.0025, (type(est).__name__, gap)


# ----------------------------------------------------------------------------------------------------------
# issue 13: the unsupervised class balance is kept only when it is well identified (jackknife)


def test_well_identified_rejects_a_balance_that_depends_on_which_lfs_are_used():
    """youtube's failure mode: a balance far from uniform (0.76/0.24) whose leave-a-group-out
    estimates scatter (dependent LFs) is not trusted; a stable one is."""
    from wsbench.labelmodels._class_balance import _well_identified

    p = jnp.asarray([0.76, 0.24])
    m = 10

    def stable(w):
        return p + 0.005 * (w[0] - 0.5)

    def scattered(w):  # leaving out LF group g moves the estimate to either corner or to uniform
        g = jnp.argmin(w)
        return jnp.where(g % 3 == 0, jnp.asarray([0.98, 0.02]), jnp.asarray([0.5, 0.5]))

    assert bool(_well_identified(p, stable, m, 2))
    assert not bool(_well_identified(p, scattered, m, 2))
    # a balance at uniform is never "significantly different from uniform"
    assert not bool(_well_identified(jnp.asarray([0.5, 0.5]), stable, m, 2))


@pytest.mark.slow
def test_accuracy_does_not_fall_when_run_to_convergence(key):
    """Cause 2 at convergence: the benchmark's MatrixCompletion (conf/estimator/matrix_completion.yaml:
    init='marginal', l2 > 0) run longer must not lose accuracy. The moment objective alone (l2 = 0,
    the class default) has a degenerate family of solutions for one-sided LFs: seed 0 gave 48.2 at
    500 steps and 44.9 at 3000 (MV 50.1); the pull towards the moment-consistent equal-accuracy
    guess picks one member of the family, 50.9 at both (measured when this test was written)."""
    from tests._utils import instantiate_estimator
    from tests.labelmodels._problems import expected_accuracy, mv_accuracy

    base = instantiate_estimator("matrix_completion")
    assert base.init == "marginal" and base.l2 > 0
    weak, y, _ = _one_sided_problem(k=9)
    acc = {
        n_iter: expected_accuracy(
            dataclasses.replace(base, n_iter=n_iter).fit(weak, key=key).predict_proba(weak.L), y
        )
        for n_iter in (500, 3000)
    }
    assert acc[3000] >= acc[500] - 0.01, acc
    assert acc[3000] >= mv_accuracy(np.asarray(weak.L), y, 9) - 0.02, acc


# ----------------------------------------------------------------------------------------------------------
# issue 13: init="marginal" (the majority-vote-like guess l2 pulls towards) and prior_power


def _one_sided_with_prior(k=4, seed=3):
    weak, y, _ = _one_sided_problem(k=k, seed=seed, n=3000)
    prior = np.bincount(y, minlength=k) / len(y)
    return dataclasses.replace(weak, class_balance=jnp.asarray(prior, jnp.float32)), y, prior


def test_marginal_init_matches_vote_rates_and_has_one_likelihood_ratio():
    from wsbench.labelmodels._dependencies import _structure
    from wsbench.labelmodels._matrix_completion import _marginal_init_mu

    weak, _, prior = _one_sided_with_prior()
    k, m = 4, weak.m
    O = overlap_stats(weak.L, k, triples=False).second_moments
    mu = np.asarray(_marginal_init_mu(O, jnp.asarray(prior), _structure(m, k, ()), 0.8))
    mu = mu.reshape(m, k, k)  # [j, a, y]
    rates = np.stack([(np.asarray(weak.L) == a).mean(0) for a in range(k)], 1)  # [j, a]
    np.testing.assert_allclose(mu @ prior, rates, rtol=1e-5, atol=1e-7)  # the vote rates
    voted = rates > 0
    ratio = np.einsum("jaa->ja", mu)[:, :, None] / np.maximum(mu, 1e-30)  # [j, a, y]
    off = ~np.eye(k, dtype=bool)[None] & voted[:, :, None]
    np.testing.assert_allclose(ratio[off], 0.8 * (k - 1) / 0.2, rtol=1e-4)
    assert np.all(mu[~voted] == 0)  # a class an LF never votes gets no vote probability


def test_strong_l2_towards_the_marginal_init_is_majority_vote_plus_prior(key):
    """l2 -> inf holds the fit at the guess: every vote multiplies its class's odds by r, so the
    posterior is the prior times r ** (vote count) (here: majority vote wherever it is unique)."""
    weak, _, prior = _one_sided_with_prior()
    L = np.asarray(weak.L)
    fitted = MatrixCompletion(init="marginal", l2=1e4, prec_init=0.8, n_iter=200).fit(weak, key=key)
    counts = np.stack([(L == a).sum(1) for a in range(4)], 1)
    r = 0.8 * 3 / 0.2
    want = np.log(prior)[None] + counts * np.log(r)
    want = np.exp(want - want.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    got = np.asarray(fitted.predict_proba(L))
    assert np.abs(got - want).max() < 0.02


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_prior_power_tempers_the_given_class_balance(key, power):
    weak, _, prior = _one_sided_with_prior()
    fitted = MatrixCompletion(prior_power=power, n_iter=20).fit(weak, key=key)
    want = prior**power / np.sum(prior**power)
    np.testing.assert_allclose(np.asarray(fitted.class_prior()), want, rtol=1e-5)


def test_prior_power_is_applied_once_to_the_unsupervised_balance(key):
    sim = sample_independent(
        key, n=4000, m=8, accuracy=(0.7, 0.9), propensity=0.6, class_balance=[0.7, 0.3]
    )
    est = MatrixCompletion(class_balance_from="unsupervised", n_iter=50)
    p = np.asarray(est.fit(sim.weak, key=key).class_prior())
    half = np.asarray(
        dataclasses.replace(est, prior_power=0.5).fit(sim.weak, key=key).class_prior()
    )
    np.testing.assert_allclose(half, np.sqrt(p) / np.sqrt(p).sum(), rtol=1e-4)


def test_bad_prior_power_is_a_clear_error():
    with pytest.raises(ValueError, match="prior_power"):
        MatrixCompletion(prior_power=-1.0)
