"""Pipeline 1: weak labels -> label model -> metrics, for every (grid point x seed) in one program.

``run(cfg)`` is what ``experiments/labelmodel.py`` calls; tests call it directly with an ``out_dir``.
It never branches on the estimator's or dataset's name: both are built from their config groups
(``run/build.py``); the job lifecycle is ``run/job.py``'s.
"""

import logging
import os
from collections.abc import Mapping
from typing import Any

import jax
import jax.random as jr
import numpy as np
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from ..labelmodels.grid import expand_grid, score_grid
from .build import (
    DEV_LABELS,
    build_dataset,
    build_estimator,
    check_data_options,
    check_groups,
    check_seeds,
    component_name,
)
from .job import Job
from .seeding import named_key, root_key

log = logging.getLogger(__name__)

LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece"})
__all__ = ["DEV_LABELS", "LOWER_IS_BETTER", "check_config", "run"]


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
    job = Job.open(cfg, out_dir, check=check_config)
    if job.done is not None:
        return job.done["summary"]
    est_name = component_name(cfg, "estimator")
    # disable=None: tqdm draws only on a terminal (no carriage-return noise in logs and CI)
    phases = tqdm(
        total=4,
        desc=f"{est_name}",
        disable=None if cfg.get("progress", True) else True,
        leave=False,
    )

    phases.set_postfix_str("data")
    data = build_dataset(cfg)
    estimator = build_estimator(cfg)
    phases.update()

    phases.set_postfix_str("fit+score")
    grid = OmegaConf.to_container(cfg.grid, resolve=True) if cfg.grid else {}
    stacked, points = expand_grid(estimator, grid)
    keys = jr.split(named_key(root_key(cfg.seed), "fit"), cfg.seeds)
    splits = {"test": data.test, **({"valid": data.valid} if data.valid.has_gold else {})}
    scores, traces = score_grid(stacked, data.train.weak, splits, keys, n_points=len(points))
    split_scores = {name: _to_numpy(s) for name, s in scores.items()}
    phases.update(2)

    phases.set_postfix_str("write")
    rows = []
    for h, point in enumerate(points):
        for s in range(int(cfg.seeds)):
            fields: dict[str, Any] = {
                "estimator": est_name,
                "dataset": data.name,
                "job": job.out_dir.name,
                "grid_point": h,
                "seed_index": s,
                "n_train": data.train.n,
                "m": data.train.weak.m,
                "n_classes": data.n_classes,
                **{f"hp.{k}": v for k, v in point.items()},
            }
            values = {
                f"{split}/{k}": float(v[h, s])
                for split, table in split_scores.items()
                for k, v in table.items()
            }
            rows.append(job.row(fields, values))
    summary = _summary(split_scores, cfg.objective)
    job.finish(rows, summary, job_type=est_name, traces=traces)
    phases.update()
    phases.close()
    log.info("%s on %s: %s = %.4f", est_name, data.name, cfg.objective, summary["objective"])
    return summary


def check_config(cfg: DictConfig) -> None:
    """The label-model pipeline's config checks (``ValueError`` naming the key to fix)."""
    check_seeds(cfg)
    check_data_options(cfg)
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
    check_groups(cfg, ("estimator", "dataset", "logger"))


# ----------------------------------------------------------------------------- outputs


def _to_numpy(scores: Mapping[str, jax.Array]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}


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
