"""Dawid-Skene MAP-EM written out with loops in float64: the reference for ``DawidSkene``.

Same algorithm, step for step, as ``wsbench.labelmodels.DawidSkene``: majority-vote initial
posterior (ties uniform, rows without votes get the prior), then ``n_iter`` rounds of
M-step (add-``smoothing`` counts; uniform rows where nothing was counted) and E-step, recording the
MAP objective of each round's parameters; finally latent classes are renamed by the permutation that
maximises the summed diagonal of the confusion matrices (brute force over all permutations).
"""

import itertools
import math

import numpy as np

from .majority_vote_numpy import majority_vote


def _normalise(row: np.ndarray, alpha: float) -> np.ndarray:
    row = row + alpha
    total = row.sum()
    return row / total if total > 0 else np.full(row.shape, 1.0 / row.size)


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def posterior(L, prior: np.ndarray, confusions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P(Y | L)`` row by row and the per-row log evidence ``log P(L_i)``."""
    L = np.asarray(L)
    n, m = L.shape
    k = prior.shape[0]
    probs = np.zeros((n, k))
    log_evidence = np.zeros(n)
    for i in range(n):
        joint = np.zeros(k)
        for t in range(k):
            s = _log(prior[t])
            for j in range(m):
                if L[i, j] != -1:
                    s += _log(confusions[j, t, L[i, j]])
            joint[t] = s
        top = joint.max()
        log_evidence[i] = top + math.log(np.exp(joint - top).sum())
        probs[i] = np.exp(joint - log_evidence[i])
    return probs, log_evidence


def dawid_skene_em(
    L, n_classes: int, n_iter: int, smoothing: float = 0.0, class_balance=None
) -> dict[str, np.ndarray]:
    """Fit Dawid-Skene by EM.

    Returns:
        ``probs`` (the posterior on ``L`` under the final parameters, rows without votes = prior),
        ``prior`` ``(k,)``, ``confusions`` ``(m, k, k)`` indexed ``[j, t, o]`` (both after class
        alignment) and ``objective`` ``(n_iter,)``.
    """
    L = np.asarray(L)
    n, m = L.shape
    k = n_classes
    a = float(smoothing)
    fixed = class_balance is not None
    init_prior = np.full(k, 1.0 / k) if not fixed else np.asarray(class_balance, float)
    q = majority_vote(L, k, init_prior)
    objective = []
    for _ in range(n_iter):
        # M-step
        counts = np.zeros((m, k, k))
        for i in range(n):
            for j in range(m):
                if L[i, j] != -1:
                    for t in range(k):
                        counts[j, t, L[i, j]] += q[i, t]
        conf = np.zeros((m, k, k))
        for j in range(m):
            for t in range(k):
                conf[j, t] = _normalise(counts[j, t], a)
        prior = init_prior if fixed else _normalise(q.sum(axis=0), a)
        # E-step and the MAP objective of (prior, conf)
        q, log_evidence = posterior(L, prior, conf)
        log_dirichlet = sum(a * _log(c) for c in conf.ravel() if a > 0)
        if not fixed:
            log_dirichlet += sum(a * _log(p) for p in prior if a > 0)
        objective.append(log_evidence.sum() + log_dirichlet)
    # align latent classes with LF output classes
    summed = conf.sum(axis=0)
    perm = max(
        itertools.permutations(range(k)), key=lambda p: sum(summed[t, p[t]] for t in range(k))
    )
    inverse = np.argsort(perm)
    prior, conf = prior[inverse], conf[:, inverse, :]
    probs, _ = posterior(L, prior, conf)
    no_votes = (L == -1).all(axis=1)
    probs[no_votes] = prior
    return {"probs": probs, "prior": prior, "confusions": conf, "objective": np.asarray(objective)}
