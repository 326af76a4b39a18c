"""Labeling functions as code: the ``@labeling_function`` decorator and ``LabelingFunction``."""

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

ABSTAIN: int = -1
"""The vote of a labeling function that does not label a record."""


class LFApplicationError(ValueError):
    """A labeling function raised, or returned something that is not a label, on a record.

    Attributes:
        lf_name: the name of the labeling function.
        index: the position of the record in the applied collection (``None`` outside
            ``apply_lfs``).
    """

    def __init__(self, message: str, *, lf_name: str, index: int | None = None):
        super().__init__(message)
        self.lf_name = lf_name
        self.index = index


def _where(index: int | None) -> str:
    return "a record" if index is None else f"record {index}"


def check_label(
    value: Any, *, lf_name: str, index: int | None = None, n_classes: int | None = None
) -> int:
    """Return ``value`` as an ``int`` if it is a valid vote (``-1`` or ``0..k-1``), else raise.

    Raises:
        LFApplicationError: naming the LF and the record index.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        hint = " (return ABSTAIN = -1 instead of None)" if value is None else ""
        raise LFApplicationError(
            f"labeling function {lf_name!r} returned {value!r} of type {type(value).__name__} on "
            f"{_where(index)}; it must return an int class id 0..k-1 or ABSTAIN (-1){hint}.",
            lf_name=lf_name,
            index=index,
        )
    v = int(value)
    hi = "k-1" if n_classes is None else str(n_classes - 1)
    if v < -1 or (n_classes is not None and v > n_classes - 1):
        raise LFApplicationError(
            f"labeling function {lf_name!r} returned {v} on {_where(index)}; votes must be "
            f"ABSTAIN (-1) or a class id 0..{hi}"
            + (f" (n_classes={n_classes})." if n_classes is not None else "."),
            lf_name=lf_name,
            index=index,
        )
    return v


class LabelingFunction:
    """A named heuristic mapping a record to a class id or ``ABSTAIN`` (-1).

    Mirrors Snorkel's ``LabelingFunction``: ``resources`` are passed to the function as keyword
    arguments (lookup tables, knowledge bases, models), and ``pre`` is a sequence of preprocessors
    ``record -> record`` applied in order before the function. A *vectorised* LF
    (``vectorized=True``) instead receives the whole collection passed to :func:`apply_lfs` (a list,
    or a pandas DataFrame) and returns one vote per record; it cannot have preprocessors.

    Args:
        name: unique name (used in ``lf_summary`` and error messages).
        f: the function, ``f(record, **resources) -> int`` (or ``f(records, **resources) ->
            array``).
        resources: keyword arguments for ``f``.
        pre: preprocessors applied to the record before ``f``.
        vectorized: whether ``f`` labels the whole collection at once.

    Raises:
        ValueError: an empty name, a non-callable ``f`` or preprocessor, resources that ``f`` does
            not accept, or preprocessors on a vectorised LF.
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
        if not isinstance(name, str) or not name:
            raise ValueError(f"a labeling function needs a non-empty str name, got {name!r}.")
        if not callable(f):
            raise ValueError(
                f"labeling function {name!r}: f must be callable, got {type(f).__name__}."
            )
        resources = dict(resources or {})
        pre = tuple(pre or ())
        for p in pre:
            if not callable(p):
                raise ValueError(f"labeling function {name!r}: preprocessor {p!r} is not callable.")
        if vectorized and pre:
            raise ValueError(
                f"labeling function {name!r}: a vectorised LF receives the whole collection, so it "
                "cannot have per-record preprocessors; apply them inside the function instead."
            )
        try:
            inspect.signature(f).bind(None, **resources)
        except TypeError as err:
            raise ValueError(
                f"labeling function {name!r} cannot be called as f(record, **resources) with "
                f"resources {sorted(resources)}: {err}."
            ) from None
        except ValueError:  # builtins without a signature: checked at call time
            pass
        self.name = name
        self.f = f
        self.resources = resources
        self.pre = pre
        self.vectorized = bool(vectorized)
        self.__doc__ = getattr(f, "__doc__", None)
        self.__wrapped__ = f

    def __call__(self, record: Any) -> Any:
        """Apply the LF to one record (or, if vectorised, to a whole collection).

        Per-record LFs return a checked ``int``; vectorised LFs return an int32 NumPy array.
        """
        if self.vectorized:
            return np.asarray(self.f(record, **self.resources))
        for p in self.pre:
            record = p(record)
            if record is None:
                raise LFApplicationError(
                    f"a preprocessor of labeling function {self.name!r} returned None.",
                    lf_name=self.name,
                )
        return check_label(self.f(record, **self.resources), lf_name=self.name)

    def __repr__(self) -> str:
        extra = ", vectorized=True" if self.vectorized else ""
        pre = f", pre={[getattr(p, '__name__', repr(p)) for p in self.pre]}" if self.pre else ""
        res = f", resources={sorted(self.resources)}" if self.resources else ""
        return f"LabelingFunction({self.name!r}{res}{pre}{extra})"


def labeling_function(
    name: str | None = None,
    resources: Mapping[str, Any] | None = None,
    pre: Sequence[Callable[[Any], Any]] | None = None,
    *,
    vectorized: bool = False,
) -> Callable[[Callable[..., Any]], LabelingFunction]:
    """Decorator turning a function into a :class:`LabelingFunction` (named after it by default).

    Example:
        >>> @labeling_function(resources={"words": {"subscribe", "channel"}})
        ... def keyword_spam(x, words):
        ...     return 1 if words & set(x["text"].lower().split()) else ABSTAIN
        >>> keyword_spam({"text": "Subscribe to my channel"}), keyword_spam({"text": "nice song"})
        (1, -1)
    """
    if callable(name):  # used bare: @labeling_function
        return LabelingFunction(name.__name__, name)

    def decorate(f: Callable[..., Any]) -> LabelingFunction:
        return LabelingFunction(
            name or f.__name__, f, resources=resources, pre=pre, vectorized=vectorized
        )

    return decorate
