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
