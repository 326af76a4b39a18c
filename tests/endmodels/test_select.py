"""select_on_valid: model selection / early stopping on valid only."""

import jax
import jax.random as jr
import numpy as np
import pytest

from wsbench import metrics
from wsbench.endmodels import LogisticRegression, select_on_valid


def _data(key, n=300, d=5):
    kx, kv = jr.split(key)
    w = np.arange(1, d + 1) - d / 2
    x, xv = jr.normal(kx, (n, d)), jr.normal(kv, (100, d))
    return x, (x @ w > 0).astype(int), xv, (xv @ w > 0).astype(int)


@pytest.mark.slow
def test_selects_best_valid_score():
    x, y, xv, yv = _data(jr.key(0))
    cands = [LogisticRegression(n_steps=1, lr=1e-4), LogisticRegression(n_steps=200)]
    fitted, best, scores = select_on_valid(cands, x, jax.nn.one_hot(y, 2), xv, yv, key=jr.key(1))
    assert best == 1 and scores.shape == (2,) and scores[1] > scores[0]
    direct = cands[1].fit(x, jax.nn.one_hot(y, 2), key=jr.key(1))
    np.testing.assert_allclose(
        float(metrics.accuracy(fitted.predict_proba(xv), yv)),
        float(metrics.accuracy(direct.predict_proba(xv), yv)),
    )
    _, best_ll, _ = select_on_valid(
        cands, x, jax.nn.one_hot(y, 2), xv, yv, metric="log_loss", key=jr.key(1)
    )
    assert best_ll == 1  # log_loss is minimised


def test_errors():
    x, y, xv, yv = _data(jr.key(0), n=20)
    t = jax.nn.one_hot(y, 2)
    with pytest.raises(ValueError, match="at least one candidate"):
        select_on_valid([], x, t, xv, yv, key=jr.key(0))
    with pytest.raises(ValueError, match="unknown metric"):
        select_on_valid([LogisticRegression()], x, t, xv, yv, metric="auc", key=jr.key(0))
    with pytest.raises(ValueError, match="no known gold"):
        select_on_valid([LogisticRegression()], x, t, xv, -np.ones(100, int), key=jr.key(0))


def test_candidates_differing_in_array_hyperparameters_share_one_compiled_fit():
    """select_on_valid compiles each candidate structure once (lr/weight_decay are array leaves),
    and the compiled fit equals the eager one bit for bit."""
    import jax.numpy as jnp

    from tests._utils import count_compilations

    x, y, xv, yv = _data(jr.key(2), n=64)
    t = jax.nn.one_hot(y, 2)

    def cands(lrs):
        return [LogisticRegression(n_steps=7, lr=jnp.asarray(v, jnp.float32)) for v in lrs]

    select_on_valid(cands([0.5]), x, t, xv, yv, key=jr.key(3))  # warm the cache
    with count_compilations() as c:
        fitted, best, _ = select_on_valid(cands([0.05, 0.1, 0.2]), x, t, xv, yv, key=jr.key(3))
    assert c.count == 0  # same structure and shapes: the warm program is reused
    eager = cands([0.05, 0.1, 0.2])[best].fit(x, t, key=jr.key(3))
    np.testing.assert_array_equal(
        np.asarray(fitted.predict_proba(xv)), np.asarray(eager.predict_proba(xv))
    )


def test_a_custom_score_replaces_the_metric_and_is_maximised():
    """``score``: any ``(valid predictions, y_valid) -> float`` (a multi-task end model's tuple of
    heads in wsbench.run.metal), maximised; ``metric`` is then not read."""
    x, y, xv, yv = _data(jr.key(0), n=60)
    t = jax.nn.one_hot(y, 2)
    cands = [LogisticRegression(n_steps=1, lr=1e-4), LogisticRegression(n_steps=30, lr=0.5)]
    seen = []

    def minus_accuracy(probs, y_valid):
        seen.append(probs.shape)
        return -float(metrics.accuracy(probs, y_valid))

    _, best, scores = select_on_valid(
        cands, x, t, xv, yv, metric="not a metric", score=minus_accuracy, key=jr.key(1)
    )
    assert seen == [(100, 2), (100, 2)] and best == int(np.argmax(scores)) == 0
