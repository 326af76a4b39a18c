"""The end-model protocol: ``fit(x, targets, *, key) -> fitted`` with ``predict_proba(x)``.

End models are trained on probabilistic labels ``targets`` (rows are distributions over the k
classes, e.g. a label model's posterior), minimising the expected loss under the label distribution
(noise-aware training, Ratner et al. 2016). Hyperparameters are dataclass fields: continuous ones
(``lr``, ``weight_decay``) are array leaves and vmappable, structural ones (``n_steps``,
``batch_size``, ``width``) are static.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..augment import NO_AUGMENT
from ..data.validate import is_traced

AugmentFn = Callable[..., Array]
"""An augmentation ``(x, *, key) -> x`` applied to every minibatch: a
``wsbench.augment.AbstractAugmentPolicy`` (e.g. a TANDA policy); ``None`` means no augmentation."""


class AbstractFittedEndModel(eqx.Module):
    """What an end model's ``fit`` returns.

    Attributes:
        trace: per-step diagnostics, e.g. ``{"loss": (n_steps,)}``.
    """

    trace: eqx.AbstractVar[dict[str, Array]]

    @abc.abstractmethod
    def predict_proba(self, x) -> Float[Array, "n k"]:
        """Class probabilities for each row of ``x``."""


class AbstractEndModel(eqx.Module):
    """A discriminative classifier trained on probabilistic labels."""

    @abc.abstractmethod
    def fit(
        self,
        x,
        targets,
        *,
        weights=None,
        augment: AugmentFn | None = NO_AUGMENT,
        key: PRNGKeyArray,
    ) -> AbstractFittedEndModel:
        """Train on features ``x`` (n, d) and probabilistic labels ``targets`` (n, k).

        Args:
            x: features, one row per item.
            targets: rows are distributions over the k classes (one-hot for gold labels).
            weights: optional ``(n,)`` non-negative per-row weights (0 drops a row, e.g. items on
                which every LF abstains).
            augment: an augmentation policy ``(x, *, key) -> x`` applied to each minibatch inside
                the jitted training step (``IdentityPolicy()`` or ``None``: no augmentation).
            key: PRNG key (initialisation, minibatches, augmentation).
        """


def check_features(x, *, name: str = "x", n_features: int | None = None):
    """``x`` as a float32 ``(n, d)`` array; raises ``ValueError`` on bad shape or NaN/inf."""
    if x is None:
        raise ValueError(f"{name} is None; an end model needs an (n, d) float feature matrix.")
    if not is_traced(x) and not isinstance(x, (jax.Array, np.ndarray)):
        x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D (n, d) array, got shape {tuple(x.shape)}."
        )
    if n_features is not None and x.shape[1] != n_features:
        raise ValueError(
            f"{name} has {x.shape[1]} features but the model was fitted on {n_features}."
        )
    if not is_traced(x) and not np.all(np.isfinite(np.asarray(x, dtype=np.float64))):
        raise ValueError(
            f"{name} contains NaN or infinite values; impute or drop those rows first."
        )
    return jnp.asarray(x, dtype=jnp.float32)


def check_targets(targets, n: int, *, atol: float = 1e-3):
    """``targets`` as a float32 ``(n, k)`` array of distributions; raises ``ValueError`` otherwise."""
    if targets is None:
        raise ValueError(
            "targets is None; pass (n, k) probabilistic labels (one-hot for gold labels)."
        )
    if not is_traced(targets) and not isinstance(targets, (jax.Array, np.ndarray)):
        targets = np.asarray(targets)
    if targets.ndim != 2 or targets.shape[1] < 2:
        raise ValueError(
            f"targets must be 2-D (n, k) with k >= 2 classes, got shape {tuple(targets.shape)}; "
            "turn hard labels into one-hot rows with jax.nn.one_hot(y, k)."
        )
    if targets.shape[0] != n:
        raise ValueError(
            f"targets has {targets.shape[0]} rows but x has {n}; pass one label distribution per item."
        )
    if not is_traced(targets):
        t = np.asarray(targets, dtype=np.float64)
        if not np.all(np.isfinite(t)):
            raise ValueError("targets contains NaN or infinite values.")
        if np.any(t < -atol) or np.any(np.abs(t.sum(axis=1) - 1.0) > atol):
            bad = int(np.argmax((t < -atol).any(axis=1) | (np.abs(t.sum(axis=1) - 1.0) > atol)))
            raise ValueError(
                f"targets rows must be probability distributions (non-negative, summing to 1); "
                f"row {bad} is {t[bad].tolist()}."
            )
    return jnp.asarray(targets, dtype=jnp.float32)


def check_sizes(est, *names: str, optional: tuple[str, ...] = ()) -> None:
    """Raise ``ValueError`` unless each field in ``names`` is a positive int (``optional``: or None)."""
    for name in (*names, *optional):
        v = getattr(est, name)
        if v is None and name in optional:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            kind = "a positive int or None" if name in optional else "a positive int"
            raise ValueError(f"{name} must be {kind}, got {v!r}.")


def check_weights(weights, n: int):
    """Per-row weights as float32 ``(n,)`` (ones when ``None``); raises ``ValueError`` otherwise."""
    if weights is None:
        return jnp.ones((n,), jnp.float32)
    if not is_traced(weights) and not isinstance(weights, (jax.Array, np.ndarray)):
        weights = np.asarray(weights)
    if weights.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), got {tuple(weights.shape)}.")
    if not is_traced(weights):
        w = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and non-negative.")
        if w.sum() <= 0:
            raise ValueError("weights are all zero: no row left to train on.")
    return jnp.asarray(weights, dtype=jnp.float32)


class FittedClassifier(AbstractFittedEndModel):
    """A trained network mapping one feature vector to k logits (shared by all end models).

    Attributes:
        network: callable ``(d,) -> (k,)`` (an Equinox module).
        n_features: d, checked at prediction time (static).
        trace: ``{"loss": (n_steps,)}``, the minibatch training loss per step.
    """

    network: eqx.Module
    n_features: int = eqx.field(static=True)
    trace: dict[str, Array]

    def predict_proba(self, x) -> Float[Array, "n k"]:
        x = check_features(x, n_features=self.n_features)
        return jax.nn.softmax(jax.vmap(self.network)(x), axis=-1)
