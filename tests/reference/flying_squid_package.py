"""Golden outputs of the ``flyingsquid`` package (HazyResearch, 0.0.0a0) for ``FlyingSquid`` tests.

Never run in CI and never imported by the tests: they read the committed
``golden/flyingsquid_package.npz``. Needs ``flyingsquid`` (and its ``pgmpy``); from the repository
root, with the WRENCH folders (``wrench_youtube``, ``wrench_sms``, ``wrench_chemprot``) under a
data mirror:

    WSBENCH_DATA_MIRROR=<mirror> python -m tests.reference.flying_squid_package

What is stored (model outputs only, never dataset content):

- ``synth_*``: a synthetic binary label matrix drawn here with NumPy (stored, it is not data), the
  package's clique marginals, ``estimated_accuracies()`` (``P(lambda_j Y = 1)``) and
  ``predict_proba`` with a uniform class balance, and ``predict_proba`` with balance (0.7, 0.3);
- ``synth3_*``: a synthetic 3-class label matrix and the one-vs-rest task probabilities
  ``P(Y^(c) = 1 | lambda^(c))`` (the reduction WRENCH's ``FlyingSquid`` wrapper runs: class c -> +1,
  other classes -> -1, abstain -> 0, class balance (1 - 1/k, 1/k));
- ``<name>_*`` for youtube and sms (train split, binary) and chemprot (valid split, 10 classes):
  the package's task probabilities and per-task ``P(lambda_j Y = 1)`` on that ``L``, with the
  ``sha256`` of ``L`` (int32, C order) so the test can tell that it rebuilt the same matrix.

pgmpy >= 1.0 renamed ``MarkovModel`` to ``DiscreteMarkovNetwork``; the alias below lets the
unmodified package import.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from tests.reference import GOLDEN

OUT = GOLDEN / "flyingsquid_package.npz"
WRENCH = {"youtube": ("wrench_youtube", "train"), "sms": ("wrench_sms", "train"),
          "chemprot": ("wrench_chemprot", "valid")}  # fmt: skip


def _label_model():
    import pgmpy.models

    if not hasattr(pgmpy.models, "MarkovModel"):
        pgmpy.models.MarkovModel = pgmpy.models.DiscreteMarkovNetwork
    from flyingsquid.label_model import LabelModel

    return LabelModel


def signed(L: np.ndarray, positive: int) -> np.ndarray:
    """The package's coding: +1 for ``positive``, -1 for another class, 0 for abstain."""
    return np.where(L < 0, 0, np.where(L == positive, 1, -1))


def package_task(L: np.ndarray, positive: int, pi: float):
    """Fit the package on one binary task; ``(P(Y=+1 | lambda) per row, P(lambda_j Y = 1), model)``."""
    LabelModel = _label_model()
    S = signed(L, positive)
    lm = LabelModel(S.shape[1])
    lm.fit(S, class_balance=np.array([1.0 - pi, pi]))
    proba = lm.predict_proba(S)[:, 1]
    return proba, np.asarray(lm.estimated_accuracies(), float), lm


def clique_tables(lm, m: int) -> np.ndarray:
    """``(m, 3, 2)`` clique marginals, lambda in (-1, 0, +1), Y in (-1, +1)."""
    out = np.zeros((m, 3, 2))
    for _clique, marginal in lm.clique_marginals:
        lf = [v for v in marginal.variables if v.startswith("lambda_")]
        if len(lf) != 1:
            continue
        values = marginal.values
        if marginal.variables[0].startswith("Y"):
            values = values.T
        out[int(lf[0].split("_")[1])] = values
    return out


def synthetic(seed: int, *, n: int, m: int, k: int) -> np.ndarray:
    """Conditionally independent LFs, accuracies 0.6-0.85, propensity 0.4-0.8, errors uniform."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    acc = np.linspace(0.6, 0.85, m)
    prop = np.linspace(0.4, 0.8, m)
    votes = rng.random((n, m)) < prop
    correct = rng.random((n, m)) < acc
    wrong = (y[:, None] + rng.integers(1, k, (n, m))) % k
    return np.where(votes, np.where(correct, y[:, None], wrong), -1).astype(np.int32)


def wrench_L(root: Path, split: str) -> tuple[np.ndarray, int]:
    """The split's label matrix in file order (as ``wsbench.data.load_wrench`` reads it)."""
    doc = json.loads((root / f"{split}.json").read_text())
    L = np.array([row["weak_labels"] for row in doc.values()], dtype=np.int32)
    k = len(json.loads((root / "label.json").read_text()))
    return L, k


def sha256(L: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(L, dtype=np.int32).tobytes()).hexdigest()


def tasks(L: np.ndarray, k: int):
    """Every one-vs-rest task (one for k = 2) with the uniform balance: probabilities, P(lambda Y=1)."""
    positives = [1] if k == 2 else list(range(k))
    fits = [package_task(L, c, 1.0 / k) for c in positives]
    return np.stack([f[0] for f in fits], axis=1), np.stack([f[1] for f in fits])


def main() -> None:
    out = {}
    L = synthetic(0, n=600, m=6, k=2)
    proba, agree, lm = package_task(L, 1, 0.5)
    out |= {"synth_L": L, "synth_proba": proba, "synth_agree": agree,
            "synth_tables": clique_tables(lm, L.shape[1])}  # fmt: skip
    out["synth_proba_balance"] = package_task(L, 1, 0.3)[0]
    out["synth_balance"] = np.array([0.7, 0.3])
    L3 = synthetic(1, n=500, m=7, k=3)
    out["synth3_L"] = L3
    out["synth3_task_proba"], out["synth3_agree"] = tasks(L3, 3)
    mirror = os.environ.get("WSBENCH_DATA_MIRROR")
    if mirror:
        for name, (folder, split) in WRENCH.items():
            Lw, k = wrench_L(Path(mirror) / folder, split)
            out[f"{name}_sha256"] = np.array(sha256(Lw))
            out[f"{name}_task_proba"], out[f"{name}_agree"] = tasks(Lw, k)
            print(name, Lw.shape, k)
    else:
        print("WSBENCH_DATA_MIRROR unset: WRENCH parts skipped")
    np.savez_compressed(OUT, **out)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
