"""REINFORCE is unbiased on an enumerable toy; TANDA learns to avoid TFs that produce fake-looking points."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from wsbench.augment import (
    TF,
    LSTMGenerator,
    MeanFieldGenerator,
    Tanda,
    TandaPolicy,
    TFSet,
    reinforce_surrogate,
    reward_to_go,
)

K, L = 3, 2


def test_reward_to_go_matches_loop():
    c = jnp.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])
    got = reward_to_go(c, 0.5)
    want = np.zeros((2, 3))
    for b in range(2):
        for t in range(3):
            want[b, t] = sum(0.5 ** (s - t) * float(c[b, s]) for s in range(t, 3))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def _prefix_loss(seq):
    """A deterministic loss on each prefix l_0..l_L of a sequence (with an interaction term)."""
    w = jnp.array([0.3, -0.5, 1.0])
    v = jnp.array([[0.0, 1.0, -2.0], [0.5, 0.0, 0.3], [-1.0, 0.2, 0.0]])
    l1 = w[seq[..., 0]]
    l2 = l1 + w[seq[..., 1]] + v[seq[..., 0], seq[..., 1]]
    return jnp.stack([jnp.zeros_like(l1), l1, l2], axis=-1)


def _costs(seqs):
    losses = _prefix_loss(seqs)
    return losses[:, 1:] - losses[:, :-1]


def _generators(key):
    mf = MeanFieldGenerator(K, L)
    mf = eqx.tree_at(lambda g: g.raw_logits, mf, jnp.array([0.4, -0.3, 0.1]))
    return {"mean_field": mf, "lstm": LSTMGenerator(K, L, hidden=8, embed=4, key=key)}


def _flat(tree):
    return jnp.concatenate(
        [jnp.ravel(a) for a in jax.tree.leaves(eqx.filter(tree, eqx.is_inexact_array))]
    )


@pytest.mark.parametrize("name", ["mean_field", "lstm"])
@pytest.mark.slow
def test_reinforce_gradient_matches_exact_gradient(name, key):
    gen = _generators(key)[name]
    all_seqs = jnp.array(list(itertools.product(range(K), repeat=L)), jnp.int32)  # 9 sequences
    total_cost = _prefix_loss(all_seqs)[:, -1] - _prefix_loss(all_seqs)[:, 0]

    def expected_cost(g):  # exact E_tau[C(tau)], by enumeration
        p = jnp.exp(g.log_prob(all_seqs).sum(axis=1))
        return jnp.sum(p * total_cost)

    exact = _flat(eqx.filter_grad(expected_cost)(gen))
    assert float(jnp.linalg.norm(exact)) > 1e-3

    # 1. the expectation of the surrogate's gradient (no baseline) is exactly the gradient
    def surrogate_expectation(g):
        p = jax.lax.stop_gradient(jnp.exp(g.log_prob(all_seqs).sum(axis=1)))
        s = reinforce_surrogate(g.log_prob(all_seqs), _costs(all_seqs), baseline="none")
        return jnp.sum(p * s)

    np.testing.assert_allclose(_flat(eqx.filter_grad(surrogate_expectation)(gen)), exact, atol=1e-5)

    # 2. the Monte-Carlo estimate with the batch-mean baseline (what TANDA uses) agrees too
    seqs, _ = gen.sample(key, 40_000)

    def mc(g):
        return jnp.mean(reinforce_surrogate(g.log_prob(seqs), _costs(seqs), baseline="batch_mean"))

    est = _flat(eqx.filter_grad(mc)(gen))
    rel = float(jnp.linalg.norm(est - exact) / jnp.linalg.norm(exact))
    assert rel < 0.05, rel


def test_sample_log_probs_match_log_prob(key):
    for gen in _generators(key).values():
        seqs, logp = gen.sample(key, 16)
        assert seqs.shape == (16, L) and seqs.dtype == jnp.int32
        np.testing.assert_allclose(logp, gen.log_prob(seqs), atol=1e-5)
        s2, _ = gen.sample(key, 16)
        np.testing.assert_array_equal(seqs, s2)  # same key, same sequences


def test_logits_are_squashed():
    g = eqx.tree_at(
        lambda g: g.raw_logits, MeanFieldGenerator(3, 2), jnp.array([100.0, 0.0, -100.0])
    )
    assert float(jnp.abs(g.logits()).max()) <= 4.0 + 1e-6
    assert float(g.probs().min()) > 1e-4


def test_lstm_logits_stay_in_the_reference_range(key):
    """The LSTM's logits lie in (-2, 2) by default (the reference implementation's LSTM range), so
    however large its weights grow, one TF of K takes at most e^2 / (e^2 + (K - 1) e^-2) of a step's
    mass (63% of 33 TFs)."""
    K = 33
    g = LSTMGenerator(K, 3, key=key)
    assert g.logit_range == 2.0
    big = eqx.tree_at(lambda g: g.head.weight, g, g.head.weight * 1e4)  # saturate every logit
    seqs, _ = big.sample(key, 64)
    logits = jax.vmap(big.step_logits)(seqs)
    assert float(jnp.abs(logits).max()) <= 2.0 + 1e-5
    assert float(jnp.abs(logits).max()) > 1.9  # saturated, not merely small
    cap = np.exp(2) / (np.exp(2) + (K - 1) * np.exp(-2))
    assert float(big.usage(key, n=256).top[1]) <= cap + 1e-5
    wide = eqx.tree_at(lambda g: g.head.weight, LSTMGenerator(K, 3, logit_range=4.0, key=key),
                       g.head.weight * 1e4)  # fmt: skip
    assert float(jnp.abs(jax.vmap(wide.step_logits)(seqs)).max()) > 3.9


# --------------------------------------------------------------- TF usage (collapse diagnostic)


def test_usage_of_a_mean_field_generator_is_exact(key):
    g = MeanFieldGenerator(4, 3)
    u = g.usage(key)
    np.testing.assert_allclose(u.marginal, 0.25, atol=1e-6)  # uniform at initialisation
    assert float(u.effective_tfs) == pytest.approx(4.0, rel=1e-5)
    assert float(u.conditional_entropy) == pytest.approx(np.log(4), rel=1e-5)
    g = eqx.tree_at(lambda g: g.raw_logits, g, jnp.array([50.0, -50.0, -50.0, -50.0]))
    p = np.asarray(g.probs())
    u = g.usage(key)
    np.testing.assert_allclose(u.marginal, p, rtol=1e-5)
    h = -np.sum(p * np.log(p))
    assert float(u.effective_tfs) == pytest.approx(np.exp(h), rel=1e-4)
    assert float(u.conditional_entropy) == pytest.approx(h, rel=1e-4)
    top, share = u.top
    assert top == 0 and share == pytest.approx(p[0]) and share > 0.99
    with pytest.raises(ValueError, match="n >= 1"):
        g.usage(key, n=0)  # an empty sample would give a NaN marginal


def test_usage_of_an_lstm_generator_matches_its_transition_matrix(key):
    """seq_len 2: the first step is the transition matrix's start row, the second its rows
    weighted by the first step; a counted Monte Carlo marginal agrees too."""
    k_g, k_head, k_u, k_s = jr.split(key, 4)
    g = LSTMGenerator(3, 2, key=k_g)
    w = 3.0 * jr.normal(k_head, g.head.weight.shape)  # a trained-looking, uneven generator
    g = eqx.tree_at(lambda g: g.head.weight, g, w)
    T = np.asarray(g.transition_matrix())
    first = T[-1]
    second = first @ T[:-1]
    exact = 0.5 * (first + second)
    u = g.usage(k_u, n=20000)
    np.testing.assert_allclose(u.marginal, exact, atol=0.01)
    seqs, _ = g.sample(k_s, 20000)
    counted = np.bincount(np.asarray(seqs).ravel(), minlength=3) / seqs.size
    np.testing.assert_allclose(counted, exact, atol=0.01)
    h_cond = 0.5 * (-np.sum(first * np.log(first)) - first @ np.sum(T[:-1] * np.log(T[:-1]), 1))
    assert float(u.conditional_entropy) == pytest.approx(h_cond, abs=0.01)
    assert 1.0 <= float(u.effective_tfs) <= 3.0


# --------------------------------------------------------------- the toy adversarial problem


def _flip(x, key):
    del key
    return -x


def _roll(x, key):
    del key
    return jnp.roll(x, 1)


def _shift(x, key):
    del key
    return x + 3.0


def _scale(x, key):
    del key
    return 4.0 * x


TOY = TFSet(
    (TF("flip", _flip), TF("roll", _roll), TF("shift", _shift), TF("scale", _scale))
)  # flip and roll keep N(0, I); shift and scale make out-of-distribution points
HARMFUL = np.array([2, 3])


def _disc(key):
    return eqx.nn.MLP(4, "scalar", 32, 2, activation=jax.nn.relu, key=key)


@pytest.mark.parametrize("kind", ["mean_field", pytest.param("lstm", marks=pytest.mark.slow)])
def test_toy_adversarial_problem_avoids_harmful_tfs(kind, key):
    k_x, k_g, k_d, k_fit, k_s = jr.split(key, 5)
    x = jr.normal(k_x, (2000, 4))
    gen = MeanFieldGenerator(4, 2) if kind == "mean_field" else LSTMGenerator(4, 2, key=k_g)
    tanda = Tanda(tfs=TOY, g_lr=5e-2, d_lr=3e-3, n_steps=300, batch_size=64)
    policy, trace = tanda.fit(x, gen, _disc(k_d), key=k_fit)
    assert isinstance(policy, TandaPolicy)
    assert trace["d_loss"].shape == (300,) and np.all(np.isfinite(trace["d_loss"]))
    seqs, _ = policy.generator.sample(k_s, 4000)
    harmful_mass = float(np.isin(np.asarray(seqs), HARMFUL).mean())
    assert harmful_mass < 0.10, harmful_mass
    if kind == "mean_field":
        assert float(policy.generator.probs()[HARMFUL].sum()) < 0.10
    out = policy(x[:8], key=k_s)
    assert out.shape == (8, 4)


def test_tanda_validation():
    with pytest.raises(ValueError, match="diversity"):
        Tanda(tfs=TOY, diversity="l2")
    with pytest.raises(ValueError, match="n_steps"):
        Tanda(tfs=TOY, n_steps=0)
    with pytest.raises(ValueError, match="n_tfs"):
        Tanda(tfs=TOY).init(MeanFieldGenerator(3, 2), _disc(jr.key(0)))
    with pytest.raises(ValueError, match="baseline"):
        reinforce_surrogate(jnp.zeros((2, 2)), jnp.zeros((2, 2)), baseline="median")
