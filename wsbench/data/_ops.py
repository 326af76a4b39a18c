"""Pure, jittable operations on label matrices."""

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int


def vote_counts(L: Int[Array, "n m"], n_classes: int) -> Float[Array, "n k"]:
    """Number of votes for each class per item.

    One pass per class over ``L`` instead of an ``(n, m, k)`` one-hot (memory O(n k)). For k = 2 the
    counts follow from two row sums, ``sum(L) = n_1 - n_abstain`` and ``n_abstain = sum(max(-L, 0))``,
    which XLA on CPU runs about twice as fast as two compare-and-count passes.
    """
    if n_classes == 2:
        n_abstain = jnp.maximum(-L, 0).sum(axis=1)
        n_1 = L.sum(axis=1) + n_abstain
        n_0 = L.shape[1] - n_abstain - n_1
        return jnp.stack([n_0, n_1], axis=1).astype(jnp.float32)
    return jnp.stack([(L == c).sum(axis=1, dtype=jnp.float32) for c in range(n_classes)], axis=1)


def coverage(L: Int[Array, "n m"]) -> Float[Array, " m"]:
    """Fraction of items each LF votes on."""
    return (L != -1).mean(axis=0)


def overlap(L: Int[Array, "n m"]) -> Float[Array, " m"]:
    """Fraction of items on which each LF votes together with at least one other LF."""
    voted = L != -1
    others = voted.sum(axis=1, keepdims=True) - voted
    return (voted & (others > 0)).mean(axis=0)


def conflict(L: Int[Array, "n m"]) -> Float[Array, " m"]:
    """Fraction of items on which each LF votes and at least one other LF votes differently."""
    voted = L != -1
    disagree = voted[:, :, None] & voted[:, None, :] & (L[:, :, None] != L[:, None, :])
    return disagree.any(axis=2).mean(axis=0)


def class_frequencies(y: Int[Array, " n"], n_classes: int) -> Float[Array, " k"]:
    """Add-one smoothed class frequencies of gold labels ``y`` (``-1`` = unknown is skipped)."""
    y = np.asarray(y)
    counts = np.bincount(y[y >= 0], minlength=n_classes).astype(np.float64) + 1.0
    return jnp.asarray(counts / counts.sum(), jnp.float32)
