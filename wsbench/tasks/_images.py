"""Image tasks for augmentation experiments: labelled / unlabeled / test arrays in [0, 1]."""

from dataclasses import dataclass

import numpy as np

__all__ = ["ImageTask"]


@dataclass(frozen=True)
class ImageTask:
    """Gold-labelled images for end-model training, unlabeled images for the TANDA generator.

    Attributes:
        name: task name.
        n_classes: k.
        x_train, y_train: the labelled training images ``(n, H, W, C)`` float32 in [0, 1] and
            their int32 labels.
        x_unlabeled: training images whose labels are withheld (the generator's data).
        x_valid, y_valid: validation images (may be empty).
        x_test, y_test: held-out test images.
        class_names: one name per class.
    """

    name: str
    n_classes: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_unlabeled: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    def subsample(
        self, *, n_train=None, n_unlabeled=None, n_valid=None, n_test=None
    ) -> "ImageTask":
        """The first rows of each split (the loaders' orders are fixed, class-stratified shuffles)."""

        def cut(a, n):
            return a if n is None else a[:n]

        return ImageTask(
            name=self.name,
            n_classes=self.n_classes,
            x_train=cut(self.x_train, n_train),
            y_train=cut(self.y_train, n_train),
            x_unlabeled=cut(self.x_unlabeled, n_unlabeled),
            x_valid=cut(self.x_valid, n_valid),
            y_valid=cut(self.y_valid, n_valid),
            x_test=cut(self.x_test, n_test),
            y_test=cut(self.y_test, n_test),
            class_names=self.class_names,
        )


def interleave_by_class(ids, y) -> np.ndarray:
    """A fixed order in which classes alternate (each class in CRC-32 order of its ids), so that
    every prefix of the order is (nearly) class-balanced."""
    from ._common import hash_order

    y = np.asarray(y)
    per_class = {c: np.flatnonzero(y == c) for c in np.unique(y)}
    per_class = {c: rows[hash_order([ids[i] for i in rows])] for c, rows in per_class.items()}
    rank = np.empty(len(y), np.float64)
    for rows in per_class.values():
        rank[rows] = (np.arange(len(rows)) + 0.5) / len(rows)
    return np.lexsort((y, rank))
