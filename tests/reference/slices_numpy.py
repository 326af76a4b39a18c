"""Slow NumPy references for per-slice metrics: select the slice's rows, score them in a loop."""

import numpy as np


def accuracy(probs, y):
    """Expected accuracy under uniform tie-breaking, rows with y = -1 skipped; NaN if none."""
    hits, n = 0.0, 0
    for p, t in zip(probs, y, strict=True):
        if t < 0:
            continue
        winners = np.flatnonzero(p == p.max())
        hits += (t in winners) / len(winners)
        n += 1
    return hits / n if n else float("nan")


def f1_binary(probs, y):
    tp = fp = fn = 0.0
    for p, t in zip(probs, y, strict=True):
        if t < 0:
            continue
        winners = np.flatnonzero(p == p.max())
        pred1 = (1 in winners) / len(winners)
        tp += pred1 * (t == 1)
        fp += pred1 * (t == 0)
        fn += (1 - pred1) * (t == 1)
    return 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) > 0 else 0.0


def brier(probs, y):
    vals = [((p - np.eye(len(p))[t]) ** 2).sum() for p, t in zip(probs, y, strict=True) if t >= 0]
    return float(np.mean(vals)) if vals else float("nan")


def slice_scores(probs, y, S):
    out = {"accuracy": [], "f1": [], "brier": [], "n": []}
    for j in range(S.shape[1]):
        rows = np.flatnonzero(S[:, j])
        p, t = probs[rows], y[rows]
        out["accuracy"].append(accuracy(p, t))
        out["f1"].append(f1_binary(p, t))
        out["brier"].append(brier(p, t))
        out["n"].append(int((t >= 0).sum()))
    return {k: np.asarray(v) for k, v in out.items()}
