"""Per-task LF analysis for multi-task weak labels (``wsbench.lf.lf_summary`` on each task's LFs)."""

import numpy as np

from ..lf import lf_summary
from ._containers import MultitaskWeakLabels


def task_lf_summaries(weak: MultitaskWeakLabels, Y=None, names=None) -> dict:
    """``{task name: lf_summary DataFrame}`` over the LFs of each task.

    A child task is scored only where it applies (gold "not applicable" counts as unknown), so
    ``emp_acc`` of a fine LF is its accuracy among the rows of its parent class.
    """
    g = weak.graph
    names = list(names) if names is not None else [f"lf_{j}" for j in range(weak.m)]
    if len(names) != weak.m:
        raise ValueError(f"names has {len(names)} entries for {weak.m} LFs.")
    out = {}
    for s in range(g.n_tasks):
        cols = list(weak.lfs_of(s))
        y = None
        if Y is not None:
            y = np.asarray(Y)[:, s]
            y = np.where(y >= g.cardinalities[s], -1, y)
        out[g.names[s]] = lf_summary(
            np.asarray(weak.L)[:, cols], y, [names[j] for j in cols], n_classes=g.cardinalities[s]
        )
    return out
