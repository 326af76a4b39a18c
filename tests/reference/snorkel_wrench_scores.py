"""snorkel 0.10 LabelModel (defaults, seed 123) on the WRENCH sets: test accuracy / F1.

Reference environment only; from the repository root:
    python tests/reference/snorkel_wrench_scores.py --mirror <dataset mirror>
Fit rows: train (chemprot ships none: valid); no gold, no class balance. Scores: ties split evenly
(the expectation under random tie-breaking, as wsbench.metrics) and snorkel's own tie rule.
"""

import argparse
import json
import pathlib

import numpy as np

from tests.reference.snorkel_label_model_golden import SEED, SETS, read_L


def scores(probs, y, hard):
    k = probs.shape[1]
    acc = float((hard[np.arange(len(y)), y]).mean())
    tp = (hard * np.eye(k)[y]).sum(0)
    fp = (hard * (1 - np.eye(k)[y])).sum(0)
    fn = ((1 - hard) * np.eye(k)[y]).sum(0)
    per = np.where(tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), 0.0)
    return 100 * acc, 100 * float(per[1] if k == 2 else per.mean())


def main():
    from snorkel.labeling.model import LabelModel
    from snorkel.utils import probs_to_preds

    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", required=True)
    args = ap.parse_args()
    for name, split in SETS.items():
        folder = pathlib.Path(args.mirror) / name
        L, k = read_L(folder, split)
        Lt, _ = read_L(folder, "test")
        y = np.array([r["label"] for r in json.loads((folder / "test.json").read_text()).values()])
        model = LabelModel(cardinality=k, verbose=False)
        model.fit(L, seed=SEED, progress_bar=False)
        probs = model.predict_proba(Lt)
        split_hard = (probs >= probs.max(1, keepdims=True) - 1e-12).astype(float)
        split_hard /= split_hard.sum(1, keepdims=True)
        snork_hard = np.eye(k)[probs_to_preds(probs, tie_break_policy="random")]
        a, f = scores(probs, y, split_hard)
        a2, f2 = scores(probs, y, snork_hard)
        print(f"{name}: acc {a:.2f} f1 {f:.2f} | snorkel tie rule: acc {a2:.2f} f1 {f2:.2f}")


if __name__ == "__main__":
    main()
