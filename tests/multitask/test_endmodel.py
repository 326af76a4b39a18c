import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from wsbench.endmodels import MLP
from wsbench.multitask import (
    MultitaskMLP,
    TaskGraph,
    targets_from_gold,
    targets_from_marginals,
)

G = TaskGraph.hierarchy(2, 3, 1)


def _hier_problem(key, n):
    """x in R^4; coarse = abnormal iff x0 > 0; fine (under abnormal) = the argmax of x1..x3."""
    x = jr.normal(key, (n, 4))
    coarse = (x[:, 0] > 0).astype(int)
    fine = jnp.where(coarse == 1, jnp.argmax(x[:, 1:], axis=1), 3)
    return x, np.stack([np.asarray(coarse), np.asarray(fine)], axis=1)


@pytest.mark.slow
def test_one_task_matches_single_task_mlp(key):
    x = jr.normal(key, (120, 5))
    t = jax.nn.softmax(jr.normal(jr.fold_in(key, 1), (120, 3)), axis=1)
    kw = dict(width=16, depth=2, n_steps=40, batch_size=32, lr=0.01)
    single = MLP(**kw).fit(x, t, key=jr.key(7))
    multi = MultitaskMLP(**kw).fit(x, (t,), key=jr.key(7))
    np.testing.assert_allclose(multi.trace["loss"], single.trace["loss"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(multi.predict_proba(x)[0], single.predict_proba(x), atol=1e-5)


@pytest.mark.slow
def test_masked_rows_contribute_nothing(key):
    x, Y = _hier_problem(key, 200)
    targets, weights = targets_from_gold(G, Y)
    assert float(weights[1].sum()) == pytest.approx(float((Y[:, 0] == 1).sum()))
    # scramble the fine targets where the fine task does not apply: nothing may change
    junk = jax.nn.softmax(jr.normal(jr.fold_in(key, 2), (200, 3)), axis=1)
    masked = weights[1][:, None] > 0
    scrambled = (targets[0], jnp.where(masked, targets[1], junk))
    est = MultitaskMLP(width=8, n_steps=30, batch_size=64)
    a = est.fit(x, targets, weights=weights, key=jr.key(1))
    b = est.fit(x, scrambled, weights=weights, key=jr.key(1))
    np.testing.assert_array_equal(a.trace["loss"], b.trace["loss"])
    for pa, pb in zip(a.predict_proba(x), b.predict_proba(x), strict=True):
        np.testing.assert_array_equal(pa, pb)
    # ... while scrambling applicable rows does change the fit
    c = est.fit(
        x, (targets[0], jnp.where(masked, junk, targets[1])), weights=weights, key=jr.key(1)
    )
    assert not np.allclose(c.trace["loss"], a.trace["loss"])


@pytest.mark.slow
def test_learns_synthetic_hierarchy(key):
    x, Y = _hier_problem(key, 2000)
    xt, Yt = _hier_problem(jr.fold_in(key, 9), 1000)
    targets, weights = targets_from_gold(G, Y)
    fitted = MultitaskMLP(width=32, n_steps=400, batch_size=128).fit(
        x, targets, weights=weights, key=jr.key(0)
    )
    pc, pf = fitted.predict_proba(xt)
    assert pf.shape == (1000, 3)
    acc_c = float((np.asarray(pc).argmax(1) == Yt[:, 0]).mean())
    on = Yt[:, 0] == 1
    acc_f = float((np.asarray(pf).argmax(1)[on] == Yt[on, 1]).mean())
    assert acc_c > 0.95 and acc_f > 0.85, (acc_c, acc_f)


def test_targets_from_marginals():
    coarse = np.array([[0.2, 0.8], [1.0, 0.0]])
    fine = np.array([[0.4, 0.2, 0.2, 0.2], [0.0, 0.0, 0.0, 1.0]])  # last column: not applicable
    (tc, tf), (wc, wf) = targets_from_marginals(G, (coarse, fine))
    np.testing.assert_allclose(tc, coarse)
    np.testing.assert_allclose(wc, [1, 1])
    np.testing.assert_allclose(wf, [0.8, 0.0])
    np.testing.assert_allclose(tf, [[0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]])
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        targets_from_marginals(G, (coarse, fine[:, :3]))


def test_bad_input_raises(key):
    x = jr.normal(key, (10, 3))
    t = jax.nn.one_hot(jnp.zeros(10, int), 2)
    with pytest.raises(ValueError, match="tuple"):
        MultitaskMLP(n_steps=2).fit(x, t, key=key)
    with pytest.raises(ValueError, match="weights has 1 entries"):
        MultitaskMLP(n_steps=2).fit(x, (t, t), weights=(None,), key=key)
    with pytest.raises(ValueError, match="probability distributions"):
        MultitaskMLP(n_steps=2).fit(x, (t * 2,), key=key)
    with pytest.raises(ValueError, match="all zero"):
        MultitaskMLP(n_steps=2).fit(x, (t,), weights=(jnp.zeros(10),), key=key)
    with pytest.raises(ValueError, match="depth"):
        MultitaskMLP(depth=0)
