"""Pipeline: parameter recovery rate — estimation error of the LF parameters vs the number of points.

For every ``n`` on ``cfg.n_grid``, each of ``cfg.seeds`` replicates samples its own synthetic weak labels
(``cfg.generator``, an option of the ``conf/generator/`` group: a ``sample_*`` function returning a
``Simulation`` with the true parameters) and fits ``cfg.estimator`` on them; the seeds run in one compiled program per ``n``
(vmapped, in chunks of ``seed_batch`` when the data would not fit in memory at once).

**The error metric** (one for every estimator, so curves are comparable): the mean absolute error of
the per-LF confusion tables ``P(lambda_j = o | Y = t, lambda_j votes)`` (``m x k x k`` entries) after
aligning the estimated latent classes to the true ones with the Hungarian algorithm
(``wsbench.metrics.confusion_error``). Every generative label model exposes ``confusions()``
(``AbstractGenerativeFitted``), and the propensities are observed (not estimated), so this is the
part of Snorkel's conditional table that the label model must learn. A consistent estimator's error
falls as ``n^{-1/2}``; ``loglog_slope`` fits the exponent.

Dependency-aware estimators (``AbstractDependencyAware``, e.g. MatrixCompletion) receive the
generator's dependency edges; the check is by protocol class, never by name.
"""

import logging
import os
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from omegaconf import DictConfig

from .. import metrics
from ..labelmodels import AbstractDependencyAware, AbstractGenerativeFitted, AbstractLabelModel
from ..synthetic import Simulation
from .build import build, build_estimator, check_groups, check_seeds, component_name, sizes
from .job import Job
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
    job = Job.open(cfg, out_dir, check=check_config)
    if job.done is not None:
        return job.done["summary"]
    n_grid = _n_grid(cfg)
    est_name = component_name(cfg, "estimator")
    generator = generator_name(cfg)
    estimator = build_estimator(cfg)
    sampler = build(cfg.generator, "generator", generator)
    data_keys = jr.split(named_key(root_key(cfg.data_seed), "data"), cfg.seeds)
    fit_keys = jr.split(named_key(root_key(cfg.seed), "fit"), cfg.seeds)

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
            fields = {
                "estimator": est_name,
                "generator": generator,
                "n": int(n),
                "seed_index": s,
                "seed_batch": batch,
            }
            rows.append(job.row(fields, {k: float(v[s]) for k, v in values.items()}))

    keep = np.asarray(n_grid) >= int(cfg.slope_min_n)
    slope, intercept = (
        loglog_slope(np.asarray(n_grid)[keep], errors[keep].mean(1))
        if keep.sum() >= 2
        else (float("nan"), float("nan"))
    )
    summary = {"slope": slope, "intercept": intercept, "objective": slope}
    summary.update({f"error@{n}": float(errors[i].mean()) for i, n in enumerate(n_grid)})
    job.finish(rows, summary, job_type=est_name)
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
                "has no confusions()); the recovery experiment needs a generative label model: "
                "leave it out of the sweep, e.g. estimator='glob(*,exclude=[majority_vote,<name>])'."
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
    """Give the generator's dependency edges to dependency-aware estimators (others unchanged)."""
    if isinstance(estimator, AbstractDependencyAware):
        return estimator.with_edges(edges)
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


def check_config(cfg: DictConfig) -> None:
    """The recovery pipeline's config checks (``ValueError`` naming the key to fix)."""
    check_seeds(cfg)
    _n_grid(cfg)
    check_groups(cfg, ("estimator", "generator", "logger"))


def generator_name(cfg: DictConfig) -> str:
    """The ``conf/generator/`` option's name (the ``result`` column ``generator``).

    Outside a Hydra app (the compose API) there is no choice to read; the name is then the
    sampler's, without its ``sample_`` prefix (``sample_dependent`` -> ``dependent``).
    """
    name = component_name(cfg, "generator")
    return name.removeprefix("sample_")


def _n_grid(cfg: DictConfig) -> list[int]:
    """``n_grid`` as sorted ints; debug=smoke (``subsample``) caps the largest n."""
    cap = None if cfg.get("subsample") is None else int(cfg.subsample)
    return sizes(cfg.get("n_grid"), "n_grid", cap=cap)
