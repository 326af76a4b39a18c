"""Peer libraries' label models on the WRENCH sets, for the real table (paper_figures/table_real.py).

Reference environment only (snorkel 0.10, crowd-kit, flyingsquid + pgmpy); never imported by the
tests. From the repository root:

    python -m tests.reference.peer_wrench_table --mirror <dataset mirror> \
        --out paper_figures/data/real_table_peers.csv

Fit rows: train (chemprot ships none: valid), no gold labels. Protocol ``none``: the libraries'
defaults (snorkel ``LabelModel(cardinality=k).fit(L, seed=123)``: uniform prior; crowd-kit
``DawidSkene(n_iter=100)``; flyingsquid ``LabelModel`` per one-vs-rest task with balance 1/k);
protocol ``class_balance``: snorkel and flyingsquid given the valid split's class frequencies (what
WRENCH's wrappers do). Scores on test: ties split evenly (``expected``, as ``wsbench.metrics``) and
snorkel's hash rule (``wrench``); F1 of class 1 for binary sets, macro F1 otherwise.
"""

import argparse
import csv
import json
import pathlib

import numpy as np

from tests.reference.flying_squid_package import package_task
from tests.reference.snorkel_label_model_golden import SEED, SETS, read_L


def gold(folder: pathlib.Path, split: str) -> np.ndarray:
    rows = json.loads((folder / f"{split}.json").read_text()).values()
    return np.array([r["label"] for r in rows])


def scores(probs: np.ndarray, y: np.ndarray, hard: np.ndarray) -> tuple[float, float]:
    k = probs.shape[1]
    acc = float(hard[np.arange(len(y)), y].mean())
    onehot = np.eye(k)[y]
    tp, fp, fn = (hard * onehot).sum(0), (hard * (1 - onehot)).sum(0), ((1 - hard) * onehot).sum(0)
    per = np.where(tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12), 0.0)
    return acc, float(per[1] if k == 2 else per.mean())


def snorkel(L, k, Lt, balance):
    from snorkel.labeling.model import LabelModel

    model = LabelModel(cardinality=k, verbose=False)
    model.fit(L, seed=SEED, progress_bar=False, class_balance=balance)
    return model.predict_proba(Lt)


def crowdkit_ds(L, k, Lt):
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    both = np.concatenate([L, Lt])
    i, j = np.nonzero(both >= 0)
    df = pd.DataFrame({"task": i, "worker": j, "label": both[i, j]})
    proba = DawidSkene(n_iter=100).fit_predict_proba(df)
    out = np.full((len(both), k), 1.0 / k)
    cols = [c for c in range(k) if c in proba.columns]
    out[np.asarray(proba.index), :] = 0.0
    out[np.ix_(np.asarray(proba.index), cols)] = proba[cols].to_numpy()
    return out[len(L) :]  # crowd-kit has no predict: transductive fit on fit + test rows


def flyingsquid(L, k, Lt, balance):
    from tests.reference.flying_squid_package import signed

    positives = [1] if k == 2 else list(range(k))
    cols = []
    for c in positives:
        pi = 1.0 / k if balance is None else float(balance[c])
        _, _, lm = package_task(L, c, pi)
        cols.append(lm.predict_proba(signed(Lt, c))[:, 1])
    p = np.stack(cols, axis=1)
    if k == 2:
        return np.concatenate([1 - p, p], axis=1)
    return p / np.maximum(p.sum(1, keepdims=True), 1e-12)


def main() -> None:
    from snorkel.utils import probs_to_preds

    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = []
    for name, split in SETS.items():
        folder = pathlib.Path(args.mirror) / name
        L, k = read_L(folder, split)
        Lt, _ = read_L(folder, "test")
        y = gold(folder, "test")
        yv = gold(folder, "valid")
        balance = np.bincount(yv[yv >= 0], minlength=k) / (yv >= 0).sum()
        runs = {  # (estimator, protocol) -> (peer, its arguments); each runs in this iteration
            ("snorkel_label_model", "none"): (snorkel, (L, k, Lt, None)),
            ("snorkel_label_model", "class_balance"): (snorkel, (L, k, Lt, list(balance))),
            ("crowdkit_dawid_skene", "none"): (crowdkit_ds, (L, k, Lt)),
            ("flyingsquid", "none"): (flyingsquid, (L, k, Lt, None)),
            ("flyingsquid", "class_balance"): (flyingsquid, (L, k, Lt, balance)),
        }
        for (est, protocol), (peer, peer_args) in runs.items():
            probs = np.asarray(peer(*peer_args), float)
            split_hard = (probs >= probs.max(1, keepdims=True) - 1e-12).astype(float)
            split_hard /= split_hard.sum(1, keepdims=True)
            wrench_hard = np.eye(k)[probs_to_preds(probs, tie_break_policy="random")]
            acc, f1 = scores(probs, y, split_hard)
            acc_w, f1_w = scores(probs, y, wrench_hard)
            row = {"estimator": est, "dataset": name, "dev_labels": protocol,
                   "test/accuracy": acc, "test/f1": f1,
                   "test/accuracy_wrench_ties": acc_w, "test/f1_wrench_ties": f1_w}  # fmt: skip
            print(row, flush=True)
            rows.append(row)
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


if __name__ == "__main__":
    main()
