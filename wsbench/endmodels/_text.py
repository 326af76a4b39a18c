"""A small text end model for relation extraction on :class:`~wsbench.augment.Tokens` sentences.

``TextCNN``: token embedding plus a learned embedding of the entity-mention flag, a width-3 1-D
convolution, ReLU, masked mean and max pooling, a linear head. It trains with the shared loop
(``train_classifier``) and any text augmentation policy (applied to every minibatch inside the jitted
step): ``Tokens`` batches travel through the loop packed as one ``(n, 2, T)`` int32 array (ids and
the protected flag), unpacked around the policy and the network.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..augment import NO_AUGMENT, PAD, IdentityPolicy, Tokens
from ..data.validate import is_traced
from ..types import ScalarLike
from ._base import (
    AbstractEndModel,
    AbstractFittedEndModel,
    check_sizes,
    check_targets,
    check_weights,
)
from ._train import adamw, train_classifier

__all__ = ["FittedTextClassifier", "TextCNN", "check_tokens"]


def check_tokens(x, *, name: str = "x", vocab_size: int | None = None) -> Tokens:
    """``x`` as a ``(n, T)`` :class:`Tokens` batch; ``ValueError`` on a bad shape or id range."""
    if not isinstance(x, Tokens):
        raise TypeError(
            f"{name} must be a wsbench.augment.Tokens batch (ids and protected, (n, T)), got "
            f"{type(x).__name__}; build one with wsbench.augment.pad_tokens."
        )
    if jnp.ndim(x.ids) != 2 or jnp.shape(x.protected) != jnp.shape(x.ids) or x.ids.shape[0] == 0:
        raise ValueError(
            f"{name}.ids and {name}.protected must both be non-empty (n, T) arrays, got "
            f"{jnp.shape(x.ids)} and {jnp.shape(x.protected)}."
        )
    if vocab_size is not None and not is_traced(x.ids):
        lo, hi = int(jnp.min(x.ids)), int(jnp.max(x.ids))
        if lo < 0 or hi >= vocab_size:
            raise ValueError(f"{name}.ids must lie in 0..{vocab_size - 1}, got range [{lo}, {hi}].")
    return Tokens(ids=jnp.asarray(x.ids, jnp.int32), protected=jnp.asarray(x.protected, bool))


def _pack(x: Tokens) -> Int[Array, "... 2 T"]:
    return jnp.stack([x.ids, x.protected.astype(jnp.int32)], axis=-2)


def _unpack(a) -> Tokens:
    return Tokens(ids=a[..., 0, :], protected=a[..., 1, :].astype(bool))


class _TextNet(eqx.Module):
    embedding: eqx.nn.Embedding
    flag: Float[Array, "2 E"]
    conv: eqx.nn.Conv1d
    head: eqx.nn.Linear

    def __init__(self, vocab_size, n_classes, embed, width, *, key):
        k1, k2, k3, k4 = jr.split(key, 4)
        self.embedding = eqx.nn.Embedding(vocab_size, embed, key=k1)
        self.flag = 0.1 * jr.normal(k2, (2, embed))
        self.conv = eqx.nn.Conv1d(embed, width, 3, padding=1, key=k3)
        self.head = eqx.nn.Linear(2 * width, n_classes, key=k4)

    def __call__(self, packed):  # (2, T): ids, protected
        ids, prot = packed[0], packed[1]
        mask = (ids != PAD).astype(jnp.float32)[None, :]
        e = jax.vmap(self.embedding)(ids) + self.flag[prot]
        h = jax.nn.relu(self.conv(e.T))
        mean = (h * mask).sum(1) / jnp.maximum(mask.sum(), 1.0)
        mx = jnp.where(mask > 0, h, -1e9).max(1)
        return self.head(jnp.concatenate([mean, mx]))


class _Packed(eqx.Module):
    """A Tokens policy acting on packed ``(B, 2, T)`` batches."""

    policy: eqx.Module

    def __call__(self, x, *, key):
        return _pack(self.policy(_unpack(x), key=key))


class FittedTextClassifier(AbstractFittedEndModel):
    """A trained :class:`TextCNN` network; ``predict_proba(tokens) -> (n, k)``."""

    network: eqx.Module
    vocab_size: int = eqx.field(static=True)
    trace: dict[str, Array]

    def predict_proba(self, x) -> Float[Array, "n k"]:
        x = check_tokens(x, vocab_size=self.vocab_size)
        return jax.nn.softmax(jax.vmap(self.network)(_pack(x)), axis=-1)


class TextCNN(AbstractEndModel):
    """Embedding + width-3 convolution + mean/max pooling + linear, on ``Tokens`` sentences.

    ``vocab_size`` (ids ``0 .. vocab_size - 1``, 0 = PAD) must be set before ``fit``; the TANDA
    runner sets it from the task's vocabulary when the config leaves it null.
    """

    vocab_size: int | None = eqx.field(static=True, default=None)
    lr: ScalarLike = 1e-3
    weight_decay: ScalarLike = 1e-4
    embed: int = eqx.field(static=True, default=32)
    width: int = eqx.field(static=True, default=32)
    n_steps: int = eqx.field(static=True, default=500)
    batch_size: int | None = eqx.field(static=True, default=64)

    def __check_init__(self):
        check_sizes(self, "embed", "width", "n_steps", optional=("batch_size", "vocab_size"))

    def fit(
        self, x, targets, *, weights=None, augment=NO_AUGMENT, key: PRNGKeyArray
    ) -> FittedTextClassifier:
        if self.vocab_size is None:
            raise ValueError("TextCNN needs vocab_size (the task's vocabulary size) before fit.")
        x = check_tokens(x, vocab_size=self.vocab_size)
        n = x.ids.shape[0]
        targets = check_targets(targets, n)
        weights = check_weights(weights, n)
        k_init, k_train = jr.split(key)
        net = _TextNet(self.vocab_size, targets.shape[1], self.embed, self.width, key=k_init)
        aug = None if augment is None or isinstance(augment, IdentityPolicy) else _Packed(augment)
        trained, losses = train_classifier(
            net,
            _pack(x),
            targets,
            weights,
            optimizer=adamw(self.lr, self.weight_decay),
            n_steps=self.n_steps,
            batch_size=self.batch_size,
            augment=aug,
            key=k_train,
        )
        return FittedTextClassifier(
            network=trained, vocab_size=self.vocab_size, trace={"loss": losses}
        )
