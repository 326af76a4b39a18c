"""Metrics: classification (jittable, mask-aware), parameter recovery, seed-axis summaries."""

from .classification import (
    METRICS,
    accuracy,
    brier,
    coverage,
    ece,
    f1,
    log_loss,
    roc_auc,
    score,
    tie_break_wrench,
    tie_split,
)
from .recovery import align_classes, confusion_error, min_cost_permutation
from .slices import slice_scores, slice_table
from .summary import mean_sem

__all__ = [
    "METRICS",
    "accuracy",
    "align_classes",
    "brier",
    "confusion_error",
    "coverage",
    "ece",
    "f1",
    "log_loss",
    "mean_sem",
    "min_cost_permutation",
    "roc_auc",
    "score",
    "slice_scores",
    "slice_table",
    "tie_break_wrench",
    "tie_split",
]
