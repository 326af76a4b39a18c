"""Golden file for DawidSkene's early stopping: crowd-kit's iteration count at its defaults.

crowd-kit 1.4's ``DawidSkene()`` (``n_iter=100``, ``tol=1e-5``) stops when its per-answer "ELBO"
improves by less than ``tol``; ``tests/reference/crowdkit_dawid_skene.yaml`` (``stop_on="crowdkit"``)
must run as many EM iterations on the same problems. Needs ``crowd-kit`` (the ``reference`` extra);
never run in CI. From the repository root, with the reference environment's Python:

    python -m tests.reference.crowdkit_dawid_skene_stopping

Writes ``tests/reference/golden/crowdkit_dawid_skene_tol.npz``: for each of ``N_PROBLEMS`` seeded
problems (every row has a vote and every class appears, so crowd-kit's long format loses nothing),
the label matrix, crowd-kit's iteration count (``len(loss_history_)``), its loss history and its
posteriors.
"""

import numpy as np

from tests.reference import GOLDEN

N_PROBLEMS = 5
N, M, K = 500, 8, 3


def problem(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Dawid-Skene data: LF j is right with probability ``diag_j``, errors spread at random."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, N)
    diag = np.linspace(0.55, 0.85, M)
    L = np.full((N, M), -1, np.int8)
    for j in range(M):
        conf = np.zeros((K, K))
        for t in range(K):
            conf[t] = np.insert(rng.dirichlet(np.ones(K - 1)) * (1 - diag[j]), t, diag[j])
        votes = np.array([rng.choice(K, p=conf[t]) for t in y])
        mask = rng.random(N) < 0.6
        L[mask, j] = votes[mask]
    empty = (L == -1).all(axis=1)
    L[empty, 0] = y[empty]  # every row votes
    return L, y


def crowdkit_fit(L: np.ndarray):
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    task, worker = np.nonzero(L != -1)
    long = pd.DataFrame({"task": task, "worker": worker, "label": L[task, worker].astype(int)})
    ds = DawidSkene().fit(long)  # crowd-kit's defaults: n_iter=100, tol=1e-5
    probas = ds.probas_.sort_index()
    out = np.stack([probas[c].to_numpy() for c in range(K)], axis=1)
    return len(ds.loss_history_), np.asarray(ds.loss_history_), out


def main() -> None:
    Ls, iters, probas, losses = [], [], [], []
    for seed in range(N_PROBLEMS):
        L, _ = problem(seed)
        n_run, loss, p = crowdkit_fit(L)
        Ls.append(L)
        iters.append(n_run)
        probas.append(p.astype(np.float32))
        losses.append(np.pad(loss, (0, 100 - loss.size), constant_values=np.nan))
        print(f"problem {seed}: crowd-kit ran {n_run} iterations")
    np.savez_compressed(
        GOLDEN / "crowdkit_dawid_skene_tol.npz",
        L=np.stack(Ls),
        n_classes=K,
        n_iter_run=np.array(iters),
        probas=np.stack(probas),
        loss_history=np.stack(losses),
    )


if __name__ == "__main__":
    main()
