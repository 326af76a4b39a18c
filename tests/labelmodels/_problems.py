"""Small synthetic problems that look like real weak supervision: sparse one-sided LFs, many classes.

Every LF votes for one class only (a keyword LF): LF ``j`` targets class ``c_j`` and votes ``c_j`` with
probability ``prop_j`` on rows of class ``c_j`` and with probability ``prop_j * leak_j`` on the others
(``leak_j < 1``: the vote raises the probability of its class), else abstains.
"""

import numpy as np

from wsbench.data import WeakLabels


def one_sided(
    seed: int,
    *,
    n: int,
    k: int,
    lfs_per_class,
    prior,
    prop=(0.05, 0.3),
    leak=(0.02, 0.2),
):
    """``(weak, y, targets)``: a label matrix of one-sided LFs, the gold labels and each LF's class.

    Args:
        lfs_per_class: ``(k,)`` number of LFs voting each class (0 allowed: a class nobody votes).
        prior: ``(k,)`` class balance; prop, leak: uniform ranges of the per-LF propensity and leak.
    """
    rng = np.random.default_rng(seed)
    prior = np.asarray(prior, float)
    y = rng.choice(k, size=n, p=prior / prior.sum())
    targets = np.repeat(np.arange(k), lfs_per_class)
    m = len(targets)
    p = rng.uniform(*prop, size=m)
    lk = rng.uniform(*leak, size=m)
    rate = np.where(y[:, None] == targets[None, :], p[None, :], (p * lk)[None, :])
    fires = rng.random((n, m)) < rate
    L = np.where(fires, targets[None, :], -1).astype(np.int32)
    return WeakLabels(L=L, n_classes=k), y, targets


def mv_accuracy(L: np.ndarray, y: np.ndarray, k: int) -> float:
    """Majority-vote accuracy with ties and empty rows split uniformly (the expected score)."""
    counts = np.stack([(L == c).sum(1) for c in range(k)], 1).astype(float)
    top = counts.max(1, keepdims=True)
    w = (counts == top).astype(float)
    w /= w.sum(1, keepdims=True)
    return float(w[np.arange(len(y)), y].mean())


def expected_accuracy(probs, y) -> float:
    probs = np.asarray(probs)
    w = (probs == probs.max(1, keepdims=True)).astype(float)
    w /= w.sum(1, keepdims=True)
    return float(w[np.arange(len(y)), y].mean())
