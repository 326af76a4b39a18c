"""Slow, obviously-correct NumPy/SciPy matrix-completion label model (independent LFs, known prior).

Same objective as ``wsbench.labelmodels.MatrixCompletion`` — ``||M * (O - mu P mu^T)||^2 +
||mu p - diag(O)||^2 + l2 ||mu - mu0||^2`` over ``mu in [0, 1]`` — but built with explicit loops and
minimised with ``scipy.optimize.minimize(method="L-BFGS-B")`` using an analytic gradient, then the same
post-processing (class alignment by ``scipy.optimize.linear_sum_assignment``, tables with an abstain row)
and a loop-based posterior that, like Snorkel's, skips abstaining LFs.
"""

import numpy as np

EPS = 1e-6


def overlap_matrix(L: np.ndarray, k: int) -> np.ndarray:
    """``O[j*k + a, i*k + b] = mean(L[:, j] == a and L[:, i] == b)``, by explicit loops over LF pairs."""
    n, m = L.shape
    O = np.zeros((m * k, m * k))
    for j in range(m):
        for i in range(m):
            for a in range(k):
                for b in range(k):
                    O[j * k + a, i * k + b] = np.mean((L[:, j] == a) & (L[:, i] == b))
    return O


def fit(
    L: np.ndarray, k: int, prior: np.ndarray, *, l2: float = 0.0, prec_init: float = 0.7
) -> dict:
    """Fit and return ``{"mu": (m, k, k) [j, a, y], "tables": (m, k+1, k), "loss": float}``."""
    from scipy.optimize import linear_sum_assignment, minimize  # lazy: ~1 s of collection

    n, m = L.shape
    O = overlap_matrix(L, k)
    mask = np.ones((m * k, m * k))
    for j in range(m):
        mask[j * k : (j + 1) * k, j * k : (j + 1) * k] = 0.0
    coverage = (L >= 0).mean(axis=0)
    mu0 = np.zeros((m, k, k))
    for j in range(m):
        for a in range(k):
            for y in range(k):
                mu0[j, a, y] = coverage[j] * (prec_init if a == y else (1 - prec_init) / (k - 1))
    mu0 = mu0.reshape(m * k, k)
    diag = np.diag(O)

    def objective(x):
        mu = x.reshape(m * k, k)
        R = mask * (O - mu @ np.diag(prior) @ mu.T)
        r = mu @ prior - diag
        value = np.sum(R**2) + np.sum(r**2) + l2 * np.sum((mu - mu0) ** 2)
        grad = -4.0 * R @ mu @ np.diag(prior) + 2.0 * np.outer(r, prior) + 2.0 * l2 * (mu - mu0)
        return value, grad.ravel()

    res = minimize(
        objective,
        mu0.ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * mu0.size,
        options={"maxiter": 10000, "ftol": 1e-15, "gtol": 1e-12},
    )
    mu = res.x.reshape(m, k, k)
    # align latent classes among classes of equal prior: maximise the summed agreement
    cost = -mu.sum(axis=0) + 1e3 * (np.abs(prior[:, None] - prior[None, :]) > 1e-6)
    rows, cols = linear_sum_assignment(cost)
    mu = mu[:, :, cols[np.argsort(rows)]]
    tables = np.zeros((m, k + 1, k))
    for j in range(m):
        votes = mu[j] / np.maximum(mu[j].sum(axis=0, keepdims=True), 1.0)  # P(vote | y) <= 1
        tables[j, 1:] = votes
        tables[j, 0] = 1.0 - votes.sum(axis=0)
        tables[j] = np.maximum(tables[j], EPS)
        tables[j] /= tables[j].sum(axis=0, keepdims=True)
    return {"mu": mu, "tables": tables, "loss": float(res.fun)}


def posterior(L: np.ndarray, tables: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """``P(Y | L)`` for conditionally independent LFs, one row and one LF at a time; abstains are skipped."""
    n, m = L.shape
    out = np.zeros((n, len(prior)))
    for r in range(n):
        logp = np.log(prior).copy()
        for j in range(m):
            if L[r, j] != -1:
                logp += np.log(tables[j, L[r, j] + 1])
        p = np.exp(logp - logp.max())
        out[r] = p / p.sum()
    return out
