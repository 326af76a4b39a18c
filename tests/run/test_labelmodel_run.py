"""Label-model runner: outputs, resume/skip, atomic writes, dev labels, bad configs, loggers.

``wsbench.run.labelmodel.run`` is called directly on configs composed from ``conf/labelmodel.yaml``
with ``debug=smoke`` (Hydra's compose API; no Hydra app, so ``out_dir`` is explicit).
"""

import dataclasses
import json
import os

import numpy as np
import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from tests._utils import CONF
from wsbench.data import Dataset, Split
from wsbench.run import build, labelmodel, results
from wsbench.run.logging import JsonlLogger, Logger, MultiLogger, WandbLogger

FAST = ["debug=smoke", "jax_cache=null", "progress=false", "logger=none"]
FILES = ("results.parquet", "traces.npz", "config.yaml", "results.json")


@pytest.fixture(autouse=True)
def _clear_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("labelmodel", overrides=[*FAST, *overrides])


def _no_temp_files(folder):
    return not [p for p in os.listdir(folder) if p.endswith(".tmp")]


@pytest.mark.slow
def test_run_writes_results_and_returns_aggregates(tmp_path):
    out = tmp_path / "job"
    cfg = _cfg("logger=jsonl")
    summary = labelmodel.run(cfg, out_dir=out)

    assert summary["objective"] == summary["test/accuracy"]
    for split in ("test", "valid"):
        for metric in ("accuracy", "f1", "log_loss", "brier", "ece"):
            assert np.isfinite(summary[f"{split}/{metric}"]), (split, metric)
            assert summary[f"{split}/{metric}_sem"] >= 0.0
    assert 0.5 < summary["test/accuracy"] <= 1.0
    for name in (*FILES, "log.jsonl"):
        assert (out / name).is_file(), name
    assert _no_temp_files(out)

    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == cfg.seeds  # one grid point
    assert set(df["estimator"]) == {"majority_vote"}
    assert set(df["dataset"]) == {"synthetic_independent"}
    assert (df["n_train"] == cfg.subsample).all() and (df["m"] == cfg.dataset.m).all()
    assert df["test/accuracy"].mean() == pytest.approx(summary["test/accuracy"])
    assert df["cfg.seeds"].iloc[0] == cfg.seeds and df["cfg.dataset.m"].iloc[0] == cfg.dataset.m

    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert yaml.safe_load((out / "config.yaml").read_text()) == resolved
    marker = json.loads((out / "results.json").read_text())
    assert marker["config_hash"] == results.config_hash(resolved)
    assert marker["summary"] == pytest.approx(summary)

    events = [json.loads(line)["event"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert events[0] == "start" and events[-1] == "finish"
    assert events.count("row") == cfg.seeds and "summary" in events


@pytest.mark.slow
def test_grid_and_seeds_are_axes_of_one_job_and_reproducible(tmp_path):
    over = ["estimator=dawid_skene", "estimator.n_iter=5", "+grid.smoothing=[0.0,0.5]", "seeds=3"]
    summary = labelmodel.run(_cfg(*over), out_dir=tmp_path / "a")
    df = pd.read_parquet(tmp_path / "a" / "results.parquet")
    assert len(df) == 2 * 3
    assert sorted(df["hp.smoothing"].unique()) == [0.0, 0.5]
    assert summary["grid_point"] in (0.0, 1.0)
    traces = np.load(tmp_path / "a" / "traces.npz")
    assert traces["objective"].shape[:2] == (2, 3)
    # same config, another folder: identical numbers (explicit keys, no global state)
    labelmodel.run(_cfg(*over), out_dir=tmp_path / "b")
    again = pd.read_parquet(tmp_path / "b" / "results.parquet")
    metrics = results.metric_columns(df)
    pd.testing.assert_frame_equal(df[metrics], again[metrics])


def test_second_run_skips_and_returns_stored_summary(tmp_path, monkeypatch):
    cfg = _cfg()
    first = labelmodel.run(cfg, out_dir=tmp_path)
    stamps = {name: (tmp_path / name).stat().st_mtime_ns for name in FILES}

    def boom(*args, **kwargs):
        raise AssertionError("a completed job must not be recomputed")

    monkeypatch.setattr(labelmodel, "fit_grid", boom)
    assert labelmodel.run(cfg, out_dir=tmp_path) == first
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in FILES} == stamps
    # keys that do not change the numbers do not force a re-run either
    assert labelmodel.run(_cfg("logger=jsonl", "progress=true"), out_dir=tmp_path) == first


def test_changed_config_reruns(tmp_path):
    labelmodel.run(_cfg(), out_dir=tmp_path)
    assert len(pd.read_parquet(tmp_path / "results.parquet")) == 2
    labelmodel.run(_cfg("seeds=3"), out_dir=tmp_path)
    assert len(pd.read_parquet(tmp_path / "results.parquet")) == 3
    assert json.loads((tmp_path / "results.json").read_text())["config"]["seeds"] == 3


@pytest.mark.parametrize("damage", ["no_marker", "no_rows", "torn_marker", "stale_temp"])
def test_incomplete_job_is_rerun(tmp_path, damage):
    cfg = _cfg()
    first = labelmodel.run(cfg, out_dir=tmp_path)
    if damage == "no_marker":  # killed after results.parquet, before results.json
        (tmp_path / "results.json").unlink()
    elif damage == "no_rows":
        (tmp_path / "results.parquet").unlink()
    elif damage == "torn_marker":  # cannot happen with os.replace, but must not be trusted
        (tmp_path / "results.json").write_text('{"config_hash": ')
    stale = tmp_path / ".results.json.abc123.tmp"
    stale.write_text("half a file")
    expect_rerun = damage != "stale_temp"
    before = (tmp_path / "results.parquet").stat().st_mtime_ns if not expect_rerun else None
    assert labelmodel.run(cfg, out_dir=tmp_path) == pytest.approx(first)
    assert results.is_complete(tmp_path, OmegaConf.to_container(cfg, resolve=True)) is not None
    if expect_rerun:
        assert (tmp_path / "results.parquet").is_file() and (tmp_path / "results.json").is_file()
    else:  # a leftover temporary file is ignored: the job stays complete and is skipped
        assert (tmp_path / "results.parquet").stat().st_mtime_ns == before


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    results.atomic_write_bytes(target, b"old")

    def crash(fd):
        raise KeyboardInterrupt  # e.g. the job is killed mid-write

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        results.atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["results.json"]  # the temporary file was removed


def test_write_marks_complete_only_at_the_end(tmp_path, monkeypatch):
    """results.json goes last: a failure while writing earlier files leaves the job incomplete."""
    real = results.atomic_write_bytes
    written = []

    def record(path, data):
        written.append(os.path.basename(path))
        if os.path.basename(path) == "config.yaml":
            raise OSError("disk full")
        real(path, data)

    monkeypatch.setattr(results, "atomic_write_bytes", record)
    config = {"seed": 0}
    with pytest.raises(OSError):
        results.write([{"test/accuracy": 1.0}], tmp_path, config, summary={"objective": 1.0})
    assert written == ["results.parquet", "traces.npz", "config.yaml"]
    assert results.is_complete(tmp_path, config) is None
    monkeypatch.setattr(results, "atomic_write_bytes", real)
    results.write([{"test/accuracy": 1.0}], tmp_path, config, summary={"objective": 1.0})
    assert results.is_complete(tmp_path, config)["summary"] == {"objective": 1.0}


@pytest.mark.parametrize("dev_labels", ["none", "class_balance"])
def test_dev_labels_sets_train_class_balance(tmp_path, monkeypatch, dev_labels):
    seen = {}
    real = labelmodel.fit_grid

    def spy(stacked, train_weak, *args, **kwargs):
        seen.setdefault("balance", train_weak.class_balance)
        return real(stacked, train_weak, *args, **kwargs)

    monkeypatch.setattr(labelmodel, "fit_grid", spy)
    cfg = _cfg("dataset=synthetic_ds", f"dev_labels={dev_labels}")
    labelmodel.run(cfg, out_dir=tmp_path)
    balance = seen["balance"]
    if dev_labels == "none":
        assert balance is None
        return
    data = build.build_dataset(_cfg("dataset=synthetic_ds"))  # the same (subsampled) data
    y = np.asarray(data.valid.y)
    counts = np.bincount(y[y >= 0], minlength=cfg.dataset.n_classes) + 1.0
    np.testing.assert_allclose(np.asarray(balance), counts / counts.sum(), rtol=1e-6)
    assert balance.shape == (cfg.dataset.n_classes,)


# ----------------------------------------------------------------------------- malformed configs

BAD = {
    "seeds zero": (["seeds=0"], r"'seeds' must be a positive int"),
    "seeds float": (["seeds=1.5"], r"'seeds' must be a positive int"),
    "seeds string": (["seeds=many"], r"'seeds' must be a positive int"),
    "negative seed": (["seed=-1"], r"'seed' must be a non-negative int"),
    "negative data_seed": (["data_seed=-3"], r"'data_seed' must be a non-negative int"),
    "subsample zero": (["subsample=0"], r"'subsample' must be null or a positive int"),
    "subsample float": (["subsample=0.5"], r"'subsample' must be null or a positive int"),
    "unknown dev_labels": (["dev_labels=gold"], r"'dev_labels' must be one of"),
    "objective no split": (["objective=accuracy"], r"'objective' must look like"),
    "objective train split": (["objective=train/accuracy"], r"'objective' must look like"),
    "objective unknown metric": (["objective=test/nope"], r"objective 'test/nope' is not among"),
    "unknown estimator kwarg": (
        ["estimator=dawid_skene", "+estimator.foo=1"],
        r"estimator key\(s\) \['foo'\] .* valid keys: \['n_iter', 'init', 'smoothing'.*\]",
    ),
    "unknown kwarg of an estimator without fields": (
        ["estimator=majority_vote", "+estimator.foo=1"],
        r"could not build estimator .*unexpected keyword argument 'foo'",
    ),
    "bad estimator target": (
        ["estimator._target_=wsbench.labelmodels.Nope"],
        r"estimator._target_ .* cannot be imported",
    ),
    "estimator not a label model": (
        ["estimator._target_=wsbench.run.logging.JsonlLogger"],
        r"not a wsbench.labelmodels",
    ),
    "bad estimator value": (
        ["estimator=dawid_skene", "estimator.n_iter=0"],
        r"could not build estimator|n_iter",
    ),
    "grid on unknown key": (["estimator=dawid_skene", "+grid.nope=[0.1]"], r"nope"),
    "grid on static field": (["estimator=dawid_skene", "+grid.n_iter=[5,10]"], r"n_iter"),
    "grid empty values": (["estimator=dawid_skene", "+grid.smoothing=[]"], r"non-empty list"),
    "unknown dataset kwarg": (["+dataset.foo=1"], r"could not build dataset .*argument 'foo'"),
    "bad dataset value": (["dataset.n_classes=1"], r"n_classes|could not build dataset"),
    "dataset not a Dataset": (
        ["dataset._target_=builtins.dict"],
        r"must return a wsbench.data.Dataset, got dict",
    ),
    "bad logger kwarg": (["logger=jsonl", "logger.filename=a/b.jsonl"], r"plain file name"),
    "logger not a Logger": (
        ["logger._target_=wsbench.labelmodels.MajorityVote", "~logger.loggers"],
        r"not a wsbench.run.logging.Logger",
    ),
}


@pytest.mark.parametrize("overrides,match", BAD.values(), ids=list(BAD))
def test_malformed_config_raises_clear_value_error(tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        labelmodel.run(_cfg(*overrides), out_dir=tmp_path)
    assert not (tmp_path / "results.json").exists()


def test_missing_group_selection_or_list_grid_raises(tmp_path):
    cfg = _cfg()
    OmegaConf.set_struct(cfg, False)
    cfg.estimator = None
    with pytest.raises(ValueError, match="config group 'estimator' must select an option"):
        labelmodel.run(cfg, out_dir=tmp_path)
    cfg = _cfg()
    OmegaConf.set_struct(cfg, False)
    cfg.grid = [1, 2]  # (grid=[1,2] on the command line is already refused by Hydra's merge)
    with pytest.raises(ValueError, match="'grid' must be a mapping"):
        labelmodel.run(cfg, out_dir=tmp_path)


def test_run_outside_hydra_needs_out_dir():
    with pytest.raises(ValueError, match="explicit out_dir"):
        labelmodel.run(_cfg())


def test_dataset_without_test_gold_is_rejected(tmp_path, monkeypatch):
    real = Dataset.subsample

    def drop_test_gold(data, n, *, key):
        out = real(data, n, key=key)
        return dataclasses.replace(out, test=Split(weak=out.test.weak, y=None, x=out.test.x))

    monkeypatch.setattr(Dataset, "subsample", drop_test_gold)
    with pytest.raises(ValueError, match="test split has no gold labels"):
        labelmodel.run(_cfg(), out_dir=tmp_path)


# ----------------------------------------------------------------------------- results helpers


def test_load_aggregate_export(tmp_path):
    for est in ("majority_vote", "dawid_skene"):
        labelmodel.run(
            _cfg(f"estimator={est}", "estimator.n_iter=5" if est != "majority_vote" else "seeds=2"),
            out_dir=tmp_path / "sweep" / est,
        )
    (tmp_path / "sweep" / "broken").mkdir()
    (tmp_path / "sweep" / "broken" / "results.parquet").write_bytes(b"not parquet")  # no marker
    df = results.load(tmp_path / "sweep")
    assert sorted(df["estimator"].unique()) == ["dawid_skene", "majority_vote"]
    table = results.export(tmp_path / "sweep", tmp_path / "out.csv")
    csv = pd.read_csv(tmp_path / "out.csv")
    assert len(csv) == len(table) == 2 and (csv["n_seeds"] == 2).all()
    assert {"test/accuracy", "test/accuracy_sem"} <= set(csv.columns)
    assert "estimator" in results.summary_table(df)
    with pytest.raises(ValueError, match="no results found"):
        results.load(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown column"):
        results.aggregate(df, ["nope"])


# ----------------------------------------------------------------------------- loggers


def test_jsonl_logger_writes_one_event_per_line(tmp_path):
    lg = JsonlLogger("events.jsonl")
    assert isinstance(lg, Logger)
    with pytest.raises(ValueError, match="call start"):
        lg.log_summary({"objective": 1.0})
    lg.start(out_dir=tmp_path, config={"a": 1}, group="g", job_type="mv")
    lg.log_rows([{"x": np.float32(0.5), "n": np.int64(3)}, {"x": 1.0, "n": 4}])
    lg.log_traces({"objective": np.arange(24.0).reshape(2, 3, 4)})
    lg.log_summary({"objective": 0.75})
    lg.finish()
    lines = [json.loads(s) for s in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [d["event"] for d in lines] == ["start", "row", "row", "trace", "summary", "finish"]
    assert lines[0]["config"] == {"a": 1} and lines[1]["x"] == 0.5 and lines[1]["n"] == 3
    np.testing.assert_allclose(lines[3]["mean"], np.arange(24.0).reshape(6, 4).mean(0))
    assert lines[4]["objective"] == 0.75
    with pytest.raises(ValueError, match="plain file name"):
        JsonlLogger("sub/dir.jsonl")


def test_multilogger_fans_out_and_rejects_non_loggers(tmp_path):
    lg = MultiLogger([JsonlLogger("a.jsonl"), JsonlLogger("b.jsonl")])
    lg.start(out_dir=tmp_path, config={}, group="g", job_type="t")
    lg.log_summary({"objective": 1.0})
    lg.finish()
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()
    MultiLogger().start(out_dir=tmp_path, config={}, group="g", job_type="t")  # null logger
    with pytest.raises(ValueError, match="Logger protocol"):
        MultiLogger([object()])


def test_wandb_logger_disabled_is_a_no_op(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    lg = WandbLogger()  # offline by default
    assert lg.mode == "offline"
    lg.start(out_dir=tmp_path, config={"a": 1}, group="g", job_type="t")
    lg.log_rows([{"a": 1}])
    lg.log_traces({"objective": np.ones((1, 1, 3))})
    lg.log_summary({"objective": 1.0})
    lg.finish()
    assert lg.run is None and os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="offline, online or disabled"):
        WandbLogger(mode="sometimes")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_wandb_logger_offline_writes_only_under_the_job_folder(tmp_path, monkeypatch):
    """Offline mode: no network, no prompt, files only under the job folder (and tmp homes)."""
    pytest.importorskip("wandb")
    home = tmp_path / "home"
    for var in (
        "HOME",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "WANDB_DIR",
        "WANDB_CACHE_DIR",
        "WANDB_CONFIG_DIR",
        "WANDB_DATA_DIR",
    ):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    job = tmp_path / "job"
    lg = WandbLogger(project="wsbench-test")
    lg.start(out_dir=job, config={"a": 1}, group="g", job_type="t")
    assert lg.run is not None
    lg.log_rows([{"x": 1, "y": 2.0}])
    lg.log_traces({"objective": np.ones((2, 3, 4))})
    lg.log_summary({"objective": 0.5})
    lg.finish()
    assert lg.run is None
    runs = list((job / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, os.listdir(job)
