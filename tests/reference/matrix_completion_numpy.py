"""Slow, obviously-correct NumPy/SciPy matrix-completion label model (independent LFs, known prior).

Same objective as ``wsbench.labelmodels.MatrixCompletion`` — ``||M * (O - mu P mu^T)||^2 +
||mu p - diag(O)||^2 + l2 ||mu - mu_init||^2`` over ``mu in [0, 1]`` — but built with explicit loops and
minimised with ``scipy.optimize.minimize`` using an analytic gradient (L-BFGS-B; SLSQP when the
identifiability constraint ``mu[j, a, a] >= mu[j, a, y]`` is imposed), then the same post-processing
(class alignment by ``scipy.optimize.linear_sum_assignment`` when unconstrained, tables with an
abstain row) and a loop-based posterior that, like Snorkel's, skips abstaining LFs.

Covered settings: the initial guess ``mu_init`` (``init="coverage"``: every LF votes with its
coverage, correct with probability ``prec_init``; ``init="marginal"``: every vote multiplies its
class's odds by one ratio ``r = prec_init (k - 1) / (1 - prec_init)``, scaled to the LF's observed
vote rates), the ``l2`` pull towards it, the tempered prior ``p ** prior_power`` (renormalised) and
the anchor constraint.
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


def tempered_prior(prior: np.ndarray, power: float) -> np.ndarray:
    """``prior ** power / sum(prior ** power)`` (power 1: the prior itself, 0: uniform)."""
    prior = np.asarray(prior, float)
    if power == 1.0:
        return prior
    t = prior**power
    return t / t.sum()


def initial_guess(
    L: np.ndarray, k: int, prior: np.ndarray, *, init: str, prec_init: float
) -> np.ndarray:
    """``(m, k, k)`` ``mu_init[j, a, y]``, the guess the fit starts from and ``l2`` pulls towards.

    ``"coverage"``: ``coverage_j * (prec_init if a == y else (1 - prec_init) / (k - 1))``.
    ``"marginal"``: a vote ``a`` has likelihood ratio ``w[a, y] = r`` for ``y == a`` and 1 otherwise,
    ``r = prec_init (k - 1) / (1 - prec_init)``, and the row is scaled so that the LF's modelled
    vote rate ``sum_y mu[j, a, y] P(y)`` equals its observed one ``mean(L[:, j] == a)``:
    ``mu[j, a, y] = rate[j, a] w[a, y] / sum_t w[a, t] P(t)``.
    """
    n, m = L.shape
    mu = np.zeros((m, k, k))
    r = prec_init * (k - 1) / (1.0 - prec_init)
    for j in range(m):
        coverage = np.mean(L[:, j] >= 0)
        for a in range(k):
            rate = np.mean(L[:, j] == a)
            w = np.array([r if y == a else 1.0 for y in range(k)])
            for y in range(k):
                if init == "coverage":
                    mu[j, a, y] = coverage * (prec_init if a == y else (1 - prec_init) / (k - 1))
                elif init == "marginal":
                    mu[j, a, y] = rate * w[y] / np.dot(w, prior)
                else:
                    raise ValueError(f"unknown init {init!r}")
    return mu


def fit(
    L: np.ndarray,
    k: int,
    prior: np.ndarray,
    *,
    l2: float = 0.0,
    prec_init: float = 0.7,
    init: str = "coverage",
    prior_power: float = 1.0,
    anchor: bool = False,
    l2_target: np.ndarray | None = None,
) -> dict:
    """Fit and return ``{"mu": (m, k, k) [j, a, y], "tables": (m, k+1, k), "prior", "loss"}``.

    Args:
        L: ``(n, m)`` label matrix; k: classes; prior: ``(k,)`` class balance (before tempering).
        l2: weight of ``||mu - l2_target||^2``; l2_target: ``(m, k, k)``, default the initial guess.
        init, prec_init: the initial guess (``initial_guess``); prior_power: the prior used is
            ``tempered_prior(prior, prior_power)``.
        anchor: impose ``mu[j, a, a] >= mu[j, a, y]`` for every LF ``j``, vote ``a`` and class ``y``
            (then the constraint names the classes and there is no alignment step).
    """
    from scipy.optimize import linear_sum_assignment, minimize  # lazy: ~1 s of collection

    n, m = L.shape
    prior = tempered_prior(prior, prior_power)
    O = overlap_matrix(L, k)
    mask = np.ones((m * k, m * k))
    for j in range(m):
        mask[j * k : (j + 1) * k, j * k : (j + 1) * k] = 0.0
    mu_init = initial_guess(L, k, prior, init=init, prec_init=prec_init).reshape(m * k, k)
    target = mu_init if l2_target is None else np.asarray(l2_target, float).reshape(m * k, k)
    diag = np.diag(O)

    def objective(x):
        mu = x.reshape(m * k, k)
        R = mask * (O - mu @ np.diag(prior) @ mu.T)
        r = mu @ prior - diag
        value = np.sum(R**2) + np.sum(r**2) + l2 * np.sum((mu - target) ** 2)
        grad = -4.0 * R @ mu @ np.diag(prior) + 2.0 * np.outer(r, prior) + 2.0 * l2 * (mu - target)
        return value, grad.ravel()

    x0 = np.clip(mu_init, 0.0, 1.0).ravel()
    bounds = [(0.0, 1.0)] * x0.size
    if anchor:
        # one row of A per (j, a, y != a): mu[j, a, a] - mu[j, a, y] >= 0
        rows = []
        for j in range(m):
            for a in range(k):
                for y in range(k):
                    if y != a:
                        row = np.zeros((m, k, k))
                        row[j, a, a], row[j, a, y] = 1.0, -1.0
                        rows.append(row.ravel())
        A = np.array(rows)
        res = minimize(
            objective,
            x0,
            jac=True,
            method="SLSQP",
            bounds=bounds,
            constraints=[{"type": "ineq", "fun": lambda x: A @ x, "jac": lambda x: A}],
            options={"maxiter": 5000, "ftol": 1e-16},
        )
    else:
        res = minimize(
            objective,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 10000, "ftol": 1e-15, "gtol": 1e-12},
        )
    mu = res.x.reshape(m, k, k)
    if not anchor:
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
    return {"mu": mu, "tables": tables, "prior": prior, "loss": float(res.fun)}


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
