"""Model selection on the valid split: fit each candidate end model, keep the best valid score.

Early stopping is expressed as selection over candidates that differ in ``n_steps`` (the training
loop has a static number of steps), so no test item is ever read and the cost is fixed in advance.
"""

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from ..metrics import METRICS
from ._base import AbstractEndModel, AbstractFittedEndModel

LOWER_IS_BETTER = frozenset({"log_loss", "brier", "ece"})


@eqx.filter_jit
def _fit(est: AbstractEndModel, x, targets, weights, key) -> AbstractFittedEndModel:
    """``est.fit`` compiled once per structure (static fields, shapes): candidates that differ
    only in array-leaf hyperparameters (``lr``, ``weight_decay``), seeds and training targets
    share one program (an eager ``fit`` re-traces its training loop on every call)."""
    return est.fit(x, targets, weights=weights, key=key)


def select_on_valid(
    candidates: Sequence[AbstractEndModel],
    x,
    targets,
    x_valid,
    y_valid,
    *,
    weights=None,
    metric: str = "accuracy",
    score: Callable[..., float] | None = None,
    key: PRNGKeyArray,
) -> tuple[AbstractFittedEndModel, int, np.ndarray]:
    """Fit every candidate on ``(x, targets)`` with the same ``key`` and pick the best on valid.

    Args:
        candidates: end models (e.g. ``LogisticRegression`` over a grid of ``lr``,
            ``weight_decay`` and ``n_steps``).
        x, targets, weights: the training features, probabilistic labels and row weights, passed
            to each candidate's ``fit``.
        x_valid, y_valid: valid features and gold labels (``-1`` = unknown, ignored).
        metric: a name in ``wsbench.metrics.METRICS``; ``log_loss``, ``brier`` and ``ece`` are
            minimised, the others maximised. Ties go to the earliest candidate.
        score: optional ``score(valid_predictions, y_valid) -> float``, maximised, used instead of
            ``metric`` (e.g. a multi-task end model, whose predictions are a tuple of heads and
            whose ``y_valid`` is ``(n, tasks)``: ``wsbench.run.metal``).
        key: PRNG key, the same for every candidate.

    Returns:
        ``(fitted, index, valid_scores)``: the best fitted model, its index in ``candidates`` and
        every candidate's valid score.

    Raises:
        ValueError: no candidates, an unknown metric, or a valid split without gold labels.
    """
    candidates = tuple(candidates)
    if not candidates:
        raise ValueError("select_on_valid needs at least one candidate end model.")
    if score is None and metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {sorted(METRICS)}.")
    if score is not None:
        metric = "score"  # maximised
    scorer = METRICS[metric] if score is None else score
    y_valid = jnp.asarray(y_valid)
    if not bool((y_valid >= 0).any()):
        raise ValueError("y_valid has no known gold label (all -1); selection needs some.")
    fitted_all, scores = [], []
    for est in candidates:
        fitted = _fit(est, x, targets, weights, key)
        fitted_all.append(fitted)
        scores.append(float(scorer(fitted.predict_proba(x_valid), y_valid)))
    scores = np.asarray(scores)
    if np.isnan(scores).all():
        raise ValueError(
            f"valid {metric} is NaN for every candidate (a class absent from y_valid?)."
        )
    safe = np.where(np.isnan(scores), np.inf if metric in LOWER_IS_BETTER else -np.inf, scores)
    best = int(np.argmin(safe) if metric in LOWER_IS_BETTER else np.argmax(safe))
    return fitted_all[best], best, scores


SELECT_KEYS = ("lr", "weight_decay", "n_steps")
"""End-model hyperparameters ``cfg.select`` may list (the candidates are their product)."""


def grid_candidates(endmodel: AbstractEndModel, grid: dict[str, Any]) -> list[AbstractEndModel]:
    """``endmodel`` with every combination of ``grid``'s values (lr/weight_decay as arrays, so
    candidates that differ only in them share one compiled program)."""
    names = list(grid)
    out = []
    for combo in itertools.product(*(grid[k] for k in names)):
        kw = {
            k: (int(v) if k == "n_steps" else jnp.asarray(v, jnp.float32))
            for k, v in zip(names, combo, strict=True)
        }
        out.append(dataclasses.replace(endmodel, **kw))
    return out
