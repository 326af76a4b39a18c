"""Class-conditional Gaussian features, so end models can generalise beyond the LFs' coverage.

Features depend on the item only through its true class (``x`` is independent of the LF votes given
``y``), so an end model trained on label-model posteriors can label items no LF votes on.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax.scipy.stats import norm
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..data import Dataset, Split
from ._simulation import Simulation, check_sizes, to_dataset


def class_means(
    key: PRNGKeyArray, *, n_classes: int, d: int, separation: float
) -> Float[Array, "k d"]:
    """``k`` class means, pairwise at distance ``separation``, in a random orientation of R^d.

    The means are ``separation / sqrt(2)`` times k random orthonormal vectors, so every pair of
    classes is ``separation`` apart (needs ``d >= k``).
    """
    check_sizes(n_classes=n_classes, d=d)
    if d < n_classes:
        raise ValueError(
            f"d must be >= n_classes (orthogonal class means), got d={d}, k={n_classes}."
        )
    if not separation >= 0:
        raise ValueError(f"separation must be non-negative, got {separation!r}.")
    q, _ = jnp.linalg.qr(jr.normal(key, (d, n_classes)))
    return separation / jnp.sqrt(2.0) * q.T


def sample_features(
    key: PRNGKeyArray,
    y: Int[Array, " n"],
    *,
    n_classes: int,
    d: int = 10,
    separation: float = 2.0,
    noise: float = 1.0,
) -> Float[Array, "n d"]:
    r"""Class-conditional Gaussian features ``x_i ~ N(mu_{y_i}, noise^2 I_d)``.

    The class means are pairwise ``separation`` apart (``class_means``), so for two balanced classes
    the Bayes accuracy is $\Phi(\text{separation} / (2\,\text{noise}))$
    (``features_bayes_accuracy``); for k classes it is lower and ``features_posterior`` gives the
    Bayes posterior.

    Args:
        key: PRNG key (one part orients the means, the other draws the noise).
        y: true classes ``0..k-1``.
        n_classes: k; d: feature dimension (>= k); separation: distance between class means;
        noise: standard deviation of the isotropic noise.
    """
    k_means, k_noise = jr.split(key)
    return _sample_with_means(
        k_means,
        k_noise,
        jnp.asarray(y),
        n_classes=n_classes,
        d=d,
        separation=separation,
        noise=noise,
    )


def features_posterior(
    key: PRNGKeyArray,
    x: Float[Array, "n d"],
    class_balance: Float[Array, " k"],
    *,
    d: int = 10,
    separation: float = 2.0,
    noise: float = 1.0,
) -> Float[Array, "n k"]:
    """The Bayes posterior ``P(Y | x)`` of features drawn by ``sample_features`` with the same key."""
    k_means, _ = jr.split(key)
    means = class_means(k_means, n_classes=class_balance.shape[0], d=d, separation=separation)
    logits = -((x[:, None, :] - means[None]) ** 2).sum(-1) / (2 * noise**2)
    return jax.nn.softmax(logits + jnp.log(class_balance)[None, :], axis=-1)


def features_bayes_accuracy(separation: float, noise: float = 1.0) -> float:
    """Bayes accuracy of two balanced classes: ``Phi(separation / (2 noise))``."""
    return float(norm.cdf(separation / (2.0 * noise)))


def with_features(
    sim: Simulation, key: PRNGKeyArray, *, d: int = 10, separation: float = 2.0, noise: float = 1.0
) -> Simulation:
    """``sim`` with class-conditional features ``x`` drawn from its true labels."""
    x = sample_features(
        key, sim.y, n_classes=sim.weak.n_classes, d=d, separation=separation, noise=noise
    )
    return eqx.tree_at(lambda s: s.x, sim, x, is_leaf=lambda v: v is None)


def dataset_with_features(
    ds: Dataset, key: PRNGKeyArray, *, d: int = 10, separation: float = 2.0, noise: float = 1.0
) -> Dataset:
    """``ds`` with class-conditional features on every split, drawn from the gold labels.

    The same class means are used for every split (one key orients them); each split draws its own
    noise. Every split needs gold labels for all items.
    """
    splits = {}
    k_means, k_noise = jr.split(key)
    for i, (name, split) in enumerate(
        (("train", ds.train), ("valid", ds.valid), ("test", ds.test))
    ):
        if split.y is None or bool((split.y < 0).any()):
            raise ValueError(
                f"dataset_with_features draws features from gold labels, but the {name} split of "
                f"{ds.name!r} lacks some; use a dataset that ships features instead."
            )
        # same means for every split: reuse k_means as the means half of a two-part key
        x = _sample_with_means(
            k_means,
            jr.fold_in(k_noise, i),
            split.y,
            n_classes=ds.n_classes,
            d=d,
            separation=separation,
            noise=noise,
        )
        splits[name] = Split(weak=split.weak, y=split.y, x=x)
    return Dataset(name=ds.name, **splits)


def _sample_with_means(k_means, k_noise, y, *, n_classes, d, separation, noise):
    if not noise > 0:
        raise ValueError(f"noise must be positive, got {noise!r}.")
    means = class_means(k_means, n_classes=n_classes, d=d, separation=separation)
    return means[y] + noise * jr.normal(k_noise, (y.shape[0], d))


def make_with_features(
    *,
    key: PRNGKeyArray,
    sampler: Callable[..., Simulation],
    name: str = "synthetic_features",
    n_train: int = 2000,
    n_valid: int = 500,
    n_test: int = 1000,
    d: int = 10,
    separation: float = 2.0,
    noise: float = 1.0,
    **params,
) -> Dataset:
    """A ``Dataset`` from any ``sample_*`` sampler, with class-conditional features (config target).

    Args:
        key: PRNG key (split between the LFs and the features).
        sampler: e.g. ``wsbench.synthetic.sample_independent`` (``_partial_: true`` in a config);
            called as ``sampler(key, n=n_train + n_valid + n_test, **params)``.
        d, separation, noise: see ``sample_features``.
    """
    k_sim, k_x = jr.split(key)
    sim = sampler(k_sim, n=n_train + n_valid + n_test, **params)
    sim = with_features(sim, k_x, d=d, separation=separation, noise=noise)
    return to_dataset(sim, n_train, n_valid, n_test, name=name)
