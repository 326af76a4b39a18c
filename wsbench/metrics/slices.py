"""Per-slice scores: every metric of ``METRICS`` on the rows of each slice (jittable, mask-aware).

A slice matrix ``S`` is ``(n, s)`` bool (``wsbench.lf.apply_slices``). Slice j's score is the
metric on the rows with ``S[:, j]`` and a known gold label; rows outside the slice are masked by
setting their gold label to ``-1``, which every metric in ``classification`` already ignores, so
one ``vmap`` over slices computes all of them. A slice with no scorable row scores NaN (the
convention of ``classification``); ``n`` says how many rows were scored.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ..data.validate import is_traced
from .classification import METRICS


def _check(probs, y, S, metrics):
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {sorted(METRICS)}.")
    if S.ndim != 2 or S.shape[0] != probs.shape[0] or y.shape != (probs.shape[0],):
        raise ValueError(
            f"S must be (n, s) with n = {probs.shape[0]} rows like probs and y, got S "
            f"{tuple(S.shape)}, y {tuple(y.shape)}; build it with wsbench.lf.apply_slices."
        )
    if S.dtype != bool and not is_traced(S):
        raise ValueError(f"S must be a bool slice matrix, got dtype {S.dtype}.")


def slice_scores(
    probs: Float[Array, "n k"],
    y: Int[Array, " n"],
    S: Bool[Array, "n s"],
    metrics: Sequence[str] = ("accuracy", "f1"),
) -> dict[str, Float[Array, " s"]]:
    """``{metric: (s,) scores}`` plus ``"n"``: the number of scored rows per slice.

    Args:
        probs: predicted class distributions.
        y: gold labels, ``-1`` = unknown (never scored).
        S: the slice matrix.
        metrics: names in ``wsbench.metrics.METRICS`` (static under ``jit``).

    Raises:
        ValueError: unknown metric names, or an ``S`` of the wrong shape or dtype.
    """
    metrics = tuple(metrics)
    S, y = jnp.asarray(S), jnp.asarray(y)
    _check(probs, y, S, metrics)
    y_per_slice = jnp.where(S.T, y[None, :], -1)  # (s, n)
    out = {m: jax.vmap(lambda ys, f=METRICS[m]: f(probs, ys))(y_per_slice) for m in metrics}
    out["n"] = (y_per_slice >= 0).sum(axis=1)
    return out


def slice_table(
    probs: Float[Array, "n k"],
    y: Int[Array, " n"],
    S: Bool[Array, "n s"],
    names: Sequence[str],
    metrics: Sequence[str] = ("accuracy", "f1"),
) -> dict[str, dict[str, float]]:
    """Host-side summary ``{slice_name: {metric: float, "n": int}}`` with an ``"all"`` row first.

    Raises:
        ValueError: ``names`` that do not match ``S``'s columns, or as for ``slice_scores``.
    """
    names = list(names)
    if len(names) != np.shape(S)[1] or len(set(names)) != len(names) or "all" in names:
        raise ValueError(
            f"names must be {np.shape(S)[1]} distinct slice names other than 'all', got {names}."
        )
    S_all = jnp.concatenate([jnp.ones((np.shape(S)[0], 1), bool), jnp.asarray(S)], axis=1)
    scores = slice_scores(probs, y, S_all, metrics)
    return {
        name: {m: (int(v[j]) if m == "n" else float(v[j])) for m, v in scores.items()}
        for j, name in enumerate(["all", *names])
    }


def slice_metrics(
    probs: Float[Array, "n k"],
    y: Int[Array, " n"],
    S: Bool[Array, "n s"],
    names: Sequence[str],
    *,
    prefix: str,
    metrics: Sequence[str] = ("accuracy",),
) -> dict[str, float]:
    """Per-slice scores as flat result columns ``slice/<name>/<prefix><metric>`` and
    ``slice/<name>/n`` (the hook every runner calls; ``prefix`` names the model, e.g.
    ``"labelmodel_"``).

    Example (a runner's row, test split)::

        row.update(slice_metrics(fitted.predict_proba(test.weak.L), test.y, S_test, names,
                                 prefix="labelmodel_"))

    Raises:
        ValueError: as for :func:`slice_table`.
    """
    table = slice_table(probs, y, S, names, metrics)
    out: dict[str, float] = {}
    for name, scores in table.items():
        if name == "all":
            continue
        out[f"slice/{name}/n"] = float(scores["n"])
        for m in metrics:
            out[f"slice/{name}/{prefix}{m}"] = scores[m]
    return out
