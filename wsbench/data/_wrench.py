"""Load datasets in WRENCH's JSON layout into a :class:`~wsbench.data.Dataset`.

WRENCH layout (Zhang et al. 2021, ``wrench/dataset/basedataset.py``): a folder with ``label.json``
(``{"0": "name", ...}``) and ``train.json`` / ``valid.json`` / ``test.json``, each one JSON object
keyed by example id whose values are ``{"label": int, "weak_labels": [int] * m, "data": {...}}``
(``-1`` = abstain; ``data`` holds the raw record, e.g. ``{"text": ...}``).

Splits without a ``train.json`` (``wrench_chemprot`` and ``spouse_snorkel`` ship only valid/test):
with ``missing_train="valid"`` the train split *is* the valid split. The benchmark protocol for such
datasets is then: a label model is fitted (unsupervised, on the LF outputs only) on the valid split,
valid is also what dev-label settings (``dev_labels``) and model selection may read, and every
reported score is on the untouched test split. Train and valid therefore share items: do not read
train-vs-valid numbers as generalisation. Labels ``-1`` (or ``null``, or a missing ``label``) mean
"gold unknown".
"""

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._containers import Dataset, Split, WeakLabels

SPLITS = ("train", "valid", "test")


def _label_names(root: Path) -> dict[int, str]:
    path = root / "label.json"
    if not path.is_file():
        raise ValueError(
            f'{path} is missing; a WRENCH dataset folder needs label.json ({{"0": name, ...}}).'
        )
    doc = _read_json(path)
    if not isinstance(doc, dict) or not doc:
        raise ValueError(
            f'{path}: expected a non-empty JSON object {{"0": name, ...}}, '
            f"got {type(doc).__name__}."
        )
    try:
        names = {int(k): str(v) for k, v in doc.items()}
    except ValueError:
        raise ValueError(
            f"{path}: keys must be class ids 0..k-1, got {sorted(doc)[:10]}."
        ) from None
    if sorted(names) != list(range(len(names))):
        raise ValueError(f"{path}: keys must be exactly 0..{len(names) - 1}, got {sorted(names)}.")
    return names


def _row_near(text: str, pos: int) -> str:
    """The id of the top-level row whose text contains position ``pos`` (best effort)."""
    depth, key, i = 0, None, 0
    while i < pos:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if depth == 1 and text[j + 1 : j + 40].lstrip().startswith(":"):
                key = text[i + 1 : j]
            i = j + 1
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        i += 1
    return f" (in or after row {key!r})" if key is not None else ""


def _read_json(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        lines = text.split("\n")  # keeps a trailing empty line, unlike splitlines()
        line = lines[err.lineno - 1] if 0 < err.lineno <= len(lines) else ""
        if not line.strip() and err.pos >= len(text.rstrip()):
            line = "<end of file: the file is truncated>"
        raise ValueError(
            f"{path}: malformed JSON at line {err.lineno}, column {err.colno}"
            f"{_row_near(text, err.pos)}: "
            f"{err.msg}. Offending line: {line.strip()[:120]!r}."
        ) from None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def read_wrench_split(
    path: str | os.PathLike, n_classes: int
) -> tuple[list[str], np.ndarray, np.ndarray, list]:
    """Read one WRENCH split file.

    Returns:
        ``(ids, L, y, data)``: row ids in file order, ``(n, m)`` int32 votes, ``(n,)`` int32 gold
        (``-1`` = unknown) and the raw ``data`` records.

    Raises:
        ValueError: naming the file and row id for malformed JSON, a row without ``weak_labels``,
            weak labels of the wrong length or outside ``-1..k-1``, or a label outside
            ``label.json``.
    """
    path = Path(path)
    doc = _read_json(path)
    if not isinstance(doc, dict):
        raise ValueError(
            f"{path}: expected a JSON object keyed by example id, got a {type(doc).__name__}."
        )
    if not doc:
        raise ValueError(f"{path}: the split has no rows.")
    ids, rows, labels, data = [], [], [], []
    m = None
    first = None
    for rid, row in doc.items():
        where = f"{path}, row {rid!r}"
        if not isinstance(row, dict):
            raise ValueError(
                f"{where}: expected an object with 'weak_labels', 'label', 'data'; "
                f"got {type(row).__name__}."
            )
        if "weak_labels" not in row:
            raise ValueError(
                f"{where}: missing 'weak_labels' (the LF outputs); keys are {sorted(row)}."
            )
        wl = row["weak_labels"]
        if not isinstance(wl, list) or not all(_is_int(v) for v in wl):
            raise ValueError(
                f"{where}: 'weak_labels' must be a list of ints (-1 = abstain), got {wl!r:.120}."
            )
        if m is None:
            m, first = len(wl), rid
            if m == 0:
                raise ValueError(
                    f"{where}: 'weak_labels' is empty; a dataset needs at least one LF."
                )
        elif len(wl) != m:
            raise ValueError(
                f"{where}: has {len(wl)} weak labels but row {first!r} has {m}; "
                "every row needs one vote per LF."
            )
        bad = [(j, v) for j, v in enumerate(wl) if v < -1 or v >= n_classes]
        if bad:
            j, v = bad[0]
            raise ValueError(
                f"{where}: weak label {v} of LF {j} is outside -1..{n_classes - 1} "
                f"(label.json has {n_classes} classes)."
            )
        label = row.get("label", -1)
        if label is None:
            label = -1
        if not _is_int(label) or label < -1 or label >= n_classes:
            raise ValueError(
                f"{where}: label {label!r} is not a class of label.json (0..{n_classes - 1}) or -1 "
                "(unknown)."
            )
        ids.append(str(rid))
        rows.append(wl)
        labels.append(label)
        data.append(row.get("data"))
    return ids, np.asarray(rows, dtype=np.int32), np.asarray(labels, dtype=np.int32), data


def _texts(root: Path, split: str, data: list) -> list[str]:
    """``data[i]["text"]`` for each row (the text WRENCH ships), for ``features=``."""
    out = []
    for i, d in enumerate(data):
        if not isinstance(d, dict) or not isinstance(d.get("text"), str):
            raise ValueError(
                f"{root}: row {i} of the {split} split has no data['text'] string; features= "
                "needs the text of every row (pass features=None to load L and y only)."
            )
        out.append(d["text"])
    return out


def load_wrench(
    root: str | os.PathLike,
    *,
    n_classes: int | None = None,
    splits: Sequence[str] = SPLITS,
    missing_train: Literal["error", "valid"] = "error",
    name: str | None = None,
    return_records: bool = False,
    features=None,
    key=None,
):
    """Load a WRENCH-format folder (``label.json`` + ``{train,valid,test}.json``) as a ``Dataset``.

    Args:
        root: the dataset folder (files must already be on disk; see ``wsbench.data.fetch``).
        n_classes: k; defaults to the number of entries in ``label.json`` (must agree if given).
        splits: which of train/valid/test are read from disk; a split not read, or absent with
            ``missing_train="valid"``, is filled as described below.
        missing_train: when ``train.json`` is absent (or ``"train"`` is not in ``splits``):
            ``"error"`` raises, ``"valid"`` uses the valid split as train (see the module docstring
            for the protocol).
        name: the dataset name (default: the folder name).
        return_records: also return ``{split: {"ids": [...], "data": [...]}}`` with the raw ``data``
            records (e.g. ``{"text": ...}``) in row order, for featurisation and end models.
        features: a text featuriser spec (``wsbench.features.make_featurizer``: ``"default"``,
            ``"tfidf"``, ``{"name": ..., **params}``, ...) fitted on the train split's
            ``data["text"]`` and applied to every split's ``x``; ``None`` (default) leaves ``x``
            ``None``.
        key: accepted for the config convention; loading is deterministic.

    Returns:
        The ``Dataset`` (``x`` is ``None`` unless ``features`` is given), or ``(Dataset,
        records)`` when ``return_records`` (``records`` also has ``"label_names"``, the class names
        in class-id order).

    Raises:
        ValueError: a missing file, or bad data; messages name the file and the row id.
    """
    del key
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(
            f"load_wrench(root=...) needs the path of a WRENCH dataset folder (str or Path), got "
            f"{type(root).__name__}."
        )
    root = Path(root)
    if root.is_file():
        hint = (
            f"; to read that one split file use read_wrench_split({str(root)!r}, n_classes)"
            if root.suffix == ".json"
            else ""
        )
        raise ValueError(
            f"load_wrench(root=...) needs the dataset folder holding label.json and "
            f"train/valid/test.json, got the file {root}; pass its folder {root.parent}{hint}."
        )
    if n_classes is not None and (
        isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer))
    ):
        raise TypeError(
            f"load_wrench(n_classes=...) must be an int (or None to read it from label.json), got "
            f"{n_classes!r} of type {type(n_classes).__name__}; pass e.g. n_classes=2."
        )
    if not root.is_dir():
        raise ValueError(
            f"WRENCH dataset folder {root} does not exist; fetch it first (wsbench.data.fetch)."
        )
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown splits {sorted(unknown)}; choose from {SPLITS}.")
    if missing_train not in ("error", "valid"):
        raise ValueError(f"missing_train must be 'error' or 'valid', got {missing_train!r}.")
    label_names = _label_names(root)
    k = len(label_names)
    if n_classes is not None and n_classes != k:
        raise ValueError(f"n_classes={n_classes} but {root / 'label.json'} lists {k} classes.")
    if k < 2:
        raise ValueError(f"{root / 'label.json'} lists {k} class; a label model needs at least 2.")

    loaded: dict[str, tuple] = {}
    for split in SPLITS:
        path = root / f"{split}.json"
        if split not in splits:
            continue
        if not path.is_file():
            if split == "train" and missing_train == "valid":
                continue
            hint = (
                " (pass missing_train='valid' to fit on the valid split)"
                if split == "train"
                else ""
            )
            raise ValueError(f"{path} is missing{hint}.")
        loaded[split] = read_wrench_split(path, k)
    if "train" not in loaded:
        if missing_train != "valid":
            raise ValueError(
                f"{root}: no train split loaded; pass missing_train='valid' to use valid as train."
            )
        if "valid" not in loaded:
            raise ValueError(f"{root}: missing_train='valid' needs the valid split.")
        loaded["train"] = loaded["valid"]
    for split in ("valid", "test"):
        if split not in loaded:
            raise ValueError(f"{root}: the {split} split is required (splits={tuple(splits)}).")
    ms = {s: v[1].shape[1] for s, v in loaded.items()}
    if len(set(ms.values())) != 1:
        raise ValueError(
            f"{root}: splits have different numbers of LFs {ms}; they must share the same LFs."
        )

    xs = None
    if features is not None:
        from ..features import featurize_splits

        xs = featurize_splits(features, {s: _texts(root, s, loaded[s][3]) for s in SPLITS})

    def make(split):
        _, L, y, _ = loaded[split]
        return Split(WeakLabels(L, k), y=y, x=None if xs is None else xs[split])

    ds = Dataset(
        train=make("train"), valid=make("valid"), test=make("test"), name=name or root.name
    )
    if not return_records:
        return ds
    records = {s: {"ids": loaded[s][0], "data": loaded[s][3]} for s in SPLITS}
    records["label_names"] = [label_names[i] for i in range(k)]
    return ds, records


def load_wrench_dataset(
    name: str,
    *,
    key=None,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    missing_train: Literal["error", "valid"] = "valid",
    features=None,
) -> Dataset:
    """``fetch(name)`` then :func:`load_wrench`: the target of ``conf/dataset/wrench_*.yaml``.

    Datasets without ``train.json`` (``wrench_chemprot``) use the valid split as train by default
    (see the module docstring for the protocol).
    """
    del key
    from .fetch import fetch

    root = fetch(name, mirror=mirror, data_dir=data_dir)
    return load_wrench(root, missing_train=missing_train, name=name, features=features)
