"""Label models behind one estimator protocol.

The protocol (``AbstractLabelModel``, ``AbstractFitted``, the two-stage and dependency-aware
refinements) and the input checks a new estimator needs (``check_weak_labels``, ``checked_L``) are
public here; ``wsbench.labelmodels.grid`` vmaps fits over hyperparameters and seeds, and
``wsbench.labelmodels.checks`` is the contract suite every estimator passes.
"""

from ._base import (
    AbstractDependencyAware,
    AbstractFitted,
    AbstractGenerativeFitted,
    AbstractLabelModel,
    AbstractTwoStageLabelModel,
    as_array_hyperparameters,
    check_weak_labels,
    checked_L,
    fit_predict_proba,
    get_params,
    predict,
    set_params,
)
from ._dawid_skene import DawidSkene, DawidSkeneFitted
from ._dependencies import Layout
from ._flying_squid import FlyingSquid, FlyingSquidFitted
from ._majority_vote import MajorityVote, MajorityVoteFitted, wrench_majority_vote_proba
from ._matrix_completion import MatrixCompletion, MatrixCompletionFitted
from ._statistics import OverlapStats, layout_overlap_stats, overlap_stats
from ._streaming import chunked_statistics, fit_chunked, predict_proba_chunked, shard_rows

__all__ = [
    "AbstractDependencyAware",
    "AbstractFitted",
    "AbstractGenerativeFitted",
    "AbstractLabelModel",
    "AbstractTwoStageLabelModel",
    "DawidSkene",
    "DawidSkeneFitted",
    "FlyingSquid",
    "FlyingSquidFitted",
    "Layout",
    "MajorityVote",
    "MajorityVoteFitted",
    "MatrixCompletion",
    "MatrixCompletionFitted",
    "OverlapStats",
    "as_array_hyperparameters",
    "check_weak_labels",
    "checked_L",
    "chunked_statistics",
    "fit_chunked",
    "fit_predict_proba",
    "get_params",
    "layout_overlap_stats",
    "overlap_stats",
    "predict",
    "predict_proba_chunked",
    "set_params",
    "shard_rows",
    "wrench_majority_vote_proba",
]
