"""The in-process grid: fit and score every (hyperparameter point x seed) in one compiled program.

Inside a job, seeds and continuous hyperparameters are vmapped (purejaxrl's double vmap); across
jobs, Hydra multirun sweeps what changes shapes or code (ARCHITECTURE.md, section 5).
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
from ..labelmodels import AbstractLabelModel

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
    points = [dict(zip(grid, v, strict=True)) for v in itertools.product(*grid.values())]
    est = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32) if _is_float(x) else x, est)
    points_cast = [{k: float(v) for k, v in p.items()} for p in points]
    return stack([dataclasses.replace(est, **p) for p in points_cast]), points_cast


def _is_float(x) -> bool:
    return isinstance(x, float) or (hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating))


def score_grid(
    stacked: M,
    train: WeakLabels,
    test: Split,
    keys: PRNGKeyArray,
    *,
    n_points: int,
) -> tuple[dict[str, Float[Array, "h s"]], dict[str, Array]]:
    """Fit on ``train`` and score on ``test`` for every (grid point, seed) in one program.

    Args:
        stacked: estimators stacked along a leading axis of size ``n_points`` (``expand_grid``).
        train: weak labels to fit on; test: the split to score (needs gold ``y``).
        keys: ``(s,)`` fit keys, one per seed.
        n_points: the grid size (static).

    Returns:
        ``(scores, traces)``: every metric in ``wsbench.metrics.score`` as an ``(h, s)`` array, and the
        fitted models' traces with leading ``(h, s)`` axes.
    """
    scores, traces = score_grid_splits(stacked, train, {"test": test}, keys, n_points=n_points)
    return scores["test"], traces


@eqx.filter_jit
def score_grid_splits(
    stacked: M,
    train: WeakLabels,
    splits: Mapping[str, Split],
    keys: PRNGKeyArray,
    *,
    n_points: int,
) -> tuple[dict[str, dict[str, Float[Array, "h s"]]], dict[str, Array]]:
    """Like ``score_grid``, but each fit is scored on several splits (one fit per grid point x seed).

    Returns:
        ``({split: {metric: (h, s)}}, traces)``.
    """

    def one(est, key):
        fitted = est.fit(train, key=key)
        scores = {
            name: metrics.score(fitted.predict_proba(split.weak.L), split.y, split.weak.L)
            for name, split in splits.items()
        }
        return scores, fitted.trace

    over_seeds = eqx.filter_vmap(one, in_axes=(None, 0))
    over_grid = eqx.filter_vmap(over_seeds, in_axes=(eqx.if_array(0), None), axis_size=n_points)
    return over_grid(stacked, keys)
