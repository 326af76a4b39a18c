"""Aggregates over the seed axis."""

import numpy as np


def mean_sem(values, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean along ``axis`` (sem = 0 for a single value)."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[axis]
    sem = v.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(np.mean(v, axis=axis).shape)
    return v.mean(axis=axis), sem
