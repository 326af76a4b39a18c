"""A generic, jittable minibatch training loop: ``lax.scan`` over a static number of optax steps."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from ..augment import IdentityPolicy
from .losses import soft_cross_entropy


def train_classifier(
    network: eqx.Module,
    x: Float[Array, "n d"],
    targets: Float[Array, "n k"],
    weights: Float[Array, " n"],
    *,
    optimizer: optax.GradientTransformation,
    n_steps: int,
    batch_size: int | None,
    augment: Callable | None = None,
    key: PRNGKeyArray,
) -> tuple[eqx.Module, Float[Array, " n_steps"]]:
    """Minimise the weighted soft-target cross-entropy of ``network`` (``(d,) -> (k,)`` logits).

    Each step draws a minibatch of ``batch_size`` rows uniformly with replacement (``None`` or
    ``batch_size >= n``: the full batch, no sampling), optionally augments it (``augment``: a
    ``wsbench.augment`` policy; ``None`` or ``IdentityPolicy()`` skip it), and applies one optax
    update. Per-step keys come from splitting ``key`` once, so the run is a pure function of ``key``;
    ``n_steps`` and ``batch_size`` are static, so the cost does not depend on the data.

    Returns:
        the trained network and the per-step training loss.
    """
    n = x.shape[0]
    full_batch = batch_size is None or batch_size >= n
    params, static = eqx.partition(network, eqx.is_inexact_array)
    opt_state = optimizer.init(params)

    def loss_fn(p, xb, tb, wb):
        logits = jax.vmap(eqx.combine(p, static))(xb)
        return soft_cross_entropy(logits, tb, wb)

    def step(carry, step_key):
        p, state = carry
        k_batch, k_aug = jr.split(step_key)
        if full_batch:
            xb, tb, wb = x, targets, weights
        else:
            idx = jr.randint(k_batch, (batch_size,), 0, n)
            xb, tb, wb = x[idx], targets[idx], weights[idx]
        if augment is not None and not isinstance(augment, IdentityPolicy):
            xb = augment(xb, key=k_aug)
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, tb, wb)
        updates, state = optimizer.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), loss

    (params, _), losses = jax.lax.scan(step, (params, opt_state), jr.split(key, n_steps))
    return eqx.combine(params, static), losses


def adamw(lr, weight_decay) -> optax.GradientTransformation:
    """AdamW with array-valued (vmappable) learning rate and weight decay."""
    return optax.adamw(
        learning_rate=jnp.asarray(lr, jnp.float32),
        weight_decay=jnp.asarray(weight_decay, jnp.float32),
    )


def fit_network(
    network: eqx.Module,
    x: Float[Array, "n d"],
    targets: Float[Array, "n k"],
    weights: Float[Array, " n"],
    *,
    lr,
    weight_decay,
    n_steps: int,
    batch_size: int | None,
    augment: Callable | None,
    key: PRNGKeyArray,
):
    """Train ``network`` with AdamW (``train_classifier``) and wrap it as a ``FittedClassifier``."""
    from ._base import FittedClassifier

    trained, losses = train_classifier(
        network,
        x,
        targets,
        weights,
        optimizer=adamw(lr, weight_decay),
        n_steps=n_steps,
        batch_size=batch_size,
        augment=augment,
        key=key,
    )
    return FittedClassifier(network=trained, n_features=x.shape[1], trace={"loss": losses})
