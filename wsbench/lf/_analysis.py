"""Labeling-function analysis: coverage, overlap, conflict, polarity, empirical accuracy."""

from collections.abc import Sequence

import numpy as np

from ..data import conflict, coverage, overlap
from ..data.validate import as_gold, as_label_matrix

_CHUNK = 16384  # rows per block for the (n, m, m) conflict computation


def _as_L(L, n_classes: int | None) -> tuple[np.ndarray, int]:
    if L is None:
        raise ValueError("L is None; pass an (n, m) integer label matrix (-1 = abstain).")
    L_np = np.asarray(L)
    if n_classes is None:
        if L_np.dtype == bool or not np.issubdtype(L_np.dtype, np.integer):
            as_label_matrix(L_np, 2)  # raises the standard dtype error
        n_classes = max(2, int(L_np.max()) + 1) if L_np.size else 2
    return np.asarray(as_label_matrix(L_np, n_classes)), n_classes


def lf_summary(
    L,
    y=None,
    names: Sequence[str] | None = None,
    *,
    n_classes: int | None = None,
):
    """Per-LF statistics as a pandas DataFrame (Snorkel's ``LFAnalysis(L).lf_summary(Y)``).

    Columns (one row per LF, indexed by name):

    - ``j``: column index in ``L``.
    - ``polarity``: sorted list of the distinct labels the LF emits (abstain excluded).
    - ``coverage``: fraction of items the LF votes on.
    - ``overlaps``: fraction of items on which it votes and at least one other LF votes.
    - ``conflicts``: fraction of items on which it votes and at least one other LF votes a different
      label.
    - with ``y``: ``correct`` / ``incorrect`` (counts of its votes equal / unequal to the gold
      label) and ``emp_acc`` = correct / (correct + incorrect).

    Differences from Snorkel, on purpose: items with unknown gold (``y == -1``) are left out of
    ``correct``/``incorrect``; ``emp_acc`` is NaN (undefined) for an LF with no scored votes, where
    Snorkel reports 0.

    Args:
        L: ``(n, m)`` integer label matrix, ``-1`` = abstain.
        y: optional ``(n,)`` gold labels, ``-1`` = unknown.
        names: LF names (default ``lf_0 .. lf_{m-1}``); e.g. ``[lf.name for lf in lfs]``.
        n_classes: k; inferred as ``max(2, L.max() + 1)`` (and ``y.max() + 1``) when omitted.

    Raises:
        ValueError: a malformed ``L`` or ``y``, or ``names`` of the wrong length or with duplicates.
    """
    import pandas as pd

    if n_classes is None and y is not None:
        y_np = np.asarray(y)
        if y_np.size and np.issubdtype(y_np.dtype, np.integer):
            L_max = int(np.asarray(L).max()) if np.asarray(L).size else 0
            n_classes = max(2, L_max + 1, int(y_np.max()) + 1)
    L_np, k = _as_L(L, n_classes)
    n, m = L_np.shape
    if names is None:
        names = [f"lf_{j}" for j in range(m)]
    names = list(names)
    if len(names) != m:
        raise ValueError(f"names has {len(names)} entries but L has {m} columns (LFs).")
    if len(set(names)) != m:
        raise ValueError(
            f"names must be unique; repeated: {sorted({x for x in names if names.count(x) > 1})}."
        )

    cov = np.zeros(m)
    ovl = np.zeros(m)
    con = np.zeros(m)
    for start in range(0, n, _CHUNK):
        block = L_np[start : start + _CHUNK]
        w = block.shape[0] / n
        cov += w * np.asarray(coverage(block), dtype=np.float64)
        ovl += w * np.asarray(overlap(block), dtype=np.float64)
        con += w * np.asarray(conflict(block), dtype=np.float64)

    table = {
        "j": np.arange(m),
        "polarity": [sorted(int(v) for v in np.unique(L_np[:, j]) if v != -1) for j in range(m)],
        "coverage": cov,
        "overlaps": ovl,
        "conflicts": con,
    }
    if y is not None:
        y_np = np.asarray(as_gold(np.asarray(y), n, k))
        scored = (L_np != -1) & (y_np[:, None] != -1)
        correct = (scored & (L_np == y_np[:, None])).sum(axis=0)
        incorrect = (scored & (L_np != y_np[:, None])).sum(axis=0)
        total = correct + incorrect
        with np.errstate(invalid="ignore", divide="ignore"):
            emp = np.where(total > 0, correct / np.maximum(total, 1), np.nan)
        table |= {"correct": correct, "incorrect": incorrect, "emp_acc": emp}
    return pd.DataFrame(table, index=pd.Index(names, name="lf"))
