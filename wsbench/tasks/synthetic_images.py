"""A tiny synthetic image task for smoke runs and tests (no data files): bars of two orientations.

Class 0 images carry horizontal bars, class 1 vertical bars, at a random phase, plus uniform noise;
every split is drawn from the same distribution with ``np.random.default_rng(seed)``. Small enough
that an end model and a TANDA generator train on it in seconds on a CPU.
"""

import numpy as np

from ._images import ImageTask

__all__ = ["make_synthetic_images"]


def _draw(rng, n: int, hw: int, channels: int, noise: float):
    y = (np.arange(n) % 2).astype(np.int32)  # balanced, alternating classes
    phase = rng.integers(0, 2, size=n)
    grid = np.arange(hw)
    bars = ((grid[None, :] + phase[:, None]) % 2).astype(np.float32)  # (n, hw)
    rows = np.broadcast_to(bars[:, :, None], (n, hw, hw))  # horizontal bars
    cols = np.broadcast_to(bars[:, None, :], (n, hw, hw))  # vertical bars
    img = np.where(y[:, None, None] == 0, rows, cols)
    x = 0.25 + 0.5 * img[..., None] + noise * rng.uniform(-1, 1, size=(n, hw, hw, channels))
    return np.clip(x, 0.0, 1.0).astype(np.float32), y


def make_synthetic_images(
    *,
    n_train: int = 64,
    n_unlabeled: int = 64,
    n_test: int = 64,
    hw: int = 8,
    channels: int = 3,
    noise: float = 0.2,
    seed: int = 0,
) -> ImageTask:
    """Two-class bar images ``(n, hw, hw, channels)`` in [0, 1]: labelled, unlabeled and test splits."""
    for name, v in (("n_train", n_train), ("n_unlabeled", n_unlabeled), ("n_test", n_test)):
        if int(v) < 2:
            raise ValueError(f"{name} must be >= 2, got {v}.")
    if hw < 2 or channels < 1:
        raise ValueError(f"hw must be >= 2 and channels >= 1, got hw={hw}, channels={channels}.")
    rng = np.random.default_rng(seed)
    x, y = _draw(rng, n_train, hw, channels, noise)
    xu, _ = _draw(rng, n_unlabeled, hw, channels, noise)
    xt, yt = _draw(rng, n_test, hw, channels, noise)
    return ImageTask(
        name="synthetic_images",
        n_classes=2,
        x_train=x,
        y_train=y,
        x_unlabeled=xu,
        x_valid=np.zeros((0, hw, hw, channels), np.float32),
        y_valid=np.zeros((0,), np.int32),
        x_test=xt,
        y_test=yt,
        class_names=("horizontal", "vertical"),
    )
