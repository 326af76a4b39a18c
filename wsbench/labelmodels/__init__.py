"""Label models behind one estimator protocol."""

from ._base import (
    AbstractFitted,
    AbstractGenerativeFitted,
    AbstractLabelModel,
    fit_predict_proba,
    get_params,
    predict,
    set_params,
)
from ._dawid_skene import DawidSkene, DawidSkeneFitted
from ._flying_squid import FlyingSquid, FlyingSquidFitted
from ._majority_vote import MajorityVote, MajorityVoteFitted
from ._matrix_completion import (
    MatrixCompletion,
    MatrixCompletionFitted,
    OverlapStats,
    overlap_stats,
)

__all__ = [
    "AbstractFitted",
    "AbstractGenerativeFitted",
    "AbstractLabelModel",
    "DawidSkene",
    "DawidSkeneFitted",
    "FlyingSquid",
    "FlyingSquidFitted",
    "MajorityVote",
    "MajorityVoteFitted",
    "MatrixCompletion",
    "MatrixCompletionFitted",
    "OverlapStats",
    "fit_predict_proba",
    "get_params",
    "overlap_stats",
    "predict",
    "set_params",
]
