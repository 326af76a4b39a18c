"""End models: the noise-aware loss, training on soft labels, determinism, vmap, input validation."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

from wsbench.endmodels import MLP, LogisticRegression, soft_cross_entropy, votes_weight
from wsbench.labelmodels import MajorityVote
from wsbench.metrics import accuracy
from wsbench.synthetic import sample_independent, with_features

FAST = {
    "logreg": LogisticRegression(n_steps=200, lr=0.1),
    "mlp": MLP(n_steps=200, width=16, batch_size=64),
}


def _blobs(key, n=400, d=5, k=2, sep=4.0):
    k_y, k_x = jr.split(key)
    y = jr.randint(k_y, (n,), 0, k)
    means = sep * jnp.eye(k, d)
    return means[y] + jr.normal(k_x, (n, d)), y


def test_soft_loss_equals_hard_cross_entropy_for_one_hot(key):
    k1, k2 = jr.split(key)
    logits = jr.normal(k1, (50, 4))
    y = jr.randint(k2, (50,), 0, 4)
    want = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    np.testing.assert_allclose(soft_cross_entropy(logits, jax.nn.one_hot(y, 4)), want, rtol=1e-6)


def test_soft_loss_is_expected_hard_loss(key):
    k1, k2 = jr.split(key)
    logits = jr.normal(k1, (30, 3))
    q = jax.nn.softmax(jr.normal(k2, (30, 3)))
    per_class = jnp.stack(
        [
            optax.softmax_cross_entropy_with_integer_labels(logits, jnp.full((30,), c))
            for c in range(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(
        soft_cross_entropy(logits, q), (q * per_class).sum(1).mean(), rtol=1e-5
    )
    w = (jnp.arange(30) % 2).astype(jnp.float32)
    want = ((q * per_class).sum(1) * w).sum() / w.sum()
    np.testing.assert_allclose(soft_cross_entropy(logits, q, w), want, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(FAST))
@pytest.mark.slow
def test_separable_data_high_accuracy(name, key):
    k_data, k_fit = jr.split(key)
    x, y = _blobs(k_data)
    fitted = FAST[name].fit(x, jax.nn.one_hot(y, 2), key=k_fit)
    probs = fitted.predict_proba(x)
    assert probs.shape == (400, 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert float(accuracy(probs, y)) > 0.97
    assert fitted.trace["loss"].shape == (200,)


@pytest.mark.slow
def test_probabilistic_labels_from_label_model_beat_chance(key):
    k_sim, k_x, k_fit = jr.split(key, 3)
    sim = sample_independent(k_sim, n=1000, m=5, n_classes=2, accuracy=0.75, propensity=0.3)
    sim = with_features(sim, k_x, d=5, separation=3.0)
    probs = MajorityVote().fit(sim.weak, key=k_fit).predict_proba(sim.weak.L)
    w = votes_weight(sim.weak.L)
    fitted = FAST["logreg"].fit(sim.x, probs, weights=w, key=k_fit)
    acc = float(accuracy(fitted.predict_proba(sim.x), sim.y))
    uncovered = np.asarray(w) == 0
    assert uncovered.sum() > 50
    # well above chance, including on items no LF votes on
    assert acc > 0.8
    acc_unc = float(accuracy(fitted.predict_proba(sim.x[uncovered]), sim.y[uncovered]))
    assert acc_unc > 0.75


@pytest.mark.parametrize("name", sorted(FAST))
@pytest.mark.slow
def test_same_key_same_result_and_vmap_over_keys(name, key):
    k_data, k_fit = jr.split(key)
    x, y = _blobs(k_data, n=100)
    t = jax.nn.one_hot(y, 2)
    model = FAST[name]
    a = model.fit(x, t, key=k_fit).predict_proba(x)
    b = model.fit(x, t, key=k_fit).predict_proba(x)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    keys = jr.split(k_fit, 3)
    batched = jax.vmap(lambda kk: model.fit(x, t, key=kk).predict_proba(x))(keys)
    assert batched.shape == (3, 100, 2)
    for i in range(3):
        single = model.fit(x, t, key=keys[i]).predict_proba(x)
        np.testing.assert_allclose(batched[i], single, atol=1e-5)


@pytest.mark.slow
def test_vmap_over_learning_rate(key):
    x, y = _blobs(key, n=100)
    t = jax.nn.one_hot(y, 2)

    def fit(lr):
        return LogisticRegression(lr=lr, n_steps=50).fit(x, t, key=key).predict_proba(x)

    lrs = jnp.array([0.01, 0.1])
    batched = jax.vmap(fit)(lrs)
    np.testing.assert_allclose(batched[0], fit(0.01), atol=1e-5)
    np.testing.assert_allclose(batched[1], fit(0.1), atol=1e-5)
    # the two learning rates really give two models (a vmap that broadcast one lr would pass above
    # only if both fits coincided)
    assert np.abs(np.asarray(batched[0]) - np.asarray(batched[1])).max() > 1e-3


@pytest.mark.parametrize(
    ("x", "targets", "match"),
    [
        (np.zeros((5, 2)), np.full((4, 2), 0.5), "rows"),
        (np.zeros((5, 2)), np.full((5, 2), 0.7), "distributions"),
        (np.zeros((5, 2)), np.array([[1.5, -0.5]] * 5), "distributions"),
        (np.zeros((5, 2)), np.full((5,), 0.5), "2-D"),
        (np.array([[np.nan, 0.0]] * 5), np.full((5, 2), 0.5), "NaN"),
        (np.zeros((5, 2)), np.array([[np.nan, 0.5]] * 5), "NaN"),
        (np.zeros((5,)), np.full((5, 2), 0.5), "2-D"),
    ],
)
def test_bad_inputs_raise(x, targets, match, key):
    with pytest.raises(ValueError, match=match):
        LogisticRegression(n_steps=2).fit(x, targets, key=key)


def test_bad_weights_and_predict_shape_raise(key):
    x, t = np.zeros((5, 2)), np.full((5, 2), 0.5)
    with pytest.raises(ValueError, match="weights"):
        LogisticRegression(n_steps=2).fit(x, t, weights=np.full(4, 1.0), key=key)
    with pytest.raises(ValueError, match="all zero"):
        LogisticRegression(n_steps=2).fit(x, t, weights=np.zeros(5), key=key)
    fitted = LogisticRegression(n_steps=2).fit(x, t, key=key)
    with pytest.raises(ValueError, match="features"):
        fitted.predict_proba(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="n_steps"):
        LogisticRegression(n_steps=0)
