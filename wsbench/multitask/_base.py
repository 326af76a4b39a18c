"""The multi-task label-model protocol (ARCHITECTURE.md, section 4, "sibling protocols").

``AbstractMultitaskLabelModel.fit(data: MultitaskWeakLabels, *, key)`` returns a fitted pytree whose
``predict_proba_joint(L)`` is the posterior over the feasible joint labels ``(n, K)`` and whose
``predict_proba(L)`` is the tuple of per-task marginals, task s as ``(n, n_labels[s])`` (a child task's
last column is "not applicable").
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ._containers import MultitaskWeakLabels, check_multitask_L
from ._task_graph import TaskGraph


def task_marginals(graph: TaskGraph, q: Float[Array, "n K"]) -> tuple[Float[Array, "n _"], ...]:
    """Per-task marginals ``q @ indicator(s).T`` of a joint posterior."""
    return tuple(q @ jnp.asarray(graph.indicator(s)).T for s in range(graph.n_tasks))


class AbstractMultitaskFitted(eqx.Module):
    """What a multi-task ``fit`` returns; ``graph``/``lf_task`` fix the layout of ``L``."""

    graph: eqx.AbstractVar[TaskGraph]
    lf_task: eqx.AbstractVar[tuple[int, ...]]
    trace: eqx.AbstractVar[dict[str, Array]]

    @abc.abstractmethod
    def predict_proba_joint(self, L) -> Float[Array, "n K"]:
        """Posterior over the feasible joint labels ``graph.Y_feasible``."""

    def predict_proba(self, L) -> tuple[Float[Array, "n _"], ...]:
        """Per-task marginals: task s as ``(n, n_labels[s])`` (child tasks: last column = not applicable)."""
        return task_marginals(self.graph, self.predict_proba_joint(L))

    def checked_L(self, L):
        return check_multitask_L(L, self.graph, self.lf_task)


class AbstractMultitaskLabelModel(eqx.Module):
    """A multi-task label model: hyperparameters are fields; ``fit`` is pure."""

    @abc.abstractmethod
    def fit(self, data: MultitaskWeakLabels, *, key: PRNGKeyArray) -> AbstractMultitaskFitted:
        """Fit to multi-task weak labels (pure; jit- and vmap-compatible)."""


def check_multitask_data(data) -> MultitaskWeakLabels:
    if not isinstance(data, MultitaskWeakLabels):
        raise ValueError(
            f"fit expects wsbench.multitask.MultitaskWeakLabels, got {type(data).__name__}; wrap "
            "the label matrix: MultitaskWeakLabels(L, graph, lf_task)."
        )
    return data
