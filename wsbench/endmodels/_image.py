"""Image end models: a CIFAR-style ResNet and a small CNN, on ``(n, H, W, C)`` images in [0, 1].

Both train with the shared loop (:func:`~wsbench.endmodels.train_classifier`: AdamW, noise-aware
cross-entropy, augmentation policy applied to each minibatch inside the jitted step). Normalisation
layers are GroupNorm rather than BatchNorm, so the networks stay stateless pytrees (no running
statistics threaded through the loop); that is a deviation from He et al.'s ResNet-56.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..augment import NO_AUGMENT
from ..data.validate import is_traced
from ..types import ScalarLike
from ._base import (
    AbstractEndModel,
    AbstractFittedEndModel,
    AugmentFn,
    check_sizes,
    check_targets,
    check_weights,
)
from ._train import adamw, train_classifier

__all__ = ["CNN", "FittedImageClassifier", "ResNet", "check_images"]


def check_images(x, *, name: str = "x", shape: tuple[int, ...] | None = None):
    """``x`` as float32 ``(n, H, W, C)``; raises ``ValueError`` on bad shape, NaN/inf or range."""
    if x is None:
        raise ValueError(f"{name} is None; an image end model needs (n, H, W, C) images in [0, 1].")
    if not is_traced(x) and not isinstance(x, (jax.Array, np.ndarray)):
        x = np.asarray(x)
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty (n, H, W, C) image batch, got shape {tuple(x.shape)}; "
            "add a trailing channel axis for grayscale images (x[..., None])."
        )
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(
            f"{name} has image shape {tuple(x.shape[1:])}, the model was fitted on {shape}."
        )
    if not is_traced(x):
        a = np.asarray(x, dtype=np.float32)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or infinite values.")
        if a.min() < -1e-3 or a.max() > 1 + 1e-3:
            raise ValueError(
                f"{name} must hold intensities in [0, 1] (got range [{a.min():.3g}, {a.max():.3g}]); "
                "divide uint8 images by 255."
            )
    return jnp.asarray(x, dtype=jnp.float32)


def _norm(c: int) -> eqx.nn.GroupNorm:
    return eqx.nn.GroupNorm(min(8, c), c)


class _Block(eqx.Module):
    conv1: eqx.nn.Conv2d
    norm1: eqx.nn.GroupNorm
    conv2: eqx.nn.Conv2d
    norm2: eqx.nn.GroupNorm
    shortcut: eqx.nn.Conv2d | None

    def __init__(self, c_in, c_out, stride, *, key):
        k1, k2, k3 = jr.split(key, 3)
        self.conv1 = eqx.nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, use_bias=False, key=k1)
        self.norm1 = _norm(c_out)
        self.conv2 = eqx.nn.Conv2d(c_out, c_out, 3, padding=1, use_bias=False, key=k2)
        self.norm2 = _norm(c_out)
        self.shortcut = (
            eqx.nn.Conv2d(c_in, c_out, 1, stride=stride, use_bias=False, key=k3)
            if stride != 1 or c_in != c_out
            else None
        )

    def __call__(self, h):
        out = jax.nn.relu(self.norm1(self.conv1(h)))
        out = self.norm2(self.conv2(out))
        skip = h if self.shortcut is None else self.shortcut(h)
        return jax.nn.relu(out + skip)


class _ResNetNet(eqx.Module):
    stem: eqx.nn.Conv2d
    stem_norm: eqx.nn.GroupNorm
    blocks: tuple[_Block, ...]
    head: eqx.nn.Linear

    def __init__(self, channels, n_classes, blocks_per_stage, width, *, key):
        keys = jr.split(key, 3 * blocks_per_stage + 2)
        self.stem = eqx.nn.Conv2d(channels, width, 3, padding=1, use_bias=False, key=keys[0])
        self.stem_norm = _norm(width)
        blocks, c, i = [], width, 1
        for stage in range(3):
            c_out = width * 2**stage
            for b in range(blocks_per_stage):
                stride = 2 if (stage > 0 and b == 0) else 1
                blocks.append(_Block(c, c_out, stride, key=keys[i]))
                c, i = c_out, i + 1
        self.blocks = tuple(blocks)
        self.head = eqx.nn.Linear(c, n_classes, key=keys[-1])

    def __call__(self, x):
        h = (jnp.moveaxis(x, -1, 0) - 0.5) / 0.25
        h = jax.nn.relu(self.stem_norm(self.stem(h)))
        for blk in self.blocks:
            h = blk(h)
        return self.head(h.mean(axis=(1, 2)))


class _CNNNet(eqx.Module):
    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d
    fc: eqx.nn.Linear
    out: eqx.nn.Linear

    def __init__(self, channels, n_classes, width, hw, *, key):
        k1, k2, k3, k4 = jr.split(key, 4)
        self.conv1 = eqx.nn.Conv2d(channels, width, 3, padding=1, key=k1)
        self.conv2 = eqx.nn.Conv2d(width, 2 * width, 3, padding=1, key=k2)
        flat = 2 * width * (hw[0] // 4) * (hw[1] // 4)
        self.fc = eqx.nn.Linear(flat, 4 * width, key=k3)
        self.out = eqx.nn.Linear(4 * width, n_classes, key=k4)

    def __call__(self, x):
        pool = eqx.nn.MaxPool2d(2, 2)
        h = (jnp.moveaxis(x, -1, 0) - 0.5) / 0.25
        h = pool(jax.nn.relu(self.conv1(h)))
        h = pool(jax.nn.relu(self.conv2(h)))
        return self.out(jax.nn.relu(self.fc(h.reshape(-1))))


class FittedImageClassifier(AbstractFittedEndModel):
    """A trained image network ``(H, W, C) -> (k,)`` logits.

    Attributes:
        network: the Equinox network.
        image_shape: (H, W, C), checked at prediction time (static).
        trace: ``{"loss": (n_steps,)}``.
    """

    network: eqx.Module
    image_shape: tuple[int, int, int] = eqx.field(static=True)
    trace: dict[str, Array]
    eval_batch: int = eqx.field(static=True, default=500)

    def predict_proba(self, x) -> Float[Array, "n k"]:
        x = check_images(x, shape=self.image_shape)
        n = x.shape[0]
        b = min(self.eval_batch, n)
        pad = (-n) % b
        xp = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else x
        logits = jax.lax.map(jax.vmap(self.network), xp.reshape(-1, b, *x.shape[1:]))
        return jax.nn.softmax(logits.reshape(n + pad, -1)[:n], axis=-1)


def _fit_image(est, net_fn, x, targets, weights, augment, key):
    x = check_images(x)
    n = x.shape[0]
    targets = check_targets(targets, n)
    weights = check_weights(weights, n)
    k_init, k_train = jr.split(key)
    net = net_fn(x.shape[-1], targets.shape[1], x.shape[1:3], k_init)
    trained, losses = train_classifier(
        net,
        x,
        targets,
        weights,
        optimizer=adamw(est.lr, est.weight_decay),
        n_steps=est.n_steps,
        batch_size=est.batch_size,
        augment=augment,
        key=k_train,
    )
    return FittedImageClassifier(
        network=trained, image_shape=tuple(int(s) for s in x.shape[1:]), trace={"loss": losses}
    )


class ResNet(AbstractEndModel):
    r"""A CIFAR-style ResNet (He et al. 2016, §4.2): a 3x3 stem, three stages of ``blocks_per_stage``
    basic blocks at ``width``, ``2 width``, ``4 width`` channels (stride 2 between stages), global
    average pooling and a linear head; depth $6\,\mathrm{blocks\_per\_stage} + 2$ (9 blocks: the
    paper's ResNet-56). Trained with AdamW on the noise-aware cross-entropy."""

    lr: ScalarLike = 1e-3
    weight_decay: ScalarLike = 5e-4
    blocks_per_stage: int = eqx.field(static=True, default=1)
    width: int = eqx.field(static=True, default=16)
    n_steps: int = eqx.field(static=True, default=1000)
    batch_size: int | None = eqx.field(static=True, default=128)

    def __check_init__(self):
        check_sizes(self, "blocks_per_stage", "width", "n_steps", optional=("batch_size",))

    def fit(
        self,
        x,
        targets,
        *,
        weights=None,
        augment: AugmentFn | None = NO_AUGMENT,
        key: PRNGKeyArray,
    ) -> FittedImageClassifier:
        def net(c, k, hw, key):
            return _ResNetNet(c, k, self.blocks_per_stage, self.width, key=key)

        return _fit_image(self, net, x, targets, weights, augment, key)


class CNN(AbstractEndModel):
    """A small CNN (two 3x3 conv + 2x2 max-pool stages, one hidden dense layer) for small
    grayscale images such as PneumoniaMNIST's 28x28 X-rays."""

    lr: ScalarLike = 1e-3
    weight_decay: ScalarLike = 1e-4
    width: int = eqx.field(static=True, default=16)
    n_steps: int = eqx.field(static=True, default=500)
    batch_size: int | None = eqx.field(static=True, default=128)

    def __check_init__(self):
        check_sizes(self, "width", "n_steps", optional=("batch_size",))

    def fit(
        self,
        x,
        targets,
        *,
        weights=None,
        augment: AugmentFn | None = NO_AUGMENT,
        key: PRNGKeyArray,
    ) -> FittedImageClassifier:
        def net(c, k, hw, key):
            return _CNNNet(c, k, self.width, hw, key=key)

        return _fit_image(self, net, x, targets, weights, augment, key)
