"""Slow, obviously-correct NumPy/SciPy multi-task matrix-completion label model (MeTaL, AAAI 2019).

The latent variable is the joint label ``Y`` over the K feasible joint labels of a ``TaskGraph``
(``graph.Y_feasible``, ``(K, t)``). LF j votes on task ``s = lf_task[j]`` with ``k_s`` outputs, so its
indicator ``psi_j`` is the one-hot of its (non-abstain) vote, of length ``k_s`` -- its *output*
cardinality differs from the *latent* cardinality K. With ``mu_j[a, y] = P(lambda_j = a | Y = y)``
(``k_s x K``) and ``mu`` their vertical stack (``sum_j k_{s(j)} x K``), conditional independence across
dependency components gives, for LFs i, j in different components,

    O_ij = E[psi_i psi_j^T] = mu_i diag(p) mu_j^T,      p = P(Y) over the feasible set.

We minimise ``||M * (O - mu diag(p) mu^T)||^2 + ||mu p - diag(O)||^2 + l2 ||mu - mu0||^2`` over
``mu in [0, 1]`` (``M`` = 1 on off-diagonal-block entries between different components) with
``scipy.optimize.minimize(L-BFGS-B)`` and an analytic gradient, align latent joint labels among those
of equal prior (Hungarian on the agreement of each LF with the task label of the joint label), build
tables with an abstain row, and compute the posterior over joint labels one row and one LF at a time,
skipping abstains (Snorkel's convention). With one task (``Y_feasible = arange(k)[:, None]``) every
step is the single-task reference ``tests/reference/matrix_completion_numpy.py``.
"""

import numpy as np

EPS = 1e-6


def layout(graph, lf_task):
    """Per LF: output cardinality and offset of its block in the indicator vector; total d."""
    ks = [graph.cardinalities[s] for s in lf_task]
    offsets = np.concatenate([[0], np.cumsum(ks)]).astype(int)
    return ks, offsets, int(offsets[-1])


def overlap_matrix(L, graph, lf_task):
    """``O[off_j + a, off_i + b] = mean(L[:, j] == a and L[:, i] == b)``, by loops over LF pairs."""
    n, m = L.shape
    ks, off, d = layout(graph, lf_task)
    O = np.zeros((d, d))
    for j in range(m):
        for i in range(m):
            for a in range(ks[j]):
                for b in range(ks[i]):
                    O[off[j] + a, off[i] + b] = np.mean((L[:, j] == a) & (L[:, i] == b))
    return O


def components(m, edges):
    comp = list(range(m))
    for a, b in edges:  # tiny union-find by relabelling
        ca, cb = comp[a], comp[b]
        comp = [ca if c == cb else c for c in comp]
    return comp


def init_mu(graph, lf_task, coverage, prec_init):
    """LF j votes with its coverage; where its task applies it is right w.p. ``prec_init``, else uniform."""
    ks, off, d = layout(graph, lf_task)
    K = graph.n_joint
    Yf = graph.Y_feasible
    mu0 = np.zeros((d, K))
    for j, s in enumerate(lf_task):
        k = ks[j]
        for y in range(K):
            for a in range(k):
                if Yf[y, s] < k:
                    v = prec_init if a == Yf[y, s] else (1 - prec_init) / (k - 1)
                else:
                    v = 1.0 / k
                mu0[off[j] + a, y] = coverage[j] * v
    return mu0


def triples_of(comp):
    """Every LF triple ``a < b < c`` in three different dependency components."""
    m = len(comp)
    return [
        (a, b, c)
        for a in range(m)
        for b in range(a + 1, m)
        for c in range(b + 1, m)
        if len({comp[a], comp[b], comp[c]}) == 3
    ]


def triple_overlaps(L, graph, lf_task, triples):
    """``O3[t][x, u, v] = mean(L_a == x and L_b == u and L_c == v)`` for each triple, by loops."""
    ks, _, _ = layout(graph, lf_task)
    out = []
    for a, b, c in triples:
        T = np.zeros((ks[a], ks[b], ks[c]))
        for x in range(ks[a]):
            for u in range(ks[b]):
                for v in range(ks[c]):
                    T[x, u, v] = np.mean((L[:, a] == x) & (L[:, b] == u) & (L[:, c] == v))
        out.append(T)
    return out


def objective(x, O, mask, prior, mu0, l2, off, triples=(), O3=()):
    """The (value, gradient) of the fitting objective at the flattened ``mu``."""
    d, K = mu0.shape
    mu = x.reshape(d, K)
    R = mask * (O - mu @ np.diag(prior) @ mu.T)
    r = mu @ prior - np.diag(O)
    value = np.sum(R**2) + np.sum(r**2) + l2 * np.sum((mu - mu0) ** 2)
    grad = -4.0 * R @ mu @ np.diag(prior) + 2.0 * np.outer(r, prior) + 2.0 * l2 * (mu - mu0)
    for (a, b, c), T in zip(triples, O3, strict=True):
        ma, mb, mc = (mu[off[i] : off[i + 1]] for i in (a, b, c))
        R3 = T - np.einsum("y,xy,uy,vy->xuv", prior, ma, mb, mc)
        value += np.sum(R3**2)
        grad[off[a] : off[a + 1]] += -2.0 * np.einsum("xuv,y,uy,vy->xy", R3, prior, mb, mc)
        grad[off[b] : off[b + 1]] += -2.0 * np.einsum("xuv,y,xy,vy->uy", R3, prior, ma, mc)
        grad[off[c] : off[c + 1]] += -2.0 * np.einsum("xuv,y,xy,uy->vy", R3, prior, ma, mb)
    return value, grad.ravel()


def fit(L, graph, lf_task, prior, *, l2=0.0, prec_init=0.7, edges=(), third_order=False):
    """Fit; returns ``{"mu": (d, K), "tables": list of (k_s+1, K), "loss": float}`` (+ O, mask, mu0, off).

    ``third_order=True`` adds ``sum_t ||O3_t - sum_y p_y mu_a[:, y] x mu_b[:, y] x mu_c[:, y]||^2`` over
    LF triples in three different components. The pairwise objective is invariant under
    ``mu -> mu P^(1/2) R P^(-1/2)`` for every rotation R fixing ``p^(1/2)`` (a continuous family when
    K >= 3); the three-way moments are a CP decomposition, unique up to permutation (Kruskal), so they
    remove that ambiguity. Not part of the single-task MatrixCompletion objective.
    """
    from scipy.optimize import linear_sum_assignment, minimize  # lazy: ~1 s of collection

    L = np.asarray(L)
    n, m = L.shape
    ks, off, d = layout(graph, lf_task)
    K = graph.n_joint
    prior = np.asarray(prior, dtype=np.float64)
    O = overlap_matrix(L, graph, lf_task)
    comp = components(m, edges)
    mask = np.ones((d, d))
    for j in range(m):
        for i in range(m):
            if comp[i] == comp[j]:
                mask[off[j] : off[j + 1], off[i] : off[i + 1]] = 0.0
    coverage = (L >= 0).mean(axis=0)
    mu0 = init_mu(graph, lf_task, coverage, prec_init)
    triples = triples_of(comp) if third_order else []
    O3 = triple_overlaps(L, graph, lf_task, triples)

    def fun(x):
        return objective(x, O, mask, prior, mu0, l2, off, triples, O3)

    res = minimize(
        fun,
        mu0.ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * mu0.size,
        options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-12},
    )
    mu = res.x.reshape(d, K)
    # align latent joint labels among those of equal prior: cost[y', y] = -sum_j mu_j[label_j(y'), y]
    Yf = graph.Y_feasible
    agree = np.zeros((K, K))
    for j, s in enumerate(lf_task):
        for yp in range(K):
            if Yf[yp, s] < ks[j]:
                agree[yp] += mu[off[j] + Yf[yp, s]]
    cost = -agree + 1e3 * (np.abs(prior[:, None] - prior[None, :]) > 1e-6)
    rows, cols = linear_sum_assignment(cost)
    mu = mu[:, cols[np.argsort(rows)]]
    tables = []
    for j in range(m):
        block = mu[off[j] : off[j + 1]]
        votes = block / np.maximum(block.sum(axis=0, keepdims=True), 1.0)
        T = np.zeros((ks[j] + 1, K))
        T[1:] = votes
        T[0] = 1.0 - votes.sum(axis=0)
        T = np.maximum(T, EPS)
        tables.append(T / T.sum(axis=0, keepdims=True))
    return {
        "mu": mu,
        "tables": tables,
        "loss": float(res.fun),
        "O": O,
        "mask": mask,
        "mu0": mu0,
        "off": off,
    }


def posterior(L, tables, prior):
    """``P(Y_joint | L)``, one row and one LF at a time; abstains are skipped."""
    L = np.asarray(L)
    n, m = L.shape
    out = np.zeros((n, len(prior)))
    for r in range(n):
        logp = np.log(prior).copy()
        for j in range(m):
            if L[r, j] != -1:
                logp += np.log(tables[j][L[r, j] + 1])
        p = np.exp(logp - logp.max())
        out[r] = p / p.sum()
    return out


def task_marginals(q, graph):
    return [q @ graph.indicator(s).T for s in range(graph.n_tasks)]
