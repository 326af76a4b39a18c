"""CIFAR-10 at 10% labels (TANDA's setting) from the ``cifar10_jpeg`` mirror folder.

Data: ``cifar10_train_first1000perclass_jpeg.npz`` (10,000 training images, 1000 per class) and
``cifar10_test_jpeg.npz`` (the full 10,000-image test set), JPEG-encoded (quality ~75, so pixels
differ from the lossless originals by ~6 grey levels; see the dataset card). Images are decoded with
Pillow into ``(n, 32, 32, 3)`` float32 in [0, 1].

Split (fixed, key-independent): the training images are put in a class-interleaved CRC-32 order of
their ids ``"<class>/<index_in_class>"``; the first ``n_labelled`` (default 5,000 = 10% of the
50,000 CIFAR-10 training images) are labelled, the rest are the unlabeled set for the generator.
The test set gets the same kind of fixed order. Every prefix is class-balanced, so
``ImageTask.subsample(n_train=..., n_test=...)`` stays balanced.
"""

import functools
import io
from pathlib import Path

import numpy as np

from ._common import dataset_dir, require_file
from ._images import ImageTask, interleave_by_class

NAME = "cifar10_jpeg"
TRAIN_FILE = "cifar10_train_first1000perclass_jpeg.npz"
TEST_FILE = "cifar10_test_jpeg.npz"


def decode_jpegs(buffer: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Decode concatenated JPEG files into ``(n, H, W, 3)`` uint8 (Pillow)."""
    from PIL import Image

    out = []
    for i in range(len(offsets) - 1):
        raw = buffer[offsets[i] : offsets[i + 1]].tobytes()
        with Image.open(io.BytesIO(raw)) as img:
            out.append(np.asarray(img.convert("RGB"), dtype=np.uint8))
    return np.stack(out)


@functools.lru_cache(maxsize=2)
def _read(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    with np.load(path) as d:
        missing = {"jpeg", "offsets", "labels", "index_in_class", "class_names"} - set(d.files)
        if missing:
            raise ValueError(f"{path} lacks arrays {sorted(missing)}; re-fetch the dataset.")
        images = decode_jpegs(d["jpeg"], d["offsets"])
        labels = d["labels"].astype(np.int32)
        index = d["index_in_class"].astype(np.int64)
        names = tuple(str(c) for c in d["class_names"])
    if images.shape[1:] != (32, 32, 3) or len(images) != len(labels):
        raise ValueError(f"{path}: expected 32x32 RGB images, one label each; got {images.shape}.")
    return images, labels, index, names


def make_cifar10(
    *,
    n_labelled: int = 5000,
    n_valid: int = 0,
    mirror: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> ImageTask:
    """CIFAR-10 with ``n_labelled`` labelled training images, the rest unlabeled, and the test set.

    ``n_valid`` of the labelled images (the last ones of the fixed class-interleaved order) form
    the validation split, for choosing hyperparameters without looking at the test set; the
    training split keeps the others, so ``x_train[:n]`` is the same images for every
    ``n_valid <= n_labelled - n``.

    Raises:
        ValueError: ``n_labelled`` outside ``1 .. 9999`` or ``n_valid`` outside
            ``0 .. n_labelled - 1``.
        wsbench.data.fetch.FetchError: the dataset is not available (set WSBENCH_DATA_MIRROR).
    """
    if not 1 <= n_labelled < 10_000:
        raise ValueError(
            f"n_labelled must be in 1..9999 (10,000 training images), got {n_labelled}."
        )
    if not 0 <= n_valid < n_labelled:
        raise ValueError(
            f"n_valid must be in 0..n_labelled - 1 = {n_labelled - 1} (the validation images "
            f"come out of the labelled ones), got {n_valid}."
        )
    folder = dataset_dir(NAME, mirror=mirror, data_dir=data_dir)
    x, y, idx, names = _read(str(require_file(folder, TRAIN_FILE)))
    xt, yt, idx_t, _ = _read(str(require_file(folder, TEST_FILE)))
    ids = [f"{c}/{i}" for c, i in zip(y, idx, strict=True)]
    order = interleave_by_class(ids, y)
    lab, val, unl = (
        order[: n_labelled - n_valid],
        order[n_labelled - n_valid : n_labelled],
        order[n_labelled:],
    )
    # the files are sorted by class: shuffle the test set the same fixed way, so that
    # ImageTask.subsample(n_test=...) keeps every class
    test_order = interleave_by_class([f"{c}/{i}" for c, i in zip(yt, idx_t, strict=True)], yt)
    f = lambda a: a.astype(np.float32) / 255.0  # noqa: E731
    return ImageTask(
        name="cifar10",
        n_classes=10,
        x_train=f(x[lab]),
        y_train=y[lab],
        x_unlabeled=f(x[unl]),
        x_valid=f(x[val]),
        y_valid=y[val],
        x_test=f(xt[test_order]),
        y_test=yt[test_order],
        class_names=names,
    )
