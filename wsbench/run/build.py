"""Config -> objects: the public toolbox every pipeline builds on (``run/job.py`` runs the job).

Everything here turns a composed Hydra config into checked wsbench objects, or rows into columns,
with errors that name the config file to fix. Nothing branches on an estimator's or dataset's name:
objects come from their config groups' ``_target_``.

Example (the opening of a pipeline; see ``run/job.py`` for the whole lifecycle)::

    check_seeds(cfg)
    check_groups(cfg, ("estimator", "dataset", "logger"))
    data = build_dataset(cfg)
    estimator = build_estimator(cfg)
"""

import dataclasses
import inspect
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig

from ..data import Dataset, class_frequencies
from ..labelmodels import AbstractLabelModel
from .keys import NOT_RESULT_KEYS
from .logging import Logger
from .seeding import named_key, root_key

DEV_LABELS = ("none", "class_balance", "select")
"""What a label model may learn from the valid split's gold labels: nothing, the class balance, or
the class balance plus the choice of hyperparameters by a valid metric (WRENCH's protocol)."""

# ----------------------------------------------------------------------------- config checks


def is_int(value: Any) -> bool:
    """A Python int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_seeds(cfg: DictConfig) -> None:
    """``seed`` and ``data_seed`` non-negative ints, ``seeds`` a positive int."""
    for key in ("seed", "data_seed"):
        if not is_int(cfg.get(key)) or cfg[key] < 0:
            raise ValueError(
                f"config key {key!r} must be a non-negative int, got {cfg.get(key)!r}."
            )
    if not is_int(cfg.get("seeds")) or cfg.seeds < 1:
        raise ValueError(f"config key 'seeds' must be a positive int, got {cfg.get('seeds')!r}.")


def check_groups(cfg: DictConfig, groups: Sequence[str]) -> None:
    """Each of ``groups`` selects an option with a ``_target_``."""
    for group in groups:
        node = cfg.get(group)
        if not isinstance(node, Mapping) or "_target_" not in node:
            raise ValueError(
                f"config group {group!r} must select an option with a _target_ "
                f"(e.g. {group}=<name> from conf/{group}/), got {node!r}."
            )


def check_data_options(cfg: DictConfig) -> None:
    """``subsample`` (null or a positive int) and ``dev_labels`` (one of ``DEV_LABELS``)."""
    if cfg.get("subsample") is not None and (not is_int(cfg.subsample) or cfg.subsample < 1):
        raise ValueError(
            f"config key 'subsample' must be null or a positive int (rows kept per split), "
            f"got {cfg.subsample!r}; a split cannot be empty."
        )
    if cfg.get("dev_labels") not in DEV_LABELS:
        raise ValueError(
            f"config key 'dev_labels' must be one of {DEV_LABELS}, got {cfg.get('dev_labels')!r}."
        )


def sizes(values: Any, key: str, *, cap: int | None = None) -> list[int]:
    """A config list of sizes (YAML may give ``1e6`` as a float) as sorted unique ints >= 2.

    Args:
        values: the config value; key: its name (for the error).
        cap: sizes above it are lowered to it (the data has only this many rows, or debug=smoke).
    """
    if values is None or isinstance(values, (str, int)) or len(values) == 0:
        raise ValueError(f"config key {key!r} must be a non-empty list of sizes, got {values!r}.")
    out = []
    for v in values:
        n = int(float(v))
        if n < 2 or n != float(v):
            raise ValueError(f"{key} values must be integers >= 2, got {v!r}.")
        out.append(n if cap is None else min(n, cap))
    return sorted(set(out))


# ----------------------------------------------------------------------------- names


def choice(group: str) -> str | None:
    """The option chosen for ``group`` in this Hydra run (None outside a Hydra app)."""
    if HydraConfig.initialized():
        return HydraConfig.get().runtime.choices.get(group)
    return None


def where(group: str) -> str:
    """``conf/<group>/<choice>.yaml`` for error messages (the group's name outside Hydra)."""
    chosen = choice(group)
    return f"conf/{group}/{chosen}.yaml" if chosen else f"config group {group!r}"


def component_name(cfg: DictConfig, group: str) -> str:
    """The chosen option's name, else the snake-cased ``_target_`` (``DawidSkene`` -> ``dawid_skene``)."""
    chosen = choice(group)
    if chosen:
        return chosen
    target = str(cfg[group].get("_target_", "?")).rsplit(".", 1)[-1]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", target).lower()


# ----------------------------------------------------------------------------- objects


def build(node: DictConfig, group: str, name: str | None = None, *, expect: type | None = None):
    """Instantiate a config group's node, checking its keys against the target's signature.

    Args:
        node: the group's config (with ``_target_``); group: its name, for errors.
        name: the option's name, for errors (default: the Hydra choice).
        expect: when given, the built object must be an instance of this type.

    Raises:
        ValueError: an unimportable ``_target_``, a key that is not an argument, a failing
            constructor, or an object of the wrong type; each names the YAML file to fix.
    """
    name = name or choice(group) or group
    target = node.get("_target_")
    try:
        obj = get_object(str(target))
    except Exception as e:  # ImportError, AttributeError, ... wrapped by Hydra
        raise ValueError(
            f"{group}._target_ {target!r} ({where(group)}) cannot be imported: {e}"
        ) from None
    if callable(obj):
        try:
            params = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            params = {}
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        given = [k for k in node if not str(k).startswith("_")]
        unknown = [k for k in given if params and not takes_any and k not in params]
        if unknown:
            valid = [p for p in params if p not in ("self", "key")]
            raise ValueError(
                f"{group} key(s) {unknown} ({where(group)}) are not arguments of "
                f"{target}; valid keys: {valid}."
            )
    try:
        built = instantiate(node, _convert_="all")
    except InstantiationException as e:
        cause = e.__cause__ or e
        raise ValueError(f"could not build {group} {name!r} ({where(group)}): {cause}") from cause
    if expect is not None and not isinstance(built, expect):
        raise ValueError(
            f"{group} {name!r} ({where(group)}) built a {type(built).__name__}, "
            f"not a {expect.__module__.split('._')[0]}.{expect.__qualname__}."
        )
    return built


def build_estimator(cfg: DictConfig) -> AbstractLabelModel:
    """``cfg.estimator`` as a label model (an ``AbstractLabelModel``)."""
    name = component_name(cfg, "estimator")
    return build(cfg.estimator, "estimator", name, expect=AbstractLabelModel)


def build_logger(cfg: DictConfig) -> Logger:
    """``cfg.logger`` as a ``wsbench.run.logging.Logger``."""
    return build(cfg.logger, "logger", component_name(cfg, "logger"), expect=Logger)


def build_dataset(cfg: DictConfig) -> Dataset:
    """``cfg.dataset`` drawn with ``data_seed``, subsampled (``subsample``), with the class balance
    the ``dev_labels`` setting reveals; its test split must have gold labels.
    """
    name = str(cfg.dataset.get("name", choice("dataset") or "dataset"))
    make = build(cfg.dataset, "dataset", name)
    data_root = root_key(cfg.data_seed)
    try:
        data = make(key=named_key(data_root, "data")) if callable(make) else make
    except TypeError as e:
        raise ValueError(f"could not build dataset {name!r} ({where('dataset')}): {e}") from e
    if not isinstance(data, Dataset):
        raise ValueError(
            f"dataset {name!r} ({where('dataset')}) must return a wsbench.data.Dataset, "
            f"got {type(data).__name__}."
        )
    if cfg.get("subsample") is not None:
        data = data.subsample(cfg.subsample, key=named_key(data_root, "subsample"))
    if not data.test.has_gold:
        raise ValueError(
            f"dataset {data.name!r}: the test split has no gold labels (y missing or all -1); "
            "label models are scored on test gold labels."
        )
    if cfg.dev_labels in ("class_balance", "select"):
        if not data.valid.has_gold:
            raise ValueError(
                f"dev_labels={cfg.dev_labels} needs gold labels in the valid split, but dataset "
                f"{data.name!r} has none; use dev_labels=none."
            )
        prior = class_frequencies(data.valid.y, data.n_classes)
        data = dataclasses.replace(data, train=data.train.with_class_balance(prior))
    return data


# ----------------------------------------------------------------------------- result columns


_ALREADY_COLUMNS = ("estimator", "dataset")
"""Group overrides that every row already names in a column of its own."""


def override_columns() -> dict[str, Any]:
    """``override.<key>`` columns for this job's command-line/sweep overrides (e.g. dataset.m).

    Keys that do not affect results (``keys.NOT_RESULT_KEYS``), ``hydra.*`` and the groups that are
    columns already (estimator, dataset) are left out. Empty outside a Hydra app.
    """
    if not HydraConfig.initialized():
        return {}
    out = {}
    for item in HydraConfig.get().overrides.task:
        key, _, value = str(item).lstrip("+~").partition("=")
        if key in NOT_RESULT_KEYS or key in _ALREADY_COLUMNS or key.startswith("hydra."):
            continue
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = value
        out[f"override.{key}"] = parsed if isinstance(parsed, (bool, int, float, str)) else value
    return out


def flatten_config(config: Mapping[str, Any], prefix: str = "cfg.") -> dict[str, Any]:
    """Config values as ``cfg.<dotted.key>`` columns: scalars as they are, lists as JSON text."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        if k == "logger":
            continue
        if isinstance(v, Mapping) and v:
            out.update(flatten_config(v, f"{prefix}{k}."))
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[f"{prefix}{k}"] = v
        else:
            out[f"{prefix}{k}"] = json.dumps(v)
    return out
