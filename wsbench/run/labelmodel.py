"""Pipeline 1: weak labels -> label model -> metrics, for every (grid point x seed) in one program.

``run(cfg)`` is what ``experiments/labelmodel.py`` calls; tests call it directly with an ``out_dir``.
It never branches on the estimator's or dataset's name: both are built from their config groups.
"""

import dataclasses
import inspect
import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from ..data import Dataset, Split, WeakLabels
from ..labelmodels import AbstractLabelModel
from . import results
from .grid import expand_grid, score_grid_splits
from .logging import Logger
from .seeding import named_key, root_key

log = logging.getLogger(__name__)

LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece"})
DEV_LABELS = ("none", "class_balance")


def run(cfg: DictConfig, *, out_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """Fit and score ``cfg.estimator`` on ``cfg.dataset`` for ``cfg.seeds`` seeds x ``cfg.grid``.

    Args:
        cfg: the composed ``conf/labelmodel.yaml``.
        out_dir: the job folder; default: Hydra's output dir for this job.

    Returns:
        Aggregates ``<split>/<metric>`` (mean over seeds at the selected grid point) and their
        ``_sem``, plus ``"objective"`` (the value of ``cfg.objective``). A job whose complete results
        are already in ``out_dir`` for the same config is skipped and its stored aggregates returned.

    Raises:
        ValueError: on a malformed config (unknown estimator argument, bad grid key, unknown
            ``dev_labels``, ``objective`` not among the metrics, ...) or unusable data.
    """
    out_dir = Path(out_dir) if out_dir is not None else _hydra_output_dir()
    config = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    _check_top_level(cfg)
    done = results.is_complete(out_dir, config)
    if done is not None:
        log.info("skipping completed job %s (results.json matches this config)", out_dir)
        return done["summary"]

    _enable_compile_cache(cfg.get("jax_cache"))
    est_name = _choice("estimator") or _snake(_target_name(cfg.estimator))
    # disable=None: tqdm draws only on a terminal (no carriage-return noise in logs and CI)
    phases = tqdm(
        total=4,
        desc=f"{est_name}",
        disable=None if cfg.get("progress", True) else True,
        leave=False,
    )

    phases.set_postfix_str("data")
    logger = _build_logger(cfg)  # before any work: a bad logger config must not cost a fit
    data = _build_dataset(cfg)
    estimator = _build_estimator(cfg.estimator, est_name)
    phases.update()

    phases.set_postfix_str("fit+score")
    grid = OmegaConf.to_container(cfg.grid, resolve=True) if cfg.grid else {}
    stacked, points = expand_grid(estimator, grid)
    keys = jr.split(named_key(root_key(cfg.seed), "fit"), cfg.seeds)
    splits = {"test": data.test, **({"valid": data.valid} if _has_gold(data.valid) else {})}
    scores, traces = score_grid_splits(stacked, data.train.weak, splits, keys, n_points=len(points))
    split_scores = {name: _to_numpy(s) for name, s in scores.items()}
    phases.update(2)

    phases.set_postfix_str("write")
    rows = _rows(split_scores, points, cfg, config, est_name, data, out_dir)
    summary = _summary(split_scores, cfg.objective)
    trace_arrays = {k: np.asarray(v) for k, v in traces.items()}
    results.write(rows, out_dir, config, summary=summary, traces=trace_arrays)
    logger.start(out_dir=out_dir, config=config, group=str(cfg.name), job_type=est_name)
    logger.log_rows(rows)
    logger.log_traces(trace_arrays)
    logger.log_summary(summary)
    logger.finish()
    phases.update()
    phases.close()
    log.info("%s on %s: %s = %.4f", est_name, data.name, cfg.objective, summary["objective"])
    return summary


# ----------------------------------------------------------------------------- config checks


def _check_top_level(cfg: DictConfig) -> None:
    for key in ("seed", "data_seed"):
        if not _is_int(cfg.get(key)) or cfg[key] < 0:
            raise ValueError(
                f"config key {key!r} must be a non-negative int, got {cfg.get(key)!r}."
            )
    if not _is_int(cfg.get("seeds")) or cfg.seeds < 1:
        raise ValueError(f"config key 'seeds' must be a positive int, got {cfg.get('seeds')!r}.")
    if cfg.get("subsample") is not None and (not _is_int(cfg.subsample) or cfg.subsample < 1):
        raise ValueError(
            f"config key 'subsample' must be null or a positive int (rows kept per split), "
            f"got {cfg.subsample!r}; a split cannot be empty."
        )
    if cfg.get("dev_labels") not in DEV_LABELS:
        raise ValueError(
            f"config key 'dev_labels' must be one of {DEV_LABELS}, got {cfg.get('dev_labels')!r}."
        )
    if cfg.get("grid") is not None and not isinstance(cfg.grid, Mapping):
        raise ValueError(
            f"config key 'grid' must be a mapping {{name: [values]}}, got {cfg.grid!r}."
        )
    objective = str(cfg.get("objective", ""))
    split, _, metric = objective.partition("/")
    if split not in ("test", "valid") or not metric:
        raise ValueError(
            f"config key 'objective' must look like 'test/<metric>' or 'valid/<metric>', "
            f"got {objective!r}."
        )
    for group in ("estimator", "dataset", "logger"):
        node = cfg.get(group)
        if not isinstance(node, Mapping) or "_target_" not in node:
            raise ValueError(
                f"config group {group!r} must select an option with a _target_ "
                f"(e.g. {group}=<name> from conf/{group}/), got {node!r}."
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _target_name(node: Mapping) -> str:
    return str(node.get("_target_", "?")).rsplit(".", 1)[-1]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _choice(group: str) -> str | None:
    if HydraConfig.initialized():
        return HydraConfig.get().runtime.choices.get(group)
    return None


def _where(group: str) -> str:
    choice = _choice(group)
    return f"conf/{group}/{choice}.yaml" if choice else f"config group {group!r}"


def _build(node: DictConfig, group: str, name: str):
    target = node.get("_target_")
    try:
        obj = get_object(str(target))
    except Exception as e:  # ImportError, AttributeError, ... wrapped by Hydra
        raise ValueError(
            f"{group}._target_ {target!r} ({_where(group)}) cannot be imported: {e}"
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
                f"{group} key(s) {unknown} ({_where(group)}) are not arguments of "
                f"{target}; valid keys: {valid}."
            )
    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as e:
        cause = e.__cause__ or e
        raise ValueError(f"could not build {group} {name!r} ({_where(group)}): {cause}") from cause


def _build_estimator(node: DictConfig, name: str) -> AbstractLabelModel:
    est = _build(node, "estimator", name)
    if not isinstance(est, AbstractLabelModel):
        raise ValueError(
            f"estimator {name!r} ({_where('estimator')}) built a {type(est).__name__}, "
            "not a wsbench.labelmodels.AbstractLabelModel."
        )
    return est


def _build_logger(cfg: DictConfig) -> Logger:
    logger = _build(cfg.logger, "logger", _choice("logger") or _target_name(cfg.logger))
    if not isinstance(logger, Logger):
        raise ValueError(
            f"logger ({_where('logger')}) does not implement wsbench.run.logging.Logger."
        )
    return logger


# ----------------------------------------------------------------------------- data


def _build_dataset(cfg: DictConfig) -> Dataset:
    name = str(cfg.dataset.get("name", _choice("dataset") or "dataset"))
    make = _build(cfg.dataset, "dataset", name)
    data_root = root_key(cfg.data_seed)
    try:
        data = make(key=named_key(data_root, "data")) if callable(make) else make
    except TypeError as e:
        raise ValueError(f"could not build dataset {name!r} ({_where('dataset')}): {e}") from e
    if not isinstance(data, Dataset):
        raise ValueError(
            f"dataset {name!r} ({_where('dataset')}) must return a wsbench.data.Dataset, "
            f"got {type(data).__name__}."
        )
    if cfg.get("subsample") is not None:
        sub = named_key(data_root, "subsample")
        data = Dataset(
            train=_subsample(data.train, cfg.subsample, jr.fold_in(sub, 0)),
            valid=_subsample(data.valid, cfg.subsample, jr.fold_in(sub, 1)),
            test=_subsample(data.test, cfg.subsample, jr.fold_in(sub, 2)),
            name=data.name,
        )
    if not _has_gold(data.test):
        raise ValueError(
            f"dataset {data.name!r}: the test split has no gold labels (y missing or all -1); "
            "label models are scored on test gold labels."
        )
    if cfg.dev_labels == "class_balance":
        if not _has_gold(data.valid):
            raise ValueError(
                f"dev_labels=class_balance needs gold labels in the valid split, but dataset "
                f"{data.name!r} has none; use dev_labels=none."
            )
        data = dataclasses.replace(data, train=_with_class_balance(data.train, data.valid))
    return data


def _has_gold(split: Split) -> bool:
    return split.y is not None and bool((split.y >= 0).any())


def _subsample(split: Split, n: int, key) -> Split:
    if split.n <= n:
        return split
    idx = jnp.sort(jr.permutation(key, split.n)[:n])
    weak = WeakLabels(
        L=split.weak.L[idx], n_classes=split.weak.n_classes, class_balance=split.weak.class_balance
    )
    return Split(
        weak=weak,
        y=None if split.y is None else split.y[idx],
        x=None if split.x is None else split.x[idx],
    )


def _with_class_balance(train: Split, valid: Split) -> Split:
    """Train split whose WeakLabels carry the valid split's class frequencies (add-one smoothed)."""
    k = train.weak.n_classes
    y = np.asarray(valid.y)
    counts = np.bincount(y[y >= 0], minlength=k).astype(np.float64) + 1.0
    weak = WeakLabels(L=train.weak.L, n_classes=k, class_balance=counts / counts.sum())
    return Split(weak=weak, y=train.y, x=train.x)


# ----------------------------------------------------------------------------- outputs


def _to_numpy(scores: Mapping[str, jax.Array]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}


def _rows(split_scores, points, cfg, config, est_name, data, out_dir) -> list[dict[str, Any]]:
    flat = _flatten(config)
    rows = []
    for h, point in enumerate(points):
        for s in range(int(cfg.seeds)):
            row: dict[str, Any] = {
                "estimator": est_name,
                "dataset": data.name,
                "job": Path(out_dir).name,
                "grid_point": h,
                "seed_index": s,
                "n_train": data.train.n,
                "m": data.train.weak.m,
                "n_classes": data.n_classes,
            }
            row.update({f"hp.{k}": v for k, v in point.items()})
            row.update(_swept())
            for split, scores in split_scores.items():
                row.update({f"{split}/{k}": float(v[h, s]) for k, v in scores.items()})
            row.update(flat)
            rows.append(row)
    return rows


_NOT_SWEPT = ("estimator", "dataset", "experiment", "launcher", "logger", "progress", "jax_cache")


def _swept() -> dict[str, Any]:
    """``override.<key>`` columns for this job's command-line/sweep overrides (e.g. dataset.m)."""
    if not HydraConfig.initialized():
        return {}
    out = {}
    for item in HydraConfig.get().overrides.task:
        key, _, value = str(item).lstrip("+~").partition("=")
        if key in _NOT_SWEPT or key.startswith("hydra."):
            continue
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = value
        out[f"override.{key}"] = parsed if isinstance(parsed, (bool, int, float, str)) else value
    return out


def _flatten(config: Mapping[str, Any], prefix: str = "cfg.") -> dict[str, Any]:
    """Config values as ``cfg.<dotted.key>`` columns: scalars as they are, lists as JSON text."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        if k == "logger":
            continue
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        elif v is None or isinstance(v, (bool, int, float, str)):
            out[f"{prefix}{k}"] = v
        else:
            out[f"{prefix}{k}"] = json.dumps(v)
    return out


def _summary(
    split_scores: Mapping[str, Mapping[str, np.ndarray]], objective: str
) -> dict[str, float]:
    """Mean and sem over seeds at one grid point, chosen on valid (test if no valid labels)."""
    split, _, metric = objective.partition("/")
    if split not in split_scores or metric not in split_scores[split]:
        available = [f"{s}/{m}" for s, sc in split_scores.items() for m in sc]
        raise ValueError(f"objective {objective!r} is not among the metrics {available}.")
    select_split = "valid" if "valid" in split_scores else "test"
    by_point = np.nanmean(split_scores[select_split][metric], axis=1)
    if np.all(np.isnan(by_point)):
        raise ValueError(f"metric {metric!r} is NaN at every grid point; check the gold labels.")
    best = int(np.nanargmin(by_point) if metric in LOWER_IS_BETTER else np.nanargmax(by_point))
    summary: dict[str, float] = {"grid_point": float(best)}
    for sp, scores in split_scores.items():
        for name, values in scores.items():
            v = values[best]
            summary[f"{sp}/{name}"] = float(np.mean(v))
            summary[f"{sp}/{name}_sem"] = (
                float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0
            )
    summary["objective"] = summary[objective]
    return summary


def _hydra_output_dir() -> Path:
    if not HydraConfig.initialized():
        raise ValueError("run(cfg) outside a Hydra app needs an explicit out_dir=...")
    return Path(HydraConfig.get().runtime.output_dir)


def _enable_compile_cache(path: str | None) -> None:
    if path:
        jax.config.update("jax_compilation_cache_dir", str(Path(path).absolute()))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
