"""The Hydra config tree: every option of every group composes and builds; launchers; bad names.

Composes ``conf/labelmodel.yaml`` (and, for experiment files of other pipelines, the pipeline's
own primary config) with Hydra's compose API, as ``experiments/*.py`` do. Real-data datasets are
only composed, except one quick build from a local mirror when ``../shared/datasets`` (or
``$WSBENCH_DATA_MIRROR``) exists.
"""

import os
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import MissingConfigException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests._utils import CONF, REPO_ROOT, group_configs
from wsbench.data import Dataset
from wsbench.labelmodels import AbstractLabelModel
from wsbench.run.logging import Logger

PRIMARY = "labelmodel"
GROUPS = ("estimator", "dataset", "logger", "launcher", "debug", "experiment")
SYNTHETIC = sorted(n for n in group_configs("dataset") if n.startswith("synthetic_"))
REAL = sorted(n for n in group_configs("dataset") if not n.startswith("synthetic_"))
TINY = {"n_train": 60, "n_valid": 30, "n_test": 40}
SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
LOCAL = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"


@pytest.fixture(autouse=True)
def _clear_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def _compose(*overrides, config=PRIMARY, hydra_cfg=False):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config, overrides=list(overrides), return_hydra_config=hydra_cfg)


def _options(group):
    return sorted(group_configs(group))


def test_primary_config_defaults_compose():
    cfg = _compose()
    for group in ("estimator", "dataset", "logger"):
        assert "_target_" in cfg[group], group
    assert cfg.seeds >= 1 and cfg.dev_labels in ("none", "class_balance")
    assert cfg.objective.partition("/")[0] in ("test", "valid")


@pytest.mark.parametrize(
    "group,option",
    [(g, o) for g in GROUPS if g != "experiment" for o in _options(g)],
)
def test_every_option_composes(group, option):
    cfg = _compose(f"{group}={option}", hydra_cfg=True)
    assert cfg.hydra.runtime.choices[group] == option
    # the interpolations of the job config all resolve (the runner resolves with throw_on_missing)
    job = {k: v for k, v in cfg.items() if k != "hydra"}
    OmegaConf.to_container(OmegaConf.create(job), resolve=True, throw_on_missing=True)


@pytest.mark.parametrize("name", _options("estimator"))
def test_every_estimator_instantiates(name):
    cfg = _compose(f"estimator={name}")
    est = instantiate(cfg.estimator, _convert_="all")
    assert isinstance(est, AbstractLabelModel)
    # the config file names nothing the constructor silently ignores
    assert set(OmegaConf.to_container(cfg.estimator)) - {"_target_"} <= set(
        f for f in type(est).__dataclass_fields__
    )


@pytest.mark.parametrize("name", _options("logger"))
def test_every_logger_instantiates(name):
    cfg = _compose(f"logger={name}")
    logger = instantiate(cfg.logger, _convert_="all")
    assert isinstance(logger, Logger)


def test_wandb_logger_config_is_offline_by_default():
    cfg = _compose("logger=wandb")
    wandb_nodes = [n for n in cfg.logger.loggers if n._target_.endswith("WandbLogger")]
    assert len(wandb_nodes) == 1 and wandb_nodes[0].mode == "offline"
    from wsbench.run.logging import WandbLogger

    assert WandbLogger().mode == "offline"


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_dataset_builds_tiny(name, key):
    cfg = _compose(f"dataset={name}", *(f"dataset.{k}={v}" for k, v in TINY.items()))
    make = instantiate(cfg.dataset, _convert_="all")
    data = make(key=key)
    assert isinstance(data, Dataset) and data.name == name
    assert (data.train.n, data.valid.n, data.test.n) == (60, 30, 40)
    assert data.train.weak.m == cfg.dataset.m
    assert data.test.y is not None


@pytest.mark.parametrize("name", REAL)
def test_real_dataset_composes(name):
    cfg = _compose(f"dataset={name}")
    assert cfg.dataset._partial_ is True and cfg.dataset.name == name
    from hydra.utils import get_object

    assert callable(get_object(cfg.dataset._target_))


def _mirror() -> Path | None:
    env = os.environ.get("WSBENCH_DATA_MIRROR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "datasets")
    return next((p for p in candidates if (p / "wrench_youtube").is_dir()), None)


@pytest.mark.skipif(_mirror() is None, reason="no local dataset mirror (WSBENCH_DATA_MIRROR)")
def test_one_real_dataset_builds_from_mirror(tmp_path, monkeypatch, key):
    monkeypatch.setenv("WSBENCH_DATA_MIRROR", str(_mirror()))
    monkeypatch.setenv("WSBENCH_DATA", str(tmp_path))
    cfg = _compose("dataset=wrench_youtube")
    data = instantiate(cfg.dataset, _convert_="all")(key=key)
    assert isinstance(data, Dataset) and data.name == "wrench_youtube"
    assert data.train.n > 0 and data.test.y is not None and data.n_classes == 2


def test_launcher_slurm_composes_to_submitit_slurm(monkeypatch):
    monkeypatch.delenv("WSBENCH_SLURM_PARTITION", raising=False)
    monkeypatch.delenv("WSBENCH_SLURM_ACCOUNT", raising=False)
    cfg = _compose("launcher=slurm", hydra_cfg=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == SLURM
    assert launcher.partition == "gpu" and launcher.account is None
    assert launcher.timeout_min > 0 and launcher.max_num_timeout >= 1
    assert launcher.array_parallelism >= 1 and launcher.gpus_per_node >= 0
    assert cfg.hydra.runtime.choices["hydra/launcher"] == "submitit_slurm"
    monkeypatch.setenv("WSBENCH_SLURM_PARTITION", "mypart")
    cfg = _compose("launcher=slurm", "hydra.launcher.timeout_min=5", hydra_cfg=True)
    assert cfg.hydra.launcher.partition == "mypart" and cfg.hydra.launcher.timeout_min == 5


def test_launcher_local_composes_to_submitit_local():
    cfg = _compose("launcher=local", hydra_cfg=True)
    assert cfg.hydra.launcher._target_ == LOCAL
    assert cfg.hydra.launcher.timeout_min > 0
    assert cfg.hydra.runtime.choices["hydra/launcher"] == "submitit_local"


@pytest.mark.parametrize("primary", ["labelmodel", "recovery", "endmodel", "metal", "tanda"])
def test_launcher_basic_is_in_process_and_every_pipelines_default(primary):
    cfg = _compose(config=primary, hydra_cfg=True)
    assert cfg.hydra.runtime.choices["launcher"] == "basic"
    assert cfg.hydra.launcher._target_.endswith("BasicLauncher")


def test_launcher_keys_stay_out_of_job_config_and_dirnames():
    """Switching launcher must not change the job config (or resume would re-run every job)."""
    base = _compose("launcher=basic")
    for launcher in ("local", "slurm"):
        assert _compose(f"launcher={launcher}") == base
    cfg = _compose(hydra_cfg=True)
    excluded = cfg.hydra.job.config.override_dirname.exclude_keys
    assert {"launcher", "logger", "progress", "jax_cache"} <= set(excluded)


@pytest.mark.parametrize("primary", ["labelmodel", "endmodel", "recovery"])
def test_primary_configs_share_hydra_settings_and_the_not_result_keys(primary):
    """conf/hydra/default.yaml: one run/sweep layout, and exclude_keys == keys.NOT_RESULT_KEYS."""
    from wsbench.run.keys import NOT_RESULT_KEYS

    cfg = _compose(config=primary, hydra_cfg=True)
    assert list(cfg.hydra.job.config.override_dirname.exclude_keys) == list(NOT_RESULT_KEYS)
    assert OmegaConf.to_container(cfg.hydra.sweep) == {
        "dir": "results/${name}/multirun",
        "subdir": "${hydra:job.override_dirname}",
    }
    assert cfg.hydra.job_logging.loggers.jax.level == "WARNING"
    assert "exclude_keys" not in (CONF / f"{primary}.yaml").read_text()  # one copy only


def test_unknown_estimator_name_names_group_and_options():
    with pytest.raises(MissingConfigException) as info:
        _compose("estimator=nope")
    msg = str(info.value)
    assert "estimator/nope" in msg and "Available options in 'estimator'" in msg
    for option in _options("estimator"):
        assert option in msg


@pytest.mark.parametrize("group", ["dataset", "logger", "launcher"])
def test_unknown_option_in_other_groups_is_clear(group):
    with pytest.raises(MissingConfigException, match=f"Could not find '{group}/nope'"):
        _compose(f"{group}=nope")


def test_unknown_estimator_in_an_experiment_sweep_is_clear():
    """A sweep listing an unknown estimator fails when its jobs compose (Hydra's message)."""
    with pytest.raises(MissingConfigException, match="Available options in 'estimator'"):
        _compose("experiment=smoke", "estimator=nope")


# ----------------------------------------------------------------------------- experiment files


def _pipeline(path: Path) -> str:
    """The pipeline an experiment file belongs to, from its ``experiments/<pipeline>.py`` header."""
    header = "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))
    found = set(re.findall(r"experiments/(\w+)\.py", header))
    assert len(found) == 1, f"{path.name}: header should name one experiments/<pipeline>.py"
    pipeline = found.pop()
    assert (CONF / f"{pipeline}.yaml").is_file(), f"{path.name}: conf/{pipeline}.yaml is missing"
    assert (REPO_ROOT / "experiments" / f"{pipeline}.py").is_file(), (
        f"{path.name}: experiments/{pipeline}.py is missing"
    )
    return pipeline


def _sweep_values(group_or_key: str, spec) -> list[str]:
    spec = str(spec)
    if spec.startswith(
        "glob("
    ):  # Hydra's own parser, so include/exclude lists mean what they do there
        glob = OverridesParser.create().parse_override(f"{group_or_key}={spec}").value()
        return glob.filter(_options(group_or_key))
    override = OverridesParser.create().parse_override(f"{group_or_key}={spec}")
    if not override.is_sweep_override():
        return [spec]
    return list(override.sweep_string_iterator())  # a, b, c | range(0,10) | choice(...)


@pytest.mark.parametrize("name", _options("experiment"))
def test_every_experiment_file_composes(name):
    path = CONF / "experiment" / f"{name}.yaml"
    pipeline = _pipeline(path)
    text = path.read_text()
    assert "# Run:" in text or "Run:" in text, f"{name}.yaml: header lacks the run command"
    cfg = _compose(f"experiment={name}", config=pipeline, hydra_cfg=True)
    assert cfg.name == name, "results go to results/${name}: name the experiment after its file"
    # every value the sweep lists composes (group options exist, keys exist)
    for param, spec in (cfg.hydra.sweeper.params or {}).items():
        is_group = (CONF / param).is_dir()
        values = _sweep_values(param, spec)
        assert values, (name, param)
        if not is_group:
            node, _, leaf = param.rpartition(".")
            assert leaf in (OmegaConf.select(cfg, node) if node else cfg), (name, param)
        for value in values:
            job = _compose(f"experiment={name}", f"{param}={value}", config=pipeline)
            if is_group:
                assert "_target_" in job[param]


def test_estimator_sweeps_pick_up_a_new_estimator():
    """An experiment that sweeps estimators sweeps a glob, so a new conf/estimator/<name>.yaml joins it
    with no edit (recovery leaves out majority_vote, which estimates no LF parameters)."""
    sweeping = {}
    for name, path in group_configs("experiment").items():
        cfg = _compose(f"experiment={name}", config=_pipeline(path), hydra_cfg=True)
        spec = (cfg.hydra.sweeper.params or {}).get("estimator")
        if spec is not None:
            sweeping[name] = str(spec)
    assert {"lm_vary_m", "real_table", "recovery", "scaling"} <= set(sweeping), sweeping
    for name, spec in sweeping.items():
        assert spec.startswith("glob("), f"{name}.yaml sweeps estimator={spec}: use a glob"
        glob = OverridesParser.create().parse_override(f"estimator={spec}").value()
        assert glob.filter(["my_new_estimator"]) == ["my_new_estimator"], name


def test_labelmodel_experiments_are_the_expected_ones():
    names = [n for n, p in group_configs("experiment").items() if _pipeline(p) == PRIMARY]
    assert {"quickstart", "smoke", "lm_vary_m", "real_table"} <= set(names)
