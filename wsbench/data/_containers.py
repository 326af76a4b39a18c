"""The data containers: ``WeakLabels`` (what a label model sees), ``Split`` and ``Dataset``."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .validate import as_class_balance, as_features, as_gold, as_label_matrix, check_n_classes


class WeakLabels(eqx.Module):
    """A label matrix and what a label model may know beyond it.

    Attributes:
        L: ``(n, m)`` integer votes of m labeling functions on n items; ``-1`` = abstain, else ``0..k-1``.
            Stored as int32, or as int8 when given as int8 (at most 126 classes): 4x less memory.
        n_classes: the number of classes k (static).
        class_balance: optional ``(k,)`` class prior, set only when the benchmark's ``dev_labels``
            setting allows the model to know it.

    Raises:
        ValueError: on a non-integer or non-2-D ``L``, values outside ``-1..k-1``, ``n_classes < 2``,
            an empty matrix, or a ``class_balance`` that is not a distribution of length k.

    Example:
        >>> import numpy as np
        >>> WeakLabels(L=np.array([[0, -1], [1, 1]]), n_classes=2).L.shape
        (2, 2)
    """

    L: Int[Array, "n m"]
    n_classes: int = eqx.field(static=True)
    class_balance: Float[Array, " k"] | None = None

    def __init__(self, L, n_classes: int, class_balance=None):
        self.n_classes = check_n_classes(n_classes)
        self.L = as_label_matrix(L, self.n_classes, keep_int8=True)
        self.class_balance = as_class_balance(class_balance, self.n_classes)

    @property
    def n(self) -> int:
        return self.L.shape[0]

    @property
    def m(self) -> int:
        return self.L.shape[1]

    def subset(self, idx) -> "WeakLabels":
        """The rows ``idx`` (an index array or slice); ``n_classes`` and ``class_balance`` kept.

        Jittable: under ``jit`` only shapes and dtypes are checked.
        """
        return WeakLabels(L=self.L[idx], n_classes=self.n_classes, class_balance=self.class_balance)

    def with_class_balance(self, class_balance) -> "WeakLabels":
        """The same votes carrying ``class_balance`` (``(k,)``, e.g. ``class_frequencies(y, k)``)."""
        return WeakLabels(L=self.L, n_classes=self.n_classes, class_balance=class_balance)


class Split(eqx.Module):
    """One split: weak labels, optional gold labels ``y`` (``-1`` = unknown) and features ``x``."""

    weak: WeakLabels
    y: Int[Array, " n"] | None = None
    x: Float[Array, "n ..."] | None = None

    def __init__(self, weak: WeakLabels, y=None, x=None):
        if not isinstance(weak, WeakLabels):
            raise ValueError(
                f"Split.weak must be a WeakLabels, got {type(weak).__name__}; "
                "wrap the label matrix as WeakLabels(L=L, n_classes=k)."
            )
        self.weak = weak
        self.y = as_gold(y, weak.n, weak.n_classes)
        self.x = as_features(x, weak.n)

    @property
    def n(self) -> int:
        return self.weak.n

    @property
    def has_gold(self) -> bool:
        """Whether ``y`` holds at least one known gold label (concrete arrays only)."""
        return self.y is not None and bool((self.y >= 0).any())

    def subset(self, idx) -> "Split":
        """The rows ``idx`` of votes, gold labels and features (jittable)."""
        return Split(
            weak=self.weak.subset(idx),
            y=None if self.y is None else self.y[idx],
            x=None if self.x is None else self.x[idx],
        )

    def subsample(self, n: int, *, key: PRNGKeyArray) -> "Split":
        """At most ``n`` rows drawn without replacement (original order kept); itself if ``n >= self.n``."""
        if self.n <= n:
            return self
        return self.subset(jnp.sort(jr.permutation(key, self.n)[:n]))

    def with_class_balance(self, class_balance) -> "Split":
        """The split whose weak labels carry ``class_balance`` (what ``dev_labels`` may reveal)."""
        return Split(weak=self.weak.with_class_balance(class_balance), y=self.y, x=self.x)


class Dataset(eqx.Module):
    """Train/valid/test splits over the same LFs and classes."""

    train: Split
    valid: Split
    test: Split
    name: str = eqx.field(static=True, default="dataset")

    def __check_init__(self):
        splits = {"train": self.train, "valid": self.valid, "test": self.test}
        for split_name, split in splits.items():
            if not isinstance(split, Split):
                raise ValueError(
                    f"Dataset.{split_name} must be a Split, got {type(split).__name__}."
                )
        k = {s: sp.weak.n_classes for s, sp in splits.items()}
        if len(set(k.values())) != 1:
            raise ValueError(f"Dataset {self.name!r}: splits disagree on n_classes: {k}.")
        m = {s: sp.weak.m for s, sp in splits.items()}
        if len(set(m.values())) != 1:
            raise ValueError(
                f"Dataset {self.name!r}: splits have different numbers of LFs: {m}; "
                "apply the same LFs to every split."
            )

    @property
    def n_classes(self) -> int:
        return self.train.weak.n_classes

    def subsample(self, n: int, *, key: PRNGKeyArray) -> "Dataset":
        """At most ``n`` rows per split; split ``i`` (train, valid, test) draws with ``fold_in(key, i)``."""
        train, valid, test = (
            sp.subsample(n, key=jr.fold_in(key, i))
            for i, sp in enumerate((self.train, self.valid, self.test))
        )
        return Dataset(train=train, valid=valid, test=test, name=self.name)
