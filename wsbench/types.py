"""Array type aliases shared across wsbench (jaxtyping dimension names: n, m, k, t, d, h, s)."""

from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

LabelMatrix = Int[ArrayLike, "n m"]
Probs = Float[Array, "n k"]
ScalarLike = float | Float[ArrayLike, ""]

__all__ = ["Array", "LabelMatrix", "Probs", "PRNGKeyArray", "ScalarLike"]
