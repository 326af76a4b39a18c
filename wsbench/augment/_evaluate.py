"""Library-level pipeline pieces for the TANDA experiments: build a policy by name, score an end model.

``make_policy(name, ...)`` returns one of the issue's five policies (``none``, ``basic``,
``heuristic``, ``mean_field``, ``lstm``), training the generator on the task's unlabeled images for
the learned ones; ``fit_and_score(endmodel, task, policy, key=...)`` trains the end model on the
labelled images with that policy and returns test accuracy. A Hydra runner only needs these two.
"""

import math
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from .. import metrics
from ._discriminator import ImageDiscriminator
from ._generator import LSTMGenerator, MeanFieldGenerator
from ._policy import (
    AbstractAugmentPolicy,
    ChainPolicy,
    CropFlipPolicy,
    IdentityPolicy,
    RandomSequencePolicy,
)
from ._tanda import Tanda
from .tfs import TFSet

__all__ = [
    "CLASS_WEIGHTS",
    "POLICIES",
    "THEN_BASIC",
    "balanced_weights",
    "fit_and_score",
    "is_then_basic",
    "make_policy",
]

POLICIES = ("none", "basic", "heuristic", "mean_field", "lstm")
THEN_BASIC = (False, True, "crop")
"""``make_policy``'s ``then_basic`` options: nothing after the TF sequence, the basic crop + flip,
the crop alone."""


def is_then_basic(value) -> bool:
    """Whether ``value`` is one of :data:`THEN_BASIC` (``1`` equals ``True`` but is not one)."""
    return isinstance(value, bool | str) and value in THEN_BASIC


CLASS_WEIGHTS = (None, "balanced")
"""``fit_and_score``'s ``class_weight`` options (``balanced``: see :func:`balanced_weights`)."""


def make_policy(
    name: str,
    *,
    tfs: TFSet | None = None,
    seq_len: int = 2,
    x_unlabeled=None,
    tanda: Tanda | None = None,
    disc_width: int = 16,
    discriminator=None,
    basic_pad: int = 4,
    then_basic: bool | str = False,
    generator: dict | None = None,
    key: PRNGKeyArray,
) -> tuple[AbstractAugmentPolicy, dict]:
    """The augmentation policy ``name`` (one of :data:`POLICIES`) and a dict of diagnostics.

    Args:
        name: ``none`` | ``basic`` (crop + flip) | ``heuristic`` (uniform random TF sequences) |
            ``mean_field`` | ``lstm`` (TANDA generators trained on ``x_unlabeled``).
        tfs: the TF set (required for heuristic and learned policies).
        seq_len: TFs per sequence.
        x_unlabeled: ``(n, H, W, C)`` images for the generator (learned policies).
        tanda: training hyperparameters (defaults: ``Tanda(tfs=tfs)``).
        disc_width: channels of the default :class:`ImageDiscriminator`.
        discriminator: the discriminator to train (default: an :class:`ImageDiscriminator` on
            ``x_unlabeled``'s channels; pass a :class:`TextDiscriminator` for text).
        basic_pad: the crop padding of the ``basic`` policy (pixels).
        then_basic: for ``heuristic`` and the learned policies, a random crop after every TF
            sequence (a :class:`ChainPolicy`), so that those policies add their TFs to it rather
            than replace it: ``True`` applies the ``basic`` policy (crop + flip), ``"crop"`` the
            crop alone, as the TANDA authors' CIFAR-10 end models did (HazyResearch/tanda's
            ``image-pct`` transformer: pad, TF sequence, random crop; their TF set holds the
            flip, which a random flip after the sequence would make a no-op). One of
            :data:`THEN_BASIC`. Image batches only; the generator itself trains on TF sequences
            alone, as theirs did.
        generator: keyword arguments of the learned policy's generator
            (:class:`MeanFieldGenerator` or :class:`LSTMGenerator`: ``logit_range``; the LSTM's
            ``hidden``, ``embed``); default: theirs.
        key: PRNG key for the generator / discriminator initialisation and training.

    The diagnostics of a learned policy: ``tanda_seconds``, ``trace`` (per-step losses),
    ``tf_probs`` (mean field) or ``transitions`` (LSTM), and ``usage``, the trained generator's
    :class:`~wsbench.augment.TFUsage` (how many TFs it still draws).
    """
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose one of {POLICIES}.")
    if name == "none":
        return IdentityPolicy(), {}
    if name == "basic":
        return CropFlipPolicy(pad=basic_pad), {}
    if tfs is None:
        raise ValueError(f"policy {name!r} needs a TF set (tfs=...).")

    if not is_then_basic(then_basic):
        raise ValueError(f"then_basic must be one of {THEN_BASIC}, got {then_basic!r}.")

    def finish(policy):
        if not then_basic:
            return policy
        return ChainPolicy((policy, CropFlipPolicy(pad=basic_pad, flip=then_basic is True)))

    if name == "heuristic":
        return finish(RandomSequencePolicy(tfs=tfs, seq_len=seq_len)), {}
    if x_unlabeled is None or len(jax.tree.leaves(x_unlabeled)[0]) == 0:
        raise ValueError(f"policy {name!r} trains a generator: pass x_unlabeled images.")
    k_g, k_d, k_fit = jr.split(key, 3)
    kwargs = dict(generator or {})
    gen = (
        MeanFieldGenerator(len(tfs), seq_len, **kwargs)
        if name == "mean_field"
        else LSTMGenerator(len(tfs), seq_len, **kwargs, key=k_g)
    )
    if discriminator is None:
        x = jnp.asarray(x_unlabeled, jnp.float32)
        disc = ImageDiscriminator(x.shape[-1], width=disc_width, key=k_d)
    else:
        x, disc = jax.tree.map(jnp.asarray, x_unlabeled), discriminator
    tanda = Tanda(tfs=tfs) if tanda is None else tanda
    t0 = time.perf_counter()
    policy, trace = tanda.fit(x, gen, disc, key=k_fit)
    jax.block_until_ready(trace)
    info = {"tanda_seconds": time.perf_counter() - t0, "trace": trace}
    if name == "mean_field":
        info["tf_probs"] = np.asarray(policy.generator.probs())
    else:
        info["transitions"] = np.asarray(policy.generator.transition_matrix())
    info["usage"] = policy.generator.usage(jr.fold_in(key, 1))  # keys above are unchanged
    return finish(policy), info


def fit_and_score(
    endmodel,
    task,
    policy: AbstractAugmentPolicy,
    *,
    class_weight: str | None = None,
    key: PRNGKeyArray,
) -> dict:
    """Train ``endmodel`` on ``task``'s labelled images with ``policy``; return test metrics.

    ``class_weight="balanced"`` weights each training row by ``n / (k n_y)`` (every class the same
    total weight; for imbalanced tasks, where the unweighted loss learns the majority class).
    ``task`` is a :class:`wsbench.tasks._images.ImageTask` or a text task (``x_train``, ``y_train``, ``x_test``,
    ``y_test``, ``n_classes``). Returns ``{"test_accuracy", "test_f1", "valid_accuracy",
    "valid_f1", "fit_seconds", "final_loss"}``: F1 is ``wsbench.metrics.f1`` (class 1's F1 for two
    classes, macro-F1 otherwise); argmax ties count as expected under random tie-breaking in both.
    The validation scores are on the task's ``x_valid`` / ``y_valid`` (for choosing
    hyperparameters; the test split is for reporting), NaN where the task has no validation rows.
    """
    if class_weight not in CLASS_WEIGHTS:
        raise ValueError(f"class_weight must be one of {CLASS_WEIGHTS}, got {class_weight!r}.")
    targets = jax.nn.one_hot(jnp.asarray(task.y_train), task.n_classes)
    x_train, x_test = (jax.tree.map(jnp.asarray, x) for x in (task.x_train, task.x_test))
    weights = balanced_weights(task.y_train, task.n_classes) if class_weight else None
    t0 = time.perf_counter()
    fitted = endmodel.fit(x_train, targets, weights=weights, augment=policy, key=key)
    jax.block_until_ready(fitted.trace)
    fit_s = time.perf_counter() - t0
    out = _scores(fitted, x_test, task.y_test, "test")
    x_valid = getattr(task, "x_valid", None)
    if x_valid is not None and len(jax.tree.leaves(x_valid)[0]) > 0:
        out.update(_scores(fitted, jax.tree.map(jnp.asarray, x_valid), task.y_valid, "valid"))
    else:
        out.update(valid_accuracy=math.nan, valid_f1=math.nan)
    return {
        **out,
        "fit_seconds": fit_s,
        "final_loss": float(np.mean(np.asarray(fitted.trace["loss"])[-20:])),
    }


def _scores(fitted, x, y, split: str) -> dict[str, float]:
    probs, y = fitted.predict_proba(x), jnp.asarray(y)
    return {
        f"{split}_accuracy": float(metrics.accuracy(probs, y)),
        f"{split}_f1": float(metrics.f1(probs, y)),
    }


def balanced_weights(y, n_classes: int) -> jax.Array:
    """Row weights ``n / (k n_y)``: every class present gets the same total weight ``n / k``."""
    y = np.asarray(y)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    if (counts == 0).any():
        raise ValueError(
            f"class_weight='balanced' needs every class in the labelled split; counts {counts}."
        )
    return jnp.asarray(len(y) / (n_classes * counts[y]), jnp.float32)
