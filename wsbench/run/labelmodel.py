"""Pipeline 1: weak labels -> label model -> metrics, for every (grid point x seed) in one program.

``run(cfg)`` is what ``experiments/labelmodel.py`` calls; tests call it directly with an ``out_dir``.
It never branches on the estimator's or dataset's name: both are built from their config groups
(``run/build.py``); the job lifecycle is ``run/job.py``'s.
"""

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from .. import metrics
from ..labelmodels.grid import TIE_RULE_TAKERS, expand_grid, fit_grid, fit_ignores_key
from .build import (
    DEV_LABELS,
    build_dataset,
    build_estimator,
    check_data_options,
    check_groups,
    check_seeds,
    component_name,
    is_int,
)
from .job import Job
from .seeding import named_key, root_key

log = logging.getLogger(__name__)

LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece"})
__all__ = ["DEV_LABELS", "LOWER_IS_BETTER", "TIE_RULES", "check_config", "run"]


def run(cfg: DictConfig, *, out_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """Fit and score ``cfg.estimator`` on ``cfg.dataset`` for ``cfg.seeds`` seeds x the grid.

    The grid is ``cfg.grid``; with ``dev_labels=select`` it is ``cfg.select_grid`` (the estimator's
    default, ``conf/select_grid/<estimator>.yaml``) updated by ``cfg.grid``. One grid point is
    selected by ``select_metric`` (default: the dataset's metric, ``dataset_metric`` from
    ``conf/dataset_scoring/<dataset>.yaml`` (F1 on sms), else the objective's metric; on valid, on
    test only when the dataset has no valid labels and ``dev_labels`` is not ``select``), averaged
    over seeds. Every
    row names the rule, the chosen point (``select.*``) and whether it is that point
    (``selected``); every row has the fit's diagnostics (``diag/*``); the selected point's rows
    have a bootstrap interval over test rows for every test metric (``test/<metric>_lo``,
    ``_hi``; NaN on the other grid points' rows, which no table reports).

    Args:
        cfg: the composed ``conf/labelmodel.yaml``.
        out_dir: the job folder; default: Hydra's output dir for this job.

    Returns:
        Aggregates at the selected grid point: ``<split>/<metric>`` (mean over seeds), ``_sem``,
        ``test/<metric>_lo`` / ``_hi`` (bootstrap interval of the seed mean), ``select/*``,
        ``seeds_identical`` (1.0 when every seed gave the same predictions: a deterministic
        estimator, its sem is not an error bar), ``seeds_fitted`` (1 when the estimator's fit
        provably ignores its key, ``grid.fit_ignores_key``: one seed is fitted and scored and
        the other seeds' rows are copies of it; else ``seeds``) and ``"objective"``. A job whose
        complete results are already in ``out_dir`` for the same config is skipped and its
        stored aggregates returned.

    Raises:
        ValueError: on a malformed config (unknown estimator argument, bad grid key, unknown
            ``dev_labels``, ``objective`` not among the metrics, ...) or unusable data.
    """
    job = Job.open(cfg, out_dir, check=check_config)
    if job.done is not None:
        return job.done["summary"]
    est_name = component_name(cfg, "estimator")
    scoring = _scoring(cfg)
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
    grid = grid_of(cfg)
    stacked, points = expand_grid(estimator, grid)
    within_se = _within_se(cfg) if len(points) > 1 else 0.0
    keys = jr.split(named_key(root_key(cfg.seed), "fit"), cfg.seeds)
    n_seeds = int(cfg.seeds)
    # a fit that provably ignores its key gives every seed the same numbers: fit and score one,
    # copy it to the other seeds' rows (column seeds_fitted says so), spend nothing on the rest
    key_free = n_seeds > 1 and fit_ignores_key(estimator, data.train.weak)
    if key_free:
        keys = keys[:1]
        log.info(
            "%s ignores the fitting key: fitting 1 seed instead of %d (the other %d rows are "
            "copies, seeds_fitted=1); the error bars are the bootstrap over test rows.",
            est_name, n_seeds, n_seeds - 1,
        )  # fmt: skip
    splits = {"test": data.test, **({"valid": data.valid} if data.valid.has_gold else {})}
    out = fit_grid(
        stacked,
        data.train.weak,
        splits,
        keys,
        n_points=len(points),
        tie_rule=TIE_RULES[scoring["tie_rule"]],
        # valid's probabilities for the paired bootstrap of the selection (select_within_noise)
        keep_probs=("test", "valid") if "valid" in splits and within_se > 0 else ("test",),
    )
    if key_free:
        out = jax.tree.map(lambda a: np.repeat(np.asarray(a), n_seeds, axis=1), out)
    seeds_fitted = 1 if key_free else n_seeds
    split_scores = {name: _to_numpy(s) for name, s in out["scores"].items()}
    diags = _to_numpy(out["diagnostics"])
    test_probs = np.asarray(out["probs"]["test"])
    _check_objective(split_scores, cfg.objective)
    rule, select_split, metric = selection_rule(cfg, split_scores)
    argmax = select_point(split_scores[select_split][metric], metric)
    best = argmax
    if within_se > 0 and select_split == "valid":
        samples = bootstrap_metrics(
            np.asarray(out["probs"]["valid"])[:, :seeds_fitted],
            np.asarray(data.valid.y),
            tie_rule=TIE_RULES[scoring["tie_rule"]],
            n_boot=scoring["n_boot"],
            key=named_key(root_key(cfg.seed), "select"),
            names=(metric,),
        )[metric]
        best = select_within_noise(
            split_scores[select_split][metric][:, :seeds_fitted],
            samples,
            metric,
            distance=config_distance(estimator, points),
            within_se=within_se,
        )
        rule += (
            f"; of the points within {within_se:g} paired-bootstrap SE of that best, the one "
            "nearest the estimator's configuration"
        )
    # intervals at the reported (selected) grid point only: a select grid has tens of points and
    # the bootstrap of every one of them cost 90% of a job; the other points' rows have NaN bounds
    boot = bootstrap_metrics(
        test_probs[best : best + 1, :seeds_fitted],
        np.asarray(data.test.y),
        tie_rule=TIE_RULES[scoring["tie_rule"]],
        n_boot=scoring["n_boot"],
        key=named_key(root_key(cfg.seed), "bootstrap"),
    )
    if key_free:
        boot = {k: np.repeat(v, n_seeds, axis=1) for k, v in boot.items()}
    identical = bool(
        cfg.seeds > 1
        and all(np.array_equal(p[0], p[s]) for p in test_probs for s in range(1, cfg.seeds))
    )
    if identical and not key_free:
        log.info(
            "%s on %s: all %d seeds gave identical predictions (a deterministic estimator); the "
            "seed axis adds no information, the error bars are the bootstrap over test rows; "
            "use seeds=1.",
            est_name, data.name, cfg.seeds,
        )  # fmt: skip
    phases.update(2)

    phases.set_postfix_str("write")
    gold = data.train.y if data.train.has_gold else data.test.y
    gold_classes = int(np.unique(np.asarray(gold)[np.asarray(gold) >= 0]).size)
    warn_degenerate(est_name, data.name, {k: v[best] for k, v in diags.items()}, gold_classes)
    level = scoring["level"]
    chosen = {f"select.hp.{k}": v for k, v in points[best].items()}
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
                "selected": h == best,
                "select.rule": rule,
                "select.point": best,
                "select.argmax_point": argmax,
                **chosen,
                "scoring.tie_rule": scoring["tie_rule"],
                "scoring.ci": f"{100 * level:g}% bootstrap over test rows, {scoring['n_boot']} resamples",
                "seeds_identical": identical,
                "seeds_fitted": seeds_fitted,
            }
            values = {
                f"{split}/{k}": float(v[h, s])
                for split, table in split_scores.items()
                for k, v in table.items()
            }
            for k, samples in boot.items():
                lo, hi = _interval(samples[0, s], level) if h == best else (np.nan, np.nan)
                values[f"test/{k}_lo"], values[f"test/{k}_hi"] = lo, hi
            values.update(_diag_columns({k: v[h, s] for k, v in diags.items()}))
            rows.append(job.row(fields, values))
    summary = _summary(split_scores, cfg.objective, best)
    for k, samples in boot.items():
        # resample b is the same test rows for every seed: the interval of the seed mean
        lo, hi = _interval(np.nanmean(samples[0], axis=0), level)
        summary[f"test/{k}_lo"], summary[f"test/{k}_hi"] = lo, hi
    summary.update({f"select/hp.{k}": float(v) for k, v in points[best].items()})
    summary["seeds_identical"] = float(identical)
    summary["seeds_fitted"] = float(seeds_fitted)
    job.finish(rows, summary, job_type=est_name, traces=out["traces"])
    phases.update()
    phases.close()
    log.info(
        "%s on %s: %s = %.4f (%s)", est_name, data.name, cfg.objective, summary["objective"], rule
    )
    return summary


def check_config(cfg: DictConfig) -> None:
    """The label-model pipeline's config checks (``ValueError`` naming the key to fix)."""
    check_seeds(cfg)
    check_data_options(cfg)
    for key in ("grid", "select_grid"):
        if cfg.get(key) is not None and not isinstance(cfg[key], Mapping):
            raise ValueError(
                f"config key {key!r} must be a mapping {{name: [values]}}, got {cfg[key]!r}."
            )
    objective = str(cfg.get("objective", ""))
    split, _, metric = objective.partition("/")
    if split not in ("test", "valid") or not metric:
        raise ValueError(
            f"config key 'objective' must look like 'test/<metric>' or 'valid/<metric>', "
            f"got {objective!r}."
        )
    select = cfg.get("select_metric")
    if select is not None:
        sp, _, mt = str(select).partition("/")
        if sp != "valid" or not mt:
            raise ValueError(
                f"config key 'select_metric' must be null (the objective's metric on valid) or "
                f"'valid/<metric>' (selecting on test is not a benchmark protocol), got {select!r}."
            )
    dataset_metric = cfg.get("dataset_metric")
    if dataset_metric is not None and dataset_metric not in metrics.METRICS:
        raise ValueError(
            f"config key 'dataset_metric' (conf/dataset_scoring/<dataset>.yaml) must be null or "
            f"one of {sorted(metrics.METRICS)}, got {dataset_metric!r}."
        )
    _scoring(cfg)
    _within_se(cfg)
    check_groups(cfg, ("estimator", "dataset", "logger"))


# ----------------------------------------------------------------------------- selection

TIE_RULES = {"expected": "split", "wrench": "wrench"}
"""``scoring.tie_rule`` -> ``wsbench.metrics``' ``tie_rule=``: ``expected`` scores an exact tie as
its expectation under uniform random tie-breaking; ``wrench`` breaks it with WRENCH's (snorkel's)
row-hash rule, which reproduces WRENCH's published cells on WRENCH's row order."""


def _scoring(cfg: DictConfig) -> dict[str, Any]:
    node = cfg.get("scoring") or {}
    tie_rule = node.get("tie_rule", "expected")
    if tie_rule not in TIE_RULES:
        raise ValueError(
            f"config key 'scoring.tie_rule' must be one of {sorted(TIE_RULES)}, got {tie_rule!r}."
        )
    n_boot = node.get("n_boot", 1000)
    if not is_int(n_boot) or n_boot < 2:
        raise ValueError(f"config key 'scoring.n_boot' must be an int >= 2, got {n_boot!r}.")
    level = node.get("level", 0.95)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.5 <= level < 1:
        raise ValueError(f"config key 'scoring.level' must be in [0.5, 1), got {level!r}.")
    return {"tie_rule": tie_rule, "n_boot": int(n_boot), "level": float(level)}


def grid_of(cfg: DictConfig) -> dict[str, list[float]]:
    """The vmapped grid: ``grid``; with ``dev_labels=select``, ``select_grid`` updated by ``grid``."""
    grid = OmegaConf.to_container(cfg.grid, resolve=True) if cfg.get("grid") else {}
    if cfg.dev_labels != "select":
        return grid
    default = (
        OmegaConf.to_container(cfg.select_grid, resolve=True) if cfg.get("select_grid") else {}
    )
    return {**default, **grid}


def selection_rule(
    cfg: DictConfig, split_scores: Mapping[str, Mapping[str, np.ndarray]]
) -> tuple[str, str, str]:
    """``(rule, split, metric)``: how the reported grid point is chosen (see ``run``)."""
    metric = cfg.objective.partition("/")[2]
    if cfg.get("select_metric") is not None:
        metric = str(cfg.select_metric).partition("/")[2]
    elif cfg.get("dataset_metric") is not None:
        metric = str(cfg.dataset_metric)
    if "valid" in split_scores:
        split = "valid"
    elif cfg.dev_labels == "select":
        raise ValueError("dev_labels=select needs gold labels in the valid split.")
    else:
        split = "test"
    if metric not in split_scores[split]:
        raise ValueError(
            f"select metric {metric!r} is not among the metrics {sorted(split_scores[split])}."
        )
    how = "min" if metric in LOWER_IS_BETTER else "max"
    rule = f"{how} {split}/{metric} (mean over seeds)"
    if split == "test":
        rule += "; no valid labels: selected on test"
    return rule, split, metric


def _within_se(cfg: DictConfig) -> float:
    value = cfg.get("select_within_se", 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(
            f"config key 'select_within_se' must be a number >= 0 (0: report the best valid "
            f"point), got {value!r}."
        )
    return float(value)


def config_distance(estimator: Any, points: list[dict[str, float]]) -> np.ndarray:
    """How many of each grid point's hyperparameters differ from ``estimator``'s own values."""
    own = {k: float(getattr(estimator, k)) for k in (points[0] if points else {})}
    return np.array(
        [sum(not np.isclose(v, own[k]) for k, v in p.items()) for p in points], np.int64
    )


def select_within_noise(
    values: np.ndarray,
    samples: np.ndarray,
    metric: str,
    *,
    distance: np.ndarray,
    within_se: float,
) -> int:
    """The grid point to report: of the points statistically tied with the best, the nearest.

    ``values`` ``(h, s)``: each point's metric on the selection split per seed; ``samples``
    ``(h, s, B)``: the same metric on ``B`` paired bootstrap resamples of that split's rows;
    ``distance`` ``(h,)``: how far each point is from the estimator's configuration
    (``config_distance``). A point is tied with the best (``select_point``) when their seed-mean
    difference is at most ``within_se`` standard errors of that difference over the resamples
    (the one-standard-error rule of cross-validation, Hastie, Tibshirani and Friedman, ESL
    section 7.10, with "simplest" read as "nearest the configured estimator"): a valid split of a
    few hundred rows cannot tell such points apart, and the argmax among them is noise. Ties in
    distance go to the better valid value, then to the lower index.
    """
    best = select_point(values, metric)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    score = sign * np.nanmean(values, axis=1)  # higher is better
    boot = sign * np.nanmean(samples, axis=1)  # (h, B)
    gap = score[best] - score
    se = np.nanstd(boot[best][None, :] - boot, axis=1, ddof=1)
    tied = np.isfinite(score) & (gap <= within_se * np.nan_to_num(se, nan=0.0) + 1e-12)
    tied[best] = True
    order = np.lexsort((np.arange(len(score)), -np.nan_to_num(score, nan=-np.inf), distance))
    return int(next(h for h in order if tied[h]))


def select_point(values: np.ndarray, metric: str) -> int:
    """The grid point (row of ``values``, shape ``(h, s)``) with the best seed-mean ``metric``."""
    by_point = np.nanmean(values, axis=1)
    if np.all(np.isnan(by_point)):
        raise ValueError(f"metric {metric!r} is NaN at every grid point; check the gold labels.")
    return int(np.nanargmin(by_point) if metric in LOWER_IS_BETTER else np.nanargmax(by_point))


# ----------------------------------------------------------------------------- error bars


def bootstrap_metrics(
    probs: np.ndarray,
    y: np.ndarray,
    *,
    tie_rule: str,
    n_boot: int,
    key: jax.Array,
    names: tuple[str, ...] | None = None,
) -> dict[str, np.ndarray]:
    """Every metric (or those in ``names``) on ``n_boot`` resamples of the rows, for every fit:
    ``{metric: (h, s, B)}``.

    The resamples are the same rows for every fit (one key), so intervals of different grid
    points, seeds and estimators on the same data are paired. Ties are broken on the original rows
    (WRENCH's rule depends on the row position), then resampled.
    """
    h, s, n, k = probs.shape
    out = _bootstrap(
        jnp.asarray(probs.reshape(h * s, n, k)),
        jnp.asarray(y),
        key,
        tie_rule=tie_rule,
        n_boot=n_boot,
        names=names,
    )
    return {name: np.asarray(v, np.float64).reshape(h, s, n_boot) for name, v in out.items()}


@eqx.filter_jit
def _bootstrap(probs, y, key, *, tie_rule, n_boot, names=None):
    idx, y_boot = metrics.resample_indices(y, n_boot=n_boot, key=key)

    def per_fit(p):
        hard = (
            jax.nn.one_hot(metrics.tie_break_wrench(p), p.shape[-1]) if tie_rule == "wrench" else p
        )

        def one(a):
            i, yb = a
            return {
                name: fn(hard[i], yb) if name in TIE_RULE_TAKERS else fn(p[i], yb)
                for name, fn in metrics.METRICS.items()
                if names is None or name in names
            }

        return jax.lax.map(one, (idx, y_boot), batch_size=min(n_boot, 250))

    return jax.lax.map(per_fit, probs)


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    if np.all(np.isnan(samples)):
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(samples, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


# ----------------------------------------------------------------------------- diagnostics

DEGENERATE_SHARE_NOT_OWN = 0.5
"""Warn when more than this share of (LF, vote) pairs no longer favour the class voted for."""


def _diag_columns(diag: Mapping[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in diag.items():
        v = np.asarray(v)
        out[f"diag/{name}"] = (
            float(v) if v.ndim == 0 else json.dumps([round(float(x), 6) for x in v])
        )
    return out


def degenerate(diag: Mapping[str, np.ndarray], gold_classes: int) -> list[str]:
    """What looks degenerate about a fit (its ``diag`` at one grid point, seeds on axis 0)."""
    found = []
    if "prior_at_boundary" in diag and np.any(diag["prior_at_boundary"]):
        found.append(
            f"fitted class prior at the simplex boundary (min prior {float(np.min(diag['prior_min'])):.2g})"
        )
    share = diag.get("share_votes_not_own_class")
    if share is not None and np.any(share > DEGENERATE_SHARE_NOT_OWN):
        found.append(
            f"{100 * float(np.max(share)):.0f}% of (LF, vote) pairs do not favour the class voted for"
        )
    if gold_classes >= 2 and np.any(diag["n_predicted_classes"] <= 1):
        found.append(
            f"a single predicted class on the fit rows where the gold labels have {gold_classes}"
        )
    return found


def warn_degenerate(
    est: str, dataset: str, diag: Mapping[str, np.ndarray], gold_classes: int
) -> None:
    """``log.warning`` naming the estimator, the dataset and what is degenerate (if anything)."""
    found = degenerate(diag, gold_classes)
    if found:
        log.warning(
            "DEGENERATE FIT: %s on %s at the selected grid point: %s. Its scores are not a fair "
            "picture of the estimator (see the diag/* columns).",
            est, dataset, "; ".join(found),
        )  # fmt: skip


# ----------------------------------------------------------------------------- outputs


def _to_numpy(scores: Mapping[str, jax.Array]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}


def _check_objective(split_scores: Mapping[str, Mapping[str, np.ndarray]], objective: str) -> None:
    split, _, metric = objective.partition("/")
    if split not in split_scores or metric not in split_scores[split]:
        available = [f"{s}/{m}" for s, sc in split_scores.items() for m in sc]
        raise ValueError(f"objective {objective!r} is not among the metrics {available}.")


def _summary(
    split_scores: Mapping[str, Mapping[str, np.ndarray]], objective: str, best: int
) -> dict[str, float]:
    """Mean and sem over seeds at the selected grid point ``best``."""
    _check_objective(split_scores, objective)
    summary: dict[str, float] = {"grid_point": float(best), "select/point": float(best)}
    for sp, scores in split_scores.items():
        for name, values in scores.items():
            v = values[best]
            summary[f"{sp}/{name}"] = float(np.mean(v))
            summary[f"{sp}/{name}_sem"] = (
                float(np.std(v, ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0
            )
    summary["objective"] = summary[objective]
    return summary
