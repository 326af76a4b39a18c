"""Converters from other label-matrix conventions to wsbench's dense ``-1``-abstain ``L``."""

from collections.abc import Mapping, Sequence

import numpy as np

from ._containers import WeakLabels
from .validate import check_n_classes


def from_long(
    records,
    *,
    task: str = "task",
    worker: str = "worker",
    label: str = "label",
    n_classes: int | None = None,
    label_names: Sequence | None = None,
) -> tuple[WeakLabels, list, list]:
    """Dense weak labels from long format (one row per (item, LF, label)), as crowd-kit uses.

    Args:
        records: a pandas DataFrame or a mapping of column name -> sequence.
        task, worker, label: column names of the item id, the LF (worker) id and the vote.
        n_classes: number of classes; inferred from the labels when omitted.
        label_names: order of label values (class ``i`` = ``label_names[i]``); when omitted, labels
            must already be ints ``0..k-1``.

    Returns:
        ``(weak, items, lfs)``: the weak labels with rows in ``items`` order and columns in ``lfs`` order
        (both sorted by first appearance).

    Raises:
        TypeError: ``records`` is neither a DataFrame nor a mapping (e.g. a list of tuples).
        ValueError: on missing columns, an item labelled twice by the same LF with different labels,
            or labels outside the known classes.
    """
    if not isinstance(records, Mapping) and not hasattr(records, "columns"):
        kind = type(records).__name__
        inner = ""
        if isinstance(records, (list, tuple)) and records:
            inner = f" of {type(records[0]).__name__}"
        raise TypeError(
            f"from_long(records=...) needs a pandas DataFrame or a mapping of column name -> "
            f"sequence ({{{task!r}: [...], {worker!r}: [...], {label!r}: [...]}}), got a "
            f"{kind}{inner}. For (item, LF, label) tuples pass "
            f"pandas.DataFrame(records, columns=[{task!r}, {worker!r}, {label!r}]) or "
            f"dict(zip([{task!r}, {worker!r}, {label!r}], zip(*records)))."
        )
    cols = {}
    for c in (task, worker, label):
        try:
            cols[c] = list(records[c])
        except (KeyError, TypeError) as err:
            raise ValueError(
                f"long-format records need a {c!r} column; got columns "
                f"{list(records.keys()) if isinstance(records, Mapping) else list(getattr(records, 'columns', []))}."
            ) from err
    lengths = {c: len(v) for c, v in cols.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"long-format columns must have equal lengths, got {lengths}.")
    if not cols[task]:
        raise ValueError(
            "long-format records are empty: there are no votes to build a label matrix from."
        )
    items = list(dict.fromkeys(cols[task]))
    lfs = list(dict.fromkeys(cols[worker]))
    item_idx = {t: i for i, t in enumerate(items)}
    lf_idx = {w: j for j, w in enumerate(lfs)}
    if label_names is not None:
        code = {v: i for i, v in enumerate(label_names)}
    else:
        code = None
    L = np.full((len(items), len(lfs)), -1, dtype=np.int32)
    for row, (t, w, v) in enumerate(zip(cols[task], cols[worker], cols[label], strict=True)):
        if code is not None:
            if v not in code:
                raise ValueError(
                    f"row {row}: label {v!r} is not one of label_names {list(label_names)}."
                )
            v = code[v]
        elif isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(
                f"row {row}: label {v!r} is not a class id 0..k-1; pass label_names=[...] to map "
                "arbitrary label values to class ids."
            )
        i, j = item_idx[t], lf_idx[w]
        if L[i, j] != -1 and L[i, j] != v:
            raise ValueError(
                f"row {row}: LF {w!r} labelled item {t!r} twice with different labels."
            )
        L[i, j] = v
    if n_classes is None:
        n_classes = len(label_names) if label_names is not None else max(int(L.max()) + 1, 2)
    return WeakLabels(L=L, n_classes=n_classes), items, lfs


def from_metal(L_metal, n_classes: int) -> WeakLabels:
    """Weak labels from a MeTaL/Snorkel-0.7 matrix, where ``0`` = abstain and classes are ``1..k``."""
    n_classes = check_n_classes(n_classes)
    L_metal = np.asarray(L_metal)
    if not np.issubdtype(L_metal.dtype, np.integer) or L_metal.dtype == bool:
        raise ValueError(
            f"a MeTaL label matrix must be integer (0 = abstain, 1..k), got dtype {L_metal.dtype}."
        )
    if L_metal.size and (L_metal.min() < 0 or L_metal.max() > n_classes):
        raise ValueError(
            f"a MeTaL label matrix has values in 0..{n_classes} (0 = abstain); found "
            f"{int(L_metal.min())}..{int(L_metal.max())}. Is it already -1-abstain?"
        )
    return WeakLabels(L=L_metal.astype(np.int32) - 1, n_classes=n_classes)
