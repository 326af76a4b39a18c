"""Multi-task weak supervision (Snorkel MeTaL, Ratner et al. AAAI 2019).

- :class:`TaskGraph`: tasks, cardinalities, hierarchy / mutual exclusion, the feasible joint labels;
- :class:`MultitaskWeakLabels` (``L (n, m)`` + static ``lf_task``), :class:`MultitaskSplit`,
  :class:`MultitaskDataset`;
- :class:`MultitaskMajorityVote`: feasible-set-aware majority vote;
- :class:`MultitaskMatrixCompletion`: matrix completion over the feasible joint labels (MeTaL);
- :func:`sample_multitask` and :func:`multitask_bayes_posterior`: synthetic data with known truth;
- :class:`MultitaskMLP`: shared-trunk end model with one head per task, masked soft-label losses.
"""

from ._analysis import task_lf_summaries
from ._base import AbstractMultitaskFitted, AbstractMultitaskLabelModel, task_marginals
from ._containers import MultitaskDataset, MultitaskSplit, MultitaskWeakLabels
from ._endmodel import (
    MultitaskMLP,
    MultitaskMLPFitted,
    targets_from_gold,
    targets_from_marginals,
)
from ._label_model import (
    MultitaskComponentsFitted,
    MultitaskMatrixCompletion,
    MultitaskMatrixCompletionFitted,
)
from ._majority_vote import MultitaskMajorityVote, MultitaskMajorityVoteFitted, agreement_scores
from ._synthetic import (
    MultitaskSimulation,
    multitask_bayes_posterior,
    sample_multitask,
    sample_multitask_from_tables,
    task_tables,
)
from ._task_graph import TaskGraph

__all__ = [
    "AbstractMultitaskFitted",
    "AbstractMultitaskLabelModel",
    "MultitaskDataset",
    "MultitaskMLP",
    "MultitaskMLPFitted",
    "MultitaskMajorityVote",
    "MultitaskMajorityVoteFitted",
    "MultitaskMatrixCompletion",
    "MultitaskComponentsFitted",
    "MultitaskMatrixCompletionFitted",
    "MultitaskSimulation",
    "MultitaskSplit",
    "MultitaskWeakLabels",
    "TaskGraph",
    "agreement_scores",
    "multitask_bayes_posterior",
    "sample_multitask",
    "sample_multitask_from_tables",
    "targets_from_gold",
    "targets_from_marginals",
    "task_lf_summaries",
    "task_marginals",
    "task_tables",
]
