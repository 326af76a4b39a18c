"""Sufficient statistics of a label matrix for moment-based label models (one pass over ``L``).

``OverlapStats`` holds the second moments of the LFs' indicator variables (and, optionally, the
third moments of LF triples); ``MatrixCompletion.statistics`` computes them once and every fit of a
sweep reuses them (``AbstractTwoStageLabelModel``).
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._dependencies import Layout, _as_edges, _structure, _structure_of
from ._rows import sum_rows


class OverlapStats(eqx.Module):
    """What ``MatrixCompletion`` needs from ``L``: computed in one pass, reused by every fit.

    Attributes:
        second_moments: ``(d, d)`` ``O = E[psi psi^T]`` (the paper's observed overlap matrix) of
            the indicator variables (the m one-hot LF votes, then one ``k*k`` one-hot joint vote
            per dependency edge).
        third_moments: ``(t, k^3)`` third moments of the LF triples used by the unsupervised class
            balance (``(0, k^3)`` when not needed).
        coverage: ``(m,)`` fraction of rows on which each LF votes.
        class_balance: the data's class balance, when given.
        n_rows: ``n`` (float scalar), the number of rows the moments average over.
    """

    second_moments: Float[Array, "d d"]
    third_moments: Float[Array, "t k3"]
    coverage: Float[Array, " m"]
    class_balance: Float[Array, " k"] | None
    n_classes: int = eqx.field(static=True)
    edges: tuple[tuple[int, int], ...] = eqx.field(static=True)
    n_rows: Float[Array, ""] | None = None
    layout: Layout | None = eqx.field(static=True, default=None)
    """The ``Layout`` of the indicator variables when it is not the single-task one."""


def _indicators(L: Int[Array, "c m"], k: int, edges) -> Float[Array, "c d"]:
    c, m = L.shape
    single = (L[:, :, None] == jnp.arange(k)[None, None, :]).reshape(c, m * k)
    parts = [single]
    if edges:
        ei = np.array([e[0] for e in edges])
        ej = np.array([e[1] for e in edges])
        Li, Lj = L[:, ei].astype(jnp.int32), L[:, ej].astype(jnp.int32)  # int8 L: k * k overflows
        idx = jnp.where((Li >= 0) & (Lj >= 0), Li * k + Lj, -1)
        parts.append((idx[:, :, None] == jnp.arange(k * k)[None, None, :]).reshape(c, -1))
    return jnp.concatenate(parts, axis=1).astype(jnp.float32)


def _layout_indicators(L: Int[Array, "c m"], s) -> Float[Array, "c d"]:
    """Indicators of a general ``Layout``: LF j's one-hot vote over its ``out_cards[j]`` values, then
    one joint one-hot of size ``out_i * out_j`` per edge (the single-task ``_indicators`` otherwise)."""
    if s.layout.is_single:
        return _indicators(L, s.k, s.edges)
    c, m = L.shape
    kmax = s.kmax
    onehot = (L[:, :, None] == jnp.arange(kmax)[None, None, :]).reshape(c, m * kmax)
    cols = np.concatenate([j * kmax + np.arange(s.out[j]) for j in range(m)])
    parts = [onehot[:, cols]]
    if s.edges:
        ei = np.array([e[0] for e in s.edges])
        ej = np.array([e[1] for e in s.edges])
        Li, Lj = L[:, ei].astype(jnp.int32), L[:, ej].astype(jnp.int32)
        idx = jnp.where((Li >= 0) & (Lj >= 0), Li * s.out[ej][None, :] + Lj, -1)
        pmax = int((s.out[ei] * s.out[ej]).max())
        pair = (idx[:, :, None] == jnp.arange(pmax)[None, None, :]).reshape(c, -1)
        pcols = np.concatenate(
            [e * pmax + np.arange(s.out[i] * s.out[j]) for e, (i, j) in enumerate(s.edges)]
        )
        parts.append(pair[:, pcols])
    return jnp.concatenate(parts, axis=1).astype(jnp.float32)


def layout_overlap_stats(
    L: Int[Array, "n m"], layout: Layout, *, class_balance=None
) -> OverlapStats:
    """Second moments of the indicator variables of a general ``Layout`` (no triple moments).

    ``n_classes`` is the latent cardinality ``layout.k``; the single-task layout gives exactly
    ``overlap_stats(L, k, edges, triples=False)``.
    """
    return _layout_overlap_stats(jnp.asarray(L), class_balance, layout)


@eqx.filter_jit
def _layout_overlap_stats(L, class_balance, layout) -> OverlapStats:
    s = _structure_of(layout)
    O = _accumulate(L, s.n_vars, lambda Lk: _layout_indicators(Lk, s))
    return OverlapStats(
        second_moments=O,
        third_moments=jnp.zeros((0, layout.k**3), jnp.float32),
        coverage=(L >= 0).mean(axis=0).astype(jnp.float32),
        class_balance=class_balance,
        n_classes=layout.k,
        n_rows=jnp.asarray(L.shape[0], jnp.float32),
        edges=layout.edges,
        layout=None if layout.is_single else layout,
    )


def _accumulate(L, d: int, indicators) -> Float[Array, "d d"]:
    """``mean_r X_r^T X_r`` over row chunks of ``L`` (``_rows.sum_rows``: no padded copy of ``L``)."""

    def block(Lk):
        X = indicators(Lk)
        return X.T @ X

    return sum_rows(block, L) / L.shape[0]


def overlap_stats(
    L: Int[Array, "n m"], k: int, edges=(), *, class_balance=None, triples: bool = True
) -> OverlapStats:
    """One pass over ``L`` (in row chunks): the overlap matrix and, optionally, the triple moments.

    Args:
        L: ``(n, m)`` label matrix (-1 = abstain); k: number of classes.
        edges: dependency edges (adds one joint indicator variable per edge).
        class_balance: carried along for ``fit_from_stats``.
        triples: also compute the three-way overlaps for the unsupervised class balance.
    """
    return _overlap_stats(jnp.asarray(L), class_balance, k, _as_edges(edges), bool(triples))


@eqx.filter_jit
def _overlap_stats(L, class_balance, k, edges, triples) -> OverlapStats:
    n, m = L.shape
    s = _structure(m, k, edges)
    tri = s.triples if triples else np.zeros((0, 3), np.int32)

    def block(Lk):
        X = _indicators(Lk, k, edges)
        O3 = (
            sum_rows(lambda Ls: triple_overlaps(Ls, tri, k), Lk, chunk=_triple_chunk(len(tri)))
            if tri.shape[0]
            else jnp.zeros((0, k**3), jnp.float32)
        )
        return X.T @ X, O3, (Lk >= 0).sum(axis=0)

    O, O3, n_voted = sum_rows(block, L)
    coverage = (n_voted / n).astype(jnp.float32)
    return OverlapStats(
        second_moments=O / n,
        third_moments=O3 / n,
        coverage=coverage,
        class_balance=class_balance,
        n_classes=k,
        n_rows=jnp.asarray(n, jnp.float32),
        edges=tuple(edges),
    )


_TRIPLE_ELEMENTS = 2**20
"""Row-block x triples elements per temporary of ``triple_overlaps`` (4 MB as int32)."""


def _triple_chunk(t: int) -> int:
    """Rows per sub-block of the triple counts: their ``(rows, t)`` int32 temporaries (five of
    them, 13 MB each for a 16384-row block and t = 200) dominated the peak of the statistics pass."""
    return max(256, _TRIPLE_ELEMENTS // max(t, 1))


def triple_overlaps(L: Int[Array, "c m"], triples: np.ndarray, k: int) -> Float[Array, "t k3"]:
    """Counts (not frequencies) of joint non-abstain votes ``(x, y, z)`` of each triple on a row chunk."""
    t = triples.shape[0]
    L = L.astype(jnp.int32)  # an int8 L would overflow in (a k + b) k + c
    La, Lb, Lc = L[:, triples[:, 0]], L[:, triples[:, 1]], L[:, triples[:, 2]]  # (c, t)
    valid = (La >= 0) & (Lb >= 0) & (Lc >= 0)
    flat = jnp.where(valid, (La * k + Lb) * k + Lc, k**3)  # dummy slot k**3 for "someone abstained"
    rows = jnp.broadcast_to(jnp.arange(t)[None, :], flat.shape)
    counts = jnp.zeros((t, k**3 + 1), jnp.float32).at[rows, flat].add(1.0)
    return counts[:, : k**3]
