r"""Dependent LFs: blocks of strongly correlated LFs whose dependency edges are returned with the data.

Generative model. The m LFs are cut into blocks of consecutive LFs. Every LF j has its *own*
conditionally independent voting behaviour (propensity :math:`\pi_j`, accuracy :math:`\alpha_j`, errors
uniform over the other classes), giving own tables :math:`Q_j[a, y] = P_j^{\text{own}}(a \mid y)` with
:math:`a \in \{\text{abstain}, 0, \dots, k-1\}`. The first LF of a block (the *leader* :math:`\ell`) votes
from :math:`Q_\ell`; each *follower* f copies the leader's output (abstain included) with probability
:math:`\rho` (``correlation``) and otherwise votes from :math:`Q_f`. Blocks are conditionally independent
of each other given Y. The dependency graph is a star per block (edges ``(leader, follower)``), so

.. math::

    P(\lambda_\ell = a, \lambda_f = b \mid y) = Q_\ell[a, y]\,(\rho\,\mathbb{1}[a = b] + (1-\rho)\, Q_f[b, y]),
    \qquad
    P(\lambda \mid y) = \frac{\prod_{(\ell, f)} P(\lambda_\ell, \lambda_f \mid y)}
                             {\prod_\ell P(\lambda_\ell \mid y)^{\deg(\ell) - 1}}.

``Simulation.confusions`` / ``propensity`` hold each LF's true *marginal* behaviour
(:math:`\rho Q_\ell + (1 - \rho) Q_f` for followers), ``edges`` the star edges and ``clique_tables`` the
joint tables above, so recovery errors and :func:`dependent_posterior` are exact.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..data import Dataset, WeakLabels
from ._independent import independent_confusions
from ._simulation import (
    Simulation,
    check_sizes,
    class_balance_or_uniform,
    per_lf,
    sample_from_confusions,
    to_dataset,
)


def _blocks(m: int, block_size: int | None, n_blocks: int | None) -> list[np.ndarray]:
    if n_blocks is not None:
        if block_size is not None:
            raise ValueError("give either block_size or n_blocks, not both.")
        check_sizes(n_blocks=n_blocks)
        if n_blocks > m:
            raise ValueError(f"n_blocks={n_blocks} exceeds the number of LFs m={m}.")
        return [b for b in np.array_split(np.arange(m), n_blocks)]
    check_sizes(block_size=block_size)
    return [np.arange(lo, min(lo + block_size, m)) for lo in range(0, m, block_size)]


def _full_tables(conf: np.ndarray, prop: np.ndarray) -> np.ndarray:
    """``(m, k+1, k)``: ``[abstain, votes]`` rows per true class column."""
    votes = prop[:, None, None] * np.swapaxes(conf, 1, 2)  # [j, o, t]
    abstain = np.broadcast_to((1.0 - prop)[:, None, None], (len(prop), 1, conf.shape[1]))
    return np.concatenate([abstain, votes], axis=1)


def sample_dependent(
    key: PRNGKeyArray,
    *,
    n: int,
    m: int,
    n_classes: int = 2,
    accuracy=(0.6, 0.9),
    propensity=0.5,
    class_balance=None,
    block_size: int | None = 3,
    n_blocks: int | None = None,
    correlation: float = 0.8,
) -> Simulation:
    """Sample blocks of correlated LFs (leader + copying followers; see the module docstring).

    Args:
        key: PRNG key.
        n: items; m: LFs; n_classes: k.
        accuracy: each LF's *own* accuracy (scalar, ``[low, high]`` evenly spaced, or m values).
        propensity: each LF's *own* voting probability (same forms).
        class_balance: ``P(Y)``; uniform when omitted.
        block_size: LFs per block (consecutive; the last block may be smaller). Ignored when
            ``n_blocks`` is given (then pass ``block_size=None``).
        n_blocks: number of (near-equal) blocks instead of ``block_size``.
        correlation: probability ``rho`` that a follower copies its leader's output.

    Returns:
        A ``Simulation`` with marginal ``confusions``/``propensity``, star ``edges`` and ``clique_tables``.
    """
    check_sizes(n=n, m=m, n_classes=n_classes)
    k = n_classes
    rho = float(correlation)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"correlation must lie in [0, 1], got {correlation!r}.")
    blocks = _blocks(m, None if n_blocks is not None else block_size, n_blocks)
    leader = np.arange(m)
    for b in blocks:
        leader[b] = b[0]
    follower = leader != np.arange(m)
    edges = tuple((int(leader[j]), int(j)) for j in np.flatnonzero(follower))

    acc = per_lf(accuracy, m, "accuracy")
    prop = per_lf(propensity, m, "propensity")
    cb = class_balance_or_uniform(class_balance, k)
    own_conf = independent_confusions(acc, k)
    own = _full_tables(own_conf, prop)  # [j, a, y]
    marg = own.copy()
    marg[follower] = rho * own[leader[follower]] + (1.0 - rho) * own[follower]
    m_prop = 1.0 - marg[:, 0, 0]
    m_conf = np.swapaxes(marg[:, 1:, :] / m_prop[:, None, None], 1, 2)  # [j, t, o]
    same = np.eye(k + 1)[None, :, :, None]  # [1, a, b, 1]
    li, fj = np.array([e[0] for e in edges], int), np.array([e[1] for e in edges], int)
    cliques = own[li][:, :, None, :] * (rho * same + (1.0 - rho) * own[fj][:, None, :, :])

    k_sample, k_copy = jr.split(key)
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    y, L_own = sample_from_confusions(
        k_sample, n=n, confusions=f32(own_conf), propensity=f32(prop), class_balance=f32(cb)
    )
    copy = (jr.uniform(k_copy, (n, m)) < rho) & jnp.asarray(follower)[None, :]
    L = jnp.where(copy, L_own[:, leader], L_own).astype(jnp.int32)
    return Simulation(
        weak=WeakLabels(L=L, n_classes=k),
        y=y,
        confusions=f32(m_conf),
        propensity=f32(m_prop),
        class_balance=f32(cb),
        edges=edges,
        clique_tables=f32(cliques.reshape(len(edges), k + 1, k + 1, k)),
    )


def dependent_posterior(sim: Simulation, L) -> Float[Array, "n k"]:
    """Exact ``P(Y | L)`` under a simulation whose dependency edges form a forest.

    Junction-tree form: ``log P(lambda | y) = sum_edges log P(lambda_i, lambda_j | y)
    - sum_j (deg(j) - 1) log P(lambda_j | y)`` (separators divide; isolated LFs count once).
    """
    L = jnp.asarray(L)
    m = L.shape[1]
    idx = L + 1  # 0 = abstain
    marg = jnp.log(jnp.clip(sim.conditionals(), 1e-30, 1.0))  # [j, a, y]
    single = marg[jnp.arange(m)[None, :], idx]  # [n, j, y]
    deg = np.zeros(m)
    for i, j in sim.edges:
        deg[i] += 1
        deg[j] += 1
    weight = jnp.asarray(1.0 - deg, jnp.float32)
    loglik = jnp.einsum("njy,j->ny", single, weight)
    if sim.edges:
        if sim.clique_tables is None:
            raise ValueError("dependent_posterior needs Simulation.clique_tables for its edges.")
        ei = np.array([e[0] for e in sim.edges])
        ej = np.array([e[1] for e in sim.edges])
        log_c = jnp.log(jnp.clip(sim.clique_tables, 1e-30, 1.0))  # [e, a, b, y]
        pair = log_c[jnp.arange(len(ei))[None, :], idx[:, ei], idx[:, ej]]  # [n, e, y]
        loglik = loglik + pair.sum(axis=1)
    return jax.nn.softmax(jnp.log(sim.class_balance)[None, :] + loglik, axis=-1)


def make_dependent(
    *,
    key: PRNGKeyArray,
    name: str = "synthetic_dependent",
    n_train: int = 2000,
    n_valid: int = 500,
    n_test: int = 1000,
    **params,
) -> Dataset:
    """A ``Dataset`` of dependent LF blocks (config target; see ``sample_dependent``).

    The dependency edges are a property of the generator, not of the ``Dataset``: recover them with
    ``sample_dependent(...).edges`` (they depend only on ``m``, ``block_size``/``n_blocks``).
    """
    sim = sample_dependent(key, n=n_train + n_valid + n_test, **params)
    return to_dataset(sim, n_train, n_valid, n_test, name=name)
