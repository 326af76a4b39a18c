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
from ._majority_vote import MajorityVote, MajorityVoteFitted

__all__ = [
    "AbstractFitted",
    "AbstractGenerativeFitted",
    "AbstractLabelModel",
    "DawidSkene",
    "DawidSkeneFitted",
    "MajorityVote",
    "MajorityVoteFitted",
    "fit_predict_proba",
    "get_params",
    "predict",
    "set_params",
]
