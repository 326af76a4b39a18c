"""Augmentation policies: ``policy(x, *, key) -> x`` on a batch, applied inside the jitted training step.

- :class:`IdentityPolicy` ("none"): returns the batch unchanged;
- :class:`CropFlipPolicy` ("basic"): random crop after zero padding, plus a random horizontal flip;
- :class:`RandomSequencePolicy` ("heuristic"): a uniformly random sequence of ``seq_len`` TFs per point;
- :class:`TandaPolicy` ("learned"): TF sequences drawn from a trained generator (mean-field or LSTM);
- :class:`ChainPolicy`: policies applied one after another (e.g. a TF sequence, then the basic crop,
  as the TANDA authors' CIFAR-10 end models did).

Every policy is an Equinox module, so any end model trains with any policy (ARCHITECTURE.md §4).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import PRNGKeyArray

from ._generator import AbstractGenerator
from .tfs import TFSet

__all__ = [
    "AbstractAugmentPolicy",
    "ChainPolicy",
    "CropFlipPolicy",
    "NO_AUGMENT",
    "IdentityPolicy",
    "RandomSequencePolicy",
    "TandaPolicy",
]


def _batch_size(x) -> int:
    leaves = jax.tree.leaves(x)
    if not leaves or jnp.ndim(leaves[0]) < 1:
        raise ValueError("an augmentation policy takes a batch: arrays with a leading axis.")
    return leaves[0].shape[0]


class AbstractAugmentPolicy(eqx.Module):
    """Maps a batch of data points (leading axis) and a key to a batch of the same shape."""

    @abc.abstractmethod
    def __call__(self, x, *, key: PRNGKeyArray):
        """Augment every point of the batch ``x`` independently."""


class IdentityPolicy(AbstractAugmentPolicy):
    """No augmentation."""

    def __call__(self, x, *, key: PRNGKeyArray):
        del key
        return x


NO_AUGMENT = IdentityPolicy()
"""The shared ``IdentityPolicy()`` instance (the default ``augment=`` of every end model)."""


class CropFlipPolicy(AbstractAugmentPolicy):
    """The "basic" baseline on ``(B, H, W, C)`` images: pad by ``pad`` pixels (zeros), crop a random
    ``H x W`` window, and mirror left-right with probability 1/2 (if ``flip``)."""

    pad: int = eqx.field(static=True, default=4)
    flip: bool = eqx.field(static=True, default=True)

    def __call__(self, x, *, key: PRNGKeyArray):
        if jnp.ndim(x) != 4:
            raise ValueError(f"CropFlipPolicy needs (B, H, W, C) images, got shape {jnp.shape(x)}.")
        B, H, W, _ = x.shape
        p = self.pad

        def one(img, k):
            k_crop, k_flip = jr.split(k)
            padded = jnp.pad(img, ((p, p), (p, p), (0, 0)))
            oy, ox = jr.randint(k_crop, (2,), 0, 2 * p + 1)
            out = jax.lax.dynamic_slice(padded, (oy, ox, 0), (H, W, img.shape[-1]))
            if self.flip:
                out = jnp.where(jr.bernoulli(k_flip), out[:, ::-1], out)
            return out

        return jax.vmap(one)(x, jr.split(key, B))


def _apply_sequences(tfs: TFSet, x, indices, key):
    B = _batch_size(x)
    return jax.vmap(tfs.compose)(x, indices, jr.split(key, B))


class RandomSequencePolicy(AbstractAugmentPolicy):
    """The "heuristic" baseline: ``seq_len`` TFs drawn uniformly (with replacement) per point."""

    tfs: TFSet
    seq_len: int = eqx.field(static=True, default=2)

    def __call__(self, x, *, key: PRNGKeyArray):
        B = _batch_size(x)
        k_idx, k_tf = jr.split(key)
        indices = jr.randint(k_idx, (B, self.seq_len), 0, len(self.tfs))
        return _apply_sequences(self.tfs, x, indices, k_tf)


class TandaPolicy(AbstractAugmentPolicy):
    """A learned policy: each point gets a TF sequence sampled from ``generator``."""

    tfs: TFSet
    generator: AbstractGenerator

    def __check_init__(self):
        if self.generator.n_tfs != len(self.tfs):
            raise ValueError(
                f"generator has n_tfs={self.generator.n_tfs} but the TF set has {len(self.tfs)}."
            )

    def __call__(self, x, *, key: PRNGKeyArray):
        B = _batch_size(x)
        k_idx, k_tf = jr.split(key)
        indices, _ = self.generator.sample(k_idx, B)
        return _apply_sequences(self.tfs, x, indices, k_tf)


class ChainPolicy(AbstractAugmentPolicy):
    """``policies`` applied in order, each with its own key split from ``key``.

    ``ChainPolicy((RandomSequencePolicy(tfs), CropFlipPolicy()))`` is the TANDA authors' CIFAR-10
    end-model augmentation (HazyResearch/tanda ``PadCropTransformer``: every TF sequence followed
    by a random pad-and-crop).
    """

    policies: tuple[AbstractAugmentPolicy, ...]

    def __check_init__(self):
        if len(self.policies) == 0:
            raise ValueError("ChainPolicy needs at least one policy.")
        bad = [type(p).__name__ for p in self.policies if not isinstance(p, AbstractAugmentPolicy)]
        if bad:
            raise TypeError(f"ChainPolicy takes AbstractAugmentPolicy instances, got {bad}.")

    def __call__(self, x, *, key: PRNGKeyArray):
        for policy, k in zip(self.policies, jr.split(key, len(self.policies)), strict=True):
            x = policy(x, key=k)
        return x
