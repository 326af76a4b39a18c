"""Majority vote: the baseline every label model must beat."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ..data import WeakLabels, vote_counts
from ._base import AbstractFitted, AbstractLabelModel, check_weak_labels, checked_L
from ._hyper import check_key
from ._rows import map_rows


class MajorityVoteFitted(AbstractFitted):
    """Majority vote has nothing to learn but the prior used for rows with no votes."""

    prior: Float[Array, " k"]
    n_lfs: int = eqx.field(static=True)
    trace: dict[str, Array]

    def predict_proba(self, L: Int[ArrayLike, "n m"]) -> Float[Array, "n k"]:
        k = self.prior.shape[0]
        L = checked_L(L, n_classes=k, n_lfs=self.n_lfs)
        return _predict(self.prior, L)


@eqx.filter_jit
def _predict(prior: Float[Array, " k"], L: Int[Array, "n m"]) -> Float[Array, "n k"]:
    """Majority-vote posteriors, one row block at a time (no ``(n, m)`` temporaries)."""
    return map_rows(lambda Lc: _predict_rows(prior, Lc), L)


def _predict_rows(prior: Float[Array, " k"], L: Int[Array, "n m"]) -> Float[Array, "n k"]:
    counts = vote_counts(L, prior.shape[0])
    top = counts.max(axis=1, keepdims=True)
    winners = ((counts == top) & (top > 0)).astype(jnp.float32)
    n_winners = winners.sum(axis=1, keepdims=True)
    tied_uniformly = winners / jnp.maximum(n_winners, 1.0)
    return jnp.where(top > 0, tied_uniformly, prior[None, :])


class MajorityVote(AbstractLabelModel):
    r"""Majority vote over the non-abstaining LFs.

    $P(Y = y \mid \lambda) = \mathbb{1}[y \in W] / |W|$ with $W = \arg\max_y \sum_j \mathbb{1}[\lambda_j = y]$:
    ties are split uniformly among the tied classes. Rows on which every LF abstains get the class
    prior when the data carry one (``WeakLabels.class_balance``, set by ``dev_labels=class_balance``),
    else the uniform distribution.

    Example:
        >>> import jax.random as jr, numpy as np
        >>> from wsbench.data import WeakLabels
        >>> L = np.array([[0, 0, 1], [1, -1, 0], [-1, -1, -1]])
        >>> MajorityVote().fit(WeakLabels(L=L, n_classes=2), key=jr.key(0)).predict_proba(L).tolist()
        [[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]]
    """

    def fit(self, data: WeakLabels, *, key: PRNGKeyArray) -> MajorityVoteFitted:
        check_key("MajorityVote.fit", key)
        del key  # deterministic; accepted for API uniformity
        data = check_weak_labels(data)
        k = data.n_classes
        prior = jnp.full((k,), 1.0 / k) if data.class_balance is None else data.class_balance
        return MajorityVoteFitted(prior=prior, n_lfs=data.m, trace={})


def wrench_majority_vote_proba(L, n_classes: int) -> np.ndarray:
    """WRENCH's ``MajorityVoting.predict_proba`` in float64: each row's vote fractions, uniform on
    rows without votes (host-side NumPy; with ``wsbench.metrics`` ``tie_rule="wrench"`` this
    reproduces WRENCH's published majority-vote cells exactly)."""
    L = np.asarray(L)
    if L.ndim != 2 or not np.issubdtype(L.dtype, np.integer):
        raise ValueError(f"L must be an (n, m) integer label matrix, got {L.dtype} {L.shape}.")
    if L.size and (L.min() < -1 or L.max() >= n_classes):
        raise ValueError(f"L has values outside -1..{n_classes - 1}.")
    return _vote_fractions(L, n_classes)


def _vote_fractions(L: np.ndarray, k: int) -> np.ndarray:
    counts = np.stack([(L == c).sum(axis=1) for c in range(k)], axis=1).astype(np.float64)
    counts[counts.sum(axis=1) == 0] = 1.0
    return counts / counts.sum(axis=1, keepdims=True)
