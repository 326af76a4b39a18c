"""Array type aliases shared across wsbench (jaxtyping dimension names: n, m, k, t, d, h, s)."""

from jaxtyping import ArrayLike, Float

ScalarLike = float | Float[ArrayLike, ""]
"""A continuous hyperparameter: a Python float, or a scalar array leaf (vmappable)."""

__all__ = ["ScalarLike"]
