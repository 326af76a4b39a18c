"""PneumoniaMNIST (MedMNIST v2): 28x28 grayscale paediatric chest X-rays, normal 0 / pneumonia 1.

Data: mirror folder ``pneumoniamnist`` (``pneumoniamnist_28.npz``; official split sizes train 4708 /
val 524 / test 624). Images become ``(n, 28, 28, 1)`` float32 in [0, 1]. ``n_labelled`` training
images (class-interleaved CRC-32 order of their row ids, fixed) keep their labels; the rest of
train is the unlabeled set for the TANDA generator (``None``: all labelled and the unlabeled set
is the whole train split, labels ignored).
"""

import functools
from pathlib import Path

import numpy as np

from ._common import dataset_dir, require_file
from ._images import ImageTask, interleave_by_class

NAME = "pneumoniamnist"
FILE = "pneumoniamnist_28.npz"


@functools.lru_cache(maxsize=1)
def _read(path: str) -> dict[str, np.ndarray]:
    with np.load(path) as d:
        out = {k: d[k] for k in d.files}
    for s in ("train", "val", "test"):
        if f"{s}_images" not in out or f"{s}_labels" not in out:
            raise ValueError(f"{path} lacks {s}_images / {s}_labels; re-fetch the dataset.")
    return out


def make_pneumoniamnist(
    *,
    n_labelled: int | None = None,
    mirror: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> ImageTask:
    """PneumoniaMNIST train / valid / test, with ``n_labelled`` labelled training images."""
    folder = dataset_dir(NAME, mirror=mirror, data_dir=data_dir)
    d = _read(str(require_file(folder, FILE)))

    def xs(s):
        return d[f"{s}_images"].astype(np.float32)[..., None] / 255.0

    def ys(s):
        return d[f"{s}_labels"].reshape(-1).astype(np.int32)

    def ordered(s):  # fixed class-interleaved order, so that subsample() prefixes keep both classes
        x, y = xs(s), ys(s)
        o = interleave_by_class([f"{s}/{i}" for i in range(len(y))], y)
        return x[o], y[o]

    x, y = xs("train"), ys("train")
    if n_labelled is not None and not 1 <= n_labelled < len(y):
        raise ValueError(f"n_labelled must be None or in 1..{len(y) - 1}, got {n_labelled}.")
    order = interleave_by_class([f"train/{i}" for i in range(len(y))], y)
    k = len(y) if n_labelled is None else n_labelled
    lab = order[:k]
    x_valid, y_valid = ordered("val")
    x_test, y_test = ordered("test")
    unl = order if n_labelled is None else order[k:]
    return ImageTask(
        name="pneumoniamnist",
        n_classes=2,
        x_train=x[lab],
        y_train=y[lab],
        x_unlabeled=x[unl],
        x_valid=x_valid,
        y_valid=y_valid,
        x_test=x_test,
        y_test=y_test,
        class_names=("normal", "pneumonia"),
    )
