"""The modelling-advantage estimate (Snorkel VLDB 2018) against a NumPy reference in the paper's
+-1 coding, and its regimes on synthetic LFs: low and high density -> small, medium density with
varying accuracies -> large, and an upper bound on the oracle-weighted vote's measured advantage."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests.reference import advantage_numpy as ref
from wsbench.lf import (
    agreement_rate,
    expected_advantage,
    label_density,
    mean_accuracy_from_agreement,
    modeling_advantage,
)
from wsbench.synthetic import sample_independent


def _sim(m, propensity, accuracy, n=3000, seed=0):
    sim = sample_independent(jr.key(seed), n=n, m=m, accuracy=accuracy, propensity=propensity)
    acc = np.linspace(*accuracy, m) if isinstance(accuracy, tuple) else np.full(m, accuracy)
    w = jnp.asarray(np.log(acc / (1 - acc)), jnp.float32)
    L = sim.weak.L
    scores = jnp.stack([((L == c) * w[None, :]).sum(axis=1) for c in range(2)], axis=1)
    return L, sim.y, jax.nn.softmax(scores, axis=1)  # oracle weighted vote (true log-odds)


def test_hand_computed():
    L = np.array([[1, 0, -1], [1, 1, 0], [-1, -1, -1], [0, 0, 0]])
    assert float(label_density(L)) == pytest.approx(8 / 4)
    # pairs where both vote: row 0: 1 (disagree), row 1: 3 (1 agree), row 3: 3 (3 agree)
    assert float(agreement_rate(L, 2)) == pytest.approx(4 / 7)
    # rows with conflict: 0 (tie: both classes count, 1/2 + 1/2) and 1 (MV = 1, f_1 = 1)
    a = 0.8
    w = 0.5 * np.log(a / (1 - a))
    expected = (1.0 + 1 / (1 + np.exp(2 * w))) / 4
    assert float(expected_advantage(L, 2, mean_accuracy=a)) == pytest.approx(expected, rel=1e-5)
    # LFs that never overlap: no conflict, so no advantage (not NaN)
    disjoint = np.array([[0, -1], [-1, 1], [-1, -1]])
    assert float(expected_advantage(disjoint, 2)) == 0.0


@pytest.mark.parametrize("propensity,conflicts_only", [(0.05, True), (0.3, True), (0.3, False)])
def test_matches_numpy_reference(propensity, conflicts_only):
    L, y, probs = _sim(8, propensity, (0.55, 0.9), n=400)
    got = jax.jit(expected_advantage, static_argnums=1, static_argnames="conflicts_only")(
        L, 2, conflicts_only=conflicts_only
    )
    want = ref.expected_advantage(np.asarray(L), conflicts_only=conflicts_only)
    assert float(got) == pytest.approx(want, rel=1e-4, abs=1e-6)
    assert float(agreement_rate(L, 2)) == pytest.approx(ref.agreement(np.asarray(L)), rel=1e-5)
    A = jax.jit(modeling_advantage)(probs, L, y)
    assert float(A) == pytest.approx(ref.modeling_advantage(np.asarray(probs[:, 1]), L, y))


@pytest.mark.slow
def test_regimes_on_synthetic_lfs():
    varying = (0.55, 0.95)
    low = _sim(10, 0.01, varying)  # density ~0.1: rows have at most one vote
    medium = _sim(10, 0.3, varying)  # density ~3
    high = _sim(30, 0.9, varying)  # density ~27: majority vote is nearly always right
    est = {name: float(expected_advantage(L, 2)) for name, (L, _, _) in
           dict(low=low, medium=medium, high=high).items()}  # fmt: skip
    measured = {name: float(modeling_advantage(p, L, y)) for name, (L, y, p) in
                dict(low=low, medium=medium, high=high).items()}  # fmt: skip
    assert est["low"] < 0.01 and est["high"] < 0.01
    assert est["medium"] > 0.1 and measured["medium"] > 0.05
    for name in est:  # an (estimated) upper bound on the optimal weights' advantage
        assert est[name] >= measured[name] - 0.005, (name, est, measured)


def test_equal_accuracies_no_oracle_advantage_and_accuracy_recovery():
    L, y, probs = _sim(10, 0.3, 0.75)
    assert float(modeling_advantage(probs, L, y)) == 0.0  # equal weights = majority vote
    alpha = mean_accuracy_from_agreement(agreement_rate(L, 2), 2)
    assert float(alpha) == pytest.approx(0.75, abs=0.02)
    # k = 3: a = alpha^2 + (1 - alpha)^2 / 2 inverts
    a3 = 0.6**2 + 0.4**2 / 2
    assert float(mean_accuracy_from_agreement(jnp.float32(a3), 3)) == pytest.approx(0.6, abs=1e-5)
    assert float(mean_accuracy_from_agreement(jnp.float32(0.1), 2)) == 0.5  # below chance: clip
