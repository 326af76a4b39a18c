"""Recovery pipeline: a tiny grid end to end, the slope estimator, seed chunking, edges passing."""

import jax.random as jr
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from tests._utils import CONF
from wsbench.labelmodels import DawidSkene, MajorityVote, MatrixCompletion
from wsbench.run import recovery
from wsbench.synthetic import sample_independent

FAST = ["debug=smoke", "logger=none", "jax_cache=null", "n_grid=[100,200]"]


def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("recovery", overrides=[*FAST, *overrides])


@pytest.mark.slow
def test_tiny_grid_runs_end_to_end(tmp_path):
    cfg = _cfg("estimator=dawid_skene", "estimator.n_iter=20")
    summary = recovery.run(cfg, out_dir=tmp_path)
    assert np.isfinite(summary["slope"]) and summary["objective"] == summary["slope"]
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert sorted(df["n"].unique()) == [100, 200]
    assert len(df) == 2 * cfg.seeds
    assert set(recovery.METRICS) <= set(df.columns)
    assert (df["param/confusion_error"] > 0).all() and (df["param/confusion_error"] < 0.5).all()
    # a second run with the same config is skipped and returns the stored summary
    assert recovery.run(cfg, out_dir=tmp_path) == summary


@pytest.mark.slow
def test_dependent_generator_with_matrix_completion(tmp_path):
    cfg = _cfg(
        "estimator=matrix_completion",
        "estimator.n_iter=50",
        "generator=dependent",
        "n_grid=[200]",
        "seeds=2",
    )
    recovery.run(cfg, out_dir=tmp_path)
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert (df["generator"] == "dependent").all() and np.isfinite(df["param/confusion_error"]).all()


def test_bad_config_raises(tmp_path):
    cfg = _cfg()
    cfg.generator = "nope"  # not an option of conf/generator/
    with pytest.raises(ValueError, match="generator"):
        recovery.run(cfg, out_dir=tmp_path)
    with pytest.raises(ValueError, match="n_grid"):
        recovery.run(_cfg("n_grid=[1.5]"), out_dir=tmp_path)


def test_loglog_slope_on_power_law():
    n = np.logspace(2, 6, 9)
    slope, intercept = recovery.loglog_slope(n, 3.0 * n**-0.5)
    assert slope == pytest.approx(-0.5, abs=1e-9) and np.exp(intercept) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        recovery.loglog_slope([10.0], [1.0])
    with pytest.raises(ValueError):
        recovery.loglog_slope([10.0, 100.0], [1.0, 0.0])


@pytest.mark.slow
def test_chunked_seeds_match_vmapped(key):
    def sampler(k, n):
        return sample_independent(k, n=n, m=5, n_classes=2)

    dk, fk = jr.split(jr.fold_in(key, 0), 4), jr.split(jr.fold_in(key, 1), 4)
    est = DawidSkene(n_iter=10)
    whole = recovery.recovery_at(est, sampler, 150, dk, fk)
    chunked = recovery.recovery_at(est, sampler, 150, dk, fk, batch_size=2)
    for name in whole:
        np.testing.assert_allclose(whole[name], chunked[name], atol=1e-5)
    assert recovery.seed_batch_size(10**6, 10, 10, 2e7) == 2
    assert recovery.seed_batch_size(100, 10, 10, 2e7) is None


def test_non_generative_estimator_is_a_clear_error(key):
    """An estimator whose fit has no confusions() (e.g. one a glob sweep picked up) says how to
    leave it out of the sweep, instead of failing inside the traced fit."""
    dk, fk = jr.split(jr.fold_in(key, 0), 2), jr.split(jr.fold_in(key, 1), 2)
    with pytest.raises(ValueError, match=r"needs a generative label model.*glob\(\*,exclude="):
        recovery.recovery_at(
            MajorityVote(), lambda k, n: sample_independent(k, n=n, m=5), 50, dk, fk
        )


def test_edges_go_only_to_estimators_with_an_edges_field():
    edges = ((0, 1), (0, 2))
    assert recovery.with_edges(MatrixCompletion(), edges).edges == edges
    ds = DawidSkene()
    assert recovery.with_edges(ds, edges) is ds


@pytest.mark.slow
def test_matrix_completion_slope_is_minus_one_half(tmp_path):
    cfg = _cfg(
        "estimator=matrix_completion",
        "subsample=null",
        "seeds=10",
        "n_grid=[1000,3162,10000,31623,100000]",
    )
    summary = recovery.run(cfg, out_dir=tmp_path)
    assert summary["slope"] == pytest.approx(-0.5, abs=0.1), summary
