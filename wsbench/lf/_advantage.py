r"""When is a label model worth it: the modelling advantage over majority vote (Snorkel, VLDB 2018).

Ratner et al., "Snorkel: Rapid Training Data Creation with Weak Supervision" (VLDB 2018, sec. 3.1),
binary labels $y \in \{\pm 1\}$, $f_w(\Lambda_i) = \sum_j w_j \Lambda_{ij}$ the weighted vote and
$f_1$ the unweighted one (majority vote):

- **label density** $d_\Lambda$: the mean number of non-abstaining labels per data point;
- **modelling advantage** of weights $w$: the rate at which the weighted vote is right where
  majority vote is not, minus the reverse,
  $A_w = \frac1n \sum_i 1\{y_i f_w > 0 \wedge y_i f_1 \le 0\} - 1\{y_i f_w \le 0 \wedge y_i f_1 > 0\}$
  (a tie, $f = 0$, is never right);
- **expected optimal advantage** estimate from $\Lambda$ alone: under conditionally independent
  LFs the posterior is $P(y \mid \Lambda_i) = \sigma(2 y f_{w^*}(\Lambda_i))$, and dropping the
  negative term bounds $E[A^*]$ by the posterior mass on which majority vote is not right,
  $\tilde A^* = \frac1n \sum_i \sum_{y} 1\{y f_1(\Lambda_i) \le 0\}\, \sigma(2 y f_{\bar w}(\Lambda_i))$
  with every weight set to the mean $\bar w = \frac12 \log\frac{\bar\alpha}{1 - \bar\alpha}$.

Two choices are ours and documented here:

1. The mean accuracy $\bar\alpha$ comes from the LFs' **agreement** (``L`` alone): for
   equally accurate independent LFs with errors uniform over the other classes, two LFs that both
   vote agree with probability $a = \bar\alpha^2 + (1-\bar\alpha)^2/(k-1)$, so
   $\bar\alpha = (1 + \sqrt{1 - k + k(k-1)a})/k$, with $a$ the pooled agreement rate over all
   overlapping pairs (clipped to chance, $1/k$, when LFs agree less than chance).
2. ``conflicts_only=True`` (default) counts only rows where the LFs **disagree**. On a row where
   every vote is the same class, or no LF votes, any weighted vote with positive weights (LFs better
   than chance, the paper's assumption) equals majority vote, so the indicator $1\{y f_w > 0\}$ the
   bound drops is zero there for both classes of answer and the row adds nothing to $A^*$: removing
   it keeps $\tilde A^*$ an upper bound and makes it vanish at low density, where majority vote and
   any label model agree (the paper's low-density regime). ``conflicts_only=False`` is the formula
   as printed, whose floor at low density is the rate at which single votes are wrong.

For k > 2 classes the same quantities use the one-coin posterior
$P(c \mid \Lambda_i) \propto \exp(\bar w\, n_{ic})$ with $n_{ic}$ the votes for class c and
$\bar w = \log(\bar\alpha (k-1)/(1-\bar\alpha))$ (which is $2\times$ the binary $\bar w$ above:
the $\pm1$ coding doubles the margin), and "majority vote is right" means class $y$ has strictly
the most votes.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..data import vote_counts


def label_density(L: Int[Array, "n m"]) -> Float[Array, ""]:
    """Mean number of non-abstaining votes per row, :math:`d_\\Lambda`."""
    return (L != -1).sum(axis=1).mean()


def agreement_rate(L: Int[Array, "n m"], n_classes: int) -> Float[Array, ""]:
    r"""Pooled agreement of LF pairs where both vote: agreeing pairs / overlapping pairs, i.e.
    :math:`\sum_i \sum_c \binom{n_{ic}}{2} / \sum_i \binom{n_i}{2}` (NaN if no two LFs ever vote
    on the same row)."""
    counts = vote_counts(jnp.asarray(L), n_classes)
    n_votes = counts.sum(axis=1)
    agree = (counts * (counts - 1) / 2).sum()
    pairs = (n_votes * (n_votes - 1) / 2).sum()
    return agree / pairs


def mean_accuracy_from_agreement(agreement: Float[Array, ""], n_classes: int) -> Float[Array, ""]:
    """:math:`\\bar\\alpha` solving :math:`a = \\alpha^2 + (1-\\alpha)^2/(k-1)` (the root above
    chance), clipped to ``[1/k, 1 - 1e-6]``."""
    k = n_classes
    disc = jnp.maximum(1.0 - k + k * (k - 1) * agreement, 0.0)
    return jnp.clip((1.0 + jnp.sqrt(disc)) / k, 1.0 / k, 1.0 - 1e-6)


def _mv_right(counts: Float[Array, "n k"], y: Int[Array, " n"]) -> Float[Array, " n"]:
    """1 where class y has strictly the most votes (majority vote right, ties never right)."""
    own = jnp.take_along_axis(counts, jnp.maximum(y, 0)[:, None], axis=1)[:, 0]
    others = jnp.where(jax.nn.one_hot(jnp.maximum(y, 0), counts.shape[1]) > 0, -jnp.inf, counts)
    return (own > others.max(axis=1)).astype(jnp.float32)


def expected_advantage(
    L: Int[Array, "n m"],
    n_classes: int,
    *,
    mean_accuracy: float | Array | None = None,
    conflicts_only: bool = True,
) -> Float[Array, ""]:
    """The estimate :math:`\\tilde A^*` of a label model's advantage over majority vote, from ``L``.

    Args:
        L: ``(n, m)`` votes, ``-1`` = abstain.
        n_classes: k (static).
        mean_accuracy: :math:`\\bar\\alpha`; estimated from the LFs' agreement when ``None``
            (LFs that never vote on the same row count as agreeing: no conflict, estimate 0).
        conflicts_only: count only rows where LFs disagree (see the module docstring).

    Returns:
        A scalar in ``[0, 1]``: an estimated upper bound on the fraction of rows a label model
        can get right that majority vote does not. Jittable (``n_classes`` and ``conflicts_only``
        static).
    """
    L = jnp.asarray(L)
    counts = vote_counts(L, n_classes)
    if mean_accuracy is None:
        a = agreement_rate(L, n_classes)
        # no two LFs ever vote together: nothing to estimate accuracy from, and no row can have a
        # conflict; treat the LFs as agreeing (the estimate is then 0 with conflicts_only)
        a = jnp.where(jnp.isnan(a), 1.0, a)
        mean_accuracy = mean_accuracy_from_agreement(a, n_classes)
    alpha = jnp.asarray(mean_accuracy, jnp.float32)
    w = jnp.log(alpha * (n_classes - 1) / (1.0 - alpha))
    posterior = jax.nn.softmax(w * counts, axis=1)
    top = counts.max(axis=1, keepdims=True)
    unique_winner = (counts == top) & ((counts == top).sum(axis=1, keepdims=True) == 1)
    mv_not_right = jnp.where(unique_winner, 0.0, posterior).sum(axis=1)
    if conflicts_only:
        conflict = ((counts > 0).sum(axis=1) >= 2).astype(jnp.float32)
        mv_not_right = mv_not_right * conflict
    return mv_not_right.mean()


def modeling_advantage(
    probs: Float[Array, "n k"], L: Int[Array, "n m"], y: Int[Array, " n"]
) -> Float[Array, ""]:
    """Measured :math:`A_w`: rows where the model (``probs``, e.g. a label model's posterior) is right
    and majority vote on ``L`` is not, minus the reverse, over rows with known gold (``y >= 0``).

    "Right" means the gold class strictly beats every other (ties are not right), as in the paper.
    """
    k = probs.shape[1]
    mask = (y >= 0).astype(jnp.float32)
    mv = _mv_right(vote_counts(jnp.asarray(L), k), y)
    lm = _mv_right(probs, y)
    return ((lm * (1 - mv) - (1 - lm) * mv) * mask).sum() / mask.sum()
