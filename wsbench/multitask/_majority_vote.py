r"""Feasible-set-aware majority vote: the multi-task baseline.

Each feasible joint label y scores the number of LFs whose vote equals y's label on their task,
:math:`s(y) = \sum_j \mathbb{1}[\lambda_j = Y^{feas}_{y, t(j)}]` (abstains score nothing; an LF on a task
that does not apply at y scores nothing). The joint posterior is uniform over the joint labels of top
score; rows with no votes get the prior (``data.class_balance``, else uniform over the K joint labels).
Per-task outputs are the marginals of that joint posterior, so they always respect the task graph
(no "abnormal: no, finding: effusion"). With one task this is exactly ``MajorityVote``.
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ._base import AbstractMultitaskFitted, AbstractMultitaskLabelModel, check_multitask_data
from ._containers import MultitaskWeakLabels
from ._task_graph import TaskGraph


def agreement_scores(L, graph: TaskGraph, lf_task) -> Float[Array, "n K"]:
    """``[i, y]``: how many LFs vote, on row i, the label joint label y gives their task."""
    target = graph.Y_feasible[:, np.asarray(lf_task)].T  # [j, y]
    agree = (L[:, :, None] == jnp.asarray(target)[None, :, :]).astype(jnp.float32)  # [n, j, y]
    return agree.sum(axis=1)


class MultitaskMajorityVoteFitted(AbstractMultitaskFitted):
    prior: Float[Array, " K"]
    trace: dict[str, Array]
    graph: TaskGraph = eqx.field(static=True)
    lf_task: tuple[int, ...] = eqx.field(static=True)

    def predict_proba_joint(self, L) -> Float[Array, "n K"]:
        L = self.checked_L(L)
        score = agreement_scores(L, self.graph, self.lf_task)
        top = score.max(axis=1, keepdims=True)
        win = ((score == top) & (top > 0)).astype(jnp.float32)
        q = win / jnp.maximum(win.sum(axis=1, keepdims=True), 1.0)
        return jnp.where(top > 0, q, self.prior[None, :])


class MultitaskMajorityVote(AbstractMultitaskLabelModel):
    """Majority vote over the feasible joint labels (see the module docstring)."""

    def fit(self, data: MultitaskWeakLabels, *, key: PRNGKeyArray) -> MultitaskMajorityVoteFitted:
        del key  # deterministic
        data = check_multitask_data(data)
        K = data.graph.n_joint
        prior = jnp.full((K,), 1.0 / K) if data.class_balance is None else data.class_balance
        return MultitaskMajorityVoteFitted(
            prior=prior, trace={}, graph=data.graph, lf_task=data.lf_task
        )
