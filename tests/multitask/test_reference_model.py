"""The NumPy multi-task matrix-completion reference: reduces to the single-task one, recovers the truth."""

import jax.random as jr
import numpy as np
import pytest

from tests.reference import matrix_completion_numpy as single_ref
from tests.reference import multitask_matrix_completion_numpy as ref
from wsbench.multitask import (
    MultitaskMajorityVote,
    TaskGraph,
    multitask_bayes_posterior,
    sample_multitask,
)
from wsbench.synthetic import sample_independent

G = TaskGraph.hierarchy(2, 3, 1)
PRIOR = np.array([0.4, 0.25, 0.2, 0.15])


def _true_mu(sim):
    return np.concatenate([sim.conditionals(j)[1:] for j in range(sim.weak.m)])


@pytest.mark.parametrize("k", [2, 3])
def test_one_task_equals_single_task_reference(key, k):
    sim = sample_independent(key, n=3000, m=5, n_classes=k, accuracy=(0.6, 0.85), propensity=0.6)
    L, prior = np.asarray(sim.weak.L), np.asarray(sim.class_balance, float)
    g = TaskGraph.single(k)
    mt = ref.fit(L, g, (0,) * 5, prior, l2=0.01)
    st = single_ref.fit(L, k, prior, l2=0.01)
    np.testing.assert_allclose(ref.overlap_matrix(L, g, (0,) * 5), single_ref.overlap_matrix(L, k))
    np.testing.assert_allclose(mt["mu"], st["mu"].reshape(5 * k, k), atol=1e-9)
    np.testing.assert_allclose(np.stack(mt["tables"]), st["tables"], atol=1e-9)
    assert mt["loss"] == pytest.approx(st["loss"], abs=1e-12)
    np.testing.assert_allclose(
        ref.posterior(L[:200], mt["tables"], prior),
        single_ref.posterior(L[:200], st["tables"], prior),
        atol=1e-9,
    )


def _accuracies(sim, tables, key, rows=slice(0, 4000)):
    L = np.asarray(sim.weak.L)
    y = np.asarray(sim.y_joint)[rows]
    q = ref.posterior(L[rows], tables, PRIOR)
    qb = np.asarray(multitask_bayes_posterior(sim, L[rows]))
    mv = np.asarray(MultitaskMajorityVote().fit(sim.weak, key=key).predict_proba_joint(L[rows]))
    acc = {
        name: float((p.argmax(1) == y).mean())
        for name, p in (("ref", q), ("bayes", qb), ("mv", mv))
    }
    return acc, q


@pytest.mark.slow
def test_recovers_hierarchical_truth(key):
    sim = sample_multitask(
        key, n=30000, graph=G, lfs_per_task=5, accuracy=(0.6, 0.85), propensity=0.7, prior=PRIOR
    )
    fit = ref.fit(np.asarray(sim.weak.L), G, sim.weak.lf_task, PRIOR)
    err = np.abs(fit["mu"] - _true_mu(sim))
    assert err.mean() < 0.015 and err.max() < 0.08, (err.mean(), err.max())
    acc, q = _accuracies(sim, fit["tables"], key)
    assert acc["ref"] > acc["bayes"] - 0.015, acc
    assert acc["ref"] > acc["mv"] + 0.02, acc
    # per-task marginals are distributions that respect the hierarchy
    coarse, fine = ref.task_marginals(q, G)
    np.testing.assert_allclose(fine[:, 3], coarse[:, 0], atol=1e-12)


def test_pairwise_objective_is_rotation_invariant(key):
    """mu -> mu P^1/2 R P^-1/2 (R a rotation fixing p^1/2) leaves the objective unchanged: K >= 3
    latent labels are not identified by second moments alone."""
    sim = sample_multitask(key, n=2000, graph=G, lfs_per_task=3, prior=PRIOR)
    fit = ref.fit(np.asarray(sim.weak.L), G, sim.weak.lf_task, PRIOR)
    s = np.sqrt(PRIOR)
    basis = np.linalg.qr(np.column_stack([s, np.eye(4)[:, :3]]))[0]  # first column = +-s
    theta = 0.05
    rot = np.eye(4)
    rot[1:3, 1:3] = [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
    R = basis @ rot @ basis.T
    np.testing.assert_allclose(R @ s, s, atol=1e-12)
    mu2 = fit["mu"] @ np.diag(s) @ R @ np.diag(1 / s)
    args = (fit["O"], fit["mask"], PRIOR, fit["mu0"], 0.0, fit["off"])
    v1, _ = ref.objective(fit["mu"].ravel(), *args)
    v2, _ = ref.objective(mu2.ravel(), *args)
    assert np.abs(mu2 - fit["mu"]).max() > 1e-3
    assert v2 == pytest.approx(v1, rel=1e-9, abs=1e-12)


def test_gradient_matches_finite_differences(key):
    sim = sample_multitask(key, n=2000, graph=G, lfs_per_task=3, prior=PRIOR)
    L = np.asarray(sim.weak.L)
    fit = ref.fit(L, G, sim.weak.lf_task, PRIOR)
    triples = ref.triples_of(list(range(sim.weak.m)))[:6]
    O3 = ref.triple_overlaps(L, G, sim.weak.lf_task, triples)
    args = (fit["O"], fit["mask"], PRIOR, fit["mu0"], 0.1, fit["off"], triples, O3)
    x = fit["mu0"].ravel() + 0.01
    _, g = ref.objective(x, *args)
    h, num = 1e-6, np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        num[i] = (ref.objective(x + e, *args)[0] - ref.objective(x - e, *args)[0]) / (2 * h)
    np.testing.assert_allclose(g, num, atol=1e-7)


@pytest.mark.slow
def test_cross_task_lfs_need_third_order_moments(key):
    """With cross-task informative LFs the pairwise fit lands elsewhere on its flat valley; the
    three-way moments pin the truth down (parameters and posterior)."""
    sim = sample_multitask(
        key,
        n=30000,
        graph=G,
        lfs_per_task=4,
        accuracy=(0.6, 0.85),
        propensity=0.7,
        cross_task=0.15,
        prior=PRIOR,
    )
    L = np.asarray(sim.weak.L)
    pair = ref.fit(L, G, sim.weak.lf_task, PRIOR)
    third = ref.fit(L, G, sim.weak.lf_task, PRIOR, third_order=True)
    e_pair = np.abs(pair["mu"] - _true_mu(sim)).mean()
    e_third = np.abs(third["mu"] - _true_mu(sim)).mean()
    assert e_third < 0.012 and e_pair > 2 * e_third, (e_pair, e_third)
    acc3, _ = _accuracies(sim, third["tables"], key)
    assert acc3["ref"] > acc3["bayes"] - 0.015, acc3
    assert acc3["ref"] > acc3["mv"] + 0.03, acc3


@pytest.mark.slow
def test_recovers_flat_graph_with_cross_task_lfs(key):
    g = TaskGraph.flat((2, 2))
    prior = np.array([0.35, 0.15, 0.2, 0.3])  # correlated tasks
    sim = sample_multitask(
        key,
        n=30000,
        graph=g,
        lfs_per_task=4,
        accuracy=(0.65, 0.85),
        propensity=0.7,
        cross_task=0.1,
        prior=prior,
    )
    # binary LFs on K = 4 joint labels: three-way moments help but identify less sharply
    L = np.asarray(sim.weak.L)
    third = ref.fit(L, g, sim.weak.lf_task, prior, third_order=True)
    pair = ref.fit(L, g, sim.weak.lf_task, prior)
    e_third = np.abs(third["mu"] - _true_mu(sim)).mean()
    e_pair = np.abs(pair["mu"] - _true_mu(sim)).mean()
    assert e_third < 0.025 and e_third < 0.5 * e_pair, (e_third, e_pair)


@pytest.mark.slow
def test_dependency_mask_keeps_recovery(key):
    # LF 6 copies LF 5 (fine task): masking their block keeps the fit consistent
    sim = sample_multitask(
        key,
        n=30000,
        graph=G,
        lfs_per_task=5,
        accuracy=(0.6, 0.85),
        propensity=0.7,
        prior=PRIOR,
        edges=((5, 6),),
        correlation=0.9,
    )
    L = np.asarray(sim.weak.L)
    masked = ref.fit(L, G, sim.weak.lf_task, PRIOR, edges=sim.edges)
    naive = ref.fit(L, G, sim.weak.lf_task, PRIOR)
    e_masked = np.abs(masked["mu"] - _true_mu(sim)).mean()
    e_naive = np.abs(naive["mu"] - _true_mu(sim)).mean()
    assert e_masked < 0.015 and e_masked < e_naive, (e_masked, e_naive)


@pytest.mark.slow
def test_error_falls_as_inverse_sqrt_n():
    """With three-way moments the error falls as n^-1/2. (Pairwise only, the same runs measured
    0.0188, 0.0069, 0.0039 at n = 3e3, 3e4, 3e5, slope -0.34: the fit lands on the flat valley of
    the pairwise objective near, not at, the truth.)"""
    errs, ns = [], [3000, 30000, 300000]
    for n in ns:
        e = []
        for seed in range(3):
            sim = sample_multitask(
                jr.key(seed),
                n=n,
                graph=G,
                lfs_per_task=5,
                accuracy=(0.6, 0.85),
                propensity=0.7,
                prior=PRIOR,
            )
            fit = ref.fit(np.asarray(sim.weak.L), G, sim.weak.lf_task, PRIOR, third_order=True)
            e.append(np.abs(fit["mu"] - _true_mu(sim)).mean())
        errs.append(np.mean(e))
    slope = np.polyfit(np.log(ns), np.log(errs), 1)[0]
    print("errors", errs, "slope", slope)
    assert -0.6 < slope < -0.4, (errs, slope)
