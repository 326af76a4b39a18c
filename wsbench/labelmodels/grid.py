"""The in-process grid: fit and score every (hyperparameter point x seed) in one compiled program.

Inside a job, seeds and continuous hyperparameters are vmapped (purejaxrl's double vmap); across
jobs, Hydra multirun sweeps what changes shapes or code (ARCHITECTURE.md, section 5). JAX only: the
runners (``wsbench.run``) and the contract checks (``checks.py``) both build on it.
"""

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .. import metrics
from ..data import Split, WeakLabels
from ._base import AbstractLabelModel, AbstractTwoStageLabelModel, as_array_hyperparameters

M = TypeVar("M", bound=AbstractLabelModel)


def stack(estimators: Sequence[M]) -> M:
    """Stack same-structure estimators along a new leading axis (static fields must be equal)."""
    if not estimators:
        raise ValueError("stack needs at least one estimator.")
    structures = {jax.tree.structure(e) for e in estimators}
    if len(structures) != 1:
        raise ValueError(
            "stack needs estimators that differ only in continuous (array) hyperparameters; "
            "structural (static) fields differ. Sweep those across jobs with Hydra multirun instead."
        )
    return jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *estimators)


def fit_ignores_key(est: AbstractLabelModel, train: WeakLabels) -> bool:
    """Whether ``est.fit(train, key=k)`` provably does not depend on ``k`` (so extra seeds are copies).

    Decided from the traced program (no compilation, nothing run): the fitted model's arrays are
    traced as a function of the key, and the key's data flow is followed forward through the
    equations. Conservative: a higher-order primitive (``scan``, ``while``, nested ``jit``) that
    receives anything key-derived counts as using it in every output, and a key multiplied by
    zero (``MatrixCompletion(init_noise=0)``) counts as used; so ``True`` is always right, and
    ``False`` may be returned for an estimator that happens to be deterministic.
    """
    from jax.extend.core import Var

    est = as_array_hyperparameters(
        est
    )  # as the grid fits it: hyperparameters traced, not constants
    two_stage = isinstance(est, AbstractTwoStageLabelModel)

    def fitted_arrays(key):
        if two_stage:
            fitted = est.fit_from_stats(est.statistics(train), key=key)
        else:
            fitted = est.fit(train, key=key)
        return jax.tree.leaves(eqx.filter(fitted, eqx.is_array))

    closed = jax.make_jaxpr(fitted_arrays)(jax.random.key(0))
    jaxpr = closed.jaxpr
    tainted = set(jaxpr.invars)
    for eqn in jaxpr.eqns:
        if any(isinstance(v, Var) and v in tainted for v in eqn.invars):
            tainted.update(eqn.outvars)
    return not any(isinstance(v, Var) and v in tainted for v in jaxpr.outvars)


def expand_grid(est: M, grid: Mapping[str, Sequence[float]]) -> tuple[M, list[dict[str, float]]]:
    """The cartesian product of ``grid`` applied to ``est``, stacked; ``[{}]`` for an empty grid.

    Raises:
        ValueError: when a grid key is not a continuous (array-leaf) hyperparameter of ``est``.
    """
    fields = {f.name: f for f in dataclasses.fields(est)}
    for name, values in grid.items():
        if name not in fields:
            raise ValueError(
                f"grid key {name!r} is not a hyperparameter of {type(est).__name__}; "
                f"choose from {sorted(fields)}."
            )
        if fields[name].metadata.get("static", False):
            raise ValueError(
                f"grid key {name!r} is a structural (static) hyperparameter of {type(est).__name__} "
                "and cannot be vmapped; sweep it with Hydra multirun (e.g. -m estimator.{name}=a,b)."
            )
        if isinstance(values, (str, bytes)) or len(values) == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of numbers, got {values!r}.")
    points = [
        {k: float(v) for k, v in zip(grid, values, strict=True)}
        for values in itertools.product(*grid.values())
    ]
    est = as_array_hyperparameters(est)
    return stack([dataclasses.replace(est, **p) for p in points]), points


@eqx.filter_jit
def score_grid(
    stacked: M,
    train: WeakLabels,
    splits: Mapping[str, Split],
    keys: PRNGKeyArray,
    *,
    n_points: int,
) -> tuple[dict[str, dict[str, Float[Array, "h s"]]], dict[str, Array]]:
    """Fit on ``train`` and score on every split of ``splits``, for every (grid point, seed).

    One fit per (grid point, seed), scored on each split. Two-stage models
    (``AbstractTwoStageLabelModel``) compute their statistics of ``train`` once for the whole grid.

    Args:
        stacked: estimators stacked along a leading axis of size ``n_points`` (``expand_grid``).
        train: weak labels to fit on.
        splits: ``{name: split}`` to score (each needs gold ``y``).
        keys: ``(s,)`` fit keys, one per seed.
        n_points: the grid size (static).

    Returns:
        ``(scores, traces)``: ``{split: {metric: (h, s)}}`` for every metric of
        ``wsbench.metrics.score``, and the fitted models' traces with leading ``(h, s)`` axes.
    """
    two_stage = isinstance(stacked, AbstractTwoStageLabelModel)
    stats = stacked.statistics(train) if two_stage else None  # static fields only: shared

    def one(est, key):
        fitted = est.fit_from_stats(stats, key=key) if two_stage else est.fit(train, key=key)
        scores = {
            name: metrics.score(fitted.predict_proba(split.weak.L), split.y, split.weak.L)
            for name, split in splits.items()
        }
        return scores, fitted.trace

    over_seeds = eqx.filter_vmap(one, in_axes=(None, 0))
    over_grid = eqx.filter_vmap(over_seeds, in_axes=(eqx.if_array(0), None), axis_size=n_points)
    return over_grid(stacked, keys)


TIE_RULE_TAKERS = ("accuracy", "f1")
"""Metrics of ``wsbench.metrics.METRICS`` that take a ``tie_rule=`` keyword."""


def score_split(
    probs: Float[Array, "n k"], split: Split, *, tie_rule: str = "split"
) -> dict[str, Float[Array, ""]]:
    """``metrics.score`` of ``probs`` on ``split`` with ties broken by ``tie_rule``."""
    out = {
        name: fn(probs, split.y, tie_rule=tie_rule)
        if name in TIE_RULE_TAKERS
        else fn(probs, split.y)
        for name, fn in metrics.METRICS.items()
    }
    out["coverage"] = metrics.coverage(split.weak.L)
    return out


def _diagnostics(fitted, L) -> dict[str, Array]:
    """The fitted model's ``diagnostics(L)`` if it has them, plus the predicted-class histogram."""
    hist = metrics.tie_split(fitted.predict_proba(L)).mean(axis=0)
    out = {"pred_histogram": hist, "n_predicted_classes": (hist >= 0.005).sum()}
    if hasattr(fitted, "diagnostics"):
        out.update(fitted.diagnostics(L))
    return out


@eqx.filter_jit
def fit_grid(
    stacked: M,
    train: WeakLabels,
    splits: Mapping[str, Split],
    keys: PRNGKeyArray,
    *,
    n_points: int,
    tie_rule: str = "split",
    keep_probs: tuple[str, ...] = (),
) -> dict[str, dict[str, Array]]:
    """``score_grid`` plus each fit's diagnostics on ``train`` and, for the splits in ``keep_probs``,
    the predicted probabilities; all with leading ``(h, s)`` axes.

    Returns:
        ``{"scores": {split: {metric: (h, s)}}, "traces": {...}, "diagnostics": {name: (h, s, ...)},
        "probs": {split: (h, s, n, k)}}``. ``diagnostics`` holds ``pred_histogram`` and
        ``n_predicted_classes`` for every model and ``fitted.diagnostics(train.L)`` for those that
        have them (generative fits, ``AbstractGenerativeFitted``).
    """
    two_stage = isinstance(stacked, AbstractTwoStageLabelModel)
    stats = stacked.statistics(train) if two_stage else None  # static fields only: shared

    def one(est, key):
        fitted = est.fit_from_stats(stats, key=key) if two_stage else est.fit(train, key=key)
        probs = {name: fitted.predict_proba(split.weak.L) for name, split in splits.items()}
        return {
            "scores": {
                name: score_split(probs[name], split, tie_rule=tie_rule)
                for name, split in splits.items()
            },
            "traces": fitted.trace,
            "diagnostics": _diagnostics(fitted, train.L),
            "probs": {name: probs[name] for name in keep_probs},
        }

    over_seeds = eqx.filter_vmap(one, in_axes=(None, 0))
    over_grid = eqx.filter_vmap(over_seeds, in_axes=(eqx.if_array(0), None), axis_size=n_points)
    return over_grid(stacked, keys)
