"""Slicing functions (Snorkel's ``slicing`` package): named subsets of the data written as code.

A slicing function maps a record to ``True`` (in the slice) or ``False``; it is a
:class:`~wsbench.lf.LabelingFunction` whose vote is ``1`` (in) or ``0`` (out), never abstain, so
the same appliers (:func:`~wsbench.lf.apply_lfs`, :func:`~wsbench.lf.apply_lfs_dask`) build the
slice matrix ``S`` (n, s) bool, and errors name the slice and the record as for LFs. Per-slice
scores are :func:`wsbench.metrics.slice_scores`.

Example:
    >>> @slicing_function()
    ... def has_link(x):
    ...     return "http" in x["text"]
    >>> apply_slices([has_link], [{"text": "see http://x"}, {"text": "hi"}]).tolist()
    [[True], [False]]
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._apply import apply_lfs
from ._lf import LabelingFunction


def _membership(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    raise ValueError(
        f"slicing function {name!r} returned {value!r} of type {type(value).__name__}; it must "
        "return a bool (True = the record is in the slice)."
    )


class SlicingFunction(LabelingFunction):
    """A named predicate ``record -> bool`` (``resources``, ``pre`` and ``vectorized`` as for
    :class:`~wsbench.lf.LabelingFunction`; a vectorised one returns a bool array, one per record).

    Raises:
        ValueError: as for ``LabelingFunction``; when applied, a non-bool membership raises
            ``LFApplicationError`` naming the slice and the record.
    """

    def __init__(
        self,
        name: str,
        f: Callable[..., Any],
        *,
        resources: Mapping[str, Any] | None = None,
        pre: Sequence[Callable[[Any], Any]] | None = None,
        vectorized: bool = False,
    ):
        super().__init__(name, f, resources=resources, pre=pre, vectorized=vectorized)
        if vectorized:

            def member(records, **kw):
                out = np.asarray(f(records, **kw))
                if out.dtype != bool:
                    raise ValueError(
                        f"vectorised slicing function {name!r} returned dtype {out.dtype}; it must "
                        "return a bool array (True = in the slice)."
                    )
                return out.astype(np.int32)

        else:

            def member(record, **kw):
                return _membership(f(record, **kw), name)

        self.f = member

    def __repr__(self) -> str:
        return "Slicing" + super().__repr__()


def slicing_function(
    name: str | None = None,
    resources: Mapping[str, Any] | None = None,
    pre: Sequence[Callable[[Any], Any]] | None = None,
    *,
    vectorized: bool = False,
) -> Callable[[Callable[..., Any]], SlicingFunction]:
    """Decorator turning a predicate into a :class:`SlicingFunction` (named after it by default)."""
    if callable(name):  # used bare: @slicing_function
        return SlicingFunction(name.__name__, name)

    def decorate(f: Callable[..., Any]) -> SlicingFunction:
        return SlicingFunction(
            name or f.__name__, f, resources=resources, pre=pre, vectorized=vectorized
        )

    return decorate


def apply_slices(
    sfs: Sequence[SlicingFunction], records, *, applier: Callable = apply_lfs, **applier_kwargs
) -> np.ndarray:
    """The slice matrix ``S``: ``(n, s)`` bool, ``S[i, j]`` = record i is in slice j.

    Args:
        sfs: slicing functions, in column order.
        records: as for :func:`~wsbench.lf.apply_lfs`.
        applier: :func:`~wsbench.lf.apply_lfs` (default, progress off) or
            :func:`~wsbench.lf.apply_lfs_dask` (then pass e.g. ``npartitions=``).
        applier_kwargs: passed to the applier.

    Raises:
        ValueError: an element of ``sfs`` that is not a ``SlicingFunction``; otherwise as for
            the applier.
    """
    if isinstance(sfs, SlicingFunction):
        sfs = (sfs,)
    sfs = tuple(sfs)
    for i, sf in enumerate(sfs):
        if not isinstance(sf, SlicingFunction):
            raise ValueError(
                f"sfs[{i}] is a {type(sf).__name__}, not a SlicingFunction; decorate it with "
                "@wsbench.lf.slicing_function (labeling functions vote, slices return bool)."
            )
    if applier is apply_lfs:
        applier_kwargs.setdefault("progress", False)
    return np.asarray(applier(sfs, records, n_classes=2, **applier_kwargs)) == 1
