"""Row-chunked sums and maps over a label matrix inside ``jit`` (memory O(chunk m), not O(n m)).

Every label model's n-dependent work is either a sum over rows (overlap moments, EM's M-step
counts, log evidence) or a row-local map (posteriors). Written over the whole ``(n, m)`` matrix, XLA
materialises ``(n, m)`` float32 masks and one-hots (200 MB each at n = 1e6, m = 50); these helpers
run the same function on static-size row blocks in a ``lax.fori_loop`` (``dynamic_slice`` of ``L``:
no padded copy), plus one block for the remainder if no block size near ``chunk`` divides ``n``, so the largest temporary is ``chunk x m``.
For ``n <= chunk`` the function runs once on the whole matrix (the unchunked computation exactly).
Float sums are accumulated block by block, so results equal the unchunked ones within float
tolerance (not bit for bit) when ``n > chunk``.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

ROW_CHUNK = 16384
"""Rows per block (at m = 50: a 3 MB float32 mask per temporary)."""


def block_rows(n: int, chunk: int) -> int:
    """The block size: ``chunk``, or the largest divisor of ``n`` in ``[chunk / 2, chunk]`` when
    there is one, so that there is no remainder block (XLA then compiles the function once, not
    twice: compilation memory is a large part of a fit's peak)."""
    if n % chunk == 0:
        return chunk
    for c in range(chunk, chunk // 2 - 1, -1):
        if n % c == 0:
            return c
    return chunk


def _slicer(start, size: int):
    return lambda x: jax.lax.dynamic_slice_in_dim(x, start, size, axis=0)


def sum_rows(f: Callable, L, *rows, chunk: int = ROW_CHUNK):
    """``sum over row blocks b of f(L[b], *(r[b] for r in rows))`` (``f`` returns a pytree).

    Args:
        f: a function of a row block of ``L`` (and of the same rows of each array in ``rows``)
            returning a pytree of arrays whose sum over blocks is wanted.
        L: ``(n, m)`` label matrix; rows: further arrays with ``n`` leading rows.
        chunk: rows per block (static).
    """
    n = L.shape[0]
    if n <= chunk:
        return f(L, *rows)
    chunk = block_rows(n, chunk)
    n_full = n // chunk

    def block(i):
        take = _slicer(i * chunk, chunk)
        return f(take(L), *map(take, rows))

    def body(i, acc):
        return jax.tree.map(jnp.add, acc, block(i))

    # start from zeros, not from block(0): f is then traced (and compiled) once, in the loop body
    # (0 + x == x, so the sums are the same bit for bit)
    shapes = jax.eval_shape(block, 0)
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    total = jax.lax.fori_loop(0, n_full, body, zeros)
    rest = n - n_full * chunk
    if rest:
        tail = f(L[n_full * chunk :], *(r[n_full * chunk :] for r in rows))
        total = jax.tree.map(jnp.add, total, tail)
    return total


def map_rows(f: Callable, L, *rows, chunk: int = ROW_CHUNK):
    """``f`` applied to row blocks, the per-row outputs (a pytree of ``(rows, ...)`` arrays)
    written into arrays of ``n`` rows (``dynamic_update_slice`` in place: no concatenation)."""
    n = L.shape[0]
    if n <= chunk:
        return f(L, *rows)
    chunk = block_rows(n, chunk)
    n_full = n // chunk
    shapes = jax.eval_shape(f, L[:chunk], *(r[:chunk] for r in rows))
    out = jax.tree.map(lambda s: jnp.zeros((n,) + s.shape[1:], s.dtype), shapes)

    def body(i, out):
        start = i * chunk
        take = _slicer(start, chunk)
        y = f(take(L), *map(take, rows))
        return jax.tree.map(
            lambda o, v: jax.lax.dynamic_update_slice_in_dim(o, v, start, axis=0), out, y
        )

    out = jax.lax.fori_loop(0, n_full, body, out)
    rest = n - n_full * chunk
    if rest:
        tail = f(L[n_full * chunk :], *(r[n_full * chunk :] for r in rows))
        out = jax.tree.map(lambda o, v: o.at[n_full * chunk :].set(v), out, tail)
    return out
