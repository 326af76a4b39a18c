"""Pipeline: parameter recovery rate — estimation error of the LF parameters vs the number of points.

For every ``n`` on ``cfg.n_grid``, each of ``cfg.seeds`` replicates samples its own synthetic weak labels
(``cfg.generators[cfg.generator]``, a ``sample_*`` function returning a ``Simulation`` with the true
parameters) and fits ``cfg.estimator`` on them; the seeds run in one compiled program per ``n``
(vmapped, in chunks of ``seed_batch`` when the data would not fit in memory at once).

**The error metric** (one for every estimator, so curves are comparable): the mean absolute error of
the per-LF confusion tables ``P(lambda_j = o | Y = t, lambda_j votes)`` (``m x k x k`` entries) after
aligning the estimated latent classes to the true ones with the Hungarian algorithm
(``wsbench.metrics.confusion_error``). Every generative label model exposes ``confusions()``
(``AbstractGenerativeFitted``), and the propensities are observed (not estimated), so this is the
part of Snorkel's conditional table that the label model must learn. A consistent estimator's error
falls as ``n^{-1/2}``; ``loglog_slope`` fits the exponent.

Estimators with an ``edges`` field (dependency-aware models such as MatrixCompletion) receive the
generator's dependency edges; the check is structural (``dataclasses.fields``), never by name.
"""

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from omegaconf import DictConfig, OmegaConf

from .. import metrics
from ..labelmodels import AbstractGenerativeFitted, AbstractLabelModel
from ..synthetic import Simulation
from . import results
from .labelmodel import (
    _build,
    _build_estimator,
    _build_logger,
    _choice,
    _enable_compile_cache,
    _flatten,
    _hydra_output_dir,
    _is_int,
    _snake,
    _swept,
    _target_name,
)
from .seeding import named_key, root_key

log = logging.getLogger(__name__)

METRICS = ("param/confusion_error", "param/prior_error", "train/accuracy")
"""Per (n, seed) values written for every job; ``param/confusion_error`` is the recovery metric."""


def run(cfg: DictConfig, *, out_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """Fit ``cfg.estimator`` on fresh samples at every ``n`` of ``cfg.n_grid``, ``cfg.seeds`` seeds each.

    Args:
        cfg: the composed ``conf/recovery.yaml``.
        out_dir: the job folder; default: Hydra's output dir for this job.

    Returns:
        ``slope`` and ``intercept`` of the log-log fit of the mean error against ``n`` (over
        ``n >= cfg.slope_min_n``), ``error@<n>`` (mean over seeds) for every ``n``, and
        ``objective`` (= ``slope``). A job already complete in ``out_dir`` is skipped.

    Raises:
        ValueError: on a malformed config or an estimator whose fitted model has no ``confusions()``.
    """
    out_dir = Path(out_dir) if out_dir is not None else _hydra_output_dir()
    config = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    n_grid = _check_config(cfg)
    done = results.is_complete(out_dir, config)
    if done is not None:
        log.info("skipping completed job %s", out_dir)
        return done["summary"]
    _enable_compile_cache(cfg.get("jax_cache"))

    est_name = _choice("estimator") or _snake(_target_name(cfg.estimator))
    generator = str(cfg.generator)
    estimator = _build_estimator(cfg.estimator, est_name)
    sampler = _build(cfg.generators[generator], "generators", generator)
    data_keys = jr.split(named_key(root_key(cfg.data_seed), "data"), cfg.seeds)
    fit_keys = jr.split(named_key(root_key(cfg.seed), "fit"), cfg.seeds)

    flat, swept = _flatten(config), _swept()
    rows: list[dict[str, Any]] = []
    errors = np.zeros((len(n_grid), cfg.seeds))
    for i, n in enumerate(n_grid):
        batch = seed_batch_size(
            n, int(cfg.seeds), _n_lfs(sampler, data_keys[0]), cfg.get("max_batch_elements")
        )
        values = recovery_at(estimator, sampler, n, data_keys, fit_keys, batch_size=batch)
        values = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
        errors[i] = values["param/confusion_error"]
        log.info(
            "%s / %s  n=%d  error=%.4g (seed batch %s)",
            est_name,
            generator,
            n,
            errors[i].mean(),
            batch,
        )
        for s in range(int(cfg.seeds)):
            row = {
                "estimator": est_name,
                "generator": generator,
                "n": int(n),
                "seed_index": s,
                "seed_batch": batch,
            }
            row.update(swept)
            row.update({k: float(v[s]) for k, v in values.items()})
            row.update(flat)
            rows.append(row)

    keep = np.asarray(n_grid) >= int(cfg.slope_min_n)
    slope, intercept = (
        loglog_slope(np.asarray(n_grid)[keep], errors[keep].mean(1))
        if keep.sum() >= 2
        else (float("nan"), float("nan"))
    )
    summary = {"slope": slope, "intercept": intercept, "objective": slope}
    summary.update({f"error@{n}": float(errors[i].mean()) for i, n in enumerate(n_grid)})
    results.write(rows, out_dir, config, summary=summary)
    logger = _build_logger(cfg)
    logger.start(out_dir=out_dir, config=config, group=str(cfg.name), job_type=est_name)
    logger.log_rows(rows)
    logger.log_summary(summary)
    logger.finish()
    log.info("%s / %s: log-log slope %.3f (reference -0.5)", est_name, generator, slope)
    return summary


def recovery_at(
    estimator: AbstractLabelModel,
    sampler: Callable[..., Simulation],
    n: int,
    data_keys,
    fit_keys,
    *,
    batch_size: int | None = None,
) -> dict[str, jax.Array]:
    """Sample and fit one replicate per key pair at size ``n``; every metric as an ``(s,)`` array.

    Seeds are vmapped; with ``batch_size`` they run through ``lax.map`` in vmapped chunks of that
    size (same numbers, bounded memory). One compilation per ``(n, batch_size)``.
    """
    return _recovery_at(
        estimator, data_keys, fit_keys, sampler=sampler, n=int(n), batch_size=batch_size
    )


@eqx.filter_jit
def _recovery_at(estimator, data_keys, fit_keys, *, sampler, n, batch_size):
    def one(keys):
        k_data, k_fit = keys
        sim = sampler(k_data, n=n)
        est = with_edges(estimator, sim.edges)
        fitted = est.fit(sim.weak, key=k_fit)
        if not isinstance(fitted, AbstractGenerativeFitted):
            raise ValueError(
                f"{type(estimator).__name__} does not estimate LF parameters (its fitted model "
                "has no confusions()); the recovery experiment needs a generative label model."
            )
        est_conf = fitted.confusions()
        perm = metrics.align_classes(est_conf, sim.confusions)
        prior = fitted.class_prior()[perm]
        probs = fitted.predict_proba(sim.weak.L)[:, perm]
        return {
            "param/confusion_error": jnp.abs(est_conf[:, perm] - sim.confusions).mean(),
            "param/prior_error": jnp.abs(prior - sim.class_balance).mean(),
            "train/accuracy": metrics.accuracy(probs, sim.y),
        }

    return jax.lax.map(one, (data_keys, fit_keys), batch_size=batch_size)


def with_edges(estimator: AbstractLabelModel, edges) -> AbstractLabelModel:
    """Give the generator's dependency edges to estimators that have an ``edges`` field."""
    if "edges" in {f.name for f in dataclasses.fields(estimator)}:
        return dataclasses.replace(estimator, edges=tuple(tuple(int(v) for v in e) for e in edges))
    return estimator


def seed_batch_size(n: int, seeds: int, m: int, max_elements: float | None) -> int | None:
    """Seeds per vmapped chunk so that ``chunk * n * m <= max_elements`` (None: all seeds at once).

    The label matrix of one replicate has ``n * m`` entries and the fits' temporaries scale with it,
    so bounding the vmapped ``n * m * chunk`` bounds memory (1e6 x 10 LFs x 10 seeds = 1e8 entries,
    several GB of temporaries, is chunked into a few seeds at a time on CPU).
    """
    if max_elements is None or n * m * seeds <= max_elements:
        return None
    return max(1, min(seeds, int(max_elements // (n * m))))


def _n_lfs(sampler, key) -> int:
    return int(jax.eval_shape(lambda k: sampler(k, n=2), key).weak.L.shape[1])


def loglog_slope(n, error) -> tuple[float, float]:
    """Least-squares fit of ``log error = intercept + slope * log n``; returns ``(slope, intercept)``.

    Raises:
        ValueError: with fewer than two points, or non-positive values.
    """
    n, error = np.asarray(n, dtype=np.float64), np.asarray(error, dtype=np.float64)
    if n.shape != error.shape or n.ndim != 1 or n.size < 2:
        raise ValueError(
            f"loglog_slope needs two 1-D arrays of >= 2 points, got {n.shape}, {error.shape}."
        )
    if np.any(n <= 0) or np.any(error <= 0) or not np.all(np.isfinite(error)):
        raise ValueError("loglog_slope needs positive, finite n and errors.")
    slope, intercept = np.polyfit(np.log(n), np.log(error), 1)
    return float(slope), float(intercept)


def _check_config(cfg: DictConfig) -> list[int]:
    for key in ("seed", "data_seed"):
        if not _is_int(cfg.get(key)) or cfg[key] < 0:
            raise ValueError(
                f"config key {key!r} must be a non-negative int, got {cfg.get(key)!r}."
            )
    if not _is_int(cfg.get("seeds")) or cfg.seeds < 1:
        raise ValueError(f"config key 'seeds' must be a positive int, got {cfg.get('seeds')!r}.")
    grid = cfg.get("n_grid")
    if grid is None or isinstance(grid, (str, int)) or len(grid) == 0:
        raise ValueError(f"config key 'n_grid' must be a non-empty list of sizes, got {grid!r}.")
    n_grid = []
    for v in grid:
        n = int(float(v))  # YAML may give 1e6 as a float
        if n < 2 or n != float(v):
            raise ValueError(f"n_grid values must be integers >= 2, got {v!r}.")
        n_grid.append(n)
    if cfg.get("subsample") is not None:  # debug=smoke: cap the largest n
        cap = int(cfg.subsample)
        n_grid = sorted({min(n, cap) for n in n_grid})
    gens = cfg.get("generators")
    if not isinstance(gens, Mapping) or str(cfg.get("generator")) not in gens:
        raise ValueError(
            f"config key 'generator' must name one of generators {sorted(gens or {})}, "
            f"got {cfg.get('generator')!r}."
        )
    for group in ("estimator", "logger"):
        node = cfg.get(group)
        if not isinstance(node, Mapping) or "_target_" not in node:
            raise ValueError(
                f"config group {group!r} must select an option with a _target_, got {node!r}."
            )
    return sorted(set(n_grid))
