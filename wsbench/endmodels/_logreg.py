"""Multinomial logistic regression trained on probabilistic labels."""

import equinox as eqx
import jax
import jax.numpy as jnp
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


class LogisticRegression(AbstractEndModel):
    r"""Multinomial logistic regression with the noise-aware (expected) cross-entropy.

    $p(y \mid x) = \mathrm{softmax}(W x + b)_y$, trained by minimising
    $\frac{1}{\sum_i w_i} \sum_i w_i\, \mathbb{E}_{y \sim q_i}[-\log p(y \mid x_i)]$ with AdamW, where
    $q_i$ are the probabilistic labels (Ratner et al., "Data Programming: Creating Large Training Sets,
    Quickly", NeurIPS 2016, eq. 3). Weights start at zero (the objective is convex), so only
    minibatching and augmentation use the key.

    Example:
        >>> import jax, jax.random as jr
        >>> x = jr.normal(jr.key(0), (100, 3)); y = (x[:, 0] > 0).astype(int)
        >>> fitted = LogisticRegression(n_steps=100).fit(x, jax.nn.one_hot(y, 2), key=jr.key(1))
        >>> fitted.predict_proba(x).shape
        (100, 2)
    """

    lr: ScalarLike = 0.05
    """AdamW learning rate (vmappable)."""
    weight_decay: ScalarLike = 1e-4
    """AdamW decoupled weight decay (vmappable)."""
    n_steps: int = eqx.field(static=True, default=500)
    """Number of optimiser steps."""
    batch_size: int | None = eqx.field(static=True, default=None)
    """Minibatch size; ``None`` = full batch."""

    def __check_init__(self):
        check_sizes(self, "n_steps", optional=("batch_size",))

    def fit(
        self, x, targets, *, weights=None, augment: AugmentFn | None = None, key: PRNGKeyArray
    ) -> FittedClassifier:
        x = check_features(x)
        n, d = x.shape
        targets = check_targets(targets, n)
        weights = check_weights(weights, n)
        k = targets.shape[1]
        linear = eqx.nn.Linear(d, k, key=jr.key(0))  # structure only; zero-initialised below
        linear = jax.tree.map(jnp.zeros_like, linear)
        return fit_network(
            linear,
            x,
            targets,
            weights,
            lr=self.lr,
            weight_decay=self.weight_decay,
            n_steps=self.n_steps,
            batch_size=self.batch_size,
            augment=augment,
            key=key,
        )
