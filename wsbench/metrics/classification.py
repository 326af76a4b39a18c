"""Classification metrics on probabilistic predictions: pure, jittable, mask-aware.

Items with gold label ``-1`` (unknown) are excluded from every metric. A metric with no scorable
item returns NaN by design (``score`` callers check for it); none of these raise under ``jit``.
"""

import functools
import hashlib

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int


def _mask(y: Int[Array, " n"]) -> Float[Array, " n"]:
    return (y >= 0).astype(jnp.float32)


def _mean(values: Float[Array, " n"], mask: Float[Array, " n"]) -> Float[Array, ""]:
    return (values * mask).sum() / mask.sum()


def tie_split(probs: Float[Array, "n k"]) -> Float[Array, "n k"]:
    """Hard predictions with exact ties split evenly: ``1[c in argmax] / |argmax|`` per row.

    Scoring with these weights is the expected score under uniform random tie-breaking (Snorkel's
    ``tie_break_policy="random"``) without its randomness. Majority vote ties often (two LFs that
    disagree), so breaking ties towards the lowest class index would bias every metric towards it.
    """
    top = probs.max(axis=-1, keepdims=True)
    winners = (probs == top).astype(jnp.float32)
    return winners / winners.sum(axis=-1, keepdims=True)


TIE_RULES = ("split", "wrench")
WRENCH_TIE_TOL = 1e-5
"""Classes within this of the row maximum tie (snorkel's ``probs_to_preds``)."""


@functools.lru_cache(maxsize=8)
def _wrench_offsets(n: int, k: int) -> np.ndarray:
    """``[i, c] = sha1(str(i)) mod c`` for ``c = 0..k`` (entries for ``c < 2`` are 0)."""
    h = [int(hashlib.sha1(str(i).encode("utf-8")).hexdigest(), 16) for i in range(n)]
    out = np.zeros((n, k + 1), np.int32)
    for c in range(2, k + 1):
        out[:, c] = [v % c for v in h]
    return out


def tie_break_wrench(probs: Float[Array, "n k"]) -> Int[Array, " n"]:
    """Hard predictions with WRENCH's tie rule (snorkel's ``probs_to_preds``,
    ``tie_break_policy="random"``).

    Classes within ``1e-5`` of the row maximum tie; row ``i`` (its position in ``probs``) takes tied
    class number ``int(sha1(str(i))) mod n_tied`` in index order. Deterministic, but it depends on
    the row order, so it reproduces WRENCH cells only on WRENCH's row order (``load_wrench`` keeps
    the file order). Jittable: the hashes are a constant of the row count.
    """
    n, k = probs.shape
    offsets = jnp.asarray(_wrench_offsets(int(n), int(k)))
    tied = jnp.abs(probs - probs.max(axis=1, keepdims=True)) < WRENCH_TIE_TOL  # [i, c]
    n_tied = tied.sum(axis=1)
    r = jnp.take_along_axis(offsets, n_tied[:, None], axis=1)[:, 0]
    rank = jnp.cumsum(tied, axis=1) - 1  # position among the tied classes
    return jnp.argmax(tied & (rank == r[:, None]), axis=1).astype(jnp.int32)


def _hard(probs, tie_rule: str):
    if tie_rule == "split":
        return tie_split(probs)
    if tie_rule == "wrench":
        return jax.nn.one_hot(tie_break_wrench(probs), probs.shape[-1])
    raise ValueError(f"tie_rule must be one of {TIE_RULES}, got {tie_rule!r}.")


def accuracy(
    probs: Float[Array, "n k"], y: Int[Array, " n"], *, tie_rule: str = "split"
) -> Float[Array, ""]:
    """Accuracy of the argmax; ties: expected score under uniform random tie-breaking
    (``tie_rule="split"``, see ``tie_split``; jittable) or WRENCH's hash rule (``"wrench"``, see
    ``tie_break_wrench``; host-side)."""
    hit = jnp.take_along_axis(_hard(probs, tie_rule), jnp.maximum(y, 0)[:, None], axis=-1)[:, 0]
    return _mean(hit, _mask(y))


def f1(
    probs: Float[Array, "n k"], y: Int[Array, " n"], *, tie_rule: str = "split"
) -> Float[Array, ""]:
    """Binary F1 of class 1 for k = 2; macro-averaged F1 over classes for k > 2.

    True/false positive counts are expectations under uniform random tie-breaking (``tie_split``),
    or, with ``tie_rule="wrench"``, counts under WRENCH's hash rule (``tie_break_wrench``).
    """
    k = probs.shape[-1]
    pred = _hard(probs, tie_rule) * _mask(y)[:, None]  # [i, c]
    gold = jax.nn.one_hot(y, k) * _mask(y)[:, None]
    tp = (pred * gold).sum(0)
    fp = (pred * (1.0 - gold)).sum(0)
    fn = ((1.0 - pred) * gold).sum(0)
    per_class = jnp.where(tp + fp + fn > 0, 2 * tp / jnp.maximum(2 * tp + fp + fn, 1e-12), 0.0)
    return per_class[1] if k == 2 else per_class.mean()


def log_loss(
    probs: Float[Array, "n k"], y: Int[Array, " n"], eps: float = 1e-7
) -> Float[Array, ""]:
    """Mean negative log-likelihood of the gold class (probabilities clipped at ``eps``)."""
    p = jnp.take_along_axis(probs, jnp.maximum(y, 0)[:, None], axis=-1)[:, 0]
    return _mean(-jnp.log(jnp.clip(p, eps, 1.0)), _mask(y))


def brier(probs: Float[Array, "n k"], y: Int[Array, " n"]) -> Float[Array, ""]:
    """Mean squared distance between the prediction and the one-hot gold label."""
    onehot = jax.nn.one_hot(y, probs.shape[-1])
    return _mean(((probs - onehot) ** 2).sum(-1), _mask(y))


def ece(probs: Float[Array, "n k"], y: Int[Array, " n"], n_bins: int = 10) -> Float[Array, ""]:
    """Expected calibration error of the top-class confidence, ``n_bins`` equal-width bins."""
    conf = probs.max(-1)
    correct = jnp.take_along_axis(tie_split(probs), jnp.maximum(y, 0)[:, None], axis=-1)[:, 0]
    mask = _mask(y)
    bins = jnp.clip((conf * n_bins).astype(jnp.int32), 0, n_bins - 1)
    onehot = jax.nn.one_hot(bins, n_bins) * mask[:, None]
    count = onehot.sum(0)
    gap = jnp.abs((onehot * conf[:, None]).sum(0) - (onehot * correct[:, None]).sum(0))
    return gap.sum() / jnp.maximum(count.sum(), 1.0)


def _binary_auc(
    s: Float[Array, " n"], pos: Float[Array, " n"], neg: Float[Array, " n"]
) -> Float[Array, ""]:
    """Mann-Whitney AUC with midranks for ties, O(n log n); ``pos``/``neg`` are 0/1 masks."""
    order = jnp.argsort(s)
    s_sorted = s[order]
    # midrank of each sorted score: average of the first and last 1-based position of its tie group
    first = jnp.searchsorted(s_sorted, s_sorted, side="left")
    last = jnp.searchsorted(s_sorted, s_sorted, side="right")
    # ranks among scorable items only: count masked-out items below via cumulative sums
    keep = (pos + neg)[order]
    c = jnp.concatenate([jnp.zeros(1), jnp.cumsum(keep)])
    rank = (c[first] + c[last] + 1.0) / 2.0
    n_pos, n_neg = pos.sum(), neg.sum()
    rank_sum = (rank * pos[order]).sum()
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def roc_auc(probs: Float[Array, "n k"], y: Int[Array, " n"]) -> Float[Array, ""]:
    """ROC-AUC of ``probs[:, 1]`` for k = 2 (ties count one half); one-vs-rest macro mean for k > 2.

    NaN when a class has no positive or no negative scorable item.
    """
    mask = _mask(y)

    def one_class(c):
        pos = (y == c) * mask
        return _binary_auc(probs[:, c], pos, mask - pos)

    k = probs.shape[-1]
    if k == 2:
        return one_class(1)
    return jnp.mean(jnp.stack([one_class(c) for c in range(k)]))


METRICS = {
    "accuracy": accuracy,
    "f1": f1,
    "log_loss": log_loss,
    "brier": brier,
    "ece": ece,
    "roc_auc": roc_auc,
}


def coverage(L: Int[Array, "n m"]) -> Float[Array, ""]:
    """Fraction of items on which at least one LF votes."""
    return (L != -1).any(axis=1).mean()


def score(
    probs: Float[Array, "n k"], y: Int[Array, " n"], L: Int[Array, "n m"] | None = None
) -> dict[str, Float[Array, ""]]:
    """Every metric in ``METRICS`` (plus ``coverage`` of ``L`` when given) as a dict of scalars."""
    out = {name: fn(probs, y) for name, fn in METRICS.items()}
    if L is not None:
        out["coverage"] = coverage(L)
    return out
