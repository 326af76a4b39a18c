"""Hyperparameter validation shared by every estimator's ``__check_init__`` and ``fit``.

One rule set for all label models: integer hyperparameters accept Python and NumPy ints (never
bools) and are converted to ``int``; continuous ones must be real and finite and lie in their
range, checked only when concrete (under ``vmap``/``jit`` they are traced and skipped); choices are
checked against their allowed values; ``fit`` keys must be JAX PRNG keys. Every message names the
estimator, the argument, what is wrong and how to fix it.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ..data.validate import is_traced


def as_int(value):
    """Converter for integer fields: NumPy ints become ``int``; anything else is left for the check."""
    if isinstance(value, np.integer) and not isinstance(value, np.bool_):
        return int(value)
    return value


def check_int(owner: str, name: str, value, *, minimum: int = 1) -> None:
    """``value`` is an int (not a bool) ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{owner}.{name} must be an int, got {type(value).__name__} {value!r}; "
            f"pass e.g. {name}={max(minimum, 1)}."
        )
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be an int >= {minimum}, got {value!r}.")


def check_real(
    owner: str,
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    meaning: str = "",
) -> None:
    """``value`` (a scalar or array, when concrete) is real, finite and in the given interval."""
    if is_traced(value):
        return  # swept under vmap/jit: checked where the grid was built
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{owner}.{name} must be a real number, got {value!r}.")
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}.{name} must be a real number, got {value!r}.") from None
    lo = "(" if low_open or low is None else "["
    hi = ")" if high_open or high is None else "]"
    interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    what = f" ({meaning})" if meaning else ""
    if not np.all(np.isfinite(v)):
        raise ValueError(
            f"{owner}.{name}{what} must be finite, got {value!r}; pass a value in {interval}."
        )
    bad = np.zeros(v.shape, bool)
    if low is not None:
        bad |= (v <= low) if low_open else (v < low)
    if high is not None:
        bad |= (v >= high) if high_open else (v > high)
    if np.any(bad):
        raise ValueError(f"{owner}.{name}{what} must lie in {interval}, got {value!r}.")


def check_choice(owner: str, name: str, value, choices) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}.{name} must be one of {tuple(choices)}, got {value!r}.")


def check_bool(owner: str, name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}.{name} must be True or False, got {value!r}.")


def check_key(owner: str, key) -> None:
    """``key`` is a JAX PRNG key: a typed key (``jax.random.key``) or a raw ``uint32[2]`` one."""
    fix = "pass key=jax.random.key(seed)"
    if key is None or isinstance(key, (bool, int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: key must be a JAX PRNG key, got {key!r}; {fix}.")
    if not hasattr(key, "dtype"):
        raise TypeError(f"{owner}: key must be a JAX PRNG key, got {type(key).__name__}; {fix}.")
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return
    if key.dtype == jnp.uint32 and key.shape[-1:] == (2,):
        return  # legacy jax.random.PRNGKey(seed)
    raise TypeError(
        f"{owner}: key must be a JAX PRNG key, got an array of dtype {key.dtype} and shape "
        f"{tuple(key.shape)}; {fix}."
    )


def as_edge_list(edges):
    """Converter for ``edges``: check that every edge is a pair of LF indices before normalising."""
    if edges is None:
        return ()
    if isinstance(edges, (str, bytes)):
        raise TypeError(
            f"edges must be a list of LF index pairs like [[0, 1], [2, 3]], got {edges!r}."
        )
    try:
        items = list(edges)
    except TypeError:
        raise TypeError(
            f"edges must be a list of LF index pairs like [[0, 1], [2, 3]], got {edges!r}."
        ) from None
    for e in items:
        try:
            size = len(e)
        except TypeError:
            size = -1
        if size != 2:
            raise ValueError(
                f"edges must be pairs of LF indices (i, j), got {e!r} in {edges!r}; a dependency "
                "among more than two LFs is given as several pairs, e.g. [[0, 1], [1, 2]]."
            )
        for v in e:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"edges must hold int LF indices, got {v!r} in edge {e!r}.")
    return items


def check_tol(owner: str, value) -> None:
    """A convergence tolerance: ``None`` or a finite real ``>= 0`` (``None`` or ``0``: no stopping)."""
    if value is None or is_traced(value):
        return
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{owner}.tol must be a real number >= 0, got {value!r}; pass e.g. tol=1e-5."
        )
    check_real(owner, "tol", value, low=0.0, meaning="convergence tolerance; 0 = always n_iter")
