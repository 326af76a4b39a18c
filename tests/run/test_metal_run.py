"""MeTaL pipeline: config errors for every option, the task combination, dev priors, a tiny run."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests._utils import CONF, load_figure_script
from wsbench.data import class_frequencies
from wsbench.multitask import (
    MultitaskDataset,
    MultitaskMatrixCompletion,
    MultitaskSplit,
    MultitaskWeakLabels,
    TaskGraph,
)
from wsbench.run import metal, results

TINY = [
    "logger=none",
    "jax_cache=null",
    "seeds=2",
    "bootstrap=50",
    "multitask_dataset.n_train=400",
    "multitask_dataset.n_valid=80",
    "multitask_dataset.n_test=200",
    "label_model.n_iter=100",
    "endmodel.n_steps=50",
    "endmodel.width=16",
]


def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("metal", overrides=[*TINY, *overrides])


@pytest.mark.parametrize(
    "override,match",
    [
        ("seeds=0", "seeds"),
        ("seed=-1", "seed"),
        ("dev_labels=select", "dev_labels"),
        ("metrics=[roc_auc]", "metrics"),
        ("metrics=[]", "metrics"),
        ("metrics=[f1,f1]", "metrics"),
        ("endmodels=[snorkel]", "endmodels"),
        ("endmodels=metal", "endmodels"),
        ("bootstrap=-1", "bootstrap"),
        ("bootstrap=0.5", "bootstrap"),
        ("objective=null", "objective"),
        ("~label_model._target_", "label_model"),
        ("endmodel._target_=wsbench.endmodels.MLP", "endmodel"),
        ("label_model._target_=wsbench.labelmodels.MatrixCompletion", "label_model"),
        ("+label_model.n_itr=5", "label_model"),
        ("multitask_dataset.coarse=1", "multitask_dataset"),
        ("select={lr:[0.01],n_itr:[5]}", "select"),
        ("select={lr:[]}", "select"),
        ("select=[0.01]", "select"),
        ("select={lr:[0.01]}", None),  # valid; select_metric below is not
    ],
)
def test_config_errors_are_clear(override, match, tmp_path):
    if match is None:  # a valid select grid with a bad select_metric
        override, match = [override, "select_metric=roc_auc"], "select_metric"
    else:
        override = [override]
    with pytest.raises(ValueError, match=match):
        metal.run(_cfg(*override), out_dir=tmp_path)
    assert not (tmp_path / "results.json").exists()


def test_objective_must_be_a_column_of_the_job():
    g = TaskGraph.hierarchy(2, 3, under=1, names=("abnormal", "finding"))
    metal.check_objective(_cfg("objective=test/endmodel_metal_finding_f1"), g)
    metal.check_objective(_cfg("objective=test/independent_joint_accuracy"), g)
    with pytest.raises(ValueError, match="objective.*abnormal"):
        metal.check_objective(_cfg(), g)  # the default names the synthetic task 'fine'
    with pytest.raises(ValueError, match="objective"):
        metal.check_objective(
            _cfg("objective=test/endmodel_dev_finding_f1", "metrics=[accuracy]"), g
        )
    with pytest.raises(ValueError, match="objective"):
        metal.check_objective(
            _cfg("objective=test/endmodel_majority_vote_finding_f1", "endmodels=[]"), g
        )


def _split(n, x=True):
    g = TaskGraph.hierarchy(2, 3, under=1)
    L = np.zeros((n, 2), np.int32)
    Y = np.tile([[1, 0]], (n, 1))
    return MultitaskSplit(MultitaskWeakLabels(L, g, (0, 1)), Y=Y, x=np.ones((n, 2)) if x else None)


def no_features(key=None):
    """A multi-task dataset without features (the runner needs them)."""
    return MultitaskDataset(train=_split(4, x=False), valid=_split(4), test=_split(4))


def not_multitask(key=None):
    return "not a dataset"


@pytest.mark.parametrize(
    "target,match", [("no_features", "no features"), ("not_multitask", "Multi")]
)
def test_bad_datasets_are_clear(target, match):
    cfg = OmegaConf.create(
        {
            "data_seed": 0,
            "multitask_dataset": {
                "_target_": f"tests.run.test_metal_run.{target}",
                "_partial_": True,
            },
        }
    )
    with pytest.raises(ValueError, match=match):
        metal.build_multitask_dataset(cfg)


def test_combine_tasks_applies_the_hierarchy_exactly():
    g = TaskGraph.hierarchy(2, 3, under=1)  # joint labels [0,3], [1,0], [1,1], [1,2]
    coarse = np.array([[0.3, 0.7], [0.9, 0.1]])
    fine = np.array([[0.2, 0.5, 0.3], [1 / 3, 1 / 3, 1 / 3]])
    q = np.asarray(metal.combine_tasks(g, [coarse, fine]))
    want = np.array([[0.3, 0.7 * 0.2, 0.7 * 0.5, 0.7 * 0.3], [0.9, 0.1 / 3, 0.1 / 3, 0.1 / 3]])
    np.testing.assert_allclose(q, want, rtol=1e-5)
    with pytest.raises(ValueError, match="task 1"):
        metal.combine_tasks(g, [coarse, coarse])


def test_valid_score_is_the_mean_over_tasks_where_each_applies():
    g = TaskGraph.hierarchy(2, 3, under=1)
    Y = np.array([[0, 3], [1, 0], [1, 2], [1, 1]])
    coarse = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])  # 3 of 4 right
    fine = np.array([[0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]])
    score = metal.valid_score(g, "accuracy")(
        (jnp.asarray(coarse), jnp.asarray(fine)), jnp.asarray(Y)
    )  # fine: rows 1..3 only (row 0 is not applicable), 2 of 3 right
    assert score == pytest.approx((3 / 4 + 2 / 3) / 2)


def test_independent_votes_on_a_task_with_too_few_lfs():
    """A task with fewer than three LFs gets its majority vote (MatrixCompletion would refuse)."""
    g = TaskGraph.hierarchy(2, 3, under=1)
    rng = np.random.default_rng(0)
    L = np.concatenate(
        [np.where(rng.random((300, 1)) < 0.5, 0, -1), rng.integers(-1, 3, (300, 4))], axis=1
    ).astype(np.int32)
    weak = MultitaskWeakLabels(L, g, (0, 1, 1, 1, 1))
    predict = metal._independent(MultitaskMatrixCompletion(n_iter=20), weak, None, jr.key(0))
    q = np.asarray(predict(L))
    np.testing.assert_allclose(q.sum(1), 1.0, atol=1e-5)
    # coarse marginal = the lone LF's vote (0) where it votes, uniform where it abstains
    coarse0 = q[:, 0]
    np.testing.assert_allclose(coarse0[L[:, 0] == 0], 1.0, atol=1e-5)
    np.testing.assert_allclose(coarse0[L[:, 0] < 0], 0.5, atol=1e-5)


def test_dev_priors_are_valid_frequencies():
    g = TaskGraph.hierarchy(2, 3, under=1)
    Y = np.array([[0, 3], [1, 0], [1, 0], [1, 2], [0, 3]])
    sp = MultitaskSplit(MultitaskWeakLabels(np.zeros((5, 2), np.int32), g, (0, 1)), Y=Y)
    pri = metal.dev_priors(MultitaskDataset(train=sp, valid=sp, test=sp))
    np.testing.assert_allclose(pri["joint"], (np.array([2, 2, 0, 1]) + 1) / 9, rtol=1e-6)
    np.testing.assert_allclose(pri["tasks"][0], class_frequencies(Y[:, 0], 2))
    np.testing.assert_allclose(pri["tasks"][1], (np.array([2, 0, 1]) + 1) / 6, rtol=1e-6)


@pytest.mark.slow  # a few label-model and end-model compilations: ~1 min on a shared CPU
def test_tiny_run_rows_intervals_resume_and_table(tmp_path):
    cfg = _cfg("select={lr:[0.01,0.1],n_steps:[20,50]}")  # every end model selected on valid
    out = tmp_path / "job"
    summary = metal.run(cfg, out_dir=out)
    df = pd.read_parquet(out / "results.parquet")
    for m in ("metal", "independent", "majority_vote", "dev"):
        assert np.isin(df[f"select/endmodel_{m}_lr"].round(6), [0.01, 0.1]).all(), m
        assert set(df[f"select/endmodel_{m}_n_steps"]) <= {20, 50}, m
    assert len(df) == 2 and set(df["tasks"]) == {"coarse,fine"}
    cols = metal.metric_columns(TaskGraph.hierarchy(2, 3, under=1, names=("coarse", "fine")),
                                tuple(cfg.endmodels), tuple(cfg.metrics))  # fmt: skip
    assert len(cols) == 7 * 5  # 3 label models + 4 end models, 2 tasks x 2 metrics + joint
    for c in cols:
        v, lo, hi = df[c].to_numpy(), df[f"{c}_lo"].to_numpy(), df[f"{c}_hi"].to_numpy()
        assert np.isfinite(v).all() and ((lo <= v + 1e-6) & (v <= hi + 1e-6)).all(), c
    assert summary["objective"] == summary["test/endmodel_metal_fine_f1"]
    # the label models use the LFs: far above chance on the coarse task
    for m in metal.LABEL_MODELS:
        assert summary[f"test/{m}_coarse_accuracy"] > 0.65, m
    # resumable: a complete job is skipped (results untouched) and returns the stored summary
    stamp = (out / "results.json").stat().st_mtime_ns
    assert metal.run(cfg, out_dir=out) == summary
    assert (out / "results.json").stat().st_mtime_ns == stamp
    # the table script renders from a smoke export
    csv = tmp_path / "metal.csv"
    results.export(tmp_path, csv, by=["dataset", "tasks"],
                   metrics=[c for c in df.columns if c.startswith(("test/", "train/"))])  # fmt: skip
    table = load_figure_script("table_metal")
    text = table.main(["--data", str(csv), "--out", str(tmp_path / "out")])
    assert "| synthetic_hierarchy | fine (macro-F1) |" in text
    assert "+6.8" in text and "+4.1" in text and "+20.2" in text
    assert (tmp_path / "out" / "fig_metal.png").stat().st_size > 1000
