"""Pipeline 5: multi-task weak supervision (Snorkel MeTaL, Ratner et al. AAAI 2019) vs its baselines.

One job = one multi-task dataset (``cfg.multitask_dataset``, a ``wsbench.multitask.MultitaskDataset``
with features). Per seed, on the same train rows (fit) and the same test rows (scores):

Label models (scored on the test LF votes):

- ``majority_vote``: ``MultitaskMajorityVote`` (feasible-set-aware majority vote);
- ``independent``: one ``MatrixCompletion`` per task on that task's LFs only (the label model's own
  hyperparameters, ``MultitaskMatrixCompletion.core``; a task with fewer than three LFs: its
  majority vote, see :func:`_independent`), combined afterwards by the task graph
  (:func:`combine_tasks`: ``q(y) ∝ prod_s p_s(y_s)`` over the tasks that apply at y), the paper's
  "data programming run separately per task";
- ``metal``: ``cfg.label_model`` (``MultitaskMatrixCompletion``) over the feasible joint labels.

End models (``cfg.endmodel``, a ``MultitaskMLP``; scored on the test features), trained on the per-task
marginals of a label model (``targets_from_marginals``: a child task weighted by its probability of
applying) -- ``endmodel_<label model>`` for each of ``cfg.endmodels`` -- and ``endmodel_dev``, the
same network trained on the valid split's gold labels only (the paper's "supervised on the dev set").

**Model selection on valid** (``cfg.select``, the real tasks): a grid of end-model hyperparameters
(``{lr: [...], weight_decay: [...], n_steps: [...]}``, early stopping = the choice of ``n_steps``)
is fitted for every training target, and the candidate with the best valid score -- the mean over
tasks of ``cfg.select_metric``, each task on the valid rows where it applies, as on test -- is
scored on test (``wsbench.endmodels.select_on_valid``, the single-task pipeline's selection; no test
row is read before scoring). The dev-only end model is then trained on the first half of a per-seed
permutation of valid and selected on the other half (as in ``wsbench.run.endmodel``). The chosen
values are written as ``select/<end model>_<name>``. With ``select: null`` every end model uses the
fixed ``cfg.endmodel`` hyperparameters and the dev-only one trains on all of valid.

Scores per task (columns ``test/<model>_<task>_<metric>``, ``cfg.metrics``, each with a percentile
bootstrap interval over test rows, ``_lo`` / ``_hi``, ``cfg.bootstrap`` resamples,
``wsbench.metrics.bootstrap_ci``): a root task on every test row; a child task (e.g. the finding
family) on the test rows where it applies by the gold labels, from the model's distribution over its
real classes given that it applies (so macro-F1 of the fine task compares which family, not whether
there is one; a label model that gives the child task no mass on a row scores a uniform guess there). ``test/<model>_joint_accuracy`` scores the joint label on every row (end models: their
heads combined by :func:`combine_tasks`).

``cfg.dev_labels``: ``class_balance`` gives the label models the valid split's (add-one smoothed)
class frequencies -- the joint prior to ``metal`` and ``majority_vote`` (abstain rows), the per-task
prior to each ``independent`` model (a child task's over the valid rows where it applies); ``none``
gives them nothing (``metal``: uniform over the joint labels; ``independent``: ``MatrixCompletion``'s
unsupervised balance).
"""

import logging
import os
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from omegaconf import DictConfig, OmegaConf

from .. import metrics
from ..data import WeakLabels, class_frequencies
from ..endmodels import SELECT_KEYS, grid_candidates, select_on_valid
from ..labelmodels import MajorityVote
from ..multitask import (
    MultitaskDataset,
    MultitaskMajorityVote,
    MultitaskMatrixCompletion,
    MultitaskMLP,
    MultitaskWeakLabels,
    TaskGraph,
    targets_from_gold,
    targets_from_marginals,
    task_marginals,
)
from .build import build, check_groups, check_seeds, is_int, where
from .job import Job
from .seeding import named_key, root_key

log = logging.getLogger(__name__)

LABEL_MODELS = ("majority_vote", "independent", "metal")
"""The label models of every job (module docstring)."""
DEV_LABELS = ("none", "class_balance")
MIN_MC_LFS = 3
"""Fewest LFs on a task for which the ``independent`` baseline fits a ``MatrixCompletion``."""
METRIC_NAMES = ("accuracy", "f1")
"""Per-task metrics ``cfg.metrics`` may name (``f1``: binary F1 of class 1, macro-F1 for k > 2)."""


def run(cfg: DictConfig, *, out_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """Multi-task label model + end model vs independent per-task pipelines, MV and dev-only.

    Args:
        cfg: the composed ``conf/metal.yaml``.
        out_dir: the job folder; default: Hydra's output dir for this job.

    Returns:
        Every metric's mean over seeds and ``"objective"`` (``cfg.objective``). A job already
        complete in ``out_dir`` for the same config is skipped.

    Raises:
        ValueError: on a malformed config, a dataset that is not a ``MultitaskDataset`` with features
            and gold labels on valid and test.
    """
    job = Job.open(cfg, out_dir, check=check_config)
    if job.done is not None:
        return job.done["summary"]
    label_model = build(
        cfg.label_model, "label_model", "label_model", expect=MultitaskMatrixCompletion
    )
    endmodel = build(cfg.endmodel, "endmodel", "endmodel", expect=MultitaskMLP)
    data = build_multitask_dataset(cfg)
    graph = data.graph
    check_objective(cfg, graph)  # before any fit: a typo must not cost a run
    priors = dev_priors(data) if cfg.dev_labels == "class_balance" else None
    keys = jr.split(named_key(root_key(cfg.seed), "fit"), cfg.seeds)
    metric_names = tuple(cfg.metrics)
    n_boot = int(cfg.bootstrap)
    grid = None if cfg.get("select") is None else OmegaConf.to_container(cfg.select, resolve=True)
    select = None if grid is None else (grid_candidates(endmodel, grid), grid)

    per_seed: list[dict[str, float]] = []
    for s, key in enumerate(keys):
        values = _one_seed(
            label_model,
            endmodel,
            data,
            priors,
            key,
            endmodels=tuple(cfg.endmodels),
            metric_names=metric_names,
            n_boot=n_boot,
            select=select,
            select_metric=str(cfg.get("select_metric", "f1")),
        )
        per_seed.append(values)
        point = {k: round(v, 4) for k, v in values.items() if not k.endswith(("_lo", "_hi"))}
        log.info("%s seed %d: %s", data.name, s, point)
    rows = [
        job.row({"dataset": data.name, "seed_index": s, "tasks": ",".join(graph.names)}, v)
        for s, v in enumerate(per_seed)
    ]
    summary = {k: float(np.mean([v[k] for v in per_seed])) for k in per_seed[0]}
    summary["objective"] = summary[cfg.objective]
    return job.finish(rows, summary, job_type="metal")


def _one_seed(
    label_model: MultitaskMatrixCompletion,
    endmodel: MultitaskMLP,
    data: MultitaskDataset,
    priors: dict[str, Any] | None,
    key,
    *,
    endmodels: tuple[str, ...],
    metric_names: tuple[str, ...],
    n_boot: int,
    select: tuple[list[MultitaskMLP], dict[str, list]] | None = None,
    select_metric: str = "f1",
) -> dict[str, float]:
    graph = data.graph
    train, valid, test = data.train, data.valid, data.test
    k_mv, k_ind, k_lm, k_em, k_dev, k_boot = jr.split(key, 6)
    joint_prior = None if priors is None else priors["joint"]
    weak = MultitaskWeakLabels(train.weak.L, graph, train.weak.lf_task, class_balance=joint_prior)

    fitted = {
        "majority_vote": MultitaskMajorityVote().fit(weak, key=k_mv),
        "metal": label_model.fit(weak, key=k_lm),
    }
    joint = {name: f.predict_proba_joint for name, f in fitted.items()}
    joint["independent"] = _independent(label_model, weak, priors, k_ind)
    out: dict[str, float] = {}
    scorer = _Scorer(graph, test.Y, metric_names, n_boot, out)

    for i, name in enumerate(LABEL_MODELS):
        q_test = joint[name](test.weak.L)
        scorer.score(name, task_marginals(graph, q_test), q_test, jr.fold_in(k_boot, i))

    def end_model(model, x, targets, weights, x_val, Y_val, key):
        if select is None:
            return endmodel.fit(x, targets, weights=weights, key=key)
        candidates, grid = select
        fitted, best, _ = select_on_valid(
            candidates,
            x,
            targets,
            x_val,
            Y_val,
            weights=weights,
            score=valid_score(graph, select_metric),
            key=key,
        )
        for name in grid:
            out[f"select/{model}_{name}"] = float(np.asarray(getattr(candidates[best], name)))
        return fitted

    for i, name in enumerate(endmodels):
        targets, weights = targets_from_marginals(graph, task_marginals(graph, joint[name](weak.L)))
        model = f"endmodel_{name}"
        em = end_model(model, train.x, targets, weights, valid.x, valid.Y, jr.fold_in(k_em, i))
        scorer.score_heads(model, em.predict_proba(test.x), jr.fold_in(k_boot, 10 + i))
    if select is None:
        fit_rows, sel_rows = np.arange(valid.n), None
    else:  # half of valid trains the dev-only model, the other half selects it
        order = np.asarray(jr.permutation(jr.fold_in(k_dev, 1), valid.n))
        fit_rows, sel_rows = order[: valid.n // 2], order[valid.n // 2 :]
    Y_valid, x_valid = np.asarray(valid.Y), np.asarray(valid.x)
    targets, weights = targets_from_gold(graph, Y_valid[fit_rows])
    x_sel, Y_sel = (None, None) if sel_rows is None else (x_valid[sel_rows], Y_valid[sel_rows])
    em = end_model("endmodel_dev", x_valid[fit_rows], targets, weights, x_sel, Y_sel, k_dev)
    scorer.score_heads("endmodel_dev", em.predict_proba(test.x), jr.fold_in(k_boot, 99))
    out["train/coverage"] = float(np.mean(np.asarray(weak.L >= 0).any(axis=1)))
    return out


def valid_score(graph: TaskGraph, metric: str):
    """``score(heads, Y) -> float`` for :func:`select_on_valid`: the mean over tasks of ``metric``
    (a name in ``wsbench.metrics.METRICS``, maximised), each task on the rows where it applies by
    the gold labels ``Y`` ``(n, tasks)``, from its head (the test scoring of child tasks)."""
    fn = metrics.METRICS[metric]

    def score(heads, Y):
        Y = np.asarray(Y)
        values = []
        for s, p in enumerate(heads):
            y = np.where(Y[:, s] < graph.cardinalities[s], Y[:, s], -1)
            values.append(float(fn(p, jnp.asarray(y, jnp.int32))))
        return float(np.mean(values))

    return score


def metric_columns(graph: TaskGraph, endmodels, metric_names) -> list[str]:
    """The ``test/*`` point-estimate columns a job writes (no ``_lo`` / ``_hi``)."""
    models = [*LABEL_MODELS, *(f"endmodel_{e}" for e in endmodels), "endmodel_dev"]
    cols = []
    for m in models:
        cols += [f"test/{m}_{t}_{x}" for t in graph.names for x in metric_names]
        cols.append(f"test/{m}_joint_accuracy")
    return cols


def check_objective(cfg: DictConfig, graph: TaskGraph) -> None:
    """``cfg.objective`` is one of the columns this job writes for ``graph`` (task names)."""
    cols = metric_columns(graph, tuple(cfg.endmodels), tuple(cfg.metrics))
    if cfg.objective not in cols:
        raise ValueError(
            f"config key 'objective' = {cfg.objective!r} is not a metric of this job (tasks "
            f"{list(graph.names)}); choose one of {cols}."
        )


def _independent(label_model: MultitaskMatrixCompletion, weak: MultitaskWeakLabels, priors, key):
    """One single-task ``MatrixCompletion`` per task; the joint posterior by :func:`combine_tasks`.

    A task with fewer than ``MIN_MC_LFS`` LFs (``MatrixCompletion`` needs three conditionally
    independent ones; e.g. ChemProt's ``relation`` task has one) gets that task's single-task
    ``MajorityVote`` instead (rows without a vote: the task's dev prior, if given)."""
    graph = weak.graph
    fits = []
    for s in range(graph.n_tasks):
        view = weak.task_view(s)
        cb = None if priors is None else priors["tasks"][s]
        view = WeakLabels(L=view.L, n_classes=view.n_classes, class_balance=cb)
        if len(weak.lfs_of(s)) < MIN_MC_LFS:  # MatrixCompletion is not identifiable: vote
            fits.append((weak.lfs_of(s), MajorityVote().fit(view, key=jr.fold_in(key, s))))
            continue
        core = label_model.core(one_task=True, class_balance_from="auto")
        fits.append((weak.lfs_of(s), core.fit(view, key=jr.fold_in(key, s))))

    def predict(L):
        per_task = [f.predict_proba(L[:, np.asarray(cols)]) for cols, f in fits]
        return combine_tasks(graph, per_task)

    return predict


def combine_tasks(graph: TaskGraph, per_task) -> jnp.ndarray:
    """Joint posterior ``(n, K)`` from per-task distributions over each task's real classes.

    ``q(y) ∝ prod_s p_s(Y_feasible[y, s])`` over the tasks s that apply at y (a child task's
    distribution is read as "given that it applies"). For a hierarchy (coarse task, fine task under
    one coarse class) this is exact: ``q(coarse = c, fine = a) = p_coarse(c) p_fine(a)`` under the
    parent class, ``q(coarse = c) = p_coarse(c)`` elsewhere, and the joint sums to 1 before
    renormalising.
    """
    if len(per_task) != graph.n_tasks:
        raise ValueError(f"expected {graph.n_tasks} per-task distributions, got {len(per_task)}.")
    log_q = 0.0
    for s, p in enumerate(per_task):
        p = jnp.asarray(p, jnp.float32)
        if p.ndim != 2 or p.shape[1] != graph.cardinalities[s]:
            raise ValueError(
                f"task {s} distribution must be (n, {graph.cardinalities[s]}), got {p.shape}."
            )
        lab = graph.task_labels(s)
        applies = graph.applicable(s)
        cols = jnp.log(jnp.clip(p, 1e-30, 1.0))[:, np.where(applies, lab, 0)]  # [n, K]
        log_q = log_q + jnp.where(jnp.asarray(applies)[None, :], cols, 0.0)
    q = jnp.exp(log_q - jnp.max(log_q, axis=1, keepdims=True))
    return q / q.sum(axis=1, keepdims=True)


_bootstrap_ci = eqx.filter_jit(metrics.bootstrap_ci)


class _Scorer:
    """Writes ``test/<model>_<task>_<metric>`` (and ``_lo`` / ``_hi``) into ``out``."""

    def __init__(self, graph: TaskGraph, Y, metric_names, n_boot, out):
        self.graph, self.metric_names, self.n_boot, self.out = graph, metric_names, n_boot, out
        Y = np.asarray(Y)
        self.y_joint = jnp.asarray(graph.joint_index(Y))
        self.y_task = []
        for s in range(graph.n_tasks):
            k = graph.cardinalities[s]
            self.y_task.append(jnp.asarray(np.where(Y[:, s] < k, Y[:, s], -1), jnp.int32))

    def _put(self, col, fn, probs, y, key):
        self.out[col] = float(fn(probs, y))
        if self.n_boot:
            lo, hi = _bootstrap_ci(fn, probs, y, n_boot=self.n_boot, key=key)
            self.out[f"{col}_lo"], self.out[f"{col}_hi"] = float(lo), float(hi)

    def score(self, model, marginals, q_joint, key):
        """Label model: per-task marginals (child tasks: renormalised over their real classes)."""
        conditionals = []
        for s, q in enumerate(marginals):
            k = self.graph.cardinalities[s]
            real = q[:, :k]
            conditionals.append(real / jnp.maximum(real.sum(axis=1, keepdims=True), 1e-12))
        self._per_task(model, conditionals, key)
        self._put(f"test/{model}_joint_accuracy", metrics.accuracy, q_joint, self.y_joint, key)

    def score_heads(self, model, heads, key):
        """End model: per-task heads (conditionals), the joint from :func:`combine_tasks`."""
        self._per_task(model, heads, key)
        q = combine_tasks(self.graph, heads)
        self._put(f"test/{model}_joint_accuracy", metrics.accuracy, q, self.y_joint, key)

    def _per_task(self, model, conditionals, key):
        for s, p in enumerate(conditionals):
            for i, m in enumerate(self.metric_names):
                col = f"test/{model}_{self.graph.names[s]}_{m}"
                self._put(col, metrics.METRICS[m], p, self.y_task[s], jr.fold_in(key, 10 * s + i))


def dev_priors(data: MultitaskDataset) -> dict[str, Any]:
    """The valid split's add-one smoothed class frequencies: the joint prior and one per task
    (a child task's over the valid rows where it applies)."""
    graph, Y = data.graph, np.asarray(data.valid.Y)
    tasks = []
    for s in range(graph.n_tasks):
        k = graph.cardinalities[s]
        y = Y[:, s]
        tasks.append(class_frequencies(np.where(y < k, y, -1), k))
    return {"joint": class_frequencies(data.valid.y_joint, graph.n_joint), "tasks": tasks}


def build_multitask_dataset(cfg: DictConfig) -> MultitaskDataset:
    """``cfg.multitask_dataset`` drawn with ``data_seed``; needs features and valid/test gold labels."""
    node = cfg.multitask_dataset
    name = str(node.get("name", "multitask_dataset"))
    make = build(node, "multitask_dataset", name)
    try:
        data = make(key=named_key(root_key(cfg.data_seed), "data")) if callable(make) else make
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"could not build multitask_dataset {name!r} ({where('multitask_dataset')}): {e}"
        ) from e
    if not isinstance(data, MultitaskDataset):
        raise ValueError(
            f"multitask_dataset {name!r} ({where('multitask_dataset')}) must return a "
            f"wsbench.multitask.MultitaskDataset, got {type(data).__name__}."
        )
    for split in ("train", "valid", "test"):
        part = getattr(data, split)
        if part.x is None:
            raise ValueError(
                f"multitask_dataset {name!r}: the {split} split has no features (x); the MeTaL "
                "pipeline trains a multi-task end model on them (e.g. features: default)."
            )
        if split != "train" and (part.Y is None or not (np.asarray(part.Y) >= 0).all(1).any()):
            raise ValueError(
                f"multitask_dataset {name!r}: the {split} split has no gold labels Y; the "
                "pipeline scores on test and trains the dev-only baseline on valid."
            )
    return data


def check_config(cfg: DictConfig) -> None:
    """The MeTaL pipeline's config checks (``ValueError`` naming the key to fix)."""
    check_seeds(cfg)
    check_groups(cfg, ("multitask_dataset", "label_model", "endmodel", "logger"))
    if cfg.get("dev_labels") not in DEV_LABELS:
        raise ValueError(
            f"config key 'dev_labels' must be one of {DEV_LABELS}, got {cfg.get('dev_labels')!r}."
        )
    names = cfg.get("metrics")
    if (
        not _is_list(names)
        or not names
        or any(m not in METRIC_NAMES for m in names)
        or len(set(names)) != len(names)
    ):
        raise ValueError(
            f"config key 'metrics' must be a non-empty list of distinct names from "
            f"{METRIC_NAMES}, got {_plain(names)!r}."
        )
    ems = cfg.get("endmodels")
    if not _is_list(ems) or any(e not in LABEL_MODELS for e in ems) or len(set(ems)) != len(ems):
        raise ValueError(
            f"config key 'endmodels' must list distinct label models from {LABEL_MODELS} whose "
            f"marginals train an end model (may be empty), got {_plain(ems)!r}."
        )
    if not is_int(cfg.get("bootstrap")) or cfg.bootstrap < 0:
        raise ValueError(
            f"config key 'bootstrap' must be a non-negative int (resamples; 0 = no CIs), "
            f"got {cfg.get('bootstrap')!r}."
        )
    select = cfg.get("select")
    if select is not None:
        if (
            not isinstance(select, Mapping)
            or not select
            or any(key not in SELECT_KEYS for key in select)
            or not all(_is_list(v) and len(v) > 0 for v in select.values())
        ):
            raise ValueError(
                f"config key 'select' must be null or map some of {SELECT_KEYS} to non-empty "
                f"lists of candidate values, got {_plain(select)!r}."
            )
        if cfg.get("select_metric") not in METRIC_NAMES:
            raise ValueError(
                f"config key 'select_metric' must be one of {METRIC_NAMES} (maximised on valid, "
                f"averaged over tasks), got {cfg.get('select_metric')!r}."
            )
    if not isinstance(cfg.get("objective"), str):
        raise ValueError(
            f"config key 'objective' must be a metric column name, got {cfg.get('objective')!r}."
        )


def _is_list(v) -> bool:
    return v is not None and not isinstance(v, (str, bytes, Mapping)) and hasattr(v, "__len__")


def _plain(v):
    return OmegaConf.to_container(v) if OmegaConf.is_config(v) else v
