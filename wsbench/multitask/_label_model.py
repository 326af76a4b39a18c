r"""``MultitaskMatrixCompletion``: the matrix-completion label model over a task graph's feasible set.

The latent variable is the joint label ``Y`` over the ``K`` feasible joint labels of a ``TaskGraph``
(``graph.Y_feasible``). LF j votes on task ``s = lf_task[j]`` with ``k_s`` outputs, so its indicator has
``k_s`` entries while the latent has ``K`` values: ``mu_j[a, y] = P(lambda_j = a | Y = y)`` is
``k_s x K``. Conditional independence across dependency components gives, as in the single-task
model, ``O_ij = mu_i diag(P(Y)) mu_j^T`` for LFs i, j in different components -- including LFs on
*different tasks*, which is where the cross-task information enters (Ratner et al., AAAI 2019).

This module is a thin layer: the fit is ``MatrixCompletion``'s own (``fit_from_stats``) on the
statistics of a ``wsbench.labelmodels.Layout`` built from the graph (``Layout.from_graph``), which
generalises the indicator variables, the initial guess (an LF is right with probability ``prec_init``
where its task applies, uniform where it does not), the tables (zero-padded to the largest task) and
the alignment of latent labels (Hungarian on how much the LFs credit each joint label with the votes
that are correct under it). With one task the layout *is* the single-task one and the fit is exactly
``MatrixCompletion``'s (same code path, same numbers).

Class balance ``P(Y)`` over the feasible set: given (``MultitaskWeakLabels.class_balance``, e.g.
estimated from dev labels by the runner) or uniform. The unsupervised estimate is single-task only:
with ``K >= 3`` joint labels the pairwise objective is invariant under
``mu -> mu P^{1/2} R P^{-1/2}`` for any rotation ``R`` fixing ``P^{1/2} 1``, so neither the balance nor
``mu`` is identified by second moments; third-order moments (the NumPy reference's
``third_order=True``) remove that family on synthetic data but collapse on real, dependent LFs
(round-1 finding), so they are not offered here. The identifiability anchor
(``MatrixCompletion.anchor``) is defined for square, single-task tables and is applied only when
there is one task; multi-task fits name latent labels by alignment instead.

**Unrelated tasks** (``split_components``, default on). When the graph falls into groups of tasks
that no parent or exclusion links (``TaskGraph.components``; e.g. a flat graph), the joint fit over
their product space has that rotation family even when every LF's votes depend on its own task only
(two binary tasks: ``K = 4``, a 3-dimensional family), and it lands off the truth (measured:
task-0 accuracy 63.9 vs 66.0 for a single-task fit, joint accuracy 58.0 vs Bayes 59.1 at
n = 1e5; with the split: 59.09 vs 59.08, ``tests/multitask/test_label_model_recovery.py``). So each
group is fitted as its own model on its LFs (a one-task group: exactly
``MatrixCompletion``, with its anchor; the prior: the marginal of the given joint balance over the
group), and the joint posterior combines them exactly under the assumption that an LF's votes
depend only on the labels of its own group's tasks: ``q(y) ∝ P(y) prod_c q_c(y_c) / P_c(y_c)``
(``P``: the given joint balance, else the product of the groups' priors). What this gives up is
cross-group information (LFs whose accuracy depends on an unrelated task's label); the joint fit
stays available with ``split_components=False``. A graph with one group is fitted jointly as above.
"""

import dataclasses
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..data import WeakLabels
from ..labelmodels import Layout, MatrixCompletion, MatrixCompletionFitted, layout_overlap_stats
from ._base import AbstractMultitaskFitted, AbstractMultitaskLabelModel, check_multitask_data
from ._containers import MultitaskWeakLabels
from ._task_graph import TaskGraph

BALANCE_MODES = ("auto", "data", "uniform", "unsupervised")


class MultitaskMatrixCompletionFitted(AbstractMultitaskFitted):
    """A fitted multi-task matrix-completion model.

    Attributes:
        core: the fitted single-task-shaped model over the ``K`` joint labels (tables
            ``(m, kmax+1, K)``, zero rows past each LF's task cardinality; prior ``(K,)``).
        graph, lf_task: the layout of ``L`` (static); trace: ``{"loss": (n_iter,)}``.
    """

    core: MatrixCompletionFitted
    trace: dict[str, Array]
    graph: TaskGraph = eqx.field(static=True)
    lf_task: tuple[int, ...] = eqx.field(static=True)

    def predict_proba_joint(self, L) -> Float[Array, "n K"]:
        return self.core.predict_proba(self.checked_L(L))

    def conditionals(self) -> Float[Array, "m kmax+1 K"]:
        """``P(lambda_j = a | Y = y)``, rows abstain, 0, ..., kmax-1 (padding rows 0); columns joint labels."""
        return self.core.tables

    def class_prior(self) -> Float[Array, " K"]:
        """``P(Y)`` over ``graph.Y_feasible``."""
        return self.core.prior


class MultitaskComponentsFitted(AbstractMultitaskFitted):
    """Independent fits of a graph's unlinked task groups (module docstring, ``split_components``).

    Attributes:
        parts: one fitted model per group of ``TaskGraph.components()``, on that group's subgraph.
        prior: ``(K,)`` joint prior over ``graph.Y_feasible``.
        lfs: static, the LF columns of each group; index: static, each joint label's index in each
            group's subgraph; trace: ``{"loss": (n_iter,)}`` summed over groups.
    """

    parts: tuple[AbstractMultitaskFitted, ...]
    prior: Float[Array, " K"]
    trace: dict[str, Array]
    graph: TaskGraph = eqx.field(static=True)
    lf_task: tuple[int, ...] = eqx.field(static=True)
    lfs: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    index: tuple[tuple[int, ...], ...] = eqx.field(static=True)

    def predict_proba_joint(self, L) -> Float[Array, "n K"]:
        L = self.checked_L(L)
        log_q = jnp.log(jnp.maximum(self.prior, 1e-30))[None, :]
        for part, lfs, idx in zip(self.parts, self.lfs, self.index, strict=True):
            idx = np.asarray(idx)
            q_c = part.predict_proba_joint(L[:, np.asarray(lfs)])
            p_c = part.class_prior()
            log_q = log_q + jnp.log(jnp.maximum(q_c, 1e-30))[:, idx]
            log_q = log_q - jnp.log(jnp.maximum(p_c, 1e-30))[None, idx]
        return jax.nn.softmax(log_q, axis=1)

    def conditionals(self) -> Float[Array, "m kmax+1 K"]:
        """``P(lambda_j = a | Y = y)`` in the joint layout (a group's tables read at ``y``'s labels)."""
        kmax = max(self.graph.cardinalities[s] for s in self.lf_task)
        out = jnp.zeros((len(self.lf_task), kmax + 1, self.graph.n_joint), jnp.float32)
        for part, lfs, idx in zip(self.parts, self.lfs, self.index, strict=True):
            T = part.conditionals()[:, :, np.asarray(idx)]
            out = out.at[np.asarray(lfs), : T.shape[1]].set(T)
        return out

    def class_prior(self) -> Float[Array, " K"]:
        return self.prior


class MultitaskMatrixCompletion(AbstractMultitaskLabelModel):
    """Matrix completion over the feasible joint labels of a ``TaskGraph`` (module docstring).

    Hyperparameters are ``MatrixCompletion``'s (same meaning, same defaults). ``class_balance_from``: ``"auto"``
    uses ``data.class_balance`` when given, else uniform (or, with one task, ``MatrixCompletion``'s
    unsupervised estimate); ``"data"`` requires it; ``"uniform"`` fixes it; ``"unsupervised"`` is
    available with one task only (see the module docstring for why) -- per group, with
    ``split_components``: a one-task group then estimates its own balance (``"auto"`` without
    ``class_balance`` too, as ``MatrixCompletion``), the joint prior being their product.

    Example:
        >>> import jax.random as jr
        >>> from wsbench.multitask import TaskGraph, sample_multitask
        >>> sim = sample_multitask(jr.key(0), n=2000, graph=TaskGraph.hierarchy(2, 3, under=1))
        >>> fitted = MultitaskMatrixCompletion(n_iter=200).fit(sim.weak, key=jr.key(1))
        >>> [q.shape for q in fitted.predict_proba(sim.weak.L)]
        [(2000, 2), (2000, 4)]
    """

    n_iter: int = eqx.field(static=True, default=500)
    lr: float | Array = 0.01
    l2: float | Array = 0.0
    prec_init: float | Array = 0.7
    init_noise: float | Array = 0.0
    optimizer: Literal["adam", "sgd"] = eqx.field(static=True, default="adam")
    class_balance_from: Literal["auto", "data", "uniform", "unsupervised"] = eqx.field(
        static=True, default="auto"
    )
    edges: tuple[tuple[int, int], ...] = eqx.field(static=True, default=())
    schedule: Literal["cosine", "constant"] = eqx.field(static=True, default="cosine")
    anchor: bool = eqx.field(static=True, default=True)
    """``MatrixCompletion.anchor``; applied when the graph has one task (multi-task: alignment)."""
    split_components: bool = eqx.field(static=True, default=True)
    """Fit each group of linked tasks (``TaskGraph.components``) as its own model and combine the
    posteriors (module docstring); ``False``: one joint fit over the whole feasible set."""

    def __check_init__(self):
        if self.class_balance_from not in BALANCE_MODES:
            raise ValueError(
                f"class_balance_from must be one of {BALANCE_MODES}, got {self.class_balance_from!r}."
            )
        if not isinstance(self.split_components, (bool, np.bool_)):
            raise TypeError(
                "MultitaskMatrixCompletion.split_components must be True or False, got "
                f"{self.split_components!r}."
            )
        self.core(one_task=True)  # the single-task model validates the shared hyperparameters

    def core(self, *, one_task: bool, class_balance_from: str | None = None) -> MatrixCompletion:
        """The ``MatrixCompletion`` that runs the fit (no anchor for a multi-task layout)."""
        return MatrixCompletion(
            n_iter=self.n_iter,
            lr=self.lr,
            l2=self.l2,
            prec_init=self.prec_init,
            init_noise=self.init_noise,
            optimizer=self.optimizer,
            class_balance_from=class_balance_from or self.class_balance_from,
            edges=self.edges,
            schedule=self.schedule,
            anchor=self.anchor and one_task,
        )

    def fit(self, data, *, key: PRNGKeyArray) -> AbstractMultitaskFitted:
        data = check_multitask_data(data)
        graph, lf_task = data.graph, data.lf_task
        groups = graph.components()
        if self.split_components and len(groups) > 1:
            return self._fit_groups(data, groups, key)
        layout = Layout.from_graph(graph, lf_task, self.edges)
        cb = data.class_balance
        if layout.is_single:
            core = self.core(one_task=True)
            stats = core.statistics(WeakLabels(L=data.L, n_classes=graph.n_joint, class_balance=cb))
        else:
            if self.class_balance_from == "unsupervised" or (
                self.class_balance_from == "data" and cb is None
            ):
                raise ValueError(
                    f"MultitaskMatrixCompletion(class_balance_from={self.class_balance_from!r}) on a {graph.n_tasks}-task "
                    "graph needs MultitaskWeakLabels.class_balance (a (K,) prior over "
                    "graph.Y_feasible, e.g. from dev labels): the unsupervised class balance is not "
                    "identifiable from pairwise moments over K >= 3 joint labels. Pass "
                    "class_balance, or use class_balance_from='uniform' / 'auto'."
                )
            if self.class_balance_from == "uniform":
                cb = None
            core = self.core(one_task=False, class_balance_from="uniform" if cb is None else "data")
            stats = layout_overlap_stats(data.L, layout, class_balance=cb)
        fitted = core.fit_from_stats(stats, key=key)
        return MultitaskMatrixCompletionFitted(
            core=fitted, trace=fitted.trace, graph=graph, lf_task=lf_task
        )

    def _fit_groups(self, data: MultitaskWeakLabels, groups, key) -> MultitaskComponentsFitted:
        graph, lf_task = data.graph, data.lf_task
        cb = None if self.class_balance_from == "uniform" else data.class_balance
        parts, lfs_of, index = [], [], []
        for c, tasks in enumerate(groups):
            sub = graph.subgraph(tasks)
            idx = graph.subgraph_index(tasks)
            lfs = tuple(j for j, s in enumerate(lf_task) if s in tasks)
            edges = []
            for i, j in self.edges:
                if (i in lfs) != (j in lfs):
                    raise ValueError(
                        f"dependency edge {(i, j)} joins LFs of unrelated task groups "
                        f"{groups}; the groups are fitted separately (split_components=True): "
                        "drop the edge or pass split_components=False."
                    )
                if i in lfs:
                    edges.append((lfs.index(i), lfs.index(j)))
            sub_cb = None if cb is None else jnp.zeros(sub.n_joint).at[idx].add(cb)
            part_data = MultitaskWeakLabels(
                data.L[:, np.asarray(lfs)],
                sub,
                tuple(tasks.index(lf_task[j]) for j in lfs),
                class_balance=sub_cb,
            )
            est = dataclasses.replace(self, edges=tuple(edges))
            parts.append(est.fit(part_data, key=jr.fold_in(key, c)))
            lfs_of.append(lfs)
            index.append(tuple(int(v) for v in idx))
        if cb is not None:
            prior = jnp.asarray(cb, jnp.float32)
        else:
            log_p = sum(
                jnp.log(jnp.maximum(p.class_prior(), 1e-30))[np.asarray(idx)]
                for p, idx in zip(parts, index, strict=True)
            )
            prior = jax.nn.softmax(log_p)
        trace = {"loss": sum(p.trace["loss"] for p in parts)}
        return MultitaskComponentsFitted(
            parts=tuple(parts),
            prior=prior,
            trace=trace,
            graph=graph,
            lf_task=lf_task,
            lfs=tuple(lfs_of),
            index=tuple(index),
        )
