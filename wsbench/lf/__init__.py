"""Labeling functions as code: author (``@labeling_function``), apply (``apply_lfs``), analyse
(``lf_summary``); slices as code (``@slicing_function``, ``apply_slices``).

Example:
    >>> from wsbench.lf import ABSTAIN, apply_lfs, labeling_function, lf_summary
    >>> @labeling_function()
    ... def has_link(x):
    ...     return 1 if "http" in x["text"] else ABSTAIN
    >>> L = apply_lfs([has_link], [{"text": "see http://x"}, {"text": "hi"}], progress=False)
    >>> L.tolist()
    [[1], [-1]]
"""

from ._advantage import (
    agreement_rate,
    expected_advantage,
    label_density,
    mean_accuracy_from_agreement,
    modeling_advantage,
)
from ._analysis import lf_summary
from ._apply import Record, apply_lfs, apply_lfs_dask
from ._lf import ABSTAIN, LabelingFunction, LFApplicationError, labeling_function
from ._slicing import SlicingFunction, apply_slices, slicing_function

__all__ = [
    "ABSTAIN",
    "LFApplicationError",
    "LabelingFunction",
    "Record",
    "SlicingFunction",
    "apply_lfs",
    "apply_lfs_dask",
    "agreement_rate",
    "apply_slices",
    "expected_advantage",
    "label_density",
    "labeling_function",
    "lf_summary",
    "mean_accuracy_from_agreement",
    "modeling_advantage",
    "slicing_function",
]
