"""The in-process grid: ``score_grid`` equals a Python loop of single fits + ``metrics.score``."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests._utils import count_compilations
from wsbench import metrics
from wsbench.data import Split, vote_counts
from wsbench.labelmodels import (
    AbstractFitted,
    AbstractLabelModel,
    DawidSkene,
    MajorityVote,
    set_params,
)
from wsbench.labelmodels.grid import expand_grid, score_grid, stack
from wsbench.synthetic import sample_independent, subset


class _WeightedFitted(AbstractFitted):
    weights: jax.Array
    trace: dict

    def predict_proba(self, L):
        k = self.weights.shape[1]
        logits = jnp.einsum(
            "nmk,mk->nk", (L[..., None] == jnp.arange(k)[None, None, :]), self.weights
        )
        return jax.nn.softmax(logits, axis=-1)


class _Tempered(AbstractLabelModel):
    """A toy iterative model with a continuous hyperparameter and a key-dependent start."""

    temperature: float | jax.Array = 1.0
    n_iter: int = eqx.field(static=True, default=4)

    def fit(self, data, *, key):
        k = data.n_classes
        counts = vote_counts(data.L, k)  # [n, k]
        w0 = 1.0 + 0.1 * jr.normal(key, (data.m, k))

        def step(w, _):
            probs = jax.nn.softmax(
                jnp.einsum("nmk,mk->nk", (data.L[..., None] == jnp.arange(k)[None, None, :]), w)
                / self.temperature,
                axis=-1,
            )
            agree = jnp.einsum(
                "nk,nmk->mk", probs, (data.L[..., None] == jnp.arange(k)[None, None, :])
            )
            w_new = jnp.log1p(agree) / jnp.maximum(counts.sum(), 1.0) * data.n
            return w_new, jnp.sum(probs**2)

        w, objective = jax.lax.scan(step, w0, None, length=self.n_iter)
        return _WeightedFitted(weights=w, trace={"objective": objective})


@pytest.fixture
def splits(key):
    sim = sample_independent(key, n=500, m=6, n_classes=3, accuracy=(0.55, 0.85), propensity=0.5)
    train = subset(sim, slice(0, 300))
    test = subset(sim, slice(300, 500))
    return train.weak, Split(weak=test.weak, y=test.y)


@eqx.filter_jit
def _single(est, train, test, key):
    fitted = est.fit(train, key=key)
    return metrics.score(fitted.predict_proba(test.weak.L), test.y, test.weak.L), fitted.trace


def _loop(est, points, train, test, keys):
    """Reference: one (jitted, unbatched) fit per (point, seed), scored with ``metrics.score``."""
    scores, traces = [], []
    for p in points:
        row_s, row_t = [], []
        # hyperparameter values as arrays, so that one compiled single fit serves every point
        single = set_params(est, **{k: jnp.asarray(v, jnp.float32) for k, v in p.items()})
        for i in range(keys.shape[0]):
            s, t = _single(single, train, test, keys[i])
            row_s.append(s)
            row_t.append(t)
        scores.append(row_s)
        traces.append(row_t)
    return scores, traces


def _assert_matches_loop(est, grid, train, test, keys, *, atol=1e-5):
    stacked, points = expand_grid(est, grid)
    got, got_traces = score_grid(stacked, train, {"test": test}, keys, n_points=len(points))
    got = got["test"]
    want, want_traces = _loop(est, points, train, test, keys)
    h, s = len(points), keys.shape[0]
    assert set(got) == set(want[0][0])
    for name, table in got.items():
        assert table.shape == (h, s), (name, table.shape)
        expected = np.array([[float(want[i][j][name]) for j in range(s)] for i in range(h)])
        np.testing.assert_allclose(table, expected, rtol=1e-5, atol=atol, err_msg=name)
    for name in want_traces[0][0]:
        expected = np.stack(
            [np.stack([want_traces[i][j][name] for j in range(s)]) for i in range(h)]
        )
        assert got_traces[name].shape == expected.shape
        np.testing.assert_allclose(
            got_traces[name], expected, rtol=1e-5, atol=atol, err_msg=f"trace {name}"
        )
    return got, got_traces, points


@pytest.mark.slow
def test_toy_grid_matches_loop(splits, key):
    train, test = splits
    keys = jr.split(key, 3)
    est = _Tempered(n_iter=4)
    got, traces, points = _assert_matches_loop(
        est, {"temperature": [0.5, 1.0, 2.0]}, train, test, keys
    )
    assert points == [{"temperature": 0.5}, {"temperature": 1.0}, {"temperature": 2.0}]
    assert traces["objective"].shape == (3, 3, 4)
    # the seeds matter for this model, so the seed axis is not a broadcast copy
    assert not np.allclose(traces["objective"][:, 0], traces["objective"][:, 1])


@pytest.mark.slow
def test_dawid_skene_grid_matches_loop(splits, key):
    train, test = splits
    keys = jr.split(key, 3)
    n_iter = 20
    _, traces, points = _assert_matches_loop(
        DawidSkene(n_iter=n_iter), {"smoothing": [0.0, 0.01, 0.1]}, train, test, keys, atol=1e-4
    )
    assert len(points) == 3
    for name, trace in traces.items():
        assert trace.shape[:3] == (3, 3, n_iter), (name, trace.shape)


@pytest.mark.slow
def test_majority_vote_empty_grid(splits, key):
    train, test = splits
    keys = jr.split(key, 4)
    stacked, points = expand_grid(MajorityVote(), {})
    assert points == [{}]
    scores, traces = score_grid(stacked, train, {"test": test}, keys, n_points=1)
    scores = scores["test"]
    assert traces == {}
    fitted = MajorityVote().fit(train, key=keys[0])
    want = metrics.score(fitted.predict_proba(test.weak.L), test.y, test.weak.L)
    for name, table in scores.items():
        assert table.shape == (1, 4)
        np.testing.assert_allclose(
            table, np.full((1, 4), float(want[name])), atol=1e-6, err_msg=name
        )


def test_two_point_grid_axis_order(splits, key):
    """Grid points are the cartesian product in key order (first key slowest)."""
    train, test = splits
    _, points = expand_grid(_Tempered(), {"temperature": [1.0, 2.0]})
    assert points == [{"temperature": 1.0}, {"temperature": 2.0}]
    stacked, points = expand_grid(DawidSkene(n_iter=3), {"smoothing": [0.0, 0.5]})
    np.testing.assert_allclose(stacked.smoothing, [0.0, 0.5])
    assert stacked.n_iter == 3


@pytest.mark.slow
def test_score_grid_reuses_compiled_program(key):
    k1, k2, k_fit = jr.split(key, 3)

    def data(k):
        sim = sample_independent(k, n=200, m=5, n_classes=2)
        return sim.weak, Split(weak=sim.weak, y=sim.y)

    (tr1, te1), (tr2, te2) = data(k1), data(k2)
    stacked, points = expand_grid(_Tempered(), {"temperature": [0.5, 1.0]})
    keys1, keys2 = jr.split(k_fit, 2), jr.split(jr.fold_in(k_fit, 1), 2)
    jax.block_until_ready(score_grid(stacked, tr1, {"test": te1}, keys1, n_points=2))
    with count_compilations() as c:
        jax.block_until_ready(score_grid(stacked, tr2, {"test": te2}, keys2, n_points=2))
    assert c.count == 0, f"score_grid recompiled {c.count} time(s) for new data of the same shapes"


def test_expand_grid_rejects_unknown_key():
    with pytest.raises(
        ValueError, match=r"'alpha' is not a hyperparameter of DawidSkene.*smoothing"
    ):
        expand_grid(DawidSkene(), {"alpha": [0.1, 0.2]})
    with pytest.raises(ValueError, match="not a hyperparameter of MajorityVote"):
        expand_grid(MajorityVote(), {"smoothing": [0.1]})


def test_expand_grid_rejects_static_field():
    with pytest.raises(ValueError, match=r"'n_iter' is a structural \(static\).*multirun"):
        expand_grid(DawidSkene(), {"n_iter": [10, 20]})
    with pytest.raises(ValueError, match=r"'init' is a structural \(static\)"):
        expand_grid(DawidSkene(), {"init": ["uniform"]})


def test_expand_grid_rejects_empty_or_string_values():
    with pytest.raises(ValueError, match="non-empty list"):
        expand_grid(DawidSkene(), {"smoothing": []})
    with pytest.raises(ValueError, match="non-empty list"):
        expand_grid(DawidSkene(), {"smoothing": "0.1"})


def test_stack_rejects_different_static_fields():
    with pytest.raises(ValueError, match="structural \\(static\\) fields differ"):
        stack([DawidSkene(n_iter=5), DawidSkene(n_iter=6)])
    with pytest.raises(ValueError, match="at least one"):
        stack([])


@pytest.mark.slow
def test_two_stage_grid_matches_loop(splits, key):
    """A two-stage model (statistics once, fit_from_stats vmapped) matches single ``fit`` calls."""
    from wsbench.labelmodels import AbstractTwoStageLabelModel, MatrixCompletion

    train, test = splits
    est = MatrixCompletion(n_iter=30, init_noise=0.1)
    assert isinstance(est, AbstractTwoStageLabelModel)
    _assert_matches_loop(est, {"lr": [0.01, 0.05]}, train, test, jr.split(key, 2), atol=1e-4)
