r"""Synthetic multi-task weak supervision with known truth (for recovery checks).

Generative model. A joint label ``y`` is drawn from ``prior`` over the feasible set ``graph.Y_feasible``
(``K`` joint labels); every LF j then votes from its own table ``T_j[a, y] = P(lambda_j = a | Y = y)``,
``a`` in ``{abstain, 0, ..., k_{s(j)}-1}`` (row 0 = abstain), independently of the other LFs given y,
except that a *follower* LF copies its leader's output (abstain included) with probability ``rho``
(``correlation``), otherwise voting from its own table. The tables depend on the whole joint label, so
an LF can be *cross-task informative*: a coarse LF whose accuracy depends on the fine class, or a fine
LF whose votes where the fine task does not apply differ from where it does.

``sample_multitask`` builds tables from a few numbers (accuracy, propensity, ``cross_task``);
``sample_multitask_from_tables`` takes arbitrary tables. The simulation carries the true prior, the
per-LF conditionals (marginal tables, followers included) and the clique tables of the copying pairs,
and :func:`multitask_bayes_posterior` is the exact ``P(Y | L)`` (junction-tree form, every vote and
abstain counted).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ._containers import MultitaskWeakLabels
from ._task_graph import TaskGraph


class MultitaskSimulation(eqx.Module):
    """Multi-task weak labels sampled from known tables.

    Attributes:
        weak: the sampled ``MultitaskWeakLabels`` (no class balance: what a model may know is the
            benchmark's decision).
        y_joint: ``(n,)`` true joint-label index (row of ``graph.Y_feasible``).
        prior: ``(K,)`` true ``P(Y)`` over the feasible joint labels.
        tables: ``(m, kmax+1, K)`` true marginal ``P(lambda_j = a | Y = y)`` (row 0 abstain; rows past
            ``k_{s(j)}`` are zero padding).
        edges: ``(leader, follower)`` copying pairs (static).
        clique_tables: ``(e, kmax+1, kmax+1, K)`` true ``P(lambda_l = a, lambda_f = b | y)`` per edge.
    """

    weak: MultitaskWeakLabels
    y_joint: Int[Array, " n"]
    prior: Float[Array, " K"]
    tables: Float[Array, "m a K"]
    clique_tables: Float[Array, "e a a K"]
    edges: tuple[tuple[int, int], ...] = eqx.field(static=True, default=())

    @property
    def graph(self) -> TaskGraph:
        return self.weak.graph

    @property
    def Y(self) -> np.ndarray:
        """``(n, t)`` true task labels (``k_s`` = not applicable)."""
        return self.graph.Y_feasible[np.asarray(self.y_joint)]

    def conditionals(self, j: int) -> np.ndarray:
        """``(k_{s(j)} + 1, K)`` true table of LF j (row 0 abstain)."""
        k = self.graph.cardinalities[self.weak.lf_task[j]]
        return np.asarray(self.tables[j, : k + 1])

    def task_marginals(self, q: Float[Array, "n K"]) -> tuple[Float[Array, "n _"], ...]:
        return tuple(q @ jnp.asarray(self.graph.indicator(s)).T for s in range(self.graph.n_tasks))


def _check_edges(edges, lf_task, m) -> tuple[tuple[int, int], ...]:
    edges = tuple((int(a), int(b)) for a, b in edges)
    followers = [b for _, b in edges]
    for a, b in edges:
        if not (0 <= a < m and 0 <= b < m) or a == b:
            raise ValueError(f"edge {(a, b)} must join two different LFs in 0..{m - 1}.")
        if lf_task[a] != lf_task[b]:
            raise ValueError(
                f"edge {(a, b)}: a follower copies its leader's vote, so both must vote on the "
                f"same task (got tasks {lf_task[a]} and {lf_task[b]})."
            )
        if a in followers:
            raise ValueError(f"edge {(a, b)}: leader {a} is itself a follower; use star blocks.")
    if len(set(followers)) != len(followers):
        raise ValueError(f"each follower has one leader; edges {edges} repeat a follower.")
    return edges


def sample_multitask_from_tables(
    key: PRNGKeyArray,
    *,
    n: int,
    graph: TaskGraph,
    lf_task,
    tables,
    prior=None,
    edges=(),
    correlation: float = 0.0,
) -> MultitaskSimulation:
    """Sample from given own tables ``(m, kmax+1, K)`` (row 0 abstain; columns sum to 1).

    Args:
        key: PRNG key; n: items; graph: the task graph; lf_task: ``(m,)`` task of each LF.
        tables: each LF's *own* table (a follower's marginal also mixes in its leader's).
        prior: ``(K,)`` over ``graph.Y_feasible``; uniform when omitted.
        edges: ``(leader, follower)`` pairs on the same task; correlation: copy probability rho.
    """
    K = graph.n_joint
    lf_task = tuple(int(s) for s in lf_task)
    m = len(lf_task)
    kmax = max(graph.cardinalities)
    own = np.asarray(tables, dtype=np.float64)
    if own.shape != (m, kmax + 1, K):
        raise ValueError(f"tables must have shape {(m, kmax + 1, K)}, got {own.shape}.")
    for j, s in enumerate(lf_task):
        if np.any(own[j, graph.cardinalities[s] + 1 :] != 0):
            raise ValueError(f"tables[{j}] gives probability to votes outside task {s}'s classes.")
    if np.any(own < 0) or not np.allclose(own.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("every table column must be a distribution over {abstain, classes}.")
    p = np.full(K, 1.0 / K) if prior is None else np.asarray(prior, dtype=np.float64)
    if p.shape != (K,) or np.any(p < 0) or abs(p.sum() - 1) > 1e-6:
        raise ValueError(f"prior must be a distribution over the K={K} feasible joint labels.")
    rho = float(correlation)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"correlation must lie in [0, 1], got {correlation!r}.")
    edges = _check_edges(edges, lf_task, m)
    leader = np.arange(m)
    for a, b in edges:
        leader[b] = a
    follower = leader != np.arange(m)
    marg = own.copy()
    marg[follower] = rho * own[leader[follower]] + (1 - rho) * own[follower]
    same = np.eye(kmax + 1)[None, :, :, None]
    li = np.array([e[0] for e in edges], int)
    fj = np.array([e[1] for e in edges], int)
    cliques = own[li][:, :, None, :] * (rho * same + (1 - rho) * own[fj][:, None, :, :])

    k_y, k_vote, k_copy = jr.split(key, 3)
    y = jr.choice(k_y, K, shape=(n,), p=jnp.asarray(p, jnp.float32))
    logits = jnp.log(jnp.clip(jnp.asarray(own, jnp.float32), 1e-30, 1.0))  # [j, a, y]
    per_row = jnp.transpose(logits[:, :, y], (2, 0, 1))  # [n, j, a]
    own_votes = jr.categorical(k_vote, per_row, axis=-1) - 1  # -1 = abstain
    copy = (jr.uniform(k_copy, (n, m)) < rho) & jnp.asarray(follower)[None, :]
    L = jnp.where(copy, own_votes[:, leader], own_votes).astype(jnp.int32)
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return MultitaskSimulation(
        weak=MultitaskWeakLabels(L, graph, lf_task),
        y_joint=y.astype(jnp.int32),
        prior=f32(p),
        tables=f32(marg),
        clique_tables=f32(cliques.reshape(len(edges), kmax + 1, kmax + 1, K)),
        edges=edges,
    )


def task_tables(
    graph: TaskGraph,
    lf_task,
    *,
    accuracy,
    propensity,
    cross_task: float = 0.0,
) -> np.ndarray:
    """Own tables ``(m, kmax+1, K)`` of LFs that vote on their task with a given accuracy.

    LF j (task s, accuracy ``a_j``, propensity ``pi_j``) votes with probability ``pi_j`` at every joint
    label. Where task s applies, it votes the true task-s class with probability
    ``clip(a_j + cross_task * c(y), 0.02, 0.98)``, else uniformly one of the other classes;
    ``c(y) = +1/-1`` alternates over the joint labels sharing the same task-s label (so with
    ``cross_task > 0`` the LF's accuracy depends on the *other* tasks' labels, e.g. a coarse LF that is
    better on some fine classes). Where task s does not apply, it votes uniformly over its classes.
    """
    lf_task = tuple(int(s) for s in lf_task)
    m, K = len(lf_task), graph.n_joint
    acc = _per_lf(accuracy, m, "accuracy")
    prop = _per_lf(propensity, m, "propensity")
    kmax = max(graph.cardinalities)
    T = np.zeros((m, kmax + 1, K))
    for j, s in enumerate(lf_task):
        k = graph.cardinalities[s]
        lab = graph.task_labels(s)
        rank = np.zeros(K, int)
        for a in range(graph.n_labels[s]):
            idx = np.flatnonzero(lab == a)
            rank[idx] = np.arange(idx.size)
        for y in range(K):
            a = lab[y]
            if a < k:
                c = 1.0 if rank[y] % 2 == 0 else -1.0
                if np.sum(lab == a) == 1:
                    c = 0.0
                acc_y = float(np.clip(acc[j] + cross_task * c, 0.02, 0.98))
                votes = np.full(k, (1 - acc_y) / (k - 1))
                votes[a] = acc_y
            else:
                votes = np.full(k, 1.0 / k)
            T[j, 0, y] = 1 - prop[j]
            T[j, 1 : k + 1, y] = prop[j] * votes
    return T


def sample_multitask(
    key: PRNGKeyArray,
    *,
    n: int,
    graph: TaskGraph,
    lfs_per_task=3,
    accuracy=(0.6, 0.85),
    propensity=0.5,
    cross_task: float = 0.0,
    prior=None,
    edges=(),
    correlation: float = 0.0,
) -> MultitaskSimulation:
    """LFs at every level of ``graph`` (``lfs_per_task``: an int or one per task; LFs grouped by task).

    ``accuracy`` / ``propensity``: a scalar, a ``[low, high]`` range (evenly spaced over all LFs) or m
    values; ``cross_task``: see :func:`task_tables`; ``edges`` / ``correlation``: copying pairs
    (``sample_multitask_from_tables``).
    """
    per = (lfs_per_task,) * graph.n_tasks if np.ndim(lfs_per_task) == 0 else tuple(lfs_per_task)
    if len(per) != graph.n_tasks or any(int(c) < 1 for c in per):
        raise ValueError(
            f"lfs_per_task must be a positive int or one per task, got {lfs_per_task!r}."
        )
    lf_task = tuple(s for s, c in enumerate(per) for _ in range(int(c)))
    T = task_tables(graph, lf_task, accuracy=accuracy, propensity=propensity, cross_task=cross_task)
    return sample_multitask_from_tables(
        key,
        n=n,
        graph=graph,
        lf_task=lf_task,
        tables=T,
        prior=prior,
        edges=edges,
        correlation=correlation,
    )


def _per_lf(value, m, name):
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.size == 1:
        arr = np.full(m, arr[0])
    elif arr.size == 2 and m != 2:
        arr = np.linspace(arr[0], arr[1], m)
    if arr.shape != (m,) or np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(
            f"{name} must be in [0, 1]: a scalar, [low, high] or {m} values; got {value!r}."
        )
    return arr


def multitask_bayes_posterior(sim: MultitaskSimulation, L) -> Float[Array, "n K"]:
    """Exact ``P(Y_joint | L)`` under the simulation's true tables (votes and abstains counted).

    ``log P(lambda | y) = sum_j (1 - deg_j) log T_j[lambda_j, y] + sum_e log C_e[lambda_l, lambda_f, y]``
    (a star forest of copying pairs; ``deg_j`` counts the edges at LF j).
    """
    L = jnp.asarray(L)
    m = L.shape[1]
    idx = L + 1
    logT = jnp.log(jnp.clip(sim.tables, 1e-30, 1.0))  # [j, a, y]
    single = logT[jnp.arange(m)[None, :], idx]  # [n, j, y]
    deg = np.zeros(m)
    for a, b in sim.edges:
        deg[a] += 1
        deg[b] += 1
    loglik = jnp.einsum("njy,j->ny", single, jnp.asarray(1.0 - deg, jnp.float32))
    if sim.edges:
        li = np.array([e[0] for e in sim.edges])
        fj = np.array([e[1] for e in sim.edges])
        logC = jnp.log(jnp.clip(sim.clique_tables, 1e-30, 1.0))
        loglik = loglik + logC[jnp.arange(len(li))[None, :], idx[:, li], idx[:, fj]].sum(axis=1)
    return jax.nn.softmax(jnp.log(sim.prior)[None, :] + loglik, axis=-1)
