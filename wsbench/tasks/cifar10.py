"""CIFAR-10 at 10% labels (TANDA's setting): the ``cifar10_jpeg`` mirror folder or the full dataset.

:func:`make_cifar10` reads the mirror: ``cifar10_train_first1000perclass_jpeg.npz`` (10,000
training images, 1000 per class) and ``cifar10_test_jpeg.npz`` (the full 10,000-image test set),
JPEG-encoded (quality ~75, so pixels differ from the lossless originals by ~6 grey levels; see the
dataset card). Images are decoded with Pillow into ``(n, 32, 32, 3)`` float32 in [0, 1].

Split (fixed, key-independent): the training images are put in a class-interleaved CRC-32 order of
their ids ``"<class>/<index_in_class>"``; the first ``n_labelled`` (default 5,000 = 10% of the
50,000 CIFAR-10 training images) are labelled, the rest are the unlabeled set for the generator.
The test set gets the same kind of fixed order. Every prefix is class-balanced, so
``ImageTask.subsample(n_train=..., n_test=...)`` stays balanced.

:func:`make_cifar10_full` reads the full, lossless CIFAR-10 (50,000 training images): the authors'
``cifar-10-binary.tar.gz``, downloaded by ``wsbench.data.fetch`` and checked against its sha256
(dataset ``cifar10`` of the manifest; raw bytes, no pickle), or torchvision's copy
(``source="torchvision"``, the optional ``wsbench[vision]`` extra). Same split rule, same ids: the
JPEG mirror's images are the first 1,000 of each class here, so ids name the same pictures.
"""

import functools
import io
import tarfile
from pathlib import Path

import numpy as np

from ..data.fetch import data_root
from ._common import dataset_dir, require_file
from ._images import ImageTask, interleave_by_class

NAME = "cifar10_jpeg"
TRAIN_FILE = "cifar10_train_first1000perclass_jpeg.npz"
TEST_FILE = "cifar10_test_jpeg.npz"
FULL_NAME = "cifar10"
FULL_FILE = "cifar-10-binary.tar.gz"
_BIN_DIR = "cifar-10-batches-bin"
_RECORD = 1 + 32 * 32 * 3  # a label byte, then the red, green and blue 32x32 planes


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


def parse_binary_batch(raw: bytes, *, where: str = "batch") -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 binary batch: ``(n, 32, 32, 3)`` uint8 images and int32 labels.

    Each record is a label byte followed by the red, green and blue planes (32 x 32, row-major), as
    the dataset page documents.

    Raises:
        ValueError: the length is not a whole number of 3,073-byte records, or a label is not 0..9.
    """
    buf = np.frombuffer(raw, dtype=np.uint8)
    if buf.size == 0 or buf.size % _RECORD:
        raise ValueError(
            f"{where}: {buf.size} bytes is not a whole number of {_RECORD}-byte CIFAR-10 records "
            "(truncated or not cifar-10-binary); re-fetch the dataset."
        )
    rec = buf.reshape(-1, _RECORD)
    labels = rec[:, 0].astype(np.int32)
    if labels.max() > 9:
        raise ValueError(f"{where}: label {labels.max()} out of range 0..9; re-fetch the dataset.")
    images = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _index_in_class(y: np.ndarray) -> np.ndarray:
    """Each image's rank within its class, in file order (the JPEG mirror's ``index_in_class``)."""
    index = np.zeros(len(y), np.int64)
    for c in np.unique(y):
        index[y == c] = np.arange(int(np.sum(y == c)))
    return index


@functools.lru_cache(maxsize=1)
def _read_binary(path: str):
    """The five training batches and the test batch of ``cifar-10-binary.tar.gz`` (no extraction)."""
    try:
        with tarfile.open(path, "r:gz") as tar:

            def member(name):
                f = tar.extractfile(f"{_BIN_DIR}/{name}")
                if f is None:
                    raise KeyError(name)
                return f.read()

            train = [
                parse_binary_batch(member(f"data_batch_{i}.bin"), where=f"{path}: data_batch_{i}")
                for i in range(1, 6)
            ]
            xt, yt = parse_binary_batch(member("test_batch.bin"), where=f"{path}: test_batch")
            names = tuple(member("batches.meta.txt").decode("ascii").split())
    except (KeyError, tarfile.TarError, EOFError, OSError) as err:
        raise ValueError(
            f"{path} is not a complete cifar-10-binary.tar.gz ({err}); re-fetch it with "
            "wsbench.data.fetch('cifar10', force=True)."
        ) from err
    x = np.concatenate([b[0] for b in train])
    y = np.concatenate([b[1] for b in train])
    return x, y, xt, yt, names


def _read_torchvision(root: Path):
    try:
        from torchvision.datasets import CIFAR10
    except ImportError as err:
        raise ImportError(
            "make_cifar10_full(source='torchvision') needs torchvision: pip install "
            "'wsbench[vision]'. source='fetch' (the default) needs no torch."
        ) from err
    out = []
    for train in (True, False):
        ds = CIFAR10(str(root), train=train, download=True)  # torchvision checks its md5
        out += [np.asarray(ds.data, np.uint8), np.asarray(ds.targets, np.int32)]
    return (*out, tuple(ds.classes))


def _check_sizes(n: int, n_labelled: int, n_valid: int) -> None:
    if not 1 <= n_labelled < n:
        raise ValueError(
            f"n_labelled must be in 1..{n - 1} ({n:,} training images), got {n_labelled}."
        )
    if not 0 <= n_valid < n_labelled:
        raise ValueError(
            f"n_valid must be in 0..n_labelled - 1 = {n_labelled - 1} (the validation images "
            f"come out of the labelled ones), got {n_valid}."
        )


def _split(x, y, index, xt, yt, index_t, class_names, *, n_labelled, n_valid) -> ImageTask:
    """The fixed split shared by both loaders (see the module docstring)."""
    _check_sizes(len(y), n_labelled, n_valid)
    ids = [f"{c}/{i}" for c, i in zip(y, index, strict=True)]
    order = interleave_by_class(ids, y)
    lab, val, unl = (
        order[: n_labelled - n_valid],
        order[n_labelled - n_valid : n_labelled],
        order[n_labelled:],
    )
    # the files are sorted by class: shuffle the test set the same fixed way, so that
    # ImageTask.subsample(n_test=...) keeps every class
    test_order = interleave_by_class([f"{c}/{i}" for c, i in zip(yt, index_t, strict=True)], yt)
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
        class_names=class_names,
    )


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
    _check_sizes(10_000, n_labelled, n_valid)  # before the files are read
    folder = dataset_dir(NAME, mirror=mirror, data_dir=data_dir)
    x, y, idx, names = _read(str(require_file(folder, TRAIN_FILE)))
    xt, yt, idx_t, _ = _read(str(require_file(folder, TEST_FILE)))
    return _split(x, y, idx, xt, yt, idx_t, names, n_labelled=n_labelled, n_valid=n_valid)


def make_cifar10_full(
    *,
    n_labelled: int = 5000,
    n_valid: int = 0,
    source: str = "fetch",
    mirror: str | Path | None = None,
    data_dir: str | Path | None = None,
) -> ImageTask:
    """The full CIFAR-10: 50,000 training images (``n_labelled`` labelled, the rest unlabeled) and
    the 10,000 test images, lossless. The paper's 10% setting is ``n_labelled=5000``; with
    ``n_valid`` the validation images come out of the labelled ones, as in :func:`make_cifar10`
    (``n_labelled=6000, n_valid=1000`` keeps 5,000 for training).

    Args:
        source: ``"fetch"``: ``cifar-10-binary.tar.gz`` (170 MB) via ``wsbench.data.fetch``, from
            ``mirror`` / ``$WSBENCH_DATA_MIRROR`` when it holds ``cifar10/``, else downloaded from
            the authors' page, sha256-checked, into ``<data_dir>/cifar10``; ``"torchvision"``:
            ``torchvision.datasets.CIFAR10(download=True)`` into ``<data_dir>/cifar10_torchvision``.

    Raises:
        ValueError: bad ``n_labelled`` / ``n_valid`` / ``source``, or a damaged archive.
        ImportError: ``source="torchvision"`` without torchvision.
        wsbench.data.fetch.FetchError: the archive cannot be obtained (offline, no mirror).
    """
    if source not in ("fetch", "torchvision"):
        raise ValueError(f"source must be 'fetch' or 'torchvision', got {source!r}.")
    _check_sizes(50_000, n_labelled, n_valid)  # before 170 MB are fetched
    if source == "fetch":
        folder = dataset_dir(FULL_NAME, mirror=mirror, data_dir=data_dir)
        x, y, xt, yt, names = _read_binary(str(require_file(folder, FULL_FILE)))
    else:
        x, y, xt, yt, names = _read_torchvision(data_root(data_dir) / "cifar10_torchvision")
    return _split(
        x,
        y,
        _index_in_class(y),
        xt,
        yt,
        _index_in_class(yt),
        names,
        n_labelled=n_labelled,
        n_valid=n_valid,
    )
