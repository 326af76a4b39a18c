"""Metrics: classification (jittable, mask-aware), parameter recovery, seed-axis summaries, bootstrap intervals over test rows."""

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
from .slices import slice_metrics, slice_scores, slice_table
from .summary import bootstrap_ci, bootstrap_samples, mean_sem, resample_indices

__all__ = [
    "METRICS",
    "accuracy",
    "align_classes",
    "bootstrap_ci",
    "bootstrap_samples",
    "brier",
    "confusion_error",
    "coverage",
    "ece",
    "f1",
    "log_loss",
    "mean_sem",
    "min_cost_permutation",
    "resample_indices",
    "roc_auc",
    "score",
    "slice_metrics",
    "slice_scores",
    "slice_table",
    "tie_break_wrench",
    "tie_split",
]
