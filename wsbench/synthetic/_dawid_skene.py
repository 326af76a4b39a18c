"""Dawid-Skene LFs: a full confusion matrix per LF."""

import jax.numpy as jnp
import jax.random as jr
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


def sample_dawid_skene(
    key: PRNGKeyArray,
    *,
    n: int,
    m: int,
    n_classes: int = 3,
    diag=(0.55, 0.85),
    propensity=0.6,
    class_balance=None,
    concentration: float = 1.0,
) -> Simulation:
    """Sample LFs with asymmetric, class-dependent errors.

    Each LF j has ``P(lambda_j = t | Y = t) = diag_j`` and spreads its errors ``1 - diag_j`` over the
    other classes with weights drawn from ``Dirichlet(concentration)`` per (LF, true class).

    Args:
        diag: per-LF diagonal: scalar, ``[low, high]`` (evenly spaced) or m values.
        propensity: ``P(lambda_j votes)``; class_balance: ``P(Y)`` (uniform when omitted).
    """
    check_sizes(n=n, m=m, n_classes=n_classes)
    k = n_classes
    d = jnp.asarray(per_lf(diag, m, "diag"), jnp.float32)
    prop = jnp.asarray(per_lf(propensity, m, "propensity"), jnp.float32)
    cb = jnp.asarray(class_balance_or_uniform(class_balance, k), jnp.float32)
    k_conf, k_sample = jr.split(key)
    off = jr.dirichlet(k_conf, jnp.full((k - 1,), concentration), shape=(m, k))  # [j, t, k-1]
    eye = jnp.eye(k, dtype=bool)
    # place the k-1 error weights in the off-diagonal slots of each row
    idx = jnp.arange(k)[None, :] - (jnp.arange(k)[None, :] > jnp.arange(k)[:, None])  # [t, o]
    spread = jnp.take_along_axis(off, jnp.broadcast_to(jnp.clip(idx, 0, k - 2), (m, k, k)), axis=2)
    conf = jnp.where(eye[None], d[:, None, None], (1.0 - d)[:, None, None] * spread)
    y, L = sample_from_confusions(k_sample, n=n, confusions=conf, propensity=prop, class_balance=cb)
    return Simulation(
        weak=WeakLabels(L=L, n_classes=k), y=y, confusions=conf, propensity=prop, class_balance=cb
    )


def make_dawid_skene(
    *,
    key: PRNGKeyArray,
    name: str = "synthetic_ds",
    n_train: int = 2000,
    n_valid: int = 500,
    n_test: int = 1000,
    **params,
) -> Dataset:
    """A ``Dataset`` of Dawid-Skene LFs (config target; see ``sample_dawid_skene``)."""
    sim = sample_dawid_skene(key, n=n_train + n_valid + n_test, **params)
    return to_dataset(sim, n_train, n_valid, n_test, name=name)
