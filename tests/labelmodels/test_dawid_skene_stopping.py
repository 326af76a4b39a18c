"""DawidSkene's tolerance-based stopping: crowd-kit parity, static traces, vmap over ``tol``."""

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

from tests._utils import instantiate_estimator
from tests.reference import GOLDEN
from wsbench.data import WeakLabels
from wsbench.labelmodels import DawidSkene
from wsbench.labelmodels.grid import stack
from wsbench.synthetic import sample_dawid_skene


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN / "crowdkit_dawid_skene_tol.npz")


@pytest.mark.reference
def test_crowd_config_runs_as_many_iterations_as_crowdkit(golden, key):
    """crowd-kit 1.4.2 ``DawidSkene()`` at its defaults (tests/reference/crowdkit_dawid_skene_stopping.py)."""
    est = instantiate_estimator("crowdkit_dawid_skene")
    k = int(golden["n_classes"])
    for i, L in enumerate(golden["L"]):
        fitted = est.fit(WeakLabels(L=L, n_classes=k), key=key)
        assert int(fitted.n_iter_run) == int(golden["n_iter_run"][i]), f"problem {i}"
        # crowd-kit returns the E-step before its last M-step: equal up to one converged iteration
        np.testing.assert_allclose(fitted.predict_proba(L), golden["probas"][i], atol=2e-3)


def test_zero_tol_runs_every_iteration(key):
    sim = sample_dawid_skene(key, n=300, m=6, n_classes=3)
    for tol in (None, 0.0):
        fitted = DawidSkene(n_iter=30, tol=tol).fit(sim.weak, key=key)
        assert int(fitted.n_iter_run) == 30
        assert fitted.trace["objective"].shape == fitted.trace["ran"].shape == (30,)


@pytest.mark.parametrize("stop_on", ["objective", "crowdkit"])
def test_early_stop_equals_a_shorter_fixed_fit(key, stop_on):
    sim = sample_dawid_skene(key, n=400, m=6, n_classes=3)
    full = DawidSkene(n_iter=60).fit(sim.weak, key=key)
    early = DawidSkene(n_iter=60, tol=1e-4, stop_on=stop_on).fit(sim.weak, key=key)
    n_run = int(early.n_iter_run)
    assert 2 <= n_run < 60
    obj, obj_full = np.asarray(early.trace["objective"]), np.asarray(full.trace["objective"])
    assert obj.shape == (60,) and np.all(np.isfinite(obj))
    np.testing.assert_allclose(obj[:n_run], obj_full[:n_run], rtol=1e-6)
    np.testing.assert_array_equal(obj[n_run:], obj[n_run - 1])  # padded with the last value
    short = DawidSkene(n_iter=n_run).fit(sim.weak, key=key)
    np.testing.assert_allclose(early.log_confusion, short.log_confusion, atol=1e-5)
    np.testing.assert_allclose(
        early.predict_proba(sim.weak.L), short.predict_proba(sim.weak.L), atol=1e-5
    )


def test_objective_rule_is_the_per_vote_change(key):
    sim = sample_dawid_skene(key, n=500, m=8, n_classes=3)
    tol = 1e-4
    n_votes = int((np.asarray(sim.weak.L) != -1).sum())
    full = np.asarray(DawidSkene(n_iter=80).fit(sim.weak, key=key).trace["objective"], np.float64)
    n_run = int(DawidSkene(n_iter=80, tol=tol).fit(sim.weak, key=key).n_iter_run)
    change = np.diff(full) / n_votes  # change[s - 1] is the test after iteration s
    assert change[n_run - 2] < tol
    assert np.all(change[: n_run - 2] >= tol)


def test_vmapped_fits_with_different_tol(key):
    sim = sample_dawid_skene(key, n=300, m=6, n_classes=3)
    tols = [0.0, 1e-3, 1e-5]
    ests = [DawidSkene(n_iter=50, tol=t) for t in tols]
    traces = eqx.filter_jit(
        eqx.filter_vmap(lambda e, d: e.fit(d, key=key).trace, in_axes=(eqx.if_array(0), None))
    )(stack(ests), sim.weak)
    assert traces["ran"].shape == (3, 50)
    runs = [int(r) for r in traces["ran"].sum(axis=-1)]
    assert runs[0] == 50 and runs[1] < runs[2] < 50
    for i, est in enumerate(ests):
        want = est.fit(sim.weak, key=key).trace
        np.testing.assert_array_equal(traces["ran"][i], want["ran"])
        np.testing.assert_allclose(traces["objective"][i], want["objective"], rtol=1e-6)


def test_early_stopped_trace_is_monotone(key):
    sim = sample_dawid_skene(key, n=1000, m=8, n_classes=3)
    trace = np.asarray(
        DawidSkene(n_iter=100, tol=1e-6).fit(sim.weak, key=key).trace["objective"], np.float64
    )
    assert np.all(np.diff(trace) >= -1e-6 * np.abs(trace).max())


@pytest.mark.parametrize(
    ("tol", "error"),
    [
        (-1e-5, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1e-5", TypeError),
        (True, TypeError),
    ],
)
def test_bad_tol_is_rejected(tol, error):
    with pytest.raises(error, match="DawidSkene.tol"):
        DawidSkene(tol=tol)


def test_bad_stop_on_is_rejected():
    with pytest.raises(ValueError, match="DawidSkene.stop_on"):
        DawidSkene(stop_on="elbo")


def test_set_tol_by_replace(key):
    est = dataclasses.replace(DawidSkene(n_iter=40), tol=jnp.float32(1e-3))
    sim = sample_dawid_skene(key, n=200, m=5, n_classes=3)
    assert int(est.fit(sim.weak, key=key).n_iter_run) < 40


@pytest.mark.parametrize("jit", [False, True])
def test_compensated_sum_keeps_what_float32_rounds_away(jit):
    """crowd-kit's stopping quantity is a sum whose change between iterations is ~1e-5 of it: the
    double-single pair keeps the low-order part that a float32 sum loses (eagerly and under jit,
    where XLA must not re-associate the error-free additions away)."""
    from wsbench.labelmodels._dawid_skene import _compensated_sum

    f = eqx.filter_jit(_compensated_sum) if jit else _compensated_sum
    rng = np.random.default_rng(0)
    for size in (1, 2, 3, 72, 201, 1000):
        x = (rng.standard_normal(size) * 10.0 ** rng.integers(-3, 5, size)).astype(np.float32)
        x = np.concatenate([x, [np.float32(3e7), np.float32(-3e7)]])  # cancelling giants
        hi, lo = np.asarray(f(jnp.asarray(x)), np.float64)
        exact = float(np.sum(x.astype(np.float64)))
        assert abs((hi + lo) - exact) <= 1e-6 * max(1.0, np.abs(x).max() * 1e-7), size
        assert abs(lo) <= abs(np.spacing(np.float32(hi))) / 2 + 1e-30  # normalised pair
    # 1 + 2^-30 is not a float32; the pair holds it
    hi, lo = np.asarray(f(jnp.asarray([1.0, 2.0**-30], jnp.float32)), np.float64)
    assert hi == 1.0 and lo == 2.0**-30
