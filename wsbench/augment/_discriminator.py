"""Discriminators that tell real unlabeled points from transformed ones (one logit: "real").

Any Equinox module mapping one data point to a scalar logit works with :func:`train_tanda`; these are
the defaults: a small CNN for ``(H, W, C)`` images and an embedding + pooling encoder for
:class:`~wsbench.augment.Tokens` sentences.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from ._text import PAD, Tokens

__all__ = ["ImageDiscriminator", "TextDiscriminator"]


class ImageDiscriminator(eqx.Module):
    """Conv(3x3) -> ReLU -> Conv(3x3, stride 2) -> ReLU -> Conv(3x3, stride 2) -> ReLU -> global
    mean pool -> Linear -> scalar logit, on ``(H, W, C)`` images."""

    convs: tuple[eqx.nn.Conv2d, ...]
    head: eqx.nn.Linear

    def __init__(self, channels: int, *, width: int = 16, key: PRNGKeyArray):
        k1, k2, k3, k4 = jr.split(key, 4)
        self.convs = (
            eqx.nn.Conv2d(channels, width, 3, padding=1, key=k1),
            eqx.nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, key=k2),
            eqx.nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1, key=k3),
        )
        self.head = eqx.nn.Linear(2 * width, 1, key=k4)

    def __call__(self, x: Float[Array, "H W C"]) -> Float[Array, ""]:
        h = jnp.moveaxis(x, -1, 0)
        for conv in self.convs:
            h = jax.nn.relu(conv(h))
        return self.head(h.mean(axis=(1, 2)))[0]


class TextDiscriminator(eqx.Module):
    """Token embedding -> 1-D convolution (width 3) -> ReLU -> masked mean and max pooling ->
    Linear -> scalar logit. A learned embedding of the protected (entity) flag is added, so the
    encoder knows where the mentions are."""

    embedding: eqx.nn.Embedding
    flag: Float[Array, "2 E"]
    conv: eqx.nn.Conv1d
    head: eqx.nn.Linear

    def __init__(self, vocab_size: int, *, embed: int = 32, width: int = 32, key: PRNGKeyArray):
        k1, k2, k3, k4 = jr.split(key, 4)
        self.embedding = eqx.nn.Embedding(vocab_size, embed, key=k1)
        self.flag = 0.1 * jr.normal(k2, (2, embed))
        self.conv = eqx.nn.Conv1d(embed, width, 3, padding=1, key=k3)
        self.head = eqx.nn.Linear(2 * width, 1, key=k4)

    def __call__(self, x: Tokens) -> Float[Array, ""]:
        mask = (x.ids != PAD).astype(jnp.float32)[None, :]
        e = jax.vmap(self.embedding)(x.ids) + self.flag[x.protected.astype(jnp.int32)]
        h = jax.nn.relu(self.conv(e.T))  # (width, T)
        mean = (h * mask).sum(1) / jnp.maximum(mask.sum(), 1.0)
        mx = jnp.where(mask > 0, h, -1e9).max(1)
        return self.head(jnp.concatenate([mean, mx]))[0]
