"""Write the golden files in ``tests/reference/golden/`` with the real reference libraries.

Never run in CI (the tests only read the committed ``.npz`` files). Needs ``snorkel`` and
``crowd-kit`` (the ``reference`` extra) and wsbench on the path; from the repository root:

    python -m tests.reference.regenerate

Each file stores the label matrix it was computed on, so the tests do not depend on the sampler.
"""

import numpy as np

from tests.reference import GOLDEN


def toy_label_matrix(seed: int, *, n: int, m: int, k: int) -> np.ndarray:
    import jax.random as jr

    from wsbench.synthetic import sample_dawid_skene

    sim = sample_dawid_skene(jr.key(seed), n=n, m=m, n_classes=k, diag=(0.6, 0.85), propensity=0.6)
    return np.asarray(sim.weak.L)


def crowdkit_dawid_skene(L: np.ndarray, k: int, n_iter: int) -> np.ndarray:
    """crowd-kit ``DawidSkene`` posterior per row (``tol=-inf``: exactly ``n_iter`` rounds)."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    task, worker = np.nonzero(L != -1)
    long = pd.DataFrame({"task": task, "worker": worker, "label": L[task, worker]})
    probas = DawidSkene(n_iter=n_iter, tol=-np.inf).fit_predict_proba(long)
    out = np.full((L.shape[0], k), np.nan)  # rows without votes are absent from crowd-kit's output
    for c in probas.columns:
        out[probas.index.to_numpy(), int(c)] = probas[c].to_numpy()
    return out


def snorkel_majority_vote(L: np.ndarray, k: int) -> np.ndarray:
    from snorkel.labeling.model import MajorityLabelVoter

    return MajorityLabelVoter(cardinality=k).predict_proba(L)


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    n_iter = 200
    L = toy_label_matrix(0, n=400, m=6, k=3)
    np.savez_compressed(
        GOLDEN / "crowdkit_dawid_skene_toy.npz",
        L=L,
        n_classes=3,
        n_iter=n_iter,
        probas=crowdkit_dawid_skene(L, 3, n_iter),
    )
    L = toy_label_matrix(1, n=300, m=5, k=3)
    np.savez_compressed(
        GOLDEN / "snorkel_majority_vote_toy.npz",
        L=L,
        n_classes=3,
        probas=snorkel_majority_vote(L, 3),
    )


if __name__ == "__main__":
    main()
