"""Majority vote, one item at a time (float64, loops only): the reference for ``MajorityVote``."""

import numpy as np


def majority_vote(L, n_classes: int, class_balance=None) -> np.ndarray:
    """``(n, k)`` majority-vote posterior: ties split uniformly, rows without votes get the prior.

    Args:
        L: ``(n, m)`` integer votes, ``-1`` = abstain.
        n_classes: k.
        class_balance: prior for rows without votes; uniform when ``None``.
    """
    L = np.asarray(L)
    n, m = L.shape
    prior = (
        np.full(n_classes, 1.0 / n_classes)
        if class_balance is None
        else np.asarray(class_balance, float)
    )
    out = np.zeros((n, n_classes))
    for i in range(n):
        counts = [0] * n_classes
        for j in range(m):
            if L[i, j] != -1:
                counts[L[i, j]] += 1
        best = max(counts)
        if best == 0:
            out[i] = prior
            continue
        winners = [t for t in range(n_classes) if counts[t] == best]
        for t in winners:
            out[i, t] = 1.0 / len(winners)
    return out
