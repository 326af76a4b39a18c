"""Shared pieces of the raw-text tasks: locating files, fixed hash splits, building a Dataset."""

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data import Dataset, Split, WeakLabels
from ..data.fetch import fetch as _fetch
from ..lf import ABSTAIN, apply_lfs, labeling_function, lf_summary

__all__ = ["ABSTAIN", "apply_lfs", "labeling_function", "lf_summary"]

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
) -> Dataset:
    """Apply ``lfs`` to each split's records and wrap the label matrices and gold labels."""
    splits = {}
    for split in SPLITS:
        L = apply_lfs(lfs, records[split], n_classes=n_classes, progress=progress)
        splits[split] = Split(
            WeakLabels(L=np.asarray(L, dtype=np.int32), n_classes=n_classes),
            y=np.asarray(y[split], dtype=np.int32),
        )
    return Dataset(name=name, **splits)


def lf_names(lfs: Sequence) -> list[str]:
    return [lf.name for lf in lfs]
