"""Cross-modal chest X-ray: labeling functions over report text label the paired *images*.

The chest X-ray LFs (:mod:`wsbench.tasks.chest_xray`) vote on each item's radiology report; the
end model sees only the item's image (``Split.x``) and is scored on image gold. Two sources:

**Real paired data** — :func:`make_paired_chest_xray` reads a folder a user has (IU / Open-i
images with their reports; the mirror has the reports only), laid out as the Kaggle IU X-ray
release::

    <root>/
      indiana_reports.csv       # uid, Problems, indication, comparison, findings, impression
      indiana_projections.csv   # uid, filename, projection ("Frontal" / "Lateral")
      images/<filename>         # one grayscale (or RGB, converted) PNG per row of projections

Each report is paired with its first frontal image (by filename); reports without a frontal image
are dropped (their count is in the error if none is left). Gold: the report's ``Problems``
annotation (``normal`` = 0, else 1), which is the label of the study, hence of its image. Splits
follow :func:`wsbench.tasks.chest_xray.split_of` (CRC-32 of the uid). Images are resized to
``image_size`` x ``image_size`` and scaled to [0, 1]. MIMIC-CXR can be converted to this layout
(one row per study); reading PNGs needs Pillow, which matplotlib already depends on.

**Constructed demonstration pairing** — :func:`make_constructed_pairing`. ***THIS PAIRING IS
CONSTRUCTED, NOT REAL:*** the report attached to an image was written about a *different patient*
(an IU adult chest X-ray) and was chosen only because its class matches the image's class:
PneumoniaMNIST (paediatric, 28 x 28) normal images get IU *normal* reports, pneumonia images get IU
*abnormal* reports (any abnormality, not necessarily pneumonia). The text therefore says nothing
about the particular image beyond its class: the report-LF votes are, by construction,
conditionally independent of the image given the class, an idealisation that real pairs do not
satisfy. Use it to exercise the cross-modal pipeline, never to claim cross-modal transfer.

Construction (deterministic, key-independent): within each split (PneumoniaMNIST's own
train/val/test; IU reports split by ``split_of``, so train and test reports stay disjoint), the
images of class c, in the fixed class-interleaved order of
:func:`wsbench.tasks.pneumoniamnist.make_pneumoniamnist` (the one reader of the npz), take the split's reports of class c in CRC-32 order of their uid,
cycling when there are more images than reports (IU has 1379 normal and 2472 abnormal reports for
5856 images, so reports repeat). Every split therefore has the image class balance and the image
gold ``y``.

The images come from ``wsbench.tasks.pneumoniamnist`` (the image-only task and the one reader of
the MedMNIST npz).
"""

import csv
from pathlib import Path

import numpy as np

from ..data import Dataset
from . import chest_xray
from ._common import SPLITS, build_dataset, dataset_dir, hash_order, require_file

CONSTRUCTED_NOTE = (
    "CONSTRUCTED pairing: PneumoniaMNIST images each paired with an IU report of the same class "
    "(normal <-> normal report, pneumonia <-> abnormal report) from a different patient; the text "
    "carries only the class."
)
"""One line to print next to every result on :func:`make_constructed_pairing`."""

_PNEUMONIAMNIST_SPLITS = {"train": "train", "valid": "val", "test": "test"}


def _images_x(images: np.ndarray, flatten: bool) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32) / 255.0
    return x.reshape(len(x), -1) if flatten else x


# ------------------------------------------------------------------------------ real pairs


def read_projections(path: Path) -> dict[str, str]:
    """``{uid: filename}`` of the first frontal image (by filename) of each study.

    Raises:
        ValueError: naming the file and line for a missing column or a malformed row.
    """
    frontal: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [
            c for c in ("uid", "filename", "projection") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise ValueError(
                f"{path}: header lacks column(s) {missing}; expected uid, filename, projection."
            )
        for row in reader:
            if None in row or any(row[c] is None for c in ("uid", "filename", "projection")):
                raise ValueError(f"{path}, line {reader.line_num}: wrong number of fields.")
            if row["projection"].strip().lower() == "frontal":
                frontal.setdefault(row["uid"].strip(), []).append(row["filename"].strip())
    return {uid: sorted(names)[0] for uid, names in frontal.items()}


def read_image(path: Path, image_size: int) -> np.ndarray:
    """A PNG as a uint8 ``(image_size, image_size)`` grayscale array (bilinear resize)."""
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - Pillow comes with matplotlib
        raise ImportError("reading paired images needs Pillow (`pip install pillow`).") from err
    if not path.is_file():
        raise ValueError(f"image {path} listed in indiana_projections.csv is missing.")
    with Image.open(path) as im:
        im = im.convert("L").resize((image_size, image_size), Image.BILINEAR)
        return np.asarray(im, dtype=np.uint8)


def make_paired_chest_xray(
    root: str | Path,
    *,
    key=None,
    image_size: int = 64,
    flatten: bool = True,
    name: str = "chest_xray_paired",
) -> Dataset:
    """Real report + image pairs from a local folder (layout in the module docstring).

    Args:
        root: the folder.
        key: ignored (fixed data and split).
        image_size: images are resized to ``image_size`` x ``image_size``.
        flatten: ``x`` as ``(n, image_size**2)`` (for linear/MLP end models) or ``(n, H, W)``.
        name: the dataset name.

    Returns:
        A ``Dataset`` whose ``L`` are the report LFs' votes and ``x`` the paired images.

    Raises:
        ValueError: a missing file or image, a split left without pairs, or bad CSV rows.
    """
    del key
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"paired chest X-ray folder {root} does not exist.")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive int, got {image_size!r}.")
    reports, y = chest_xray.read_reports(require_file(root, "indiana_reports.csv"))
    frontal = read_projections(require_file(root, "indiana_projections.csv"))
    keep = [i for i, r in enumerate(reports) if r.uid in frontal]
    records, labels, images = {}, {}, {}
    for split in SPLITS:
        rows = [i for i in keep if chest_xray.split_of(reports[i].uid) == split]
        if not rows:
            raise ValueError(
                f"{root}: no report with a frontal image falls in the {split} split "
                f"({len(keep)} of {len(reports)} reports have one); more studies are needed."
            )
        records[split] = [reports[i] for i in rows]
        labels[split] = y[rows]
        images[split] = np.stack(
            [read_image(root / "images" / frontal[reports[i].uid], image_size) for i in rows]
        )
    ds = build_dataset(name, chest_xray.CHEST_XRAY_LFS, records, labels)
    return _with_x(ds, {s: _images_x(images[s], flatten) for s in SPLITS})


def _with_x(ds: Dataset, xs: dict[str, np.ndarray]) -> Dataset:
    import equinox as eqx

    from ..data import Split

    splits = {s: Split(getattr(ds, s).weak, y=getattr(ds, s).y, x=xs[s]) for s in SPLITS}
    return eqx.tree_at(lambda d: (d.train, d.valid, d.test), ds, tuple(splits[s] for s in SPLITS))


# ------------------------------------------------------------------------ constructed pairs


def pair_by_class(
    image_labels: np.ndarray, report_labels: np.ndarray, report_ids: list[str]
) -> np.ndarray:
    """For each image, the index of its report: class-matched, reports in CRC-32 order of their
    ids, cycling (see the module docstring).

    Raises:
        ValueError: a class present among the images but without any report.
    """
    image_labels, report_labels = np.asarray(image_labels), np.asarray(report_labels)
    out = np.empty(len(image_labels), dtype=np.int64)
    for c in np.unique(image_labels):
        pool = np.flatnonzero(report_labels == c)
        if pool.size == 0:
            raise ValueError(f"no report of class {int(c)} to pair with images of that class.")
        pool = pool[hash_order([report_ids[i] for i in pool])]
        rows = np.flatnonzero(image_labels == c)
        out[rows] = pool[np.arange(rows.size) % pool.size]
    return out


def make_constructed_pairing(
    *,
    key=None,
    flatten: bool = True,
    channel: bool = False,
    name: str = "chest_xray_constructed",
    mirror: str | None = None,
    data_dir: str | None = None,
) -> Dataset:
    """The CONSTRUCTED local demonstration: PneumoniaMNIST images with same-class IU reports.

    Read the module docstring before using the numbers: the pairing is made up by class, the
    reports describe other patients. ``L`` = report LFs' votes, ``x`` = the 28 x 28 images in
    [0, 1], ``y`` = PneumoniaMNIST gold (normal 0, pneumonia 1). See :data:`CONSTRUCTED_NOTE`.

    Args:
        key: ignored (the construction is fixed).
        flatten: ``x`` as ``(n, 784)`` or ``(n, 28, 28)``.
        channel: with ``flatten=False``, ``x`` as ``(n, 28, 28, 1)`` (what the image end models
            of ``wsbench.endmodels`` take).
        name: the dataset name.
        mirror, data_dir: passed to :func:`wsbench.data.fetch.fetch`.
    """
    del key
    from .pneumoniamnist import make_pneumoniamnist  # the one PneumoniaMNIST reader

    task = make_pneumoniamnist(mirror=mirror, data_dir=data_dir)
    images = {
        "train": (task.x_train, task.y_train),
        "valid": (task.x_valid, task.y_valid),
        "test": (task.x_test, task.y_test),
    }
    reports, y_reports = chest_xray.load(
        dataset_dir("iu_chest_xray_reports", mirror=mirror, data_dir=data_dir)
    )
    records, labels, xs = {}, {}, {}
    for split, (x, y) in images.items():
        y = np.asarray(y, np.int32)
        idx = pair_by_class(y, y_reports[split], [r.uid for r in reports[split]])
        records[split] = [reports[split][i] for i in idx]
        labels[split] = y
        x = np.asarray(x, np.float32)  # (n, 28, 28, 1) in [0, 1]
        xs[split] = x.reshape(len(x), -1) if flatten else x if channel else x[..., 0]
    ds = build_dataset(name, chest_xray.CHEST_XRAY_LFS, records, labels)
    return _with_x(ds, xs)
