"""Uncertainty of a score: mean and sem over the seed axis; bootstrap intervals over test rows.

Seeds only change the fitting key, which leaves deterministic estimators (majority vote, EM from
a deterministic init) bit-identical, so a sem over seeds of zero says nothing about how much the
score would move on another test set of the same size. ``bootstrap_ci`` answers that: it resamples
the scored test rows with replacement and reports a percentile interval of the metric.
"""

import math
import numbers
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray


def mean_sem(values, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean along ``axis`` (sem = 0 for a single value)."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[axis]
    sem = v.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(np.mean(v, axis=axis).shape)
    return v.mean(axis=axis), sem


def _check_static(n_boot, level) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 2:
        raise ValueError(
            f"n_boot must be an integer >= 2 (the number of bootstrap resamples), got {n_boot!r}; "
            "use e.g. n_boot=1000."
        )
    if (
        isinstance(level, bool)
        or not isinstance(level, numbers.Real)
        or not math.isfinite(level)
        or not 0.0 < level < 1.0
    ):
        raise ValueError(
            f"level must be a number strictly between 0 and 1 (the interval's nominal coverage), "
            f"got {level!r}; use e.g. level=0.95."
        )


def _check_arrays(probs, y, key) -> None:
    if not hasattr(probs, "shape") or len(probs.shape) != 2:
        raise ValueError(
            f"probs must be an (n, k) array of class probabilities, got shape "
            f"{getattr(probs, 'shape', type(probs).__name__)}."
        )
    if not hasattr(y, "shape") or tuple(y.shape) != (probs.shape[0],):
        raise ValueError(
            f"y must be an (n,) integer array of gold labels (-1 = unknown) with n = "
            f"probs.shape[0] = {probs.shape[0]}, got shape {getattr(y, 'shape', type(y).__name__)}."
        )
    if not jnp.issubdtype(jnp.asarray(y).dtype, jnp.integer):
        raise TypeError(f"y must hold integer labels, got dtype {jnp.asarray(y).dtype}.")
    if not (hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)):
        raise TypeError(
            f"key must be a typed JAX PRNG key such as jax.random.key(0), got "
            f"{type(key).__name__}{'' if not hasattr(key, 'dtype') else ' of dtype ' + str(key.dtype)}."
        )


def resample_indices(
    y: Int[Array, " n"], *, n_boot: int, key: PRNGKeyArray
) -> tuple[Int[Array, "n_boot n"], Int[Array, "n_boot n"]]:
    """Row indices and gold labels of ``n_boot`` bootstrap resamples of the scorable rows.

    Only rows with ``y >= 0`` are resampled, ``n_valid`` of them with replacement per resample. To
    keep shapes static under ``jit``, each resample has ``n`` slots: the first ``n_valid`` hold the
    draws, the rest point at row 0 with gold label ``-1`` (masked out by every metric).

    Returns:
        ``(idx, y_boot)``: ``probs[idx[b]]`` with labels ``y_boot[b]`` is resample ``b``.
    """
    n = y.shape[0]
    valid = y >= 0
    n_valid = valid.sum()
    order = jnp.argsort(~valid, stable=True)  # scorable rows first, in their original order
    u = jr.uniform(key, (n_boot, n))
    pick = jnp.minimum(jnp.floor(u * n_valid).astype(jnp.int32), jnp.maximum(n_valid - 1, 0))
    used = jnp.arange(n)[None, :] < n_valid
    idx = jnp.where(used, order[pick], 0)
    y_boot = jnp.where(used, y[idx], -1)
    return idx, y_boot


def bootstrap_samples(
    metric_fn: Callable[[Float[Array, "n k"], Int[Array, " n"]], Float[Array, ""]],
    probs: Float[Array, "n k"],
    y: Int[Array, " n"],
    *,
    n_boot: int = 1000,
    batch_size: int | None = None,
    key: PRNGKeyArray,
) -> Float[Array, " n_boot"]:
    """``metric_fn`` on each of ``n_boot`` resamples of the scorable test rows (vectorised).

    ``batch_size`` bounds memory (resamples evaluated at once; default: all, i.e. one vmap).
    """
    _check_static(n_boot, 0.5)
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}.")
    _check_arrays(probs, y, key)
    return _samples(metric_fn, probs, y, key, n_boot=n_boot, batch_size=batch_size)


@eqx.filter_jit
def _samples(metric_fn, probs, y, key, *, n_boot, batch_size):
    idx, y_boot = resample_indices(y, n_boot=n_boot, key=key)
    if batch_size is None or batch_size >= n_boot:
        return jax.vmap(lambda i, yb: metric_fn(probs[i], yb))(idx, y_boot)
    return jax.lax.map(lambda a: metric_fn(probs[a[0]], a[1]), (idx, y_boot), batch_size=batch_size)


def bootstrap_ci(
    metric_fn: Callable[[Float[Array, "n k"], Int[Array, " n"]], Float[Array, ""]],
    probs: Float[Array, "n k"],
    y: Int[Array, " n"],
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    batch_size: int | None = None,
    key: PRNGKeyArray,
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    """Percentile bootstrap interval ``(lo, hi)`` of ``metric_fn(probs, y)`` over test rows.

    Resamples the rows with a gold label (``y >= 0``) with replacement, ``n_boot`` times, scores
    each resample with ``metric_fn`` (any metric in ``wsbench.metrics``, or any
    ``(probs, y) -> scalar`` that masks ``y == -1``), and returns the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles. Jittable (``n_boot``, ``level``, ``batch_size`` static) and
    vmappable over keys or over stacked ``probs``. Resamples on which the metric is undefined
    (NaN, e.g. ROC-AUC of a one-class resample) are ignored; all-NaN gives ``(nan, nan)``.

    Example::

        lo, hi = bootstrap_ci(accuracy, probs, y_test, key=jax.random.key(0))
    """
    _check_static(n_boot, level)
    stats = bootstrap_samples(metric_fn, probs, y, n_boot=n_boot, batch_size=batch_size, key=key)
    alpha = (1.0 - level) / 2.0
    lo, hi = jnp.nanquantile(stats, jnp.array([alpha, 1.0 - alpha]))
    return lo, hi
