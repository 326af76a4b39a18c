import jax.random as jr
import numpy as np
import pytest

from wsbench.multitask import (
    TaskGraph,
    multitask_bayes_posterior,
    sample_multitask,
    sample_multitask_from_tables,
    task_tables,
)
from wsbench.synthetic import bayes_posterior, sample_independent

G = TaskGraph.hierarchy(2, 3, 1)


def test_tables_are_distributions_and_cross_task_dependence():
    lf_task = (0, 0, 1)
    T = task_tables(G, lf_task, accuracy=0.7, propensity=0.5, cross_task=0.1)
    assert T.shape == (3, 4, 4)
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    assert np.all(T[:2, 3] == 0)  # coarse LFs: no vote 2 (padding)
    # coarse LF accuracy on "abnormal" depends on the fine class (cross-task informative) ...
    acc_abn = T[0, 2, 1:]  # P(vote abnormal | abnormal, fine f)
    assert acc_abn.max() - acc_abn.min() > 0.05
    # ... and not without cross_task
    T0 = task_tables(G, lf_task, accuracy=0.7, propensity=0.5)
    np.testing.assert_allclose(T0[0, 2, 1:], 0.35)
    # a fine LF votes uniformly where the fine task does not apply
    np.testing.assert_allclose(T0[2, 1:, 0], 0.5 / 3)


def test_samples_follow_the_tables_and_the_hierarchy(key):
    sim = sample_multitask(
        key,
        n=40000,
        graph=G,
        lfs_per_task=2,
        accuracy=(0.6, 0.9),
        propensity=0.6,
        cross_task=0.15,
        prior=[0.4, 0.3, 0.2, 0.1],
    )
    Y = sim.Y
    assert np.all((Y[:, 1] == 3) == (Y[:, 0] != 1))
    y = np.asarray(sim.y_joint)
    np.testing.assert_allclose(np.bincount(y, minlength=4) / len(y), sim.prior, atol=0.01)
    L = np.asarray(sim.weak.L)
    for j in range(sim.weak.m):
        T = sim.conditionals(j)
        for c in range(4):
            rows = L[y == c, j]
            emp = np.array([(rows == a - 1).mean() for a in range(T.shape[0])])
            np.testing.assert_allclose(emp, T[:, c], atol=0.03)


def test_dependent_pairs_follow_clique_tables(key):
    sim = sample_multitask(
        key,
        n=40000,
        graph=G,
        lfs_per_task=3,
        accuracy=0.75,
        propensity=0.6,
        edges=((3, 4),),
        correlation=0.7,
    )
    assert sim.edges == ((3, 4),)
    L, y = np.asarray(sim.weak.L), np.asarray(sim.y_joint)
    C = np.asarray(sim.clique_tables[0])  # [a, b, y] over {abstain, 0, 1, 2}
    np.testing.assert_allclose(C.sum(axis=(0, 1)), 1.0, atol=1e-6)
    np.testing.assert_allclose(C.sum(axis=1)[:4], sim.conditionals(3), atol=1e-6)
    np.testing.assert_allclose(C.sum(axis=0)[:4], sim.conditionals(4), atol=1e-6)
    for c in (0, 2):
        r = y == c
        emp = np.array(
            [[np.mean((L[r, 3] == a - 1) & (L[r, 4] == b - 1)) for b in range(4)] for a in range(4)]
        )
        np.testing.assert_allclose(emp, C[:4, :4, c], atol=0.02)


@pytest.mark.parametrize("edges", [(), ((3, 4),)])
@pytest.mark.slow
def test_bayes_posterior_is_calibrated(key, edges):
    sim = sample_multitask(
        key,
        n=60000,
        graph=G,
        lfs_per_task=3,
        accuracy=(0.55, 0.8),
        propensity=0.5,
        cross_task=0.1,
        edges=edges,
        correlation=0.8,
    )
    q = np.asarray(multitask_bayes_posterior(sim, sim.weak.L))
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-5)
    y = np.asarray(sim.y_joint)
    conf, hit = q.max(axis=1), q.argmax(axis=1) == y
    for lo in (0.4, 0.6, 0.8):
        b = (conf >= lo) & (conf < lo + 0.2)
        assert b.sum() > 1000
        assert abs(hit[b].mean() - conf[b].mean()) < 0.02
    # the exact posterior is also calibrated per joint label
    np.testing.assert_allclose(q.mean(axis=0), np.bincount(y, minlength=4) / len(y), atol=0.01)


@pytest.mark.slow
def test_one_task_bayes_matches_single_task_simulation(key):
    sim1 = sample_independent(key, n=500, m=4, n_classes=3, accuracy=(0.5, 0.8), propensity=0.7)
    g = TaskGraph.single(3)
    conf = np.asarray(sim1.conditionals())  # (m, k+1, k), the same layout
    simm = sample_multitask_from_tables(
        key, n=10, graph=g, lf_task=(0,) * 4, tables=conf, prior=np.asarray(sim1.class_balance)
    )
    np.testing.assert_allclose(
        multitask_bayes_posterior(simm, sim1.weak.L), bayes_posterior(sim1, sim1.weak.L), atol=1e-5
    )


def test_bad_generator_input_raises(key):
    T = task_tables(G, (0, 1), accuracy=0.7, propensity=0.5)
    with pytest.raises(ValueError, match="same task"):
        sample_multitask_from_tables(key, n=5, graph=G, lf_task=(0, 1), tables=T, edges=((0, 1),))
    bad = T.copy()
    bad[0, 3, :] = 0.1
    with pytest.raises(ValueError, match="outside task 0"):
        sample_multitask_from_tables(key, n=5, graph=G, lf_task=(0, 1), tables=bad)
    with pytest.raises(ValueError, match="prior"):
        sample_multitask_from_tables(key, n=5, graph=G, lf_task=(0, 1), tables=T, prior=[1.0])
    with pytest.raises(ValueError, match="lfs_per_task"):
        sample_multitask(key, n=5, graph=G, lfs_per_task=(1, 0))


def test_same_key_same_data():
    a = sample_multitask(jr.key(3), n=100, graph=G)
    b = sample_multitask(jr.key(3), n=100, graph=G)
    np.testing.assert_array_equal(a.weak.L, b.weak.L)
    np.testing.assert_array_equal(a.y_joint, b.y_joint)
