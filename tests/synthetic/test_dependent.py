"""The dependent-LF generator: marginals, within-block correlation, the exact posterior, configs."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from omegaconf import OmegaConf

from tests._utils import CONF
from wsbench.synthetic import bayes_posterior, dependent_posterior, make_dependent, sample_dependent


def _sim(key, **kw):
    params = dict(
        n=40_000,
        m=9,
        n_classes=3,
        accuracy=(0.6, 0.85),
        propensity=(0.4, 0.8),
        block_size=3,
        correlation=0.7,
    )
    params.update(kw)
    return sample_dependent(key, **params)


def test_marginals_match_the_reported_parameters(key):
    sim = _sim(key)
    L, y = np.asarray(sim.weak.L), np.asarray(sim.y)
    assert sim.edges == ((0, 1), (0, 2), (3, 4), (3, 5), (6, 7), (6, 8))
    np.testing.assert_allclose((L >= 0).mean(0), sim.propensity, atol=0.015)
    for j in range(sim.weak.m):
        for t in range(3):
            votes = L[(y == t) & (L[:, j] >= 0), j]
            emp = np.bincount(votes, minlength=3) / len(votes)
            np.testing.assert_allclose(emp, sim.confusions[j, t], atol=0.03)
    # the clique tables are consistent with the per-LF marginals
    ct = np.asarray(sim.clique_tables)
    marg = np.asarray(sim.conditionals())
    for e, (i, j) in enumerate(sim.edges):
        np.testing.assert_allclose(ct[e].sum(axis=1), marg[i], atol=1e-6)
        np.testing.assert_allclose(ct[e].sum(axis=0), marg[j], atol=1e-6)


def test_followers_are_correlated_with_their_leader_given_y(key):
    sim = _sim(key, n_classes=2, correlation=0.8)
    L, y = np.asarray(sim.weak.L), np.asarray(sim.y)
    for i, j in [(0, 1), (3, 5)]:
        for t in range(2):
            rows = y == t
            both = (L[rows, i] == t) & (L[rows, j] == t)
            indep = (L[rows, i] == t).mean() * (L[rows, j] == t).mean()
            assert both.mean() > indep + 0.1
    # different blocks are conditionally independent
    rows = y == 0
    both = ((L[rows, 0] == 0) & (L[rows, 3] == 0)).mean()
    assert abs(both - (L[rows, 0] == 0).mean() * (L[rows, 3] == 0).mean()) < 0.02


def test_dependent_posterior_is_a_distribution_and_beats_the_naive_one(key):
    sim = _sim(key, n_classes=2, correlation=0.9)
    post = dependent_posterior(sim, sim.weak.L)
    np.testing.assert_allclose(post.sum(1), 1.0, atol=1e-5)
    naive = bayes_posterior(dataclasses.replace(sim, edges=()), sim.weak.L)
    idx = jnp.arange(sim.weak.n)
    nll = float(-jnp.log(post[idx, sim.y]).mean())
    nll_naive = float(-jnp.log(naive[idx, sim.y]).mean())
    assert nll < nll_naive - 0.05
    assert float((post.argmax(1) == sim.y).mean()) >= float((naive.argmax(1) == sim.y).mean())
    with pytest.raises(ValueError, match="dependent_posterior"):
        bayes_posterior(sim, sim.weak.L)


def test_correlation_zero_is_independent(key):
    sim = _sim(key, n=2000, correlation=0.0)
    naive = bayes_posterior(dataclasses.replace(sim, edges=()), sim.weak.L)
    np.testing.assert_allclose(dependent_posterior(sim, sim.weak.L), naive, atol=1e-5)


def test_blocks_and_bad_arguments(key):
    sim = sample_dependent(key, n=100, m=7, n_blocks=3, block_size=None)
    assert sim.edges == ((0, 1), (0, 2), (3, 4), (5, 6))
    with pytest.raises(ValueError, match="correlation"):
        sample_dependent(key, n=100, m=6, correlation=1.5)
    with pytest.raises(ValueError, match="n_blocks"):
        sample_dependent(key, n=100, m=3, n_blocks=5, block_size=None)


def test_config_builds_a_dataset(key):
    cfg = OmegaConf.load(CONF / "dataset" / "synthetic_dependent.yaml")
    assert cfg._target_ == "wsbench.synthetic.make_dependent"
    params = OmegaConf.to_container(cfg)
    for name in ("_target_", "_partial_"):
        params.pop(name)
    params.update(n_train=50, n_valid=20, n_test=30)
    ds = make_dependent(key=key, **params)
    assert ds.name == "synthetic_dependent"
    assert (ds.train.n, ds.valid.n, ds.test.n) == (50, 20, 30)
    assert ds.train.weak.m == cfg.m
