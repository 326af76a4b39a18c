"""Result store: a job folder never mixes two configs, corrupt files are not complete jobs,
interrupted writes leave no temporary files behind, result files are readable by others.
"""

import os
import stat

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from tests._utils import CONF
from wsbench.run import labelmodel, results

FAST = ["debug=smoke", "jax_cache=null", "progress=false", "logger=none"]


@pytest.fixture(autouse=True)
def _clear_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def _cfg(*overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("labelmodel", overrides=[*FAST, *overrides])


@pytest.mark.slow
def test_killed_rerun_with_edited_config_is_not_skipped_later(tmp_path, monkeypatch):
    """The issue-10 sequence: complete m=10, edit to m=12, re-run and kill between writing
    results.parquet and results.json, restore m=10, re-run: the job must be recomputed."""
    job = tmp_path / "job"
    labelmodel.run(_cfg("dataset.m=10"), out_dir=job)
    assert len(pd.read_parquet(job / "results.parquet")) == 2

    real = results.atomic_write_bytes

    def killed_before_marker(path, data):
        if os.path.basename(path) == results.MARKER:
            raise KeyboardInterrupt  # SIGINT/SIGKILL after results.parquet, before results.json
        real(path, data)

    monkeypatch.setattr(results, "atomic_write_bytes", killed_before_marker)
    with pytest.raises(KeyboardInterrupt):
        labelmodel.run(_cfg("dataset.m=12", "seeds=3"), out_dir=job)
    monkeypatch.setattr(results, "atomic_write_bytes", real)
    # the folder now holds m=12 rows; it must not count as a complete job for either config
    assert len(pd.read_parquet(job / "results.parquet")) == 3
    for m in (10, 12):
        cfg = OmegaConf.to_container(_cfg(f"dataset.m={m}"), resolve=True)
        assert results.is_complete(job, cfg) is None, m
    with pytest.raises(ValueError, match="no complete job"):
        results.load(tmp_path)

    calls = []
    real_score = labelmodel.fit_grid

    def counted(*args, **kwargs):
        calls.append(1)
        return real_score(*args, **kwargs)

    monkeypatch.setattr(labelmodel, "fit_grid", counted)
    labelmodel.run(_cfg("dataset.m=10"), out_dir=job)  # restored config
    assert calls == [1], "the restored config must be recomputed, not skipped"
    df = results.load(tmp_path)
    assert len(df) == 2  # seeds=2 rows of m=10, none of the m=12 run
    assert yaml.safe_load((job / "config.yaml").read_text())["dataset"]["m"] == 10
    assert not [p for p in os.listdir(job) if p.endswith(".tmp")]


def test_marker_is_removed_before_anything_new_is_written(tmp_path, monkeypatch):
    config = {"seed": 0}
    results.write([{"test/accuracy": 1.0}], tmp_path, config)
    real = results.atomic_write_bytes
    seen = []

    def spy(path, data):
        seen.append((os.path.basename(path), (tmp_path / results.MARKER).exists()))
        real(path, data)

    monkeypatch.setattr(results, "atomic_write_bytes", spy)
    results.write([{"test/accuracy": 0.5}], tmp_path, {"seed": 1})
    assert seen[0] == ("results.parquet", False)
    assert [name for name, _ in seen] == [
        "results.parquet",
        "traces.npz",
        "config.yaml",
        "results.json",
    ]


def test_load_skips_job_whose_files_do_not_match_its_marker(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    results.write([{"test/accuracy": 1.0}], a, {"seed": 0})
    results.write([{"test/accuracy": 0.0}], b, {"seed": 1})
    # b's rows swapped in by hand (what a pre-fix interrupted re-run could leave)
    (b / "results.parquet").write_bytes((a / "results.parquet").read_bytes())
    assert results.is_complete(b, {"seed": 1}) is None
    df = results.load(tmp_path)
    assert df["test/accuracy"].tolist() == [1.0]
    # a config.yaml of another config next to a matching marker is caught by load too
    (a / "config.yaml").write_text(yaml.safe_dump({"seed": 5}))
    with pytest.raises(ValueError, match="no complete job"):
        results.load(tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "flipped_byte", "empty"])
def test_corrupted_parquet_is_not_a_complete_job(tmp_path, damage):
    config = {"seed": 0}
    results.write([{"test/accuracy": 1.0, "seed": 0}], tmp_path, config)
    path = tmp_path / "results.parquet"
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped_byte":
        data[len(data) // 2] ^= 0xFF
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    assert results.is_complete(tmp_path, config) is None
    with pytest.raises(ValueError, match="no complete job"):
        results.load(tmp_path)


def test_stale_temporaries_are_removed_by_the_next_write(tmp_path):
    config = {"seed": 0}
    results.write([{"test/accuracy": 1.0}], tmp_path, config)
    for name in ("results.json", "results.parquet", "traces.npz", "config.yaml"):
        (tmp_path / f".{name}.k2j3h4.tmp").write_text("half a file")
    (tmp_path / "notes.tmp").write_text("not ours")  # other files are left alone
    results.write([{"test/accuracy": 1.0}], tmp_path, config)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["results.json", "results.parquet", "traces.npz", "config.yaml", "notes.tmp"]
    )


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_result_files_respect_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        results.write([{"test/accuracy": 1.0}], tmp_path, {"seed": 0})
    finally:
        os.umask(old)
    for name in ("results.json", "results.parquet", "traces.npz", "config.yaml"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_pre_digest_marker_is_recomputed(tmp_path):
    """A marker without file digests (older layout, or hand-made) is not trusted."""
    import json

    config = {"seed": 0}
    results.write([{"test/accuracy": 1.0}], tmp_path, config)
    marker = json.loads((tmp_path / "results.json").read_text())
    del marker["files"]
    (tmp_path / "results.json").write_text(json.dumps(marker))
    assert results.is_complete(tmp_path, config) is None


def test_complete_job_check_removes_old_temporaries_only(tmp_path):
    config = {"seed": 0}
    results.write([{"test/accuracy": 1.0}], tmp_path, config)
    old = tmp_path / ".results.parquet.aaaa.tmp"
    young = tmp_path / ".results.json.bbbb.tmp"
    old.write_text("left by a killed run")
    young.write_text("maybe a running writer's")
    hours_ago = old.stat().st_mtime - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    assert results.is_complete(tmp_path, config) is not None
    assert not old.exists() and young.exists()
