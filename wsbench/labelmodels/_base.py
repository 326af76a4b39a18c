"""The estimator protocol every label model implements (ARCHITECTURE.md, section 4).

An estimator is an immutable pytree whose fields are its hyperparameters; ``fit`` is pure and returns a
fitted pytree with ``predict_proba``. Continuous hyperparameters are array leaves (vmappable); structural
ones are ``eqx.field(static=True)``.
"""

import abc
import dataclasses
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ..data import WeakLabels
from ..data.validate import as_label_matrix


class AbstractFitted(eqx.Module):
    """What ``fit`` returns: learned parameters plus diagnostics.

    Attributes:
        trace: per-iteration diagnostics, e.g. ``{"objective": (n_iter,)}``; may be empty.
    """

    trace: eqx.AbstractVar[dict[str, Array]]

    @abc.abstractmethod
    def predict_proba(self, L: Int[ArrayLike, "n m"]) -> Float[Array, "n k"]:
        """Posterior ``P(Y | L)`` per row; rows with no votes get the class prior (generative models
        that treat abstentions as observations: ``uncovered_prior()``)."""


class AbstractGenerativeFitted(AbstractFitted):
    """Fitted models that estimate per-LF conditionals (they join the parameter-recovery checks)."""

    @abc.abstractmethod
    def confusions(self) -> Float[Array, "m k k"]:
        """``P(lambda_j = o | Y = t, lambda_j != abstain)``, indexed ``[j, t, o]``."""

    @abc.abstractmethod
    def class_prior(self) -> Float[Array, " k"]:
        """The class balance ``P(Y)`` the model uses."""

    def vote_rates(self) -> Float[Array, "m a y"]:
        """``P(lambda_j = a | Y = y)`` (abstain excluded), indexed ``[j, a, y]``.

        Default: the confusions, i.e. a vote rate that does not depend on ``Y``; models that learn
        class-dependent abstain rates override it.
        """
        return jnp.swapaxes(self.confusions(), 1, 2)

    def fit_loss(self, L, prior: Float[Array, " k"]) -> Float[Array, ""]:
        """The model's training loss on ``L`` with the class prior replaced by ``prior`` (lower is
        better); NaN for models without one. Used by ``diagnostics``."""
        del L, prior
        return jnp.asarray(jnp.nan, jnp.float32)

    def diagnostics(self, L) -> dict[str, Array]:
        """Signs of a degenerate (collapsed) fit, on the fit rows ``L``; a dict of JAX arrays.

        Keys:
            ``prior_min``: the smallest fitted class prior; ``prior_at_boundary``: it is below
            ``1e-3`` (a class the model has given up).
            ``share_lfs_below_chance``: LFs whose prior-weighted accuracy
            ``sum_t P(t) P(lambda_j = t | t, votes)`` is below ``1/k``.
            ``share_votes_not_own_class``: (LF, class it votes on ``L``) pairs for which the class
            under which the LF most often casts that vote is not the vote itself.
            ``loss_fit``, ``loss_uniform_prior``: ``fit_loss`` at the fitted and at a uniform prior
            (NaN when the model has no loss); a fitted prior with a *higher* loss is an
            optimisation failure.
            ``pred_histogram``: ``(k,)`` share of fit rows predicted as each class (ties split);
            ``n_predicted_classes``: classes with at least 0.5% of the rows.
        """
        from ..metrics.classification import tie_split

        prior = self.class_prior()
        k = prior.shape[0]
        conf = self.confusions()
        m = conf.shape[0]
        L = checked_L(L, n_classes=k, n_lfs=m)
        acc = jnp.einsum("t,jtt->j", prior, conf)
        rates = self.vote_rates()  # [j, a, y]
        own = jnp.diagonal(rates, axis1=1, axis2=2) >= rates.max(axis=2) - 1e-6  # [j, a]
        voted = (L[:, :, None] == jnp.arange(k)[None, None, :]).any(axis=0)  # [j, a]
        n_voted = jnp.maximum(voted.sum(), 1)
        hist = tie_split(self.predict_proba(L)).mean(axis=0)
        uniform = jnp.full((k,), 1.0 / k, jnp.float32)
        return {
            "prior_min": prior.min(),
            "prior_at_boundary": prior.min() < 1e-3,
            "share_lfs_below_chance": (acc < 1.0 / k).mean(),
            "share_votes_not_own_class": (voted & ~own).sum() / n_voted,
            "loss_fit": self.fit_loss(L, prior),
            "loss_uniform_prior": self.fit_loss(L, uniform),
            "pred_histogram": hist,
            "n_predicted_classes": (hist >= 0.005).sum(),
        }

    @abc.abstractmethod
    def uncovered_prior(self) -> Float[Array, " k"]:
        """What ``predict_proba`` returns for a row on which every LF abstains.

        ``class_prior()`` for models in which abstaining carries no information about Y; the
        posterior ``P(Y | every LF abstains)`` for models that treat abstentions as observations.
        """


class AbstractLabelModel(eqx.Module):
    """A label model: hyperparameters are the dataclass fields; ``fit`` is pure."""

    @abc.abstractmethod
    def fit(self, data: WeakLabels, *, key: PRNGKeyArray) -> AbstractFitted:
        """Fit to weak labels. Pure: same (self, data, key) -> same result; jit- and vmap-compatible."""


class AbstractTwoStageLabelModel(AbstractLabelModel):
    """A label model whose fit is ``fit_from_stats(statistics(data))`` (optax's ``init``/``update``).

    ``statistics`` makes the one pass over the label matrix and may depend only on the structural
    (static) hyperparameters; ``fit_from_stats`` is pure in the continuous ones. A sweep over
    continuous hyperparameters and seeds (``wsbench.labelmodels.grid.score_grid``) then computes the
    statistics once and vmaps only ``fit_from_stats``, without knowing the concrete model.
    """

    @abc.abstractmethod
    def statistics(self, data: WeakLabels) -> Any:
        """The sufficient statistics of ``data`` (a pytree); a function of static fields only."""

    @abc.abstractmethod
    def fit_from_stats(self, stats: Any, *, key: PRNGKeyArray) -> AbstractFitted:
        """Fit from ``statistics(data)``; pure, jit- and vmap-compatible."""

    def fit(self, data: WeakLabels, *, key: PRNGKeyArray) -> AbstractFitted:
        return self.fit_from_stats(self.statistics(data), key=key)


class AbstractDependencyAware(AbstractLabelModel):
    """A label model that takes known dependency edges ``(i, j)`` between LFs (a static field).

    Pipelines that know the true dependencies (``wsbench.run.recovery``: the generator's edges) hand
    them over with ``with_edges``; models that are not dependency-aware are left unchanged.
    """

    edges: eqx.AbstractVar[tuple[tuple[int, int], ...]]

    def with_edges(self, edges) -> "AbstractDependencyAware":
        """A copy with ``edges`` (any iterable of LF index pairs) replacing the model's edges."""
        return dataclasses.replace(self, edges=tuple(tuple(int(v) for v in e) for e in edges))


M = TypeVar("M", bound=AbstractLabelModel)


def as_array_hyperparameters(est: M) -> M:
    """``est`` with every float hyperparameter as a float32 array leaf (the one cast of wsbench).

    Python floats are static to ``eqx.filter_jit`` (one compilation per value) and cannot be
    stacked; as float32 arrays they are traced and vmappable. Static fields are untouched.
    """
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32) if _is_float(x) else x, est)


def _is_float(x) -> bool:
    return isinstance(x, float) or (hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating))


def check_weak_labels(data) -> WeakLabels:
    """Raise a clear error when ``fit`` is given something other than ``WeakLabels``."""
    if not isinstance(data, WeakLabels):
        raise ValueError(
            f"fit expects wsbench.data.WeakLabels, got {type(data).__name__}; "
            "wrap your label matrix: WeakLabels(L=L, n_classes=k)."
        )
    return data


def checked_L(L, *, n_classes: int, n_lfs: int) -> Int[Array, "n m"]:
    """Validate a label matrix passed to ``predict_proba`` against the fitted model's shape."""
    return as_label_matrix(L, n_classes, n_lfs=n_lfs, keep_int8=True)


def fit_predict_proba(
    est: AbstractLabelModel, data: WeakLabels, *, key: PRNGKeyArray
) -> Float[Array, "n k"]:
    """Fit on ``data`` and return the posterior for its own rows."""
    return est.fit(data, key=key).predict_proba(data.L)


def predict(fitted: AbstractFitted, L) -> Int[Array, " n"]:
    """Hard labels: the argmax of ``predict_proba`` (ties go to the lowest class index)."""
    return jnp.argmax(fitted.predict_proba(L), axis=-1)


def get_params(est: AbstractLabelModel) -> dict[str, Any]:
    """The estimator's hyperparameters (its dataclass fields)."""
    return {f.name: getattr(est, f.name) for f in dataclasses.fields(est)}


def set_params(est: M, **params) -> M:
    """A new estimator with some hyperparameters replaced (construction and validation re-run)."""
    unknown = set(params) - {f.name for f in dataclasses.fields(est)}
    if unknown:
        raise ValueError(
            f"{type(est).__name__} has no hyperparameter(s) {sorted(unknown)}; "
            f"valid ones are {sorted(f.name for f in dataclasses.fields(est))}."
        )
    return dataclasses.replace(est, **params)
