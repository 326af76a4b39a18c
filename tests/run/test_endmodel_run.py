"""End-model pipeline: a tiny scaling run end to end, and its config errors."""

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from tests._utils import CONF
from wsbench.run import endmodel

FAST = [
    "debug=smoke",
    "logger=none",
    "jax_cache=null",
    "n_unlabeled=[100]",
    "endmodel.n_steps=100",
    "estimator=majority_vote",
]


def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("endmodel", overrides=[*FAST, *overrides])


@pytest.mark.slow
def test_tiny_scaling_run(tmp_path):
    cfg = _cfg()
    summary = endmodel.run(cfg, out_dir=tmp_path)
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert sorted(df["n_unlabeled"].unique()) == [100]
    assert len(df) == cfg.seeds
    assert set(endmodel.METRICS) <= set(df.columns)
    # features separate the classes well (Bayes 0.93): gold-trained end model is far above chance
    assert summary["test/endmodel_gold_accuracy"] > 0.8
    assert summary["objective"] == summary["test/endmodel_accuracy"] > 0.6
    assert np.isfinite(df[list(endmodel.METRICS)].to_numpy()).all()


def test_scaling_experiment_composes_with_smoke(tmp_path):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("endmodel", overrides=["experiment=scaling", "debug=smoke"])
    assert cfg.endmodel.batch_size == 512 and cfg.subsample == 200
    assert endmodel._sizes(cfg.n_unlabeled, 200) == [100, 200]


def test_missing_features_raise(tmp_path):
    with pytest.raises(ValueError, match="features"):
        endmodel.run(_cfg("features=null"), out_dir=tmp_path)
    with pytest.raises(ValueError, match="n_unlabeled"):
        endmodel.run(_cfg("n_unlabeled=[0]"), out_dir=tmp_path)


SELECT = [
    "select={lr: [0.1], n_steps: [20, 50]}",
    "metrics=[accuracy,f1]",
    "bootstrap=50",
    "seeds=2",
]


def tiny_slices():
    """Slice builder for the runner test: test rows split by parity (smoke test split: 200)."""
    S = np.zeros((200, 2), bool)
    S[::2, 0] = True
    S[1::2, 1] = True
    return {"names": ["even", "odd"], "test": S}


@pytest.mark.slow  # ~12 end-model fits + bootstraps: tens of seconds on a shared CPU
def test_selection_run_rows(tmp_path):
    cfg = _cfg(
        *SELECT,
        "slices={synthetic_independent: tests.run.test_endmodel_run.tiny_slices}",
    )
    summary = endmodel.run(cfg, out_dir=tmp_path)
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert len(df) == 2
    for model in ("labelmodel", "majority_vote", "endmodel", "endmodel_mv", "endmodel_gold",
                  "endmodel_dev"):  # fmt: skip
        acc = df[f"test/{model}_accuracy"].to_numpy()
        lo, hi = df[f"test/{model}_accuracy_lo"].to_numpy(), df[f"test/{model}_accuracy_hi"]
        assert ((lo <= acc + 1e-6) & (acc <= hi.to_numpy() + 1e-6)).all(), model
        # the two parity slices partition the test rows: their accuracies average to the total
        even, odd = df[f"slice/even/{model}_accuracy"], df[f"slice/odd/{model}_accuracy"]
        np.testing.assert_allclose((even + odd) / 2, acc, atol=1e-5)
    assert set(df["select/endmodel_n_steps"]) <= {20.0, 50.0}
    assert (df["slice/even/n"] == 100).all()
    np.testing.assert_allclose(
        df["advantage/lm_minus_mv"],
        df["test/labelmodel_accuracy"] - df["test/majority_vote_accuracy"],
    )
    assert ((df["advantage/estimate"] >= 0) & (df["advantage/estimate"] <= 1)).all()
    assert summary["test/endmodel_gold_accuracy"] > 0.8


def test_selection_config_errors(tmp_path):
    with pytest.raises(ValueError, match="select"):
        endmodel.run(_cfg("select={momentum: [0.9]}"), out_dir=tmp_path)
    with pytest.raises(ValueError, match="metrics"):
        endmodel.run(_cfg(*SELECT[:1], "metrics=[f1]"), out_dir=tmp_path)
    with pytest.raises(ValueError, match="bootstrap"):
        endmodel.run(_cfg(*SELECT[:1], "bootstrap=-1"), out_dir=tmp_path)
