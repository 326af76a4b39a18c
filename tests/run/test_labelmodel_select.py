"""dev_labels=select (WRENCH's protocol), the tie rule, diagnostics and bootstrap intervals in rows.

One runner call per setting on ``debug=smoke`` sizes; every assertion recomputes the expected value
from the rows (or from ``wsbench.metrics``), never from a stored number.
"""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from tests._utils import compose_fast
from wsbench import metrics
from wsbench.labelmodels import MajorityVote
from wsbench.run import build, labelmodel


def _cfg(*overrides):
    return compose_fast("labelmodel", *overrides)


@pytest.fixture(scope="module")
def select_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("select")
    cfg = _cfg(
        "estimator=dawid_skene", "dataset=synthetic_ds", "dev_labels=select", "select_within_se=0"
    )
    summary = labelmodel.run(cfg, out_dir=out)
    return cfg, summary, pd.read_parquet(out / "results.parquet")


def test_select_uses_the_estimators_select_grid_and_picks_the_best_valid_point(select_run):
    cfg, summary, df = select_run
    grid = list(cfg.select_grid.smoothing)
    assert len(grid) >= 2
    assert len(df) == len(grid) * cfg.seeds
    by_point = df.groupby("grid_point")["valid/accuracy"].mean()
    best = int(by_point.idxmax())
    assert (df["select.point"] == best).all()
    assert (df["select.argmax_point"] == best).all()  # select_within_se=0: the plain argmax
    assert (df["selected"] == (df["grid_point"] == best)).all()
    chosen = df[df.selected]
    assert (df["select.hp.smoothing"] == chosen["hp.smoothing"].iloc[0]).all()
    assert df["select.rule"].str.startswith("max valid/accuracy").all()
    assert summary["test/accuracy"] == pytest.approx(chosen["test/accuracy"].mean())
    assert summary["select/hp.smoothing"] == pytest.approx(chosen["hp.smoothing"].iloc[0])


def test_select_learns_the_class_balance_from_valid(monkeypatch, tmp_path):
    seen = {}
    real = labelmodel.fit_grid

    def spy(stacked, train_weak, *args, **kwargs):
        seen["balance"] = train_weak.class_balance
        return real(stacked, train_weak, *args, **kwargs)

    monkeypatch.setattr(labelmodel, "fit_grid", spy)
    cfg = _cfg("dataset=synthetic_ds", "dev_labels=select")  # majority vote: one point
    labelmodel.run(cfg, out_dir=tmp_path)
    data = build.build_dataset(_cfg("dataset=synthetic_ds"))
    y = np.asarray(data.valid.y)
    counts = np.bincount(y[y >= 0], minlength=cfg.dataset.n_classes) + 1.0
    np.testing.assert_allclose(np.asarray(seen["balance"]), counts / counts.sum(), rtol=1e-6)
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert df["selected"].all() and (df["grid_point"] == 0).all()  # no continuous hyperparameters


def test_select_metric_lower_is_better(tmp_path):
    cfg = _cfg(
        "estimator=dawid_skene",
        "dataset=synthetic_ds",
        "dev_labels=select",
        "select_metric=valid/log_loss",
        "select_within_se=0",
    )
    labelmodel.run(cfg, out_dir=tmp_path)
    df = pd.read_parquet(tmp_path / "results.parquet")
    best = int(df.groupby("grid_point")["valid/log_loss"].mean().idxmin())
    assert (df["select.point"] == best).all()
    assert df["select.rule"].str.startswith("min valid/log_loss").all()


@pytest.mark.parametrize(
    "override,match",
    [
        ("select_metric=test/accuracy", "select_metric"),
        ("dataset_metric=f2", "dataset_metric"),
        ("scoring.tie_rule=coin", "scoring.tie_rule"),
        ("scoring.n_boot=1", "scoring.n_boot"),
        ("dev_labels=choose", "dev_labels"),
        ("select_within_se=-1", "select_within_se"),
        ("select_within_se=one", "select_within_se"),
        ("select_within_se=true", "select_within_se"),
    ],
)
def test_bad_selection_and_scoring_configs_raise(tmp_path, override, match):
    with pytest.raises(ValueError, match=match):
        labelmodel.run(_cfg(override), out_dir=tmp_path)


def test_rows_carry_intervals_diagnostics_and_identical_seeds(select_run):
    _, summary, all_rows = select_run
    df = all_rows[all_rows["selected"].astype(bool)]
    others = all_rows[~all_rows["selected"].astype(bool)]
    assert len(others) > 0  # the grid has more than one point
    for metric in ("accuracy", "f1", "log_loss", "roc_auc"):
        # intervals are computed at the reported (selected) point only
        assert others[f"test/{metric}_lo"].isna().all() and others[f"test/{metric}_hi"].isna().all()
        lo, mid, hi = df[f"test/{metric}_lo"], df[f"test/{metric}"], df[f"test/{metric}_hi"]
        assert (lo <= mid + 1e-6).all() and (mid <= hi + 1e-6).all(), metric
        assert (hi - lo > 0).all(), metric  # 200 test rows: a real, non-zero interval
        assert (
            summary[f"test/{metric}_lo"]
            <= summary[f"test/{metric}"]
            <= summary[f"test/{metric}_hi"]
        )
    for name in ("prior_min", "share_votes_not_own_class", "loss_fit", "n_predicted_classes"):
        assert np.isfinite(all_rows[f"diag/{name}"]).all(), name
    # DawidSkene from vote fractions is deterministic: every seed gives the same numbers
    assert df["seeds_identical"].all() and summary["seeds_identical"] == 1.0
    assert df.groupby("grid_point")["test/accuracy"].nunique().eq(1).all()
    assert (df["scoring.tie_rule"] == "expected").all()


def test_wrench_tie_rule_scores_majority_vote_like_metrics(tmp_path):
    cfg = _cfg("dataset=synthetic_ds", "scoring.tie_rule=wrench", "seeds=1")
    summary = labelmodel.run(cfg, out_dir=tmp_path)
    data = build.build_dataset(cfg)
    probs = (
        MajorityVote().fit(data.train.weak, key=jax.random.key(0)).predict_proba(data.test.weak.L)
    )
    for name in ("accuracy", "f1"):
        want = float(getattr(metrics, name)(probs, data.test.y, tie_rule="wrench"))
        assert summary[f"test/{name}"] == pytest.approx(want, abs=1e-6), name
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert (df["scoring.tie_rule"] == "wrench").all()


def test_bootstrap_matches_metrics_bootstrap_ci():
    key = jax.random.key(3)
    probs = jax.nn.softmax(jax.random.normal(jax.random.key(1), (1, 2, 150, 3)), axis=-1)
    y = jax.random.randint(jax.random.key(2), (150,), -1, 3)
    boot = labelmodel.bootstrap_metrics(
        np.asarray(probs), np.asarray(y), tie_rule="split", n_boot=200, key=key
    )
    assert boot["accuracy"].shape == (1, 2, 200)
    for s in range(2):
        want = metrics.bootstrap_ci(metrics.accuracy, probs[0, s], y, n_boot=200, key=key)
        got = labelmodel._interval(boot["accuracy"][0, s], 0.95)
        np.testing.assert_allclose(got, [float(w) for w in want], atol=1e-6)


def test_wrench_ties_are_broken_before_resampling():
    # all rows tied: WRENCH's rule picks by row position; resampled rows keep their own pick
    probs = jnp.full((1, 1, 64, 2), 0.5)
    y = jnp.asarray(np.arange(64) % 2)
    boot = labelmodel.bootstrap_metrics(
        np.asarray(probs), np.asarray(y), tie_rule="wrench", n_boot=300, key=jax.random.key(0)
    )
    point = float(metrics.accuracy(probs[0, 0], y, tie_rule="wrench"))
    assert abs(np.mean(boot["accuracy"]) - point) < 0.03


def test_degenerate_fits_are_named(caplog):
    healthy = {
        "prior_min": np.array([0.3]),
        "prior_at_boundary": np.array([0.0]),
        "share_votes_not_own_class": np.array([0.1]),
        "n_predicted_classes": np.array([2.0]),
    }
    assert labelmodel.degenerate(healthy, gold_classes=2) == []
    bad = {
        **healthy,
        "prior_min": np.array([1e-5]),
        "prior_at_boundary": np.array([1.0]),
        "share_votes_not_own_class": np.array([0.9]),
        "n_predicted_classes": np.array([1.0]),
    }
    found = labelmodel.degenerate(bad, gold_classes=2)
    assert len(found) == 3
    assert labelmodel.degenerate({"n_predicted_classes": np.array([1.0])}, gold_classes=1) == []
    with caplog.at_level(logging.WARNING, logger="wsbench.run.labelmodel"):
        labelmodel.warn_degenerate("est_x", "data_y", bad, gold_classes=2)
    (record,) = caplog.records
    assert "est_x" in record.getMessage() and "data_y" in record.getMessage()
    assert (
        "simplex boundary" in record.getMessage()
        and "single predicted class" in record.getMessage()
    )


@pytest.mark.parametrize("override", ["grid={smoothing: [0.0, 0.1]}", "+grid.smoothing=[0.0,0.1]"])
def test_documented_grid_overrides_compose(override):
    cfg = _cfg("estimator=dawid_skene", override)
    assert labelmodel.grid_of(cfg) == {"smoothing": [0.0, 0.1]}


def test_select_grid_is_the_estimators_default_updated_by_grid():
    cfg = _cfg("estimator=matrix_completion", "dev_labels=select", "+grid.lr=[0.05]")
    grid = labelmodel.grid_of(cfg)
    assert grid["lr"] == [0.05] and len(grid["l2"]) > 1 and len(grid["prec_init"]) > 1
    assert labelmodel.grid_of(_cfg("estimator=matrix_completion")) == {}  # none: no grid
    assert labelmodel.grid_of(_cfg("dev_labels=select")) == {}  # majority vote: one point


def test_select_follows_the_datasets_metric(tmp_path):
    """WRENCH scores sms by F1: dev_labels=select must pick the grid point by valid F1 there, not
    by the objective's accuracy (conf/dataset_scoring/<dataset>.yaml names the metric)."""
    assert _cfg("dataset=wrench_sms").dataset_metric == "f1"
    assert _cfg("dataset=wrench_youtube").dataset_metric is None
    overrides = (
        "estimator=dawid_skene",
        "dataset=synthetic_ds",
        "dev_labels=select",
        "dataset_metric=f1",
    )
    labelmodel.run(_cfg(*overrides), out_dir=tmp_path)
    df = pd.read_parquet(tmp_path / "results.parquet")
    best = int(df.groupby("grid_point")["valid/f1"].mean().idxmax())
    assert (df["select.point"] == best).all()
    assert df["select.rule"].str.startswith("max valid/f1").all()
    # an explicit select_metric still wins over the dataset's metric
    out = tmp_path / "explicit"
    labelmodel.run(_cfg(*overrides, "select_metric=valid/log_loss"), out_dir=out)
    assert pd.read_parquet(out / "results.parquet")["select.rule"].str.startswith("min").all()


# --------------------------------------------------------------- the one-SE rule (select_within_se)


def _noisy_scores(means, n_boot=400, noise=0.01, seed=0):
    """values (h, 1) and paired bootstrap samples (h, 1, B): a shared resample effect plus
    per-point noise of sd ``noise`` (so every pairwise difference has SE ~ noise * sqrt(2))."""
    rng = np.random.default_rng(seed)
    means = np.asarray(means, np.float64)
    shared = rng.normal(0.0, 0.05, n_boot)
    samples = means[:, None] + shared[None, :] + rng.normal(0.0, noise, (len(means), n_boot))
    return means[:, None], samples[:, None, :]


def test_within_noise_the_point_nearest_the_configuration_wins():
    values, samples = _noisy_scores([0.800, 0.805, 0.790])
    distance = np.array([0, 2, 1])
    # 0.805 - 0.800 = 0.005 < 1 SE (~0.014): tied, and point 0 is the configured estimator
    assert labelmodel.select_point(values, "accuracy") == 1
    got = labelmodel.select_within_noise(
        values, samples, "accuracy", distance=distance, within_se=1.0
    )
    assert got == 0
    # a gap of many SEs is not noise: the best point stays
    values, samples = _noisy_scores([0.700, 0.805, 0.798])
    got = labelmodel.select_within_noise(
        values, samples, "accuracy", distance=distance, within_se=1.0
    )
    assert got == 2  # 0.798 is within 1 SE of 0.805 and nearer (distance 1 < 2); 0.700 is not
    # within_se=0: only exact ties with the best, i.e. the argmax
    got = labelmodel.select_within_noise(
        values, samples, "accuracy", distance=distance, within_se=0.0
    )
    assert got == 1


def test_within_noise_respects_lower_is_better_and_breaks_distance_ties_by_score():
    values, samples = _noisy_scores([0.50, 0.40, 0.41, 0.90])
    distance = np.array([0, 1, 1, 0])
    # log loss: 0.40 is best; 0.41 is tied and as near (1), so the better score (0.40) wins;
    # 0.50 (distance 0) is 7 SEs worse and 0.90 far worse
    got = labelmodel.select_within_noise(
        values, samples, "log_loss", distance=distance, within_se=1.0
    )
    assert got == 1
    got = labelmodel.select_within_noise(
        values, samples, "log_loss", distance=distance, within_se=10.0
    )
    assert got == 0  # 10 SEs: 0.50 is tied too, and it is the configured estimator


def test_config_distance_counts_the_hyperparameters_that_differ():
    from wsbench.labelmodels import DawidSkene

    est = DawidSkene(smoothing=0.01)
    points = [{"smoothing": 0.001}, {"smoothing": 0.01}, {"smoothing": 1.0}]
    assert labelmodel.config_distance(est, points).tolist() == [1, 0, 1]


def test_default_select_reports_a_point_no_farther_and_no_better_than_the_argmax(tmp_path):
    cfg = _cfg("estimator=dawid_skene", "dataset=synthetic_ds", "dev_labels=select")
    assert cfg.select_within_se > 0  # the default rule
    labelmodel.run(cfg, out_dir=tmp_path)
    df = pd.read_parquet(tmp_path / "results.parquet")
    by_point = df.groupby("grid_point")["valid/accuracy"].mean()
    chosen, argmax = int(df["select.point"].iloc[0]), int(df["select.argmax_point"].iloc[0])
    assert argmax == int(by_point.idxmax())
    assert by_point[chosen] <= by_point[argmax]
    smoothing = df.groupby("grid_point")["hp.smoothing"].first()
    own = cfg.estimator.smoothing
    assert (smoothing[chosen] != own) <= (smoothing[argmax] != own)
    assert df["select.rule"].str.contains("paired-bootstrap SE").all()
