"""Test helpers: the conf/ registry of estimators, config instantiation, tree comparisons."""

import importlib.util
import os
import sys
from pathlib import Path

import jax
import jax.monitoring
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF = REPO_ROOT / "conf"
MIRROR = Path(os.environ.get("WSBENCH_DATA_MIRROR") or REPO_ROOT.parent / "shared" / "datasets")
"""The real-data mirror the tests read (``WSBENCH_DATA_MIRROR``, else ``../shared/datasets``)."""


def needs_mirror(dataset: str):
    """Skip unless the mirror holds ``dataset`` (the reason names the mirror, so that CI's
    ``WSBENCH_REQUIRE_REAL_DATA=1`` turns the skip into a failure: ``tests/conftest.py``)."""
    import pytest

    return pytest.mark.skipif(
        not (MIRROR / dataset).is_dir(),
        reason=f"no {dataset} in the dataset mirror {MIRROR} (set WSBENCH_DATA_MIRROR)",
    )


def load_figure_script(name: str, folder: Path | None = None):
    """Import ``paper_figures/<name>.py`` as a module, as running the script would.

    A script's own folder is on ``sys.path`` when it runs (``import style``); importing it from a
    test puts ``folder`` (default: ``paper_figures/``) there the same way.
    """
    folder = folder or REPO_ROOT / "paper_figures"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(f"paper_figures_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def group_configs(group: str) -> dict[str, Path]:
    """``{option name: path}`` for every ``conf/<group>/*.yaml``, sorted by name."""
    return {p.stem: p for p in sorted((CONF / group).glob("*.yaml"))}


def estimator_configs() -> dict[str, Path]:
    """``{name: path}`` for every ``conf/estimator/*.yaml``."""
    return group_configs("estimator")


def instantiate_config(path: Path):
    """``hydra.utils.instantiate`` of one option file, as the runner does (``_convert_="all"``)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    return instantiate(OmegaConf.load(path), _convert_="all")


REFERENCE_PRESETS = {
    "crowdkit_dawid_skene": REPO_ROOT / "tests" / "reference" / "crowdkit_dawid_skene.yaml"
}
"""Estimator configurations kept for the peer comparisons only (not ``conf/estimator`` options):
``crowdkit_dawid_skene`` is crowd-kit's classic Dawid-Skene (abstains missing) at its defaults."""


def instantiate_estimator(name: str):
    """The estimator built from ``conf/estimator/<name>.yaml`` (or a ``REFERENCE_PRESETS`` file)."""
    configs = {**estimator_configs(), **REFERENCE_PRESETS}
    if name not in configs:
        raise KeyError(f"no conf/estimator/{name}.yaml; options are {sorted(configs)}.")
    return instantiate_config(configs[name])


def instantiate_group(group: str) -> dict:
    """``{option name: instantiated object}`` for every option file of a config group."""
    return {name: instantiate_config(path) for name, path in group_configs(group).items()}


def assert_trees_allclose(actual, desired, *, rtol: float = 1e-6, atol: float = 1e-6) -> None:
    """Same tree structure and every pair of leaves ``np.testing.assert_allclose``."""
    a_leaves, a_def = jax.tree.flatten(actual)
    d_leaves, d_def = jax.tree.flatten(desired)
    assert a_def == d_def, f"tree structures differ:\n{a_def}\nvs\n{d_def}"
    for i, (a, d) in enumerate(zip(a_leaves, d_leaves, strict=True)):
        np.testing.assert_allclose(
            np.asarray(a), np.asarray(d), rtol=rtol, atol=atol, err_msg=f"leaf {i} of {a_def}"
        )


class count_compilations:
    """Context manager counting XLA backend compilations (optax's ``log_compilations`` idea).

    Example:
        >>> with count_compilations() as c:
        ...     f(x)
        >>> assert c.count == 0
    """

    _EVENT = "/jax/core/compile/backend_compile_duration"

    def __init__(self):
        self.count = 0

    def _listener(self, event, *args, **kwargs):
        if event == self._EVENT:
            self.count += 1

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self._listener)
        return False


RUNNER_FAST = ["debug=smoke", "jax_cache=null", "progress=false", "logger=none"]


def compose_fast(primary: str, *overrides: str):
    """``primary`` (e.g. ``"labelmodel"``) composed with the smoke settings and ``overrides``, with
    Hydra's global state cleared before and after (tests run many compositions in one process)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose(primary, overrides=[*RUNNER_FAST, *overrides])
    finally:
        GlobalHydra.instance().clear()
