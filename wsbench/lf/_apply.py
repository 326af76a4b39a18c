"""Apply labeling functions to a collection of records: ``apply_lfs`` and ``apply_lfs_dask``."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._lf import LabelingFunction, LFApplicationError, check_label


class Record(dict):
    """A DataFrame row as a dict that also allows attribute access (``x.text``, ``x["text"]``)."""

    __slots__ = ()

    def __getattr__(self, item):
        try:
            return self[item]
        except KeyError:
            raise AttributeError(item) from None


def _check_lfs(lfs) -> tuple[LabelingFunction, ...]:
    if isinstance(lfs, LabelingFunction):
        lfs = (lfs,)
    lfs = tuple(lfs)
    if not lfs:
        raise ValueError("apply_lfs needs at least one labeling function.")
    for i, lf in enumerate(lfs):
        if not isinstance(lf, LabelingFunction):
            raise ValueError(
                f"lfs[{i}] is a {type(lf).__name__}, not a LabelingFunction; decorate it with "
                "@wsbench.lf.labeling_function."
            )
    names = [lf.name for lf in lfs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"labeling function names must be unique; repeated: {dupes}.")
    return lfs


def _as_rows(records) -> tuple[Sequence[Any], Any]:
    """(per-record sequence, the object vectorised LFs receive)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(records, pd.DataFrame):
        return [Record(r) for r in records.to_dict("records")], records
    if isinstance(records, (str, bytes)) or not hasattr(records, "__len__"):
        raise ValueError(
            f"records must be a sequence (list of records) or a pandas DataFrame, got "
            f"{type(records).__name__}; materialise iterators with list(...)."
        )
    return records, records


def _run_vectorized(lf: LabelingFunction, batch, n: int, n_classes: int | None) -> np.ndarray:
    try:
        out = lf(batch)
    except LFApplicationError:
        raise
    except Exception as err:
        raise LFApplicationError(
            f"vectorised labeling function {lf.name!r} raised {type(err).__name__}: {err}",
            lf_name=lf.name,
        ) from err
    if out.shape != (n,):
        raise LFApplicationError(
            f"vectorised labeling function {lf.name!r} returned shape {out.shape}; "
            f"expected ({n},), one vote per record.",
            lf_name=lf.name,
        )
    if out.dtype == bool or not np.issubdtype(out.dtype, np.integer):
        raise LFApplicationError(
            f"vectorised labeling function {lf.name!r} returned dtype {out.dtype}; it must return "
            "integer votes (-1 = ABSTAIN).",
            lf_name=lf.name,
        )
    hi = np.iinfo(np.int64).max if n_classes is None else n_classes - 1
    bad = np.flatnonzero((out < -1) | (out > hi))
    if bad.size:
        check_label(int(out[bad[0]]), lf_name=lf.name, index=int(bad[0]), n_classes=n_classes)
    return out.astype(np.int32)


def apply_lfs(
    lfs: Sequence[LabelingFunction],
    records,
    *,
    n_classes: int | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Apply labeling functions to records and return the label matrix.

    Per-record LFs run record by record (one pass over the records, all LFs per record, as Snorkel's
    appliers do); vectorised LFs (``vectorized=True``) run once on the whole collection.

    Args:
        lfs: labeling functions, in the column order of the result.
        records: a sequence of records (dicts, objects, strings...) or a pandas DataFrame, whose
            rows are passed as dicts that also allow attribute access (``x.text``).
        n_classes: k; when given, votes above ``k-1`` are errors.
        progress: show a tqdm progress bar (it also stays off when stderr is not a terminal).

    Returns:
        ``L``: ``(n, m)`` int32 NumPy array, ``-1`` = abstain.

    Raises:
        LFApplicationError (a ValueError): an LF raised or returned an invalid vote; the message
        names
            the LF and the record index, and the original exception is chained.
        ValueError: no LFs, duplicate LF names, or records that are not a sequence.
    """
    lfs = _check_lfs(lfs)
    rows, batch = _as_rows(records)
    n = len(rows)
    L = np.full((n, len(lfs)), -1, dtype=np.int32)
    per_record = []
    for j, lf in enumerate(lfs):
        if lf.vectorized:
            L[:, j] = _run_vectorized(lf, batch, n, n_classes)
        else:
            per_record.append((j, lf))
    if not per_record or n == 0:
        return L

    from tqdm.auto import tqdm

    bar = tqdm(
        rows,
        total=n,
        desc="applying LFs",
        unit="rec",
        disable=None if progress else True,
        leave=False,
    )
    for i, record in enumerate(bar):
        for j, lf in per_record:
            try:
                x = record
                for p in lf.pre:
                    x = p(x)
                    if x is None:
                        raise LFApplicationError(
                            f"a preprocessor of labeling function {lf.name!r} returned None on "
                            f"record {i}.",
                            lf_name=lf.name,
                            index=i,
                        )
                value = lf.f(x, **lf.resources)
            except LFApplicationError:
                raise
            except Exception as err:
                raise LFApplicationError(
                    f"labeling function {lf.name!r} raised {type(err).__name__}: {err} "
                    f"on record {i} ({_preview(record)}).",
                    lf_name=lf.name,
                    index=i,
                ) from err
            L[i, j] = check_label(value, lf_name=lf.name, index=i, n_classes=n_classes)
    bar.close()
    return L


def _preview(record, width: int = 80) -> str:
    text = repr(record)
    return text if len(text) <= width else text[: width - 3] + "..."


def apply_lfs_dask(
    lfs: Sequence[LabelingFunction],
    records,
    *,
    n_classes: int | None = None,
    npartitions: int | None = None,
    scheduler: str | None = None,
) -> np.ndarray:
    """Apply labeling functions partition by partition with Dask (corpora larger than memory).

    ``dask`` is an optional dependency (``pip install "dask[dataframe]"``). ``records`` may be a
    ``dask.dataframe.DataFrame``, a ``dask.bag.Bag``, or an in-memory sequence (split into
    ``npartitions`` partitions). Each partition is labeled with :func:`apply_lfs` (progress off), so
    vectorised LFs receive one partition at a time; record indices in errors are partition-local,
    and the message names the partition.

    Returns:
        ``L``: ``(n, m)`` int32 NumPy array in record order (the result must fit in memory; the
        records need not).

    Raises:
        ImportError: dask is not installed. LFApplicationError: as for :func:`apply_lfs`.
    """
    try:
        import dask
        import dask.bag as db
    except ImportError as err:
        raise ImportError(
            "apply_lfs_dask needs dask, which is not a wsbench dependency; install it with "
            '`pip install "dask[dataframe]"`, or use apply_lfs for data that fits in memory.'
        ) from err
    lfs = _check_lfs(lfs)

    def label_partition(part, index):
        try:
            rows = part if hasattr(part, "columns") else list(part)
            return apply_lfs(lfs, rows, n_classes=n_classes, progress=False)
        except LFApplicationError as err:
            raise LFApplicationError(
                f"partition {index}: {err}", lf_name=err.lf_name, index=err.index
            ) from err

    if hasattr(records, "to_delayed") and hasattr(records, "npartitions"):
        parts = records.to_delayed()
    else:
        if not isinstance(records, db.Bag):
            records = db.from_sequence(list(records), npartitions=npartitions or 1)
        parts = records.to_delayed()
    labeled = [dask.delayed(label_partition)(p, i) for i, p in enumerate(parts)]
    blocks = dask.compute(*labeled, scheduler=scheduler)
    blocks = [b for b in blocks if b.shape[0]]
    if not blocks:
        return np.full((0, len(lfs)), -1, dtype=np.int32)
    return np.concatenate(blocks, axis=0)
