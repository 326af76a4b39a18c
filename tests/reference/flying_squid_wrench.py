"""FlyingSquid on the WRENCH label matrices: test metrics vs MajorityVote, agreement with the package.

Fits on the train split without gold labels (chemprot: on valid, as ``load_wrench`` does when
``train.json`` is absent), scores the test split with wsbench's metrics (argmax ties scored as the
expectation under random tie-breaking), and compares the train-split task probabilities with the
``flyingsquid`` package's (``golden/flyingsquid_package.npz``, written by ``flying_squid_package.py``).
Runs in the wsbench environment; from the repository root:

    WSBENCH_DATA_MIRROR=<mirror> python -m tests.reference.flying_squid_wrench
"""

import os
from pathlib import Path

import jax.random as jr
import numpy as np

from tests.reference import GOLDEN
from wsbench.data import load_wrench
from wsbench.labelmodels import FlyingSquid, MajorityVote
from wsbench.metrics import accuracy, f1

SETS = {"youtube": "wrench_youtube", "sms": "wrench_sms", "chemprot": "wrench_chemprot"}
MODELS = {
    "MajorityVote": MajorityVote(),
    "FlyingSquid": FlyingSquid(),
    "FlyingSquid(triplets='all')": FlyingSquid(triplets="all"),
    "FlyingSquid(aggregate='median')": FlyingSquid(aggregate="median"),
}


def agreement(q: np.ndarray, pkg: np.ndarray) -> tuple[float, int]:
    """Share of rows whose argmax agrees, over rows where the package's argmax is not a tie."""
    p = np.concatenate([1 - pkg, pkg], axis=1) if pkg.shape[1] == 1 else pkg
    ours = np.concatenate([1 - q, q], axis=1) if q.shape[1] == 1 else q
    top2 = np.sort(p, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-6
    return float(np.mean(ours[clear].argmax(1) == p[clear].argmax(1))), int(clear.sum())


def main() -> None:
    mirror = Path(os.environ["WSBENCH_DATA_MIRROR"])
    golden = np.load(GOLDEN / "flyingsquid_package.npz")
    key = jr.key(0)
    for name, folder in SETS.items():
        ds = load_wrench(mirror / folder, missing_train="valid")
        fit_split = ds.train
        test = ds.test
        for label, est in MODELS.items():
            fitted = est.fit(fit_split.weak, key=key)
            probs = fitted.predict_proba(test.weak.L)
            acc = 100 * float(accuracy(probs, test.y))
            f1_ = 100 * float(f1(probs, test.y))
            line = f"{name:9s} {label:32s} test acc {acc:5.1f}  F1 {f1_:5.1f}"
            if isinstance(est, FlyingSquid):
                q = np.asarray(fitted.task_proba(fit_split.weak.L))
                k = fit_split.weak.n_classes
                pkg = golden[f"{name}_task_proba"]
                if k > 2:  # the package's posterior has one extra prior factor P(Y^(c)) = 1/k
                    lo = np.log(q) - np.log1p(-q) + np.log(1 / k) - np.log1p(-1 / k)
                    q = 1 / (1 + np.exp(-lo))
                share, rows = agreement(q, pkg)
                line += f"  argmax = package on {100 * share:5.1f}% of {rows} untied fit rows"
                line += f", max |dP| {np.abs(q - pkg).max():.2g}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
