"""Pipeline 2: weak labels -> label model -> probabilistic labels -> noise-aware end model -> metrics.

For every size on ``cfg.n_unlabeled``, each seed draws ``n`` unlabeled points from the train split
(the LFs fixed; the first ``n`` of a per-seed permutation, so a seed's sets are nested as ``n``
grows). Per seed, in one vmapped program per ``n``:

1. the label model ``cfg.estimator`` is fitted on their weak labels and gives soft labels ``q``;
2. the end model ``cfg.endmodel`` is trained on ``(x, q)`` with the expected (noise-aware) loss,
   rows with no LF vote weighted 0 (``drop_uncovered``);
3. baselines use the same end model and features: trained on majority-vote labels (same weights)
   and, when the train split has gold labels, on the ``n`` gold labels.

All are scored on the held-out test split: the label model on the test LF votes, the end models on
the test features, so the end model is also scored on items no LF covers. Datasets without
features get class-conditional Gaussian ones drawn from the gold labels (``cfg.features``,
``wsbench.synthetic.dataset_with_features``), which only synthetic datasets allow.

**Model selection on valid** (``cfg.select``, the real-task tables): a grid of end-model
hyperparameters (``{lr: [...], weight_decay: [...], n_steps: [...]}``, early stopping = choice of
``n_steps``) is fitted for every training target and the best on the valid split's gold labels
(``cfg.select_metric``) is scored on test (``wsbench.endmodels.select_on_valid``; no test row is
read before scoring). Seeds then run in a Python loop, not vmapped. One more baseline is added:
the end model trained on the valid split's gold labels only ("dev"): trained on the first half of
a per-seed permutation of valid, selected on the other half. Every end model also gets a
percentile bootstrap interval over test rows (``cfg.bootstrap`` resamples,
``wsbench.metrics.bootstrap_ci``) on ``<metric>_lo`` / ``<metric>_hi`` columns.

Every row also carries the modelling-advantage estimate from the train ``L`` alone
(``advantage/estimate``, ``wsbench.lf.expected_advantage``) beside the measured test
``advantage/lm_minus_mv`` (label-model minus majority-vote test accuracy), and, when ``cfg.slices``
names a slice builder, per-slice test scores ``slice/<name>/<model>_<metric>``
(``wsbench.metrics.slice_metrics``).
"""

import logging
import os
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from .. import metrics
from ..data import Split
from ..endmodels import (
    SELECT_KEYS,
    AbstractEndModel,
    grid_candidates,
    select_on_valid,
    votes_weight,
)
from ..labelmodels import MajorityVote
from ..lf import expected_advantage
from ..synthetic import dataset_with_features
from .build import (
    build,
    build_dataset,
    build_estimator,
    check_data_options,
    check_groups,
    check_seeds,
    component_name,
    is_int,
    sizes,
)
from .job import Job
from .seeding import named_key, root_key

log = logging.getLogger(__name__)

METRICS = (
    "train/labelmodel_accuracy",
    "train/coverage",
    "test/labelmodel_accuracy",
    "test/majority_vote_accuracy",
    "test/endmodel_accuracy",
    "test/endmodel_mv_accuracy",
    "test/endmodel_gold_accuracy",
)
"""Per (n, seed) values; ``*_gold_*`` only when the train split has gold labels."""


def run(cfg: DictConfig, *, out_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """Label model + noise-aware end model (and baselines) at every size of ``cfg.n_unlabeled``.

    Args:
        cfg: the composed ``conf/endmodel.yaml``.
        out_dir: the job folder; default: Hydra's output dir for this job.

    Returns:
        Every metric (mean over seeds) at the largest ``n`` and ``"objective"`` (``cfg.objective``
        there). A job already complete in ``out_dir`` for the same config is skipped.

    Raises:
        ValueError: on a malformed config, a dataset without features (and ``features: null``) or
            without test gold labels.
    """
    job = Job.open(cfg, out_dir, check=check_config)
    if job.done is not None:
        return job.done["summary"]
    est_name = component_name(cfg, "estimator")
    em_name = component_name(cfg, "endmodel")
    data = build_dataset(cfg)
    if data.train.x is None or data.test.x is None:
        if cfg.get("features") is None:
            raise ValueError(
                f"dataset {data.name!r} has no features (x) and config key 'features' is null; "
                "the end-model pipeline needs features, or features: {d: ..., separation: ...} "
                "to draw class-conditional ones from the gold labels (synthetic data)."
            )
        feats = OmegaConf.to_container(cfg.features, resolve=True)
        data = dataset_with_features(data, named_key(root_key(cfg.data_seed), "features"), **feats)
    estimator = build_estimator(cfg)
    endmodel = build(cfg.endmodel, "endmodel", em_name, expect=AbstractEndModel)
    n_sizes = _sizes(cfg.get("n_unlabeled"), data.train.n)
    with_gold = data.train.has_gold
    keys = jr.split(named_key(root_key(cfg.seed), "fit"), cfg.seeds)
    slices = _build_slices(cfg, data)
    estimate = float(expected_advantage(data.train.weak.L, data.n_classes))

    rows: list[dict[str, Any]] = []
    per_n: dict[int, dict[str, np.ndarray]] = {}
    for n in n_sizes:
        if cfg.get("select") is not None:
            values = _select_point(
                estimator,
                endmodel,
                data,
                keys,
                n=n,
                grid=OmegaConf.to_container(cfg.select, resolve=True),
                metric_names=tuple(cfg.metrics),
                select_metric=str(cfg.select_metric),
                n_boot=int(cfg.bootstrap),
                slices=slices,
                drop_uncovered=bool(cfg.drop_uncovered),
            )
        else:
            values = _scale_point(
                estimator,
                endmodel,
                data.train,
                data.test,
                keys,
                n=n,
                with_gold=with_gold,
                drop_uncovered=bool(cfg.drop_uncovered),
            )
        values = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
        values["advantage/estimate"] = np.full(int(cfg.seeds), estimate)
        values["advantage/lm_minus_mv"] = (
            values["test/labelmodel_accuracy"] - values["test/majority_vote_accuracy"]
        )
        per_n[n] = values
        log.info(
            "%s + %s, n=%d: %s",
            est_name,
            em_name,
            n,
            {k: round(float(v.mean()), 4) for k, v in values.items()},
        )
        for s in range(int(cfg.seeds)):
            fields = {
                "estimator": est_name,
                "endmodel": em_name,
                "dataset": data.name,
                "n_unlabeled": int(n),
                "seed_index": s,
            }
            rows.append(job.row(fields, {k: float(v[s]) for k, v in values.items()}))

    last = per_n[n_sizes[-1]]
    summary = {k: float(v.mean()) for k, v in last.items()}
    if cfg.objective not in summary:
        raise ValueError(f"objective {cfg.objective!r} is not among the metrics {sorted(summary)}.")
    summary["objective"] = summary[cfg.objective]
    return job.finish(rows, summary, job_type=est_name)


@eqx.filter_jit
def _scale_point(
    estimator,
    endmodel,
    pool: Split,
    test: Split,
    keys,
    *,
    n: int,
    with_gold: bool,
    drop_uncovered: bool,
):
    """Every metric as an ``(s,)`` array for one training size ``n`` (seeds vmapped).

    Seed ``s`` trains on the first ``n`` rows of its own permutation of the train split (the same
    permutation at every ``n``, so each seed's training sets are nested).
    """
    k = pool.weak.n_classes

    def end_accuracy(x, targets, w, key):
        fitted = endmodel.fit(x, targets, weights=w, key=key)
        return metrics.accuracy(fitted.predict_proba(test.x), test.y)

    def one(key):
        k_perm, k_lm, k_mv, k_soft, k_em_mv, k_gold = jr.split(key, 6)
        part = pool.subset(jr.permutation(k_perm, pool.n)[:n])
        weak, L, x = part.weak, part.weak.L, part.x
        covered = votes_weight(L)
        weights = covered if drop_uncovered else jnp.ones(n, jnp.float32)
        fitted = estimator.fit(weak, key=k_lm)
        q = fitted.predict_proba(L)
        mv_fitted = MajorityVote().fit(weak, key=k_mv)
        out = {
            "train/coverage": covered.mean(),
            "test/labelmodel_accuracy": metrics.accuracy(fitted.predict_proba(test.weak.L), test.y),
            "test/majority_vote_accuracy": metrics.accuracy(
                mv_fitted.predict_proba(test.weak.L), test.y
            ),
            "test/endmodel_accuracy": end_accuracy(x, q, weights, k_soft),
            "test/endmodel_mv_accuracy": end_accuracy(
                x, mv_fitted.predict_proba(L), weights, k_em_mv
            ),
        }
        if with_gold:
            y = part.y
            out["train/labelmodel_accuracy"] = metrics.accuracy(q, y)
            gold = jax.nn.one_hot(jnp.maximum(y, 0), k)
            out["test/endmodel_gold_accuracy"] = end_accuracy(
                x, gold, (y >= 0).astype(jnp.float32), k_gold
            )
        return out

    return jax.vmap(one)(keys)


def _select_point(
    estimator,
    endmodel,
    data,
    keys,
    *,
    n: int,
    grid: dict[str, Any],
    metric_names: tuple[str, ...],
    select_metric: str,
    n_boot: int,
    slices: dict | None,
    drop_uncovered: bool,
) -> dict[str, list[float]]:
    """Every metric per seed (lists of length ``len(keys)``) with end models selected on valid."""
    pool, valid, test = data.train, data.valid, data.test
    k = data.n_classes
    candidates = grid_candidates(endmodel, grid)
    out: dict[str, list[float]] = {}

    def put(name, value):
        out.setdefault(name, []).append(float(value))

    def score(model, probs, key, *, on_lf_votes=False):
        for m in metric_names:
            put(f"test/{model}_{m}", metrics.METRICS[m](probs, test.y))
            if n_boot:
                lo, hi = metrics.bootstrap_ci(
                    metrics.METRICS[m], probs, test.y, n_boot=n_boot, key=jr.fold_in(key, len(m))
                )
                put(f"test/{model}_{m}_lo", lo)
                put(f"test/{model}_{m}_hi", hi)
        if slices is not None:
            for col, v in metrics.slice_metrics(
                probs,
                test.y,
                slices["test"],
                slices["names"],
                prefix=f"{model}_",
                metrics=metric_names,
            ).items():
                put(col, v)

    def end_model(model, x, targets, w, x_val, y_val, key):
        fitted, best, _ = select_on_valid(
            candidates, x, targets, x_val, y_val, weights=w, metric=select_metric, key=key
        )
        for name in grid:
            value = getattr(candidates[best], name)
            put(f"select/{model}_{name}", np.asarray(value))
        score(model, fitted.predict_proba(test.x), jr.fold_in(key, 7))

    for key in keys:
        k_perm, k_lm, k_mv, k_soft, k_em_mv, k_gold, k_dev = jr.split(key, 7)
        part = pool.subset(jr.permutation(k_perm, pool.n)[:n])
        weak, L, x = part.weak, part.weak.L, part.x
        covered = votes_weight(L)
        weights = covered if drop_uncovered else jnp.ones(n, jnp.float32)
        fitted = estimator.fit(weak, key=k_lm)
        mv = MajorityVote().fit(weak, key=k_mv)
        put("train/coverage", covered.mean())
        score("labelmodel", fitted.predict_proba(test.weak.L), k_lm)
        score("majority_vote", mv.predict_proba(test.weak.L), k_mv)
        end_model("endmodel", x, fitted.predict_proba(L), weights, valid.x, valid.y, k_soft)
        end_model("endmodel_mv", x, mv.predict_proba(L), weights, valid.x, valid.y, k_em_mv)
        if part.has_gold:
            y = part.y
            put("train/labelmodel_accuracy", metrics.accuracy(fitted.predict_proba(L), y))
            gold = jax.nn.one_hot(jnp.maximum(y, 0), k)
            end_model(
                "endmodel_gold", x, gold, (y >= 0).astype(jnp.float32), valid.x, valid.y, k_gold
            )
        order = np.asarray(jr.permutation(k_dev, valid.n))
        half = valid.n // 2
        fit_rows, sel_rows = valid.subset(order[:half]), valid.subset(order[half:])
        y_dev = fit_rows.y
        end_model(
            "endmodel_dev",
            fit_rows.x,
            jax.nn.one_hot(jnp.maximum(y_dev, 0), k),
            (y_dev >= 0).astype(jnp.float32),
            sel_rows.x,
            sel_rows.y,
            k_dev,
        )
    return out


def _build_slices(cfg: DictConfig, data) -> dict | None:
    """``cfg.slices[<dataset name>]``'s slice builder called (``{"names": ..., "test": S}``), or None."""
    table = cfg.get("slices")
    if not table or data.name not in table:
        return None
    S = get_object(str(table[data.name]))()
    S = dict(S, test=jnp.asarray(S["test"]))
    if cfg.get("subsample") is not None and S["test"].shape[0] != data.test.n:
        return None  # subsampled rows no longer line up with the builder's
    return S


def check_config(cfg: DictConfig) -> None:
    """The end-model pipeline's config checks (``ValueError`` naming the key to fix)."""
    check_seeds(cfg)
    check_data_options(cfg)
    check_groups(cfg, ("estimator", "endmodel", "dataset", "logger"))
    select = cfg.get("select")
    if select is not None:
        bad = [key for key in select if key not in SELECT_KEYS]
        if bad or not all(len(v) > 0 for v in select.values()):
            raise ValueError(
                f"config key 'select' must map some of {SELECT_KEYS} to non-empty lists of "
                f"candidate values, got {OmegaConf.to_container(select)!r}."
            )
        unknown = [m for m in (*cfg.metrics, cfg.select_metric) if m not in metrics.METRICS]
        if unknown or "accuracy" not in cfg.metrics:
            raise ValueError(
                f"config keys 'metrics'/'select_metric' name unknown metrics {unknown} (or "
                f"'metrics' lacks 'accuracy'); choose from {sorted(metrics.METRICS)}."
            )
        if not is_int(cfg.get("bootstrap")) or cfg.bootstrap < 0:
            raise ValueError(
                f"config key 'bootstrap' must be a non-negative int (resamples; 0 = no CIs), "
                f"got {cfg.get('bootstrap')!r}."
            )


def _sizes(n_unlabeled, n_train: int) -> list[int]:
    """Training sizes capped at the train split (debug=smoke subsamples it); null: all of it."""
    if n_unlabeled is None:
        return [n_train]
    return sizes(n_unlabeled, "n_unlabeled", cap=n_train)
