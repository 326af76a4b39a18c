"""Fit and predict from a label matrix that does not fit in memory: row chunks from any source.

The n-dependent work of a label model is a sum over rows: MatrixCompletion's overlap moments, each
Dawid-Skene EM iteration's M-step counts and log evidence, majority vote's per-row vote counts. This
module computes those sums one row chunk at a time from an ``L`` that is a NumPy array, a memory-mapped
``.npy`` (``np.load(path, mmap_mode="r")``), a Zarr array or anything else that slices into NumPy rows,
and from a Dask array with ``map_blocks`` and a tree reduction (on a ``distributed`` cluster when a
client is active). Only ``chunk_rows x m`` of ``L`` (plus the model's small statistics) is ever on
the device; the result equals the in-memory fit within float tolerance.

Example:
    >>> import jax.random as jr, numpy as np
    >>> from wsbench.labelmodels import MatrixCompletion, fit_chunked, predict_proba_chunked
    >>> L = np.random.default_rng(0).integers(-1, 2, size=(1000, 5)).astype(np.int8)
    >>> fitted = fit_chunked(MatrixCompletion(n_iter=50), L, n_classes=2, key=jr.key(0), chunk_rows=256)
    >>> predict_proba_chunked(fitted, L, chunk_rows=256).shape
    (1000, 2)
"""

import functools
from collections.abc import Callable, Iterator

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from ..data import WeakLabels
from ..data.validate import as_class_balance, as_label_matrix, check_n_classes
from . import _dawid_skene as ds
from . import _flying_squid as fs
from ._base import AbstractFitted, AbstractLabelModel, AbstractTwoStageLabelModel
from ._dawid_skene import DawidSkene, DawidSkeneFitted
from ._flying_squid import FlyingSquid
from ._hyper import check_int, check_key
from ._majority_vote import MajorityVote, MajorityVoteFitted
from ._rows import sum_rows
from ._statistics import OverlapStats

CHUNK_ROWS = 65536
"""Default rows per chunk (int8 at m = 50: about 3 MB of ``L`` per chunk)."""


def _is_dask(L) -> bool:
    return type(L).__module__.split(".")[0] == "dask"


def _check_source(L) -> tuple[int, int]:
    shape = getattr(L, "shape", None)
    dtype = getattr(L, "dtype", None)
    if shape is None or dtype is None or not hasattr(L, "__getitem__"):
        raise TypeError(
            f"L must be an (n, m) array-like that slices into rows (a NumPy array or memmap, a Zarr "
            f"or Dask array), got {type(L).__name__}."
        )
    if len(shape) != 2:
        raise ValueError(f"L must be 2-D (n items x m LFs), got shape {tuple(shape)}.")
    if not np.issubdtype(np.dtype(dtype), np.integer):
        raise ValueError(f"L must hold integers (-1 = abstain, 0..k-1), got dtype {dtype}.")
    n, m = int(shape[0]), int(shape[1])
    if n == 0 or m == 0:
        raise ValueError(f"L is empty (shape {tuple(shape)}).")
    return n, m


def _chunks(L, chunk_rows: int) -> Iterator[np.ndarray]:
    """Consecutive row blocks of ``L`` as NumPy arrays (one read per block)."""
    n = int(L.shape[0])
    for start in range(0, n, chunk_rows):
        yield np.asarray(L[start : min(start + chunk_rows, n)])


def reduce_rows(
    L, block_sums: Callable[[np.ndarray], np.ndarray], *, chunk_rows: int
) -> np.ndarray:
    """``sum`` over row blocks of ``block_sums(block)`` (a 1-D float64 vector per block).

    A Dask ``L`` is reduced with ``map_blocks`` + a tree reduction (``split_every=8``) on whatever
    scheduler is active (a ``distributed.Client`` when one exists); any other ``L`` is read one
    ``chunk_rows`` block at a time and summed in float64.
    """
    if _is_dask(L):
        import dask.array as da

        Ld = L.rechunk({0: chunk_rows, 1: -1}) if len(L.chunks[1]) > 1 else L
        size = int(np.asarray(block_sums(np.full((1, L.shape[1]), -1, np.int8))).size)
        parts = Ld.map_blocks(
            lambda b: np.asarray(block_sums(np.asarray(b)), np.float64)[None, :],
            dtype=np.float64,
            chunks=((1,) * Ld.numblocks[0], (size,)),
            meta=np.empty((0, 0), np.float64),
        )
        return np.asarray(da.sum(parts, axis=0, split_every=8).compute())
    total = None
    for block in _chunks(L, chunk_rows):
        part = np.asarray(block_sums(block), np.float64)
        total = part if total is None else total + part
    return total


def _validated(block: np.ndarray, k: int, m: int) -> Array:
    return as_label_matrix(block, k, n_lfs=m, keep_int8=True)


# ----------------------------------------------------------------------------------------------
# sufficient statistics


def chunked_statistics(
    est: AbstractTwoStageLabelModel,
    L,
    *,
    n_classes: int,
    class_balance=None,
    chunk_rows: int = CHUNK_ROWS,
) -> OverlapStats:
    """``est.statistics(WeakLabels(L, n_classes, class_balance))`` computed from row chunks.

    Each chunk goes through the estimator's own ``statistics`` (so it is validated and described
    exactly as in memory); the chunks' row means are re-weighted into the mean over all rows.
    """
    k = check_n_classes(n_classes)
    n, m = _check_source(L)
    cb = as_class_balance(class_balance, k)

    def stats_of(block):
        return est.statistics(WeakLabels(L=block, n_classes=k, class_balance=cb))

    template = stats_of(np.full((1, m), -1, np.int8))
    if not isinstance(template, OverlapStats):
        raise TypeError(
            f"chunked statistics need OverlapStats (row means); {type(est).__name__}.statistics "
            f"returns {type(template).__name__}."
        )
    leaves = [template.second_moments, template.third_moments, template.coverage]
    sizes = [int(x.size) for x in leaves]

    def block_sums(block):
        s = stats_of(block)
        rows = block.shape[0]
        return np.concatenate(
            [
                np.asarray(x, np.float64).ravel() * rows
                for x in (s.second_moments, s.third_moments, s.coverage)
            ]
        )

    total = reduce_rows(L, block_sums, chunk_rows=chunk_rows) / n
    O, O3, cov = np.split(total, np.cumsum(sizes)[:-1])
    f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
    return OverlapStats(
        second_moments=f32(O.reshape(template.second_moments.shape)),
        third_moments=f32(O3.reshape(template.third_moments.shape)),
        coverage=f32(cov),
        class_balance=template.class_balance,
        n_classes=template.n_classes,
        edges=template.edges,
        n_rows=jnp.asarray(n, jnp.float32),
        layout=template.layout,
    )


# ----------------------------------------------------------------------------------------------
# Dawid-Skene: one pass over the chunks per EM iteration


@eqx.filter_jit
def _ds_init_sums(L, init_prior, *, k: int, init: str, abstain: str):
    def rows(Lc):
        L_em, n_out = _ds_votes(Lc, k, abstain)
        q0 = ds._initial_posterior(Lc, init_prior, init)
        counts, q_sum, entropy = ds._m_step_sums(L_em, q0, n_out)
        return counts, q_sum, entropy, (L_em != -1).sum().astype(jnp.float32)

    return sum_rows(rows, L)  # in row blocks, as in memory: no (chunk, m, k) temporaries


@eqx.filter_jit
def _ds_iteration_sums(L, log_prior, log_conf, *, k: int, abstain: str):
    """E-step at ``(log_prior, log_conf)`` on a chunk, then the next M-step's sums (and the
    agreement with majority vote that aligns the classes), in row blocks as in memory."""

    def rows(Lc):
        L_em, n_out = _ds_votes(Lc, k, abstain)
        q, log_evidence = ds._posterior(log_prior, log_conf, L_em)
        counts, q_sum, entropy = ds._m_step_sums(L_em, q, n_out)
        return counts, q_sum, entropy, log_evidence.sum(), ds._mv_agreement(Lc, q)

    return sum_rows(rows, L)


def _ds_votes(L, k: int, abstain: str):
    if abstain == "observed":
        return ds._observed(L, k), k + 1
    return L, k


def _flat(*xs) -> np.ndarray:
    return np.concatenate([np.asarray(x, np.float64).ravel() for x in xs])


# The per-block functions handed to Dask are module-level functions bound with functools.partial,
# never closures over the jitted sums: Dask pickles its tasks (distributed does, also for threaded
# workers), and a pickled ``eqx.filter_jit`` wrapper comes back as a new wrapper with an empty
# compilation cache, so every task of every EM iteration compiled ``_ds_iteration_sums`` again.
# A module-level function is pickled by name and finds the module's one wrapper on the worker.


def _ds_init_block(block, init_prior, *, k: int, m: int, init: str, abstain: str) -> np.ndarray:
    return _flat(
        *_ds_init_sums(_validated(block, k, m), init_prior, k=k, init=init, abstain=abstain)
    )


def _ds_iteration_block(block, log_prior, log_conf, *, k: int, abstain: str) -> np.ndarray:
    # validated once, in the first pass (_ds_init_block); int8 travels 4x lighter than int32
    b = jnp.asarray(np.asarray(block, np.int8) if k < 127 else block)
    return _flat(*_ds_iteration_sums(b, log_prior, log_conf, k=k, abstain=abstain))


def _dawid_skene_chunked(est: DawidSkene, L, k: int, cb, chunk_rows: int) -> DawidSkeneFitted:
    n, m = _check_source(L)
    n_out = k + 1 if est.abstain == "observed" else k
    alpha = jnp.asarray(est.smoothing, jnp.float32)
    tol = float(0.0 if est.tol is None else est.tol)
    fixed = cb is not None
    init_prior = cb if fixed else jnp.full((k,), 1.0 / k, jnp.float32)
    shapes = [(m, k, n_out), (k,), (), ()]

    def split(total, shapes):
        out, i = [], 0
        for shp in shapes:
            size = int(np.prod(shp))
            out.append(jnp.asarray(total[i : i + size].reshape(shp), jnp.float32))
            i += size
        return out

    init_block = functools.partial(
        _ds_init_block, init_prior=init_prior, k=k, m=m, init=est.init, abstain=est.abstain
    )
    counts, q_sum, entropy, n_votes = split(
        reduce_rows(L, init_block, chunk_rows=chunk_rows), shapes
    )
    n_votes = jnp.maximum(n_votes, 1.0)
    nxt = ds._m_step(counts, q_sum, entropy, alpha, cb, n_votes)
    objective = np.zeros(est.n_iter, np.float32)
    prev_j, prev_ck = jnp.zeros((), jnp.float32), nxt[4]
    shapes_it = [(m, k, n_out), (k,), (), (), (k, k)]
    s = 0
    while s < est.n_iter:
        conf, prior, log_prior, log_conf, _ = nxt

        block = functools.partial(
            _ds_iteration_block, log_prior=log_prior, log_conf=log_conf, k=k, abstain=est.abstain
        )
        counts, q_sum, entropy, log_ev, agreement = split(
            reduce_rows(L, block, chunk_rows=chunk_rows), shapes_it
        )
        j = ds._objective(log_ev, conf, prior, alpha, fixed)
        nxt = ds._m_step(counts, q_sum, entropy, alpha, cb, n_votes)
        done = bool(ds._converged(s, tol, j, prev_j, nxt[4], prev_ck, n_votes, est.stop_on))
        objective[s] = float(j)
        prev_j, prev_ck = j, nxt[4]
        s += 1
        if done:
            break
    n_run = jnp.asarray(s, jnp.int32)
    trace = ds._pad_trace(jnp.asarray(objective), n_run)
    log_prior, log_conf = ds._align(log_prior, log_conf, agreement)
    return DawidSkeneFitted(
        log_prior=log_prior,
        log_confusion=log_conf,
        trace={"objective": trace, "ran": ds._ran(n_run, est.n_iter)},
    )


# ----------------------------------------------------------------------------------------------
# FlyingSquid: its moments are row sums (one pass)


def _flying_squid_chunked(est: FlyingSquid, L, k: int, cb, chunk_rows: int):
    n, m = _check_source(L)
    if m < 3:
        raise ValueError(
            f"FlyingSquid's triplet method needs at least 3 labeling functions, got m={m}; "
            "use MajorityVote (or DawidSkene) with fewer LFs."
        )
    t = 1 if k == 2 else k
    centred = est.moments == "centred"
    shapes = [(m, m), (m,), (t, m, m), (t, m)] + ([(t, 2 * m, 2 * m)] if centred else [])

    def block(b):
        return _flat(*fs._sums(_validated(b, k, m), k=k, centred=centred))

    total = reduce_rows(L, block, chunk_rows=chunk_rows)
    sums, i = [], 0
    for shp in shapes:
        size = int(np.prod(shp))
        sums.append(jnp.asarray(total[i : i + size].reshape(shp), jnp.float32))
        i += size
    return est._from_sums(tuple(sums), n, k, cb)


# ----------------------------------------------------------------------------------------------
# public entry points


def fit_chunked(
    est: AbstractLabelModel,
    L,
    *,
    n_classes: int,
    class_balance=None,
    chunk_rows: int = CHUNK_ROWS,
    key: PRNGKeyArray,
) -> AbstractFitted:
    """Fit ``est`` on a label matrix read in row chunks; equals ``est.fit(WeakLabels(L, ...))``.

    Args:
        est: a ``MajorityVote``, a ``DawidSkene`` (one pass over ``L`` per EM iteration, plus one
            for the start), a ``FlyingSquid`` (one pass: its second moments) or any ``AbstractTwoStageLabelModel`` whose statistics are
            ``OverlapStats`` (``MatrixCompletion``: one pass).
        L: ``(n, m)`` integer votes (-1 = abstain): a NumPy array or memmap, a Zarr array, or a Dask
            array (reduced on the active Dask scheduler / ``distributed`` client).
        n_classes: ``k``; class_balance: as ``WeakLabels.class_balance``.
        chunk_rows: rows per chunk (host sources) or per Dask block (a Dask ``L`` is re-chunked
            only when its columns are split).
        key: the fit key, as for ``est.fit``.

    Raises:
        TypeError: for an estimator without a chunked fit, or an ``L`` that is not array-like.
        ValueError: for a malformed ``L`` (checked chunk by chunk, as ``WeakLabels`` does).
    """
    check_key("fit_chunked", key)
    check_int("fit_chunked", "chunk_rows", chunk_rows)
    k = check_n_classes(n_classes)
    n, m = _check_source(L)
    cb = as_class_balance(class_balance, k)
    cb = None if cb is None else jnp.asarray(cb, jnp.float32)
    if isinstance(est, MajorityVote):
        # nothing to learn from the rows; one validating pass keeps bad input from going unnoticed
        reduce_rows(L, lambda b: (_validated(b, k, m), np.zeros(1))[1], chunk_rows=chunk_rows)
        prior = jnp.full((k,), 1.0 / k, jnp.float32) if cb is None else cb
        return MajorityVoteFitted(prior=prior, n_lfs=m, trace={})
    if isinstance(est, DawidSkene):
        return _dawid_skene_chunked(est, L, k, cb, chunk_rows)
    if isinstance(est, FlyingSquid):
        return _flying_squid_chunked(est, L, k, cb, chunk_rows)
    if isinstance(est, AbstractTwoStageLabelModel):
        stats = chunked_statistics(est, L, n_classes=k, class_balance=cb, chunk_rows=chunk_rows)
        return est.fit_from_stats(stats, key=key)
    raise TypeError(
        f"fit_chunked has no chunked fit for {type(est).__name__}; supported: MajorityVote, "
        "DawidSkene, FlyingSquid and two-stage models with OverlapStats (MatrixCompletion). Fit in memory with "
        "est.fit(WeakLabels(L, k), key=key)."
    )


def predict_proba_chunked(fitted: AbstractFitted, L, *, out=None, chunk_rows: int = CHUNK_ROWS):
    """``fitted.predict_proba(L)`` one row chunk at a time.

    Args:
        L: as for ``fit_chunked``.
        out: where the ``(n, k)`` float32 posteriors go for a host ``L``: ``None`` (a new NumPy
            array), or a writable ``(n, k)`` array such as ``np.lib.format.open_memmap(path,
            mode="w+", dtype=np.float32, shape=(n, k))`` or a Zarr array. Not used for a Dask ``L``.

    Returns:
        ``out`` filled chunk by chunk; for a Dask ``L``, a lazy Dask array of posteriors with ``L``'s
        row blocks (compute it, or store it with ``.to_zarr(...)``).
    """
    check_int("predict_proba_chunked", "chunk_rows", chunk_rows)
    n, m = _check_source(L)

    def proba(block):
        return np.asarray(fitted.predict_proba(np.asarray(block)), np.float32)

    k = proba(np.full((1, m), -1, np.int8)).shape[1]
    if _is_dask(L):
        Ld = L.rechunk({1: -1}) if len(L.chunks[1]) > 1 else L
        return Ld.map_blocks(
            proba, dtype=np.float32, chunks=(Ld.chunks[0], (k,)), meta=np.empty((0, 0), np.float32)
        )
    if out is None:
        out = np.empty((n, k), np.float32)
    if tuple(out.shape) != (n, k):
        raise ValueError(f"out must have shape ({n}, {k}), got {tuple(out.shape)}.")
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        out[start:stop] = proba(L[start:stop])
    return out


# ----------------------------------------------------------------------------------------------
# many devices


def shard_rows(L, devices=None) -> Array:
    """``L`` on several devices, its row axis split over a 1-D ``jax.sharding`` mesh ``("rows",)``.

    Pass the result as ``WeakLabels(L=shard_rows(L), ...)``: every estimator's row sums (overlaps,
    EM counts, vote counts) then run where the rows are and are all-reduced by XLA, so the fit equals
    the single-device fit within float tolerance. Rows are not padded (padding would change the
    row means), so ``n`` must be a multiple of the number of devices.

    Args:
        L: ``(n, m)`` integer label matrix (host or device array).
        devices: the devices to use (default ``jax.devices()``).
    """
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = list(jax.devices() if devices is None else devices)
    n, _ = _check_source(L)
    if n % len(devices):
        raise ValueError(
            f"shard_rows: n = {n} rows do not split evenly over {len(devices)} devices; drop or "
            f"add rows (e.g. L[: {n - n % len(devices)}]) or pass fewer devices."
        )
    mesh = Mesh(np.asarray(devices), ("rows",))
    return jax.device_put(jnp.asarray(L), NamedSharding(mesh, PartitionSpec("rows", None)))
