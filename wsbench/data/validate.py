"""Input validation shared by the containers and the estimators' ``predict_proba``.

Every check raises ``ValueError`` naming what is wrong and how to fix it. Value checks (range, NaN) run
only on concrete arrays: inside ``jit`` the values are unknown and only shapes and dtypes are checked.
"""

import jax
import jax.numpy as jnp
import numpy as np


def is_traced(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def check_n_classes(n_classes) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise ValueError(
            f"n_classes must be a Python int >= 2, got {n_classes!r} of type "
            f"{type(n_classes).__name__}; pass e.g. n_classes=2 for a binary task."
        )
    if n_classes < 2:
        raise ValueError(
            f"n_classes must be >= 2, got {n_classes}; a label model needs at least two classes "
            "(for a one-class problem there is nothing to estimate)."
        )
    return int(n_classes)


def as_label_matrix(
    L, n_classes: int, *, name: str = "L", n_lfs: int | None = None, keep_int8: bool = False
):
    """Convert ``L`` to an int32 JAX array after checking dtype, rank and (if concrete) values.

    With ``keep_int8``, an int8 ``L`` stays int8 when ``n_classes <= 126`` (so that abstain recoded
    as the extra class ``k`` still fits): no 4x int32 copy of a large matrix, and on CPU a 64-byte
    aligned NumPy array is not copied at all. The label models take it that way (``WeakLabels``,
    ``predict_proba``) and widen row chunks where they compute with the votes. A NumPy ``L`` is
    always copied, so changing it afterwards does not change the JAX array.
    """
    if L is None:
        raise ValueError(f"{name} is None; pass an (n, m) integer label matrix (-1 = abstain).")
    if hasattr(L, "L") and hasattr(L, "n_classes"):
        raise TypeError(
            f"{name} must be a label matrix, got {type(L).__name__}; pass its votes: "
            f"predict_proba(weak.L)."
        )
    if hasattr(L, "toarray") and hasattr(L, "nnz"):
        raise TypeError(
            f"{name} is a sparse matrix ({type(L).__name__}); pass a dense (n, m) int array with -1 "
            "for abstain, e.g. L.toarray() - 1 if the sparse zeros mean abstain and classes were "
            "stored as 1..k (the MeTaL convention), else L.toarray()."
        )
    if not is_traced(L) and not isinstance(L, (jax.Array, np.ndarray)):
        L = np.asarray(L)
    dtype = L.dtype
    if jnp.issubdtype(dtype, jnp.bool_) or not jnp.issubdtype(dtype, jnp.integer):
        hint = ""
        if jnp.issubdtype(dtype, jnp.floating):
            hint = " (NaN cannot encode an abstain: use -1, then cast with L.astype(int))"
        raise ValueError(
            f"{name} must be an integer array with -1 for abstain and 0..k-1 for classes, "
            f"got dtype {dtype}{hint}."
        )
    if L.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n items x m labeling functions), got shape {tuple(L.shape)}; "
            "reshape a single LF's votes with L[:, None]."
        )
    n, m = L.shape
    if n == 0:
        raise ValueError(f"{name} has no rows (shape {tuple(L.shape)}): the split is empty.")
    if m == 0:
        raise ValueError(f"{name} has no columns (shape {tuple(L.shape)}): apply at least one LF.")
    if n_lfs is not None and m != n_lfs:
        raise ValueError(
            f"{name} has {m} labeling functions (columns) but the model was fitted on {n_lfs}; "
            "pass a label matrix with the same LFs in the same order."
        )
    if not is_traced(L):
        L_np = np.asarray(L)
        lo, hi = int(L_np.min()), int(L_np.max())
        if lo < -1 or hi > n_classes - 1:
            bad = L_np[(L_np < -1) | (L_np > n_classes - 1)]
            where = np.argwhere((L_np < -1) | (L_np > n_classes - 1))[0]
            raise ValueError(
                f"{name} has values outside -1..{n_classes - 1} (n_classes={n_classes}): "
                f"found {sorted(set(bad.tolist()))[:5]} (first at row {where[0]}, LF {where[1]}). "
                "Use -1 for abstain and 0..k-1 for classes; for 0-abstain (MeTaL) matrices use "
                "wsbench.data.from_metal, or raise n_classes."
            )
    if keep_int8 and dtype == np.int8 and n_classes <= _INT8_MAX_CLASSES:
        return L if isinstance(L, jax.Array) or is_traced(L) else _device_copy(np.asarray(L))
    return jnp.asarray(L, dtype=jnp.int32)


_INT8_MAX_CLASSES = 126


def _device_copy(L: np.ndarray) -> jax.Array:
    """One copy of ``L`` on the device (``jnp.asarray`` makes two of a large unaligned array on
    CPU): the copy goes to a 64-byte aligned private buffer that ``device_put`` then uses as is."""
    buf = np.empty(L.nbytes + 64, np.uint8)
    start = -buf.ctypes.data % 64
    aligned = buf[start : start + L.nbytes].view(L.dtype).reshape(L.shape)
    aligned[...] = L
    return jax.device_put(aligned)


def as_class_balance(class_balance, n_classes: int):
    if class_balance is None:
        return None
    if is_traced(class_balance):
        return class_balance
    if isinstance(class_balance, (str, bytes)):
        raise TypeError(
            f"class_balance must be a (k,) array of class probabilities, got {class_balance!r}; for "
            "a uniform balance pass np.full(k, 1 / k), or leave class_balance=None and choose it in "
            "the estimator (e.g. MatrixCompletion(class_balance_from='uniform'))."
        )
    try:
        cb = np.asarray(class_balance, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"class_balance must be a (k,) array of class probabilities, got {class_balance!r}."
        ) from None
    if cb.shape != (n_classes,):
        raise ValueError(
            f"class_balance must have shape ({n_classes},) to match n_classes={n_classes}, "
            f"got shape {cb.shape}."
        )
    if not np.all(np.isfinite(cb)) or np.any(cb < 0):
        raise ValueError(f"class_balance must be finite and non-negative, got {cb.tolist()}.")
    if abs(cb.sum() - 1.0) > 1e-4:
        raise ValueError(
            f"class_balance must sum to 1, got sum {cb.sum():.6g} for {cb.tolist()}; "
            "normalise it with p / p.sum()."
        )
    return jnp.asarray(cb / cb.sum(), dtype=jnp.float32)  # off by at most 1e-4: normalised


def as_gold(y, n: int, n_classes: int, *, name: str = "y"):
    """Gold labels: int, 1-D, length n, values in -1..k-1 (-1 = unknown)."""
    if y is None:
        return None
    if not is_traced(y) and not isinstance(y, (jax.Array, np.ndarray)):
        y = np.asarray(y)
    if y.dtype == bool or not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(
            f"{name} must be an integer array of class ids (-1 = unknown), got dtype {y.dtype}."
        )
    if y.shape != (n,):
        raise ValueError(
            f"{name} must have shape ({n},) to match the label matrix, got {tuple(y.shape)}."
        )
    if not is_traced(y):
        y_np = np.asarray(y)
        if y_np.size and (y_np.min() < -1 or y_np.max() > n_classes - 1):
            raise ValueError(
                f"{name} has values outside -1..{n_classes - 1}: "
                f"{sorted(set(y_np[(y_np < -1) | (y_np > n_classes - 1)].tolist()))[:5]}."
            )
    return jnp.asarray(y, dtype=jnp.int32)


def as_features(x, n: int, *, name: str = "x"):
    if x is None:
        return None
    if not is_traced(x) and not isinstance(x, (jax.Array, np.ndarray)):
        x = np.asarray(x)
    if x.dtype != bool and not (
        jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.floating)
    ):
        raise ValueError(
            f"{name} must be a numeric (n, ...) feature array, got dtype {x.dtype}; "
            "featurise raw records (e.g. text) before building a Split."
        )
    if x.ndim < 2 or x.shape[0] != n:
        raise ValueError(
            f"{name} must have shape (n, ...) with n={n} rows matching the label matrix, "
            f"got {tuple(x.shape)}."
        )
    if (
        not is_traced(x)
        and jnp.issubdtype(x.dtype, jnp.floating)
        and not np.all(np.isfinite(np.asarray(x)))
    ):
        raise ValueError(
            f"{name} contains NaN or infinite values; impute or drop those rows first."
        )
    return jnp.asarray(x)
