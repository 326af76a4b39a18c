"""Conditionally independent LFs: per-LF accuracy and propensity, symmetric errors."""

import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from ..data import Dataset, WeakLabels
from ._simulation import (
    Simulation,
    check_sizes,
    class_balance_or_uniform,
    per_lf,
    sample_from_confusions,
    to_dataset,
)


def independent_confusions(accuracy: np.ndarray, k: int) -> np.ndarray:
    """``(m, k, k)``: correct with probability ``accuracy``, else uniform over the other classes."""
    off = (1.0 - accuracy) / (k - 1)
    eye = np.eye(k)[None]
    return eye * accuracy[:, None, None] + (1 - eye) * off[:, None, None]


def sample_independent(
    key: PRNGKeyArray,
    *,
    n: int,
    m: int,
    n_classes: int = 2,
    accuracy=(0.6, 0.9),
    propensity=0.5,
    class_balance=None,
) -> Simulation:
    """Sample conditionally independent LFs.

    Args:
        key: PRNG key.
        n: number of items; m: number of LFs; n_classes: k.
        accuracy: ``P(lambda_j = Y | lambda_j votes)``: scalar, ``[low, high]`` (evenly spaced over the
            LFs) or m values; wrong votes are uniform over the other classes.
        propensity: ``P(lambda_j votes)``, same forms as ``accuracy``.
        class_balance: ``P(Y)``; uniform when omitted.
    """
    check_sizes(n=n, m=m, n_classes=n_classes)
    acc = per_lf(accuracy, m, "accuracy")
    prop = per_lf(propensity, m, "propensity")
    cb = class_balance_or_uniform(class_balance, n_classes)
    conf = jnp.asarray(independent_confusions(acc, n_classes), jnp.float32)
    prop_j, cb_j = jnp.asarray(prop, jnp.float32), jnp.asarray(cb, jnp.float32)
    y, L = sample_from_confusions(key, n=n, confusions=conf, propensity=prop_j, class_balance=cb_j)
    return Simulation(
        weak=WeakLabels(L=L, n_classes=n_classes),
        y=y,
        confusions=conf,
        propensity=prop_j,
        class_balance=cb_j,
    )


def make_independent(
    *,
    key: PRNGKeyArray,
    name: str = "synthetic_independent",
    n_train: int = 2000,
    n_valid: int = 500,
    n_test: int = 1000,
    **params,
) -> Dataset:
    """A ``Dataset`` of conditionally independent LFs (config target; see ``sample_independent``)."""
    sim = sample_independent(key, n=n_train + n_valid + n_test, **params)
    return to_dataset(sim, n_train, n_valid, n_test, name=name)
