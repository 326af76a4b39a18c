"""Noise-aware losses: the expected loss under a label distribution."""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def soft_cross_entropy(
    logits: Float[Array, "n k"],
    targets: Float[Array, "n k"],
    weights: Float[Array, " n"] | None = None,
) -> Float[Array, ""]:
    r"""Cross-entropy against probabilistic targets, weighted mean over rows.

    For a row with label distribution $q$ and predicted log-probabilities $\log p$,
    $\ell = -\sum_y q_y \log p_y = \mathbb{E}_{y \sim q}[-\log p_y]$: the expected hard
    cross-entropy when the true label is drawn from $q$ (the noise-aware loss of Ratner et al.,
    "Data Programming", NeurIPS 2016, eq. 3). One-hot targets give the ordinary cross-entropy.

    Args:
        logits: unnormalised scores.
        targets: rows are distributions over the k classes.
        weights: optional non-negative per-row weights (0 drops a row); the result is
            ``sum_i w_i l_i / sum_i w_i`` (0 when every weight is 0).
    """
    per_row = -(targets * jax.nn.log_softmax(logits, axis=-1)).sum(axis=-1)
    if weights is None:
        return per_row.mean()
    return (weights * per_row).sum() / jnp.maximum(weights.sum(), 1e-12)


def votes_weight(L) -> Float[Array, " n"]:
    """1.0 for rows on which at least one LF votes, 0.0 for all-abstain rows (to drop them)."""
    return (jnp.asarray(L) != -1).any(axis=1).astype(jnp.float32)
