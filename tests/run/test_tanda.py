"""TANDA pipeline: the smoke experiment end to end (every policy, 2 seeds), its export, config errors."""

import json

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from tests._utils import CONF, MIRROR, needs_mirror
from wsbench.augment import POLICIES, MeanFieldGenerator
from wsbench.run import tanda

FAST = ["experiment=tanda_smoke", "logger=none", "jax_cache=null"]


def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("tanda", overrides=[*FAST, *overrides])


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("tanda_smoke")
    cfg = _cfg()
    summary = tanda.run(cfg, out_dir=out)
    return cfg, out, summary


# The smoke job compiles 5 end-model training loops and 2 TANDA loops: ~90 s of CPU time (far more
# on shared cores), so it runs with the slow tests (.ci/run); the config checks below stay default.
@pytest.mark.slow
def test_smoke_run_writes_a_row_per_policy_and_seed(smoke):
    cfg, out, summary = smoke
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == len(POLICIES) * cfg.seeds == 10
    assert sorted(df["policy"].unique()) == sorted(POLICIES)
    assert sorted(df["seed_index"].unique()) == [0, 1]
    assert df["test/accuracy"].between(0, 1).all() and np.isfinite(df["train/final_loss"]).all()
    assert df["test/f1"].between(0, 1).all()  # recorded whatever cfg.metric reports
    assert df[["valid/accuracy", "valid/f1"]].isna().all().all()  # no validation split here
    learned = df["policy"].isin(["mean_field", "lstm"])
    assert np.isfinite(df.loc[learned, "tanda_seconds"]).all()
    assert df.loc[~learned, "tanda_seconds"].isna().all()
    for p in POLICIES:
        got = df.loc[df["policy"] == p, "test/accuracy"].mean()
        assert summary[f"test/accuracy/{p}"] == pytest.approx(got)
    assert summary["objective"] == summary["test/accuracy/lstm"]
    names = json.loads(df["tf_names"].iloc[0])
    assert names == list(cfg.tfs.names)
    for probs in df.loc[df["policy"] == "mean_field", "tf_probs"]:
        p = np.asarray(json.loads(probs))
        assert p.shape == (4,) and abs(p.sum() - 1) < 1e-4 and (p > 0).all()
    for trans in df.loc[df["policy"] == "lstm", "transitions"]:
        m = np.asarray(json.loads(trans))
        assert m.shape == (5, 4)  # 4 "from" TFs + the start row
        np.testing.assert_allclose(m.sum(1), 1, atol=1e-4)
    assert df.loc[df["policy"] != "mean_field", "tf_probs"].isna().all()
    eff = df.loc[learned, "gen/effective_tfs"]
    assert eff.between(1, 4).all() and df.loc[~learned, "gen/effective_tfs"].isna().all()
    assert df.loc[learned, "gen/top_tf"].isin(names).all()
    assert df.loc[learned, "gen/top_tf_share"].between(0.25, 1).all()
    with np.load(out / "traces.npz") as z:
        assert (
            z["samples/original"].shape == (4, 8, 8, 3) and z["samples/original"].dtype == np.uint8
        )
        np.testing.assert_array_equal(z["samples/none"], z["samples/original"])
        assert not np.array_equal(z["samples/heuristic"], z["samples/original"])
        assert z["tf_probs/mean_field"].shape == (2, 4)
        assert z["transitions/lstm"].shape == (2, 5, 4)
        assert z["d_loss/lstm"].shape == (2, cfg.tanda.n_steps)


@pytest.mark.slow
def test_smoke_run_is_skipped_when_complete_and_exports(smoke, tmp_path):
    cfg, out, summary = smoke
    before = (out / "results.parquet").stat().st_mtime_ns
    assert tanda.run(cfg, out_dir=out) == summary  # complete: skipped, same summary
    assert (out / "results.parquet").stat().st_mtime_ns == before
    files = tanda.export(out, tmp_path / "tanda_smoke")
    acc = pd.read_csv(files["accuracy"])
    assert list(acc["policy"]) == list(POLICIES)  # in the canonical order
    assert (acc["n_seeds"] == 2).all() and {"test/accuracy_sem", "tanda_seconds"} <= set(acc)
    assert (acc["metric"] == "accuracy").all() and "test/f1_sem" in acc
    probs = pd.read_csv(files["tf_probs"])
    assert list(probs["tf"]) == list(cfg.tfs.names) and abs(probs["prob"].sum() - 1) < 1e-4
    trans = pd.read_csv(files["transitions"])
    assert len(trans) == 5 * 4 and set(trans["from"]) == {*cfg.tfs.names, "start"}
    with np.load(files["samples"]) as z:
        assert set(z.files) == {*POLICIES, "original"}
    seeds = pd.read_csv(files["seeds"])
    assert len(seeds) == 2 * len(POLICIES) and set(seeds["seed_index"]) == {0, 1}
    for base in ("none", "heuristic"):
        assert (seeds.loc[seeds["policy"] == base, f"paired_vs_{base}"] == 0).all()
        own = seeds.pivot(index="seed_index", columns="policy", values="test/accuracy")
        diff = (own["lstm"] - own[base]).to_numpy()  # the same seed's two accuracies
        row = acc[acc["policy"] == "lstm"].iloc[0]
        assert row[f"paired_vs_{base}"] == pytest.approx(diff.mean(), abs=1e-6)
        assert row[f"paired_vs_{base}_sem"] == pytest.approx(
            diff.std(ddof=1) / np.sqrt(2), abs=1e-6
        )


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("policies=[none,autoaugment]", "policies"),
        ("policies=[none,none]", "policies"),
        ("objective=mean_field", "objective"),
        ("seq_len=0", "seq_len"),
        ("seeds=0", "seeds"),
        ("metric=roc_auc", "metric"),
        ("class_weight=inverse", "class_weight"),
        ("then_basic=maybe", "then_basic"),
        ("then_basic=1", "then_basic"),
        ("tanda.diversity=l2", "tanda.diversity"),
        ("generator.lstm.hidden=0", "generator.lstm.hidden"),
        ("generator.mean_field.logit_range=-1", "generator.mean_field.logit_range"),
        ("+generator.lstm.layers=2", "generator.lstm"),
        ("+generator.heuristic.logit_range=1", "generator"),
        ("generator.lstm.lr=0", "generator.lstm.lr"),
        ("generator.lstm=5", "generator.lstm"),
    ],
)
def test_config_errors(override, match, tmp_path):
    overrides = (
        ["policies=[none,lstm]", override] if override.startswith("objective") else [override]
    )
    with pytest.raises(ValueError, match=match):
        tanda.run(_cfg(*overrides), out_dir=tmp_path)


def test_basic_needs_images_and_tfs_need_a_set(tmp_path):
    with pytest.raises(ValueError, match="TF set"):
        tanda.run(_cfg("policies=[heuristic]", "objective=heuristic", "tfs=null"), out_dir=tmp_path)


@needs_mirror("spouse_snorkel")
def test_then_basic_needs_images(tmp_path, monkeypatch):
    monkeypatch.setenv("WSBENCH_DATA_MIRROR", str(MIRROR))
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "tanda",
            overrides=[
                "experiment=tanda_spouse_cpu",
                "logger=none",
                "jax_cache=null",
                "then_basic=true",
            ],
        )
    with pytest.raises(ValueError, match="then_basic=True .* not an image task"):
        tanda.run(cfg, out_dir=tmp_path)


def test_experiment_files_compose():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        c = compose("tanda", overrides=["experiment=tanda_cifar10"])
        p = compose("tanda", overrides=["experiment=tanda_pneumoniamnist"])
    assert c.task._target_.endswith("make_cifar10") and c.tfs.kind == "cifar"
    assert c.endmodel._target_.endswith("ResNet") and c.task.n_labelled == 5000
    assert c.then_basic is True and p.then_basic is False  # the authors' CIFAR-10 end models
    assert p.task._target_.endswith("make_pneumoniamnist") and p.tfs.kind == "grayscale"
    assert list(c.policies) == list(POLICIES) == list(p.policies)


def test_metric_f1_is_what_the_summary_and_export_report(tmp_path):
    """``metric=f1`` (the spouse task's): the summary, the objective and the paired differences of
    the export are F1, not accuracy (a constant scores 92% accuracy on spouse)."""
    cfg = _cfg("metric=f1", "policies=[none,heuristic]", "objective=heuristic", "seeds=1")
    summary = tanda.run(cfg, out_dir=tmp_path / "run")
    df = pd.read_parquet(tmp_path / "run" / "results.parquet")
    f1 = df.set_index("policy")["test/f1"]
    assert summary["test/f1/none"] == pytest.approx(f1["none"])
    assert summary["objective"] == pytest.approx(f1["heuristic"])
    assert not any(k.startswith("test/accuracy/") for k in summary)
    files = tanda.export(tmp_path / "run", tmp_path / "out" / "tanda_t")
    acc = pd.read_csv(files["accuracy"]).set_index("policy")
    assert (acc["metric"] == "f1").all()
    assert acc.loc["heuristic", "paired_vs_none"] == pytest.approx(f1["heuristic"] - f1["none"])


def test_balanced_class_weights():
    from wsbench.augment import balanced_weights, fit_and_score

    w = np.asarray(balanced_weights([0, 0, 0, 1], 2))
    np.testing.assert_allclose(w, [2 / 3, 2 / 3, 2 / 3, 2.0], rtol=1e-6)  # each class sums to n/k
    with pytest.raises(ValueError, match="every class"):
        balanced_weights([0, 0, 1], 3)
    with pytest.raises(ValueError, match="class_weight must be one of"):
        fit_and_score(None, None, None, class_weight="inverse", key=None)  # before any work


def test_validation_scores_are_those_of_the_validation_split(key):
    """``fit_and_score`` scores the task's validation split beside the test split (for choosing
    hyperparameters without the test set): a task whose validation split is its test split gets
    the same numbers twice, one without validation rows gets NaN."""
    import dataclasses

    from wsbench.augment import IdentityPolicy, fit_and_score
    from wsbench.endmodels import CNN
    from wsbench.tasks.synthetic_images import make_synthetic_images

    task = make_synthetic_images(n_train=64, n_unlabeled=8, n_test=40, hw=8, channels=1)
    model = CNN(width=4, n_steps=20, batch_size=16)
    bare = fit_and_score(model, task, IdentityPolicy(), key=key)
    assert np.isnan(bare["valid_accuracy"]) and np.isnan(bare["valid_f1"])
    twin = dataclasses.replace(task, x_valid=task.x_test, y_valid=task.y_test)
    got = fit_and_score(model, twin, IdentityPolicy(), key=key)
    assert got["valid_accuracy"] == got["test_accuracy"] == bare["test_accuracy"]
    assert got["valid_f1"] == got["test_f1"]
    flipped = dataclasses.replace(task, x_valid=task.x_test, y_valid=1 - task.y_test)
    other = fit_and_score(model, flipped, IdentityPolicy(), key=key)
    assert other["valid_accuracy"] == pytest.approx(1 - other["test_accuracy"], abs=1e-6)


def test_a_collapsed_generator_is_reported(caplog):
    names = ("substitute", "dropout", "swap")
    spread = tanda.usage_values(MeanFieldGenerator(3, 2).usage(jr.key(0)), names)
    assert spread["gen/effective_tfs"] == pytest.approx(3.0, rel=1e-5)
    with caplog.at_level("WARNING", logger="wsbench.run.tanda"):
        assert not tanda.warn_if_collapsed(spread, "mean_field", "toy", 3)
    assert not caplog.records
    peaked = eqx.tree_at(
        lambda g: g.raw_logits, MeanFieldGenerator(3, 2), jnp.array([9.0, -9.0, -9.0])
    )
    values = tanda.usage_values(peaked.usage(jr.key(0)), names)
    assert (
        values["gen/top_tf"] == "substitute" and values["gen/top_tf_share"] > tanda.COLLAPSE_SHARE
    )
    with caplog.at_level("WARNING", logger="wsbench.run.tanda"):
        assert tanda.warn_if_collapsed(values, "lstm", "toy", 3)
    (record,) = caplog.records
    assert "collapsed" in record.getMessage() and "substitute" in record.getMessage()
    assert "tanda.g_lr" in record.getMessage()


def test_export_refuses_mixed_metrics():
    df = pd.DataFrame({"cfg.metric": ["accuracy", "f1"], "policy": ["none", "none"]})
    with pytest.raises(ValueError, match="mixes metrics"):
        tanda.reported_metric(df)
    assert tanda.reported_metric(df.drop(columns="cfg.metric")) == "accuracy"  # older results
