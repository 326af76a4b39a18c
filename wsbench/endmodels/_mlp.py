"""A multilayer perceptron trained on probabilistic labels."""

import equinox as eqx
import jax
import jax.random as jr
from jaxtyping import PRNGKeyArray

from ..types import ScalarLike
from ._base import (
    AbstractEndModel,
    AugmentFn,
    FittedClassifier,
    check_features,
    check_sizes,
    check_targets,
    check_weights,
)
from ._train import fit_network


class MLP(AbstractEndModel):
    r"""A ReLU MLP (``equinox.nn.MLP``) with the noise-aware (expected) cross-entropy.

    $p(y \mid x) = \mathrm{softmax}(f_\theta(x))_y$ with $f_\theta$ an MLP of ``depth`` hidden layers of
    ``width`` units, trained with AdamW on
    $\frac{1}{\sum_i w_i} \sum_i w_i\, \mathbb{E}_{y \sim q_i}[-\log p(y \mid x_i)]$ (Ratner et al.,
    NeurIPS 2016, eq. 3). The key initialises the weights and draws the minibatches.

    Example:
        >>> import jax, jax.random as jr
        >>> x = jr.normal(jr.key(0), (100, 3)); y = (x[:, 0] > 0).astype(int)
        >>> fitted = MLP(n_steps=50, width=8).fit(x, jax.nn.one_hot(y, 2), key=jr.key(1))
        >>> fitted.predict_proba(x).shape
        (100, 2)
    """

    lr: ScalarLike = 1e-2
    """AdamW learning rate (vmappable)."""
    weight_decay: ScalarLike = 1e-4
    """AdamW decoupled weight decay (vmappable)."""
    width: int = eqx.field(static=True, default=64)
    """Hidden units per layer."""
    depth: int = eqx.field(static=True, default=1)
    """Number of hidden layers."""
    n_steps: int = eqx.field(static=True, default=500)
    """Number of optimiser steps."""
    batch_size: int | None = eqx.field(static=True, default=256)
    """Minibatch size; ``None`` = full batch."""

    def __check_init__(self):
        check_sizes(self, "width", "depth", "n_steps", optional=("batch_size",))

    def fit(
        self, x, targets, *, weights=None, augment: AugmentFn | None = None, key: PRNGKeyArray
    ) -> FittedClassifier:
        x = check_features(x)
        n, d = x.shape
        targets = check_targets(targets, n)
        weights = check_weights(weights, n)
        k_init, k_train = jr.split(key)
        net = eqx.nn.MLP(
            d, targets.shape[1], self.width, self.depth, activation=jax.nn.relu, key=k_init
        )
        return fit_network(
            net,
            x,
            targets,
            weights,
            lr=self.lr,
            weight_decay=self.weight_decay,
            n_steps=self.n_steps,
            batch_size=self.batch_size,
            augment=augment,
            key=k_train,
        )
