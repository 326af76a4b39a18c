"""Parameter-recovery metrics: class alignment and confusion-matrix error."""

import equinox as eqx
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, Int


def min_cost_permutation(cost: Float[Array, "k k"]) -> Int[Array, " k"]:
    """``perm`` with ``perm[t]`` the column assigned to row ``t`` by the min-cost matching (Hungarian).

    The one class-alignment step of wsbench: label models align their latent classes with it
    (pass a negated score to maximise), and ``align_classes`` aligns estimates with the truth.
    Jittable and vmappable (``optax.assignment.hungarian_algorithm``).
    """
    rows, cols = optax.assignment.hungarian_algorithm(cost)
    return cols[jnp.argsort(rows)]


@eqx.filter_jit
def align_classes(est: Float[Array, "m k k"], true: Float[Array, "m k k"]) -> Int[Array, " k"]:
    """The permutation ``perm`` of estimated latent classes that best matches the true ones (Hungarian).

    Only the latent class is unidentifiable (LF outputs are observed), so ``est[:, perm]`` is
    comparable with ``true``: estimated class ``perm[t]`` plays the role of true class ``t``. The cost
    of matching true ``t`` with estimated ``s`` is the L1 distance of their confusion rows, summed over LFs.
    """
    cost = jnp.abs(true[:, :, None, :] - est[:, None, :, :]).sum(axis=(0, 3))  # [t, s]
    return min_cost_permutation(cost)


@eqx.filter_jit
def confusion_error(
    est: Float[Array, "m k k"], true: Float[Array, "m k k"], *, align: bool = True
) -> Float[Array, ""]:
    """Mean absolute error between confusion tables, after aligning classes (optional)."""
    if align:
        perm = align_classes(est, true)
        est = est[:, perm]
    return jnp.abs(est - true).mean()
