"""Shared pieces of the raw-text tasks: locating files, fixed hash splits, building a Dataset."""

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Dataset, Split, WeakLabels
from ..data.fetch import fetch as _fetch
from ..features import featurize_splits
from ..lf import ABSTAIN, apply_lfs, apply_slices, labeling_function, lf_summary, slicing_function

__all__ = ["ABSTAIN", "apply_lfs", "labeling_function", "lf_summary", "slicing_function"]

SPLITS = ("train", "valid", "test")


def dataset_dir(
    name: str, *, mirror: str | Path | None = None, data_dir: str | Path | None = None
) -> Path:
    """The local folder of dataset ``name``, obtained by ``wsbench.data.fetch`` (sha256-checked)."""
    return Path(_fetch(name, mirror=mirror, data_dir=data_dir))


def require_file(folder: Path, filename: str) -> Path:
    path = Path(folder) / filename
    if not path.is_file():
        raise ValueError(
            f"Expected file {path} is missing; the dataset folder {folder} looks incomplete "
            "(re-fetch it with wsbench.data.fetch(..., force=True))."
        )
    return path


def hash_unit(text: str) -> float:
    """A fixed, key-independent number in [0, 1) for ``text`` (CRC-32, same on every platform)."""
    return zlib.crc32(text.encode("utf-8")) / 2**32


def hash_order(ids: Sequence[str]) -> np.ndarray:
    """Indices of ``ids`` sorted by their CRC-32 (ties broken by position): a fixed shuffle."""
    h = np.array([zlib.crc32(str(i).encode("utf-8")) for i in ids], dtype=np.int64)
    return np.lexsort((np.arange(len(ids)), h))


def stratified_hash_split(
    ids: Sequence[str], y: np.ndarray, n_first: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into (first, rest) with ``n_first`` rows in first, stratified by ``y``.

    Within each class the rows are ordered by :func:`hash_order`; class c contributes
    ``round(n_first * n_c / n)`` rows (the largest class absorbs the rounding). Deterministic.
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    quota = np.round(n_first * counts / len(y)).astype(int)
    quota[np.argmax(counts)] += n_first - quota.sum()
    first = []
    for c, q in zip(classes, quota, strict=True):
        rows = np.flatnonzero(y == c)
        order = hash_order([ids[i] for i in rows])
        first.extend(rows[order[:q]].tolist())
    first = np.sort(np.array(first, dtype=np.int64))
    rest = np.setdiff1d(np.arange(len(y)), first)
    return first, rest


def build_dataset(
    name: str,
    lfs: Sequence,
    records: dict[str, list],
    y: dict[str, np.ndarray],
    *,
    n_classes: int = 2,
    progress: bool = False,
    features=None,
    text: Callable[[Any], str] | None = None,
) -> Dataset:
    """Apply ``lfs`` to each split's records and wrap the label matrices and gold labels.

    Args:
        features: a featuriser spec for :func:`wsbench.features.make_featurizer` (``None``: no
            ``x``); fitted on the train split's texts only, then applied to every split.
        text: ``record -> str``, the text the featuriser reads (required with ``features``).
    """
    xs = None
    if features is not None:
        if text is None:
            raise ValueError(f"task {name!r}: features need a text(record) -> str function.")
        xs = featurize_splits(features, {s: [text(r) for r in records[s]] for s in SPLITS})
    splits = {}
    for split in SPLITS:
        L = apply_lfs(lfs, records[split], n_classes=n_classes, progress=progress)
        splits[split] = Split(
            WeakLabels(L=np.asarray(L, dtype=np.int32), n_classes=n_classes),
            y=np.asarray(y[split], dtype=np.int32),
            x=None if xs is None else xs[split],
        )
    return Dataset(name=name, **splits)


def build_slices(sfs: Sequence, records: dict[str, list]) -> dict:
    """``{"names": [slice names], split: (n_split, s) bool slice matrix}`` for each split."""
    out: dict = {"names": [sf.name for sf in sfs]}
    for split in SPLITS:
        out[split] = apply_slices(sfs, records[split])
    return out


def lf_names(lfs: Sequence) -> list[str]:
    return [lf.name for lf in lfs]
