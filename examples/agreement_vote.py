"""A minimal label model built only from public wsbench names: the template for a new estimator.

``AgreementVote`` weights each LF by how often it agrees with the majority vote (a one-step,
Snorkel-free "weighted vote"). It shows every part of the estimator protocol
(``wsbench.labelmodels.AbstractLabelModel``, ARCHITECTURE.md section 4):

- the estimator is an immutable Equinox module whose fields are its hyperparameters: continuous
  ones are array leaves (``smoothing``: vmappable, so ``grid: {smoothing: [...]}`` works), structural
  ones would be ``eqx.field(static=True)``;
- ``fit(data, *, key)`` is pure and validates its input with ``check_weak_labels``;
- the fitted model is an ``AbstractFitted`` with the required ``trace`` field (may be empty), a
  static ``n_lfs`` and ``predict_proba(L)``, which validates ``L`` with ``checked_L``; rows on which
  every LF abstains get the class prior.

To make it a wsbench estimator (README, "Adding a label model"): copy this file to
``wsbench/labelmodels/_agreement_vote.py`` (imports from ``wsbench.*`` stay as they are), export
``AgreementVote`` in ``wsbench/labelmodels/__init__.py`` (import and ``__all__``), add
``conf/estimator/agreement_vote.yaml`` with ``_target_: wsbench.labelmodels.AgreementVote``, and a
test file. ``tests/test_adding_an_estimator.py`` does this in a temporary folder and checks that
the estimator joins the contract checks, an experiment sweep, the table and the figures.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray

from wsbench.data import WeakLabels, vote_counts
from wsbench.labelmodels import AbstractFitted, AbstractLabelModel, check_weak_labels, checked_L


class AgreementVoteFitted(AbstractFitted):
    """Per-LF log-odds weights and the class prior.

    Attributes:
        weights: ``(m,)`` log-odds of each LF's agreement with the majority vote.
        prior: ``(k,)`` class prior (``WeakLabels.class_balance`` when given, else uniform).
        trace: diagnostics (none here).
        n_lfs: the number of LFs fitted on (static; ``predict_proba`` checks ``L`` against it).
    """

    weights: Float[Array, " m"]
    prior: Float[Array, " k"]
    trace: dict[str, Array]
    n_lfs: int = eqx.field(static=True)

    def predict_proba(self, L: Int[Array, "n m"]) -> Float[Array, "n k"]:
        k = self.prior.shape[0]
        L = checked_L(L, n_classes=k, n_lfs=self.n_lfs)
        votes = (L[:, :, None] == jnp.arange(k)[None, None, :]).astype(jnp.float32)  # abstain: 0
        logits = jnp.einsum("nmk,m->nk", votes, self.weights) + jnp.log(self.prior)[None, :]
        return jax.nn.softmax(logits, axis=-1)


class AgreementVote(AbstractLabelModel):
    r"""Weighted vote with weights from each LF's agreement with the majority vote.

    With $a_j$ the (``smoothing``-smoothed) fraction of LF $j$'s votes that agree with the soft
    majority vote, the LF's weight is $w_j = \log((k-1) a_j / (1 - a_j))$ (the log-odds of a
    symmetric-noise LF of accuracy $a_j$) and $P(Y = y \mid \lambda) \propto P(y)
    \exp(\sum_j w_j \mathbb{1}[\lambda_j = y])$.

    Example:
        >>> import jax.random as jr
        >>> from wsbench.synthetic import sample_independent
        >>> sim = sample_independent(jr.key(0), n=500, m=5, accuracy=0.8, propensity=0.7)
        >>> AgreementVote().fit(sim.weak, key=jr.key(1)).predict_proba(sim.weak.L).shape
        (500, 2)
    """

    smoothing: float | Array = 1.0
    """Pseudo-counts added to each LF's agree and disagree counts; vmappable."""

    def fit(self, data: WeakLabels, *, key: PRNGKeyArray) -> AgreementVoteFitted:
        del key  # deterministic; accepted for API uniformity
        data = check_weak_labels(data)
        k, L = data.n_classes, data.L
        counts = vote_counts(L, k)
        mv = counts / jnp.maximum(counts.sum(axis=1, keepdims=True), 1.0)  # soft majority vote
        voted = L >= 0
        agree = jnp.where(voted, jnp.take_along_axis(mv, jnp.maximum(L, 0), axis=1), 0.0).sum(0)
        n_votes = voted.sum(axis=0)
        acc = (agree + self.smoothing) / (n_votes + 2.0 * self.smoothing)
        acc = jnp.clip(acc, 1e-3, 1.0 - 1e-3)
        weights = jnp.where(
            n_votes > 0, jnp.log((k - 1) * acc / (1.0 - acc)), 0.0
        )  # never votes: 0
        prior = jnp.full((k,), 1.0 / k) if data.class_balance is None else data.class_balance
        return AgreementVoteFitted(
            weights=weights.astype(jnp.float32),
            prior=jnp.asarray(prior, jnp.float32),
            trace={},
            n_lfs=data.m,
        )
