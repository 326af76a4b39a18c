"""FlyingSquid's triplet method with loops and a linear solve (float64): the reference for
``wsbench.labelmodels.FlyingSquid``.

Written from the paper (Fu et al., ICML 2020, Algorithm 1 and eq. 4), independently of the JAX code:
moments by explicit sums over rows, the triplets enumerated one by one, each clique marginal from
``numpy.linalg.solve`` of its six linear constraints (not the closed form), and the posterior as
the product of every LF's clique marginal divided by the separator marginal, abstains included.
"""

import itertools

import numpy as np


def signed_votes(L: np.ndarray, positive: int) -> np.ndarray:
    """+1 for a vote for ``positive``, -1 for a vote for another class, 0 for an abstain."""
    S = np.zeros(L.shape)
    for i, j in itertools.product(range(L.shape[0]), range(L.shape[1])):
        if L[i, j] >= 0:
            S[i, j] = 1.0 if L[i, j] == positive else -1.0
    return S


def triplet_moments(S: np.ndarray, aggregate: str = "mean", triplets: str = "overlapping"):
    """``|E[lambda_a Y]|`` per LF (mean/median over its triplets) and the triplet counts.

    ``triplets="overlapping"`` skips a triplet unless its three LF pairs vote together on some row
    and ``M_ij != 0``; ``"all"`` (the package) keeps every pair and counts ``M_ij == 0`` as 0.
    """
    n, m = S.shape
    M = np.zeros((m, m))
    both = np.zeros((m, m), dtype=int)
    for i in range(m):
        for j in range(m):
            M[i, j] = sum(S[r, i] * S[r, j] for r in range(n)) / n
            both[i, j] = sum(1 for r in range(n) if S[r, i] != 0 and S[r, j] != 0)
    est, counts = np.zeros(m), np.zeros(m, dtype=int)
    for a in range(m):
        vals = []
        for i in range(m):
            for j in range(i):
                if a in (i, j):
                    continue
                usable = M[i, j] != 0 and min(both[a, i], both[a, j], both[i, j]) > 0
                if triplets == "overlapping" and not usable:
                    continue
                vals.append(np.sqrt(abs(M[a, i] * M[a, j] / M[i, j])) if M[i, j] != 0 else 0.0)
        counts[a] = len(vals)
        if vals:
            est[a] = np.mean(vals) if aggregate == "mean" else np.median(vals)
    return est, counts


def clique_marginal(e: float, p_one: float, p_zero: float, pi: float) -> np.ndarray:
    """``mu[v, y] = P(lambda = v, Y = y)``, v in (-1, 0, +1), y in (-1, +1), by a linear solve.

    Unknowns in the order (v, y) = (-1,-1), (-1,+1), (0,-1), (0,+1), (+1,-1), (+1,+1); constraints:
    total 1, P(lambda = 1), P(lambda = 0), P(Y = 1), P(lambda Y = 1) = (1 + e - P(lambda = 0)) / 2,
    P(lambda = 0, Y = 1) = P(lambda = 0) P(Y = 1). Negative entries are flipped and the table
    renormalised (the package's ``flip_negative``).
    """
    cells = [(-1, -1), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 1)]
    rows = [
        [1.0] * 6,
        [float(v == 1) for v, y in cells],
        [float(v == 0) for v, y in cells],
        [float(y == 1) for v, y in cells],
        [float(v * y == 1) for v, y in cells],
        [float(v == 0 and y == 1) for v, y in cells],
    ]
    rhs = [1.0, p_one, p_zero, pi, 0.5 * (1.0 + e - p_zero), p_zero * pi]
    x = np.abs(np.linalg.solve(np.array(rows), np.array(rhs)))
    x /= x.sum()
    return x.reshape(3, 2)


def fit_task(L: np.ndarray, positive: int, pi: float, aggregate="mean", triplets="overlapping"):
    """One binary task: clique marginals ``(m, 3, 2)``, moments and triplet counts."""
    S = signed_votes(L, positive)
    e, counts = triplet_moments(S, aggregate, triplets)
    tables = np.stack(
        [
            clique_marginal(e[j], np.mean(S[:, j] == 1), np.mean(S[:, j] == 0), pi)
            for j in range(S.shape[1])
        ]
    )
    return tables, e, counts


def task_posterior(L: np.ndarray, positive: int, tables: np.ndarray, pi: float) -> np.ndarray:
    """``P(Y = +1 | lambda)`` per row: P(y) prod_j mu_j(lambda_j, y) / P(y), abstains included."""
    S = signed_votes(L, positive)
    prior = np.array([1.0 - pi, pi])
    out = np.zeros(L.shape[0])
    for r in range(L.shape[0]):
        joint = prior.copy()
        for j in range(L.shape[1]):
            v = int(S[r, j]) + 1
            for y in range(2):
                joint[y] *= tables[j, v, y] / prior[y] if prior[y] > 0 else 0.0
        out[r] = joint[1] / joint.sum()
    return out


def flying_squid(
    L, n_classes: int, class_balance=None, aggregate: str = "mean", triplets: str = "overlapping"
) -> dict:
    """Fit and predict on ``L``: ``probs (n, k)``, ``tables (t, m, 3, 2)``, ``moments``, ``counts``.

    k = 2: one task with class 1 as +1; k > 2: one task per class, posteriors normalised over the
    tasks' ``P(Y^(c) = 1 | lambda)``.
    """
    L = np.asarray(L)
    k = n_classes
    b = np.full(k, 1.0 / k) if class_balance is None else np.asarray(class_balance, float)
    positives = [1] if k == 2 else list(range(k))
    fits = [fit_task(L, c, b[c], aggregate, triplets) for c in positives]
    post = np.stack(
        [task_posterior(L, c, f[0], b[c]) for c, f in zip(positives, fits, strict=True)], axis=1
    )
    probs = (
        np.concatenate([1.0 - post, post], axis=1) if k == 2 else post / post.sum(1, keepdims=True)
    )
    return {
        "probs": probs,
        "tables": np.stack([f[0] for f in fits]),
        "moments": np.stack([f[1] for f in fits]),
        "counts": np.stack([f[2] for f in fits]),
    }


# ----------------------------------------------------------------------------- centred moments


def centred_task(L: np.ndarray, positive: int, pi: float, aggregate: str = "mean"):
    """``FlyingSquid(moments="centred")``, one binary task, written out with loops (float64).

    Vote indicators ``X_(j, +1) = 1[lambda_j = +1]`` and ``X_(j, -1) = 1[lambda_j = -1]``; with
    ``E[X_u | Z] = c_u + beta_u Z`` (``Z = 1[Y = +1]``, ``P(Z = 1) = pi``) and conditional
    independence, ``Cov(X_u, X_v) = beta_u beta_v pi (1 - pi)`` for indicators of different LFs, so
    ``|beta_u| = sqrt(|C_uv C_uw / C_vw| / (pi (1 - pi)))`` for every pair (v, w) of indicators of
    two other, distinct LFs with ``|C_vw| > 1e-6`` (indicators never 1 are skipped). Sign: +1 votes
    favour ``Y = +1``, -1 votes ``Y = -1``.

    Returns:
        ``(cond, counts)``: ``cond[j, v, y] = P(lambda_j = v | Y = y)`` for v in (-1, +1) (index 0,
        1) and y in (-1, +1) (index 0, 1), floored at ``min(0.01, 1 / n)``; triplet counts per LF.
    """
    S = signed_votes(L, positive)
    n, m = S.shape
    units = [(j, v) for v in (1, -1) for j in range(m)]
    X = np.array([[1.0 if S[r, j] == v else 0.0 for (j, v) in units] for r in range(n)])
    mean = X.mean(axis=0)
    q = len(units)
    C = np.zeros((q, q))
    for a in range(q):
        for b in range(q):
            C[a, b] = sum((X[r, a] - mean[a]) * (X[r, b] - mean[b]) for r in range(n)) / n
    eps = min(0.01, 1.0 / n)
    cond = np.full((m, 2, 2), eps)
    counts = np.zeros(m, dtype=int)
    for u, (j, v) in enumerate(units):
        if mean[u] <= 0:
            continue
        vals = []
        for a in range(q):
            for b in range(a):
                la, lb = units[a][0], units[b][0]
                if la == j or lb == j or la == lb or abs(C[a, b]) <= 1e-6:
                    continue
                if mean[a] <= 0 or mean[b] <= 0:
                    continue
                vals.append(np.sqrt(abs(C[u, a] * C[u, b] / C[a, b])))
        counts[j] += len(vals)
        if not vals:
            slope = 0.0
        else:
            slope = float(np.mean(vals) if aggregate == "mean" else np.median(vals))
        beta = v * slope / np.sqrt(pi * (1 - pi))
        row = 1 if v == 1 else 0
        cond[j, row, 1] = min(max(mean[u] + beta * (1 - pi), eps), 1 - eps)
        cond[j, row, 0] = min(max(mean[u] - beta * pi, eps), 1 - eps)
    return cond, counts


def flying_squid_centred(L, n_classes: int, class_balance=None, aggregate: str = "mean") -> dict:
    """``probs (n, k)`` of ``FlyingSquid(moments="centred")``: every task's posterior
    ``P(Y^(c) = y | votes)`` from the LFs that vote (abstains contribute nothing), combined over
    the one-vs-rest tasks as in ``flying_squid``."""
    L = np.asarray(L)
    k = n_classes
    b = np.full(k, 1.0 / k) if class_balance is None else np.asarray(class_balance, float)
    positives = [1] if k == 2 else list(range(k))
    post = []
    for c in positives:
        cond, _ = centred_task(L, c, b[c], aggregate)
        S = signed_votes(L, c)
        out = np.zeros(L.shape[0])
        for r in range(L.shape[0]):
            joint = np.array([1.0 - b[c], b[c]])
            for j in range(L.shape[1]):
                if S[r, j] != 0:
                    joint *= cond[j, 1 if S[r, j] > 0 else 0]
            out[r] = joint[1] / joint.sum()
        post.append(out)
    post = np.stack(post, axis=1)
    probs = (
        np.concatenate([1.0 - post, post], axis=1) if k == 2 else post / post.sum(1, keepdims=True)
    )
    return {"probs": probs}
