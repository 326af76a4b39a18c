r"""FlyingSquid: the closed-form triplet label model of Fu et al. (ICML 2020).

Binary model. Votes are recoded as $\lambda_j \in \{-1, 0, +1\}$ (0 = abstain) and $Y \in \{-1, +1\}$.
The LFs are conditionally independent given $Y$, abstaining does not depend on $Y$, and
$\mathbb{E}[\lambda_j Y \mid Y]$ does not depend on $Y$. Then for any two LFs

.. math::

    \mathbb{E}[\lambda_i \lambda_j] = \mathbb{E}[\lambda_i Y]\, \mathbb{E}[\lambda_j Y],

so every triplet $(a, i, j)$ of distinct LFs gives $|\mathbb{E}[\lambda_a Y]| =
\sqrt{|M_{ai} M_{aj} / M_{ij}|}$ with $M$ the observed second moments (paper, Algorithm 1). The
estimate of $e_a = \mathbb{E}[\lambda_a Y]$ is the mean (or median) over the triplets with
$a$ first; its sign is positive (LFs better than random, the paper's assumption). The conditional
accuracy is $a_j = \mathbb{E}[\lambda_j Y \mid \lambda_j \neq 0] = e_j / P(\lambda_j \neq 0)$.

Each LF's clique marginal $\mu_j(\lambda, y) = P(\lambda_j = \lambda, Y = y)$ is then the unique
solution of the linear system fixed by $\sum \mu_j = 1$, the observed $P(\lambda_j = 1)$ and
$P(\lambda_j = 0)$, the class balance $P(Y = 1)$, $P(\lambda_j Y = 1) = (1 + e_j - P(\lambda_j = 0))/2$
and $P(\lambda_j = 0, Y = 1) = P(\lambda_j = 0) P(Y = 1)$ (paper, eq. 4). Entries that come out
negative (the moments are noisy, or the model is misspecified) are replaced by their absolute value
and the table renormalised, as the ``flyingsquid`` package does (``flip_negative=True``). The
posterior is the junction-tree formula of the star graph,

.. math::

    P(Y = y \mid \lambda) \propto P(y) \prod_j \mu_j(\lambda_j, y) / P(y),

in which an abstaining LF contributes a constant (rows without votes get the class prior exactly).
The ``flyingsquid`` package divides by $P(y)^{m-2}$ instead of $P(y)^{m-1}$ (it counts the $m - 1$
junction-tree edges as the separator's degree, then subtracts one), which multiplies its posterior by
one extra factor $P(y)$; the two agree when the class balance is uniform.

Multi-class (k > 2): one binary model per class $c$ on $\lambda^{(c)}_j = +1$ if $\lambda_j = c$,
$-1$ if $\lambda_j$ votes another class, 0 if it abstains, with class balance $(1 - b_c, b_c)$ (the
one-vs-rest reduction WRENCH runs on the ``flyingsquid`` package). The posterior is
$P(Y = c \mid \lambda) \propto P(Y^{(c)} = 1 \mid \lambda^{(c)})$ (WRENCH takes a softmax of these
probabilities instead: same argmax, different probabilities).

Triplets. The package includes a triplet whose denominator $M_{ij}$ is 0 as the value 0, which
drags every estimate towards 0 as soon as some LFs never overlap (and makes an LF that never
votes change every other LF's accuracy). Here a triplet is used only when each of its three LF pairs
votes together on at least one row and $M_{ij} \neq 0$; an LF with no usable triplet gets
$e_j = 0$. When every pair votes together and no $M_{ij}$ is exactly 0 this is the package's
estimate; ``FlyingSquid(triplets="all")`` applies the package's rule everywhere.

Centred moments (``moments="centred"``, ``conf/estimator/flying_squid.yaml``). The identity above
needs $\mathbb{E}[\lambda_j \mid Y] = a_j Y$, i.e. symmetric accuracies; an LF that votes one
class only (a keyword LF) has a positive mean vote under both classes and breaks it, so its raw
triplets are biased. For any 0/1 indicator $X$ of a binary $Y$, $\mathbb{E}[X \mid Y]$ is affine in
$Y$, and conditional independence gives $\mathrm{Cov}(X_u, X_v) = \beta_u \beta_v
\mathrm{Var}(Z)$ ($Z = 1[Y = +1]$) for indicators of different LFs. The centred estimator runs the
same triplet formula on the covariance matrix of the indicators $1[\lambda_j = +1]$ and
$1[\lambda_j = -1]$ (a pair is used when its covariance is not 0), takes signs from "a vote
favours its class", and reads off $P(\lambda_j = v \mid Y = y) = \mathbb{E}[X] + \beta (z - \pi)$,
floored at $\min(0.01, 1/n)$. Abstains contribute nothing to the posterior (as in
``MatrixCompletion``). Measured on the WRENCH sets (tests/reference/measure_wrench.py, fit on
train without gold, expected tie rule), test accuracy youtube / chemprot: raw 78.4 / 45.0, the
package 78.4 / 46.6, WRENCH's published FS 76.8 / 43.3, centred 86.4 / 51.4 (snorkel's
``LabelModel`` 84.0 / 46.7). ``moments="raw"`` (the class default) is the paper's estimator.

References:
    D. Y. Fu, M. F. Chen, F. Sala, S. M. Hooper, K. Fatahalian, C. Ré. Fast and Three-rious:
    Speeding Up Weak Supervision with Triplet Methods. ICML 2020.
"""

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ..data import WeakLabels
from ..data.validate import is_traced
from ._base import AbstractGenerativeFitted, AbstractLabelModel, check_weak_labels, checked_L
from ._hyper import check_choice, check_key
from ._rows import map_rows, sum_rows

_AGGREGATES = ("mean", "median")
_TRIPLETS = ("overlapping", "all")
_MOMENTS = ("raw", "centred")
# |Cov| at or below this counts as 0 (float32 rounding of a covariance that is exactly 0 is ~1e-8;
# as a triplet's denominator it would give an arbitrarily large estimate)
_COV_ZERO = 1e-6
_TINY = 1e-30  # floor on mu / P(y) before the log: an LF value never seen in training is neutral
_HIGHEST = jax.lax.Precision.HIGHEST  # 0/±1 products stay exact on GPUs (no TF32)


def _signed_votes(L: Int[Array, "n m"], positive: Int[Array, ""]) -> Float[Array, "n m"]:
    """+1 where the LF votes ``positive``, -1 where it votes another class, 0 where it abstains.

    For k = 2 the single task uses ``positive = 1``, so class 0 is -1, exactly as in the binary model.
    """
    return jnp.where(L < 0, 0.0, jnp.where(L == positive, 1.0, -1.0)).astype(jnp.float32)


def _triplet_moments(
    M: Float[Array, "m m"], overlap: Float[Array, "m m"], aggregate: str, triplets: str
) -> tuple[Float[Array, " m"], Int[Array, " m"]]:
    """``|E[lambda_a Y]|`` per LF from the mean/median over its triplets, and their count.

    Args:
        M: second moments ``E[lambda_i lambda_j]`` (abstain = 0).
        overlap: number of rows on which LFs i and j both vote.
        aggregate: ``"mean"`` or ``"median"``.
        triplets: ``"overlapping"`` (only triplets whose three pairs co-vote and ``M_ij != 0``) or
            ``"all"`` (every pair ``i > j`` of other LFs, value 0 when ``M_ij == 0``: the package).
    """
    m = M.shape[0]
    idx = jnp.arange(m)
    lower = idx[:, None] > idx[None, :]  # each unordered pair (i, j) once
    pair_ok = (overlap > 0) & (M != 0) & lower

    def one(a):
        others = (idx != a)[:, None] & (idx != a)[None, :]
        usable = pair_ok & (overlap[a][:, None] > 0) & (overlap[a][None, :] > 0)
        ok = others & (usable if triplets == "overlapping" else lower)
        ratio = M[a][:, None] * M[a][None, :] / jnp.where(M != 0, M, 1.0)
        vals = jnp.where(M != 0, jnp.sqrt(jnp.abs(ratio)), 0.0)
        count = ok.sum()
        if aggregate == "mean":
            est = jnp.where(ok, vals, 0.0).sum() / jnp.maximum(count, 1)
        else:
            est = jnp.nanmedian(jnp.where(ok, vals, jnp.nan))
        return jnp.where(count > 0, est, 0.0), count

    return jax.lax.map(one, idx)


def _clique_tables(
    e: Float[Array, " m"],
    p_one: Float[Array, " m"],
    p_zero: Float[Array, " m"],
    pi: Float[Array, ""],
) -> Float[Array, "m 3 2"]:
    """``mu[j, lambda, y] = P(lambda_j = lambda, Y = y)``, lambda in (-1, 0, +1), y in (-1, +1)."""
    agree = 0.5 * (1.0 + e - p_zero)  # P(lambda_j Y = 1)
    vote = 1.0 - p_zero
    pp = 0.5 * (agree + p_one + pi * vote - vote)  # P(lambda = 1, Y = 1)
    table = jnp.stack(
        [
            jnp.stack([agree - pp, pi * vote - pp], axis=-1),  # lambda = -1
            jnp.stack([(1.0 - pi) * p_zero, pi * p_zero], axis=-1),  # lambda = 0
            jnp.stack([p_one - pp, pp], axis=-1),  # lambda = +1
        ],
        axis=1,
    )
    table = jnp.abs(table)  # the package's flip_negative
    total = table.sum(axis=(1, 2), keepdims=True)
    return table / jnp.where(total > 0, total, 1.0)


def _centred_slopes(
    C: Float[Array, "q q"], mean: Float[Array, " q"], owner: Int[Array, " q"], aggregate: str
) -> tuple[Float[Array, " q"], Int[Array, " q"]]:
    """``|b_u| sd(Y)`` per vote indicator ``u`` from the triplets of the covariance matrix, and counts.

    ``E[X_u | Y] = c_u + b_u Y`` (any 0/1 indicator of a binary ``Y``), and conditional
    independence of different LFs gives ``Cov(X_u, X_v) = b_u b_v Var(Y)``, so every pair
    ``(v, w)`` of indicators of two other, distinct LFs with ``|Cov(X_v, X_w)| > 1e-6`` gives
    ``|b_u| sd(Y) = sqrt(|C_uv C_uw / C_vw|)``. Indicators that are never 1 are left out.
    ``C`` is the covariance matrix of the indicators, ``mean`` their means.
    """
    q = C.shape[0]
    active = mean > 0
    idx = jnp.arange(q)
    lower = idx[:, None] > idx[None, :]
    nonzero = jnp.abs(C) > _COV_ZERO
    pair_ok = lower & (owner[:, None] != owner[None, :]) & nonzero
    pair_ok = pair_ok & active[:, None] & active[None, :]

    def one(u):
        other = owner != owner[u]
        ok = pair_ok & other[:, None] & other[None, :]
        ratio = C[u][:, None] * C[u][None, :] / jnp.where(nonzero, C, 1.0)
        vals = jnp.sqrt(jnp.abs(ratio))
        count = ok.sum()
        if aggregate == "mean":
            est = jnp.where(ok, vals, 0.0).sum() / jnp.maximum(count, 1)
        else:
            est = jnp.nanmedian(jnp.where(ok, vals, jnp.nan))
        return jnp.where((count > 0) & active[u], est, 0.0), jnp.where(active[u], count, 0)

    return jax.lax.map(one, idx)


_EXACT_ROWS = 46340
"""Up to this many rows ``n * XX - s s^T`` fits in int32 (``n^2 < 2^31``)."""


def _covariance_of_counts(XX: Float[Array, "q q"], n: Float[Array, ""]) -> Float[Array, "q q"]:
    """``Cov(X_u, X_v)`` of 0/1 indicators from their co-occurrence counts ``XX = X^T X``.

    ``XX / n - mean mean^T`` subtracts nearly equal numbers: its float32 error (~1e-8) is large
    relative to the small covariances the triplet ratios divide by, so it varies with how XLA
    fuses the program (a vmapped grid vs a single fit). Up to ``_EXACT_ROWS`` rows the numerator
    ``n * XX - s s^T`` is computed exactly in integers and rounded once; beyond, sampling noise
    (``~ 1 / sqrt(n)``) dwarfs the float error and the direct formula is used.
    """
    counts = jnp.round(XX).astype(jnp.int32)
    s = jnp.diagonal(counts)
    ni = jnp.round(n).astype(jnp.int32)
    exact = (ni * counts - s[:, None] * s[None, :]).astype(jnp.float32) / (n * n)
    mean = jnp.diagonal(XX) / n
    direct = XX / n - mean[:, None] * mean[None, :]
    return jnp.where(n <= _EXACT_ROWS, exact, direct)


def _centred_tables(
    XX: Float[Array, "q q"], n: Float[Array, ""], pi: Float[Array, ""], aggregate: str
) -> tuple[Float[Array, "m 3 2"], Int[Array, " m"]]:
    """Clique tables ``P(lambda_j = v, Y = y)`` from the centred triplets of the vote indicators.

    ``XX`` is ``X^T X`` over the ``n`` rows of the indicators ``X = [1[lambda_j = +1] | 1[lambda_j = -1]]``
    (one pass over ``L``, ``_row_sums``); with ``Z = 1[Y = +1]``,
    ``P(Z = 1) = pi`` and slope ``beta_u = b_u sd`` (``_centred_slopes``) per unit of ``Z``,
    ``P(X_u = 1 | Z = 1) = E[X_u] + beta_u (1 - pi)`` and ``P(X_u = 1 | Z = 0) = E[X_u] - beta_u pi``.
    The sign: a +1 vote is more likely under ``Y = +1``, a -1 vote under ``Y = -1`` (LFs better than
    random). Probabilities are floored at ``min(0.01, 1/n)`` (and capped at 1 minus it).
    """
    m = XX.shape[0] // 2
    mean = jnp.diagonal(XX) / n  # 0/1 indicators: X_u^2 = X_u
    C = _covariance_of_counts(XX, n)
    owner = jnp.concatenate([jnp.arange(m), jnp.arange(m)])
    sign = jnp.concatenate([jnp.ones(m), -jnp.ones(m)])
    slope_sd, counts = _centred_slopes(C, mean, owner, aggregate)
    sd = jnp.sqrt(jnp.maximum(pi * (1.0 - pi), 1e-12))
    beta = sign * slope_sd / sd
    eps = jnp.minimum(0.01, 1.0 / n)
    given_pos = jnp.clip(mean + beta * (1.0 - pi), eps, 1.0 - eps)  # P(X_u = 1 | Y = +1)
    given_neg = jnp.clip(mean - beta * pi, eps, 1.0 - eps)  # P(X_u = 1 | Y = -1)
    never = mean <= 0  # an output the LF never gives stays impossible-ish but finite
    given_pos = jnp.where(never, eps, given_pos)
    given_neg = jnp.where(never, eps, given_neg)
    cond = jnp.stack(  # [j, v, y]: P(lambda_j = v | Y = y), v in (-1, 0, +1), y in (-1, +1)
        [
            jnp.stack([given_neg[m:], given_pos[m:]], axis=-1),
            jnp.stack(
                [
                    jnp.maximum(1.0 - given_neg[:m] - given_neg[m:], 0.0),
                    jnp.maximum(1.0 - given_pos[:m] - given_pos[m:], 0.0),
                ],
                axis=-1,
            ),
            jnp.stack([given_neg[:m], given_pos[:m]], axis=-1),
        ],
        axis=1,
    )
    table = cond * jnp.stack([1.0 - pi, pi])[None, None, :]
    return table, counts[:m] + counts[m:]


def _implied_moments(tables: Float[Array, "m 3 2"]) -> Float[Array, " m"]:
    """``E[lambda_j Y]`` of clique tables (``Y`` in {-1, +1}, abstain = 0)."""
    diff = tables[:, :, 1] - tables[:, :, 0]  # P(lambda = v, Y = +1) - P(lambda = v, Y = -1)
    return diff[:, 2] - diff[:, 0]


def _positives(k: int):
    return jnp.array([1]) if k == 2 else jnp.arange(k)


def _row_sums(L: Int[Array, "c m"], k: int, centred: bool = False):
    """The n-dependent statistics of a row block, as counts: co-vote counts ``(m, m)``, votes per LF
    ``(m,)``, and per task ``S^T S`` ``(t, m, m)`` and the +1 votes ``(t, m)``; with ``centred``
    also per task ``X^T X`` ``(t, 2m, 2m)`` of the vote indicators ``X = [1[S = +1] | 1[S = -1]]``."""
    voted = (L >= 0).astype(jnp.float32)

    def task(positive):
        S = _signed_votes(L, positive)
        out = (jnp.dot(S.T, S, precision=_HIGHEST), (S > 0).sum(axis=0, dtype=jnp.float32))
        if centred:
            X = jnp.concatenate([S > 0, S < 0], axis=1).astype(jnp.float32)
            out = (*out, jnp.dot(X.T, X, precision=_HIGHEST))
        return out

    per_task = jax.lax.map(task, _positives(k))
    return (jnp.dot(voted.T, voted, precision=_HIGHEST), voted.sum(axis=0), *per_task)


@eqx.filter_jit
def _sums(L: Int[Array, "n m"], *, k: int, centred: bool = False):
    """``_row_sums`` over all rows, one row block at a time (no ``(n, m)`` float temporaries)."""
    return sum_rows(lambda Lc: _row_sums(Lc, k, centred), L)


@eqx.filter_jit
def _fit_from_sums(
    sums, n, balance, *, n_classes: int, aggregate: str, triplets: str, moments: str = "raw"
):
    """Clique tables, task priors, moments and triplet counts of every (one-vs-rest) task."""
    overlap, n_voted, SS, ones = sums[:4]
    pis = balance[_positives(n_classes)]
    p_zero = 1.0 - n_voted / n

    if moments == "centred":

        def centred_task(args):
            xx, pi = args
            tables, count = _centred_tables(xx, n, pi, aggregate)
            return tables, _implied_moments(tables), count

        tables, e, counts = jax.lax.map(centred_task, (sums[4], pis))
        return tables, pis, e, counts, 1.0 - p_zero

    def task(args):
        ss, one, pi = args
        e, count = _triplet_moments(ss / n, overlap, aggregate, triplets)
        return _clique_tables(e, one / n, p_zero, pi), e, count

    tables, e, counts = jax.lax.map(task, (SS, ones, pis))
    return tables, pis, e, counts, 1.0 - p_zero


def _task_log_posterior(
    tables: Float[Array, "t m 3 2"], pis: Float[Array, " t"], L: Int[Array, "n m"], k: int
) -> Float[Array, "t n 2"]:
    """``log P(Y^(c) = y | lambda^(c))`` per task, unnormalised over y in (-1, +1)."""
    positives = _positives(k)

    def task(args):
        table, pi, positive = args
        prior = jnp.stack([1.0 - pi, pi])
        cond = table / jnp.where(prior > 0, prior, 1.0)[None, None, :]  # mu / P(y)
        log_cond = jnp.log(jnp.maximum(cond, _TINY))
        log_cond = log_cond.at[:, 1, :].set(0.0)  # abstains: a constant, dropped
        S = _signed_votes(L, positive).astype(jnp.int32) + 1  # 0, 1, 2
        m = L.shape[1]
        # one (n, m) @ (m, 2) product per vote value (no (n, m, 2) temporary)
        acc = jnp.zeros((L.shape[0], 2), jnp.float32)
        for v in (0, 2):
            acc = acc + jnp.dot(
                (S == v).astype(jnp.float32), log_cond[jnp.arange(m), v], precision=_HIGHEST
            )
        logp = jnp.log(jnp.where(prior > 0, prior, 1.0))[None, :] + acc
        return jnp.where(prior[None, :] > 0, logp, -jnp.inf)

    return jax.lax.map(task, (tables, pis, positives))


@eqx.filter_jit
def _predict(tables, pis, L, *, k: int) -> Float[Array, "n k"]:
    return map_rows(lambda Lc: _predict_rows(tables, pis, Lc, k=k), L)


def _predict_rows(tables, pis, L, *, k: int) -> Float[Array, "n k"]:
    logp = _task_log_posterior(tables, pis, L, k)
    if k == 2:
        return jax.nn.softmax(logp[0], axis=-1)
    log_pos = jax.nn.log_softmax(logp, axis=-1)[:, :, 1]  # [c, i]: log P(Y^(c) = 1 | lambda^(c))
    return jax.nn.softmax(log_pos.T, axis=-1)


@eqx.filter_jit
def _task_proba(tables, pis, L, *, k: int) -> Float[Array, "n t"]:
    def rows(Lc):
        return jax.nn.softmax(_task_log_posterior(tables, pis, Lc, k), axis=-1)[:, :, 1].T

    return map_rows(rows, L)


def _task_confusions(tables: Float[Array, "t m 3 2"]) -> Float[Array, "t m 2 2"]:
    """``P(lambda^(c)_j = o | Y^(c) = y, votes)``, ``[c, j, y, o]`` with index 0 = -1, 1 = +1."""
    votes = jnp.swapaxes(tables[:, :, jnp.array([0, 2]), :], 2, 3)  # [c, j, y, o]
    total = votes.sum(axis=-1, keepdims=True)
    return jnp.where(total > 0, votes / jnp.where(total > 0, total, 1.0), 0.5)


@eqx.filter_jit
def _confusions(tables: Float[Array, "t m 3 2"], *, k: int) -> Float[Array, "m k k"]:
    tc = _task_confusions(tables)
    if k == 2:
        return tc[0]
    diag = tc[:, :, 1, 1].T  # [j, t]
    false_pos = tc[:, :, 0, 1].T  # [j, o]: P(lambda_j = o | Y != o)
    eye = jnp.eye(k, dtype=bool)
    w = jnp.where(eye[None], 0.0, false_pos[:, None, :])  # [j, t, o]
    w_sum = w.sum(axis=-1, keepdims=True)
    uniform = (~eye[None]) / (k - 1)
    spread = jnp.where(w_sum > 0, w / jnp.where(w_sum > 0, w_sum, 1.0), uniform)
    return jnp.where(eye[None], diag[:, :, None], (1.0 - diag)[:, :, None] * spread)


@eqx.filter_jit
def _vote_rates(tables, pis, *, k: int) -> Float[Array, "m k k"]:
    prior = jnp.stack([1.0 - pis, pis], axis=-1)  # [c, y]
    cond = tables / jnp.where(prior > 0, prior, 1.0)[:, None, None, :]  # [c, j, v, y]
    if k == 2:
        return cond[0][:, jnp.array([0, 2]), :]  # [j, a, y]: a = 0 is the -1 vote, a = 1 the +1
    plus = cond[:, :, 2, :]  # [a, j, y']: P(lambda^(a) = +1 | Y^(a) = y')
    eye = jnp.eye(k, dtype=bool)  # [a, y]: y == a
    rates = jnp.where(eye[:, None, :], plus[:, :, 1:2], plus[:, :, 0:1])  # [a, j, y]
    return jnp.transpose(rates, (1, 0, 2))


class FlyingSquidFitted(AbstractGenerativeFitted):
    """Fitted FlyingSquid parameters (one binary task, or one task per class for k > 2).

    Attributes:
        tables: ``(t, m, 3, 2)`` clique marginals ``P(lambda_j = v, Y^(c) = y)`` of every task ``c``,
            ``v`` in (-1, abstain, +1), ``y`` in (-1, +1); ``t = 1`` for k = 2 (``+1`` = class 1),
            else ``t = k`` (``+1`` = class ``c``).
        task_prior: ``(t,)`` ``P(Y^(c) = +1)``.
        moments: ``(t, m)`` the triplet estimates of ``E[lambda_j Y^(c)]`` (abstain = 0).
        n_triplets: ``(t, m)`` how many triplets each estimate averages (0: none usable, moment 0).
        coverage: ``(m,)`` ``P(lambda_j votes)`` on the fit rows.
        prior: ``(k,)`` the class balance.
        trace: empty (the fit is closed-form).
    """

    tables: Float[Array, "t m 3 2"]
    task_prior: Float[Array, " t"]
    moments: Float[Array, "t m"]
    n_triplets: Int[Array, "t m"]
    coverage: Float[Array, " m"]
    prior: Float[Array, " k"]
    trace: dict[str, Array]

    @property
    def _k(self) -> int:
        return self.prior.shape[0]

    def predict_proba(self, L: Int[ArrayLike, "n m"]) -> Float[Array, "n k"]:
        m = self.tables.shape[1]
        L = checked_L(L, n_classes=self._k, n_lfs=m)
        return _predict(self.tables, self.task_prior, L, k=self._k)

    def task_proba(self, L) -> Float[Array, "n t"]:
        """``P(Y^(c) = +1 | lambda^(c))`` of every binary task (for k = 2: ``P(Y = 1 | lambda)``)."""
        m = self.tables.shape[1]
        L = checked_L(L, n_classes=self._k, n_lfs=m)
        return _task_proba(self.tables, self.task_prior, L, k=self._k)

    def accuracies(self) -> Float[Array, "t m"]:
        """``(t, m)`` ``E[lambda_j Y^(c) | lambda_j votes]`` (0 for an LF that never votes).

        ``P(lambda_j = Y^(c) | votes) = (1 + a) / 2`` under the model's symmetric accuracies. Not
        clipped: with few or noisy triplets the estimate can exceed 1 (the clique tables are then
        repaired by the sign flip, see the module docstring).
        """
        cov = self.coverage[None, :]
        return jnp.where(cov > 0, self.moments / jnp.where(cov > 0, cov, 1.0), 0.0)

    def confusions(self) -> Float[Array, "m k k"]:
        """``P(lambda_j = o | Y = t, votes)``, ``[j, t, o]``.

        Exact for k = 2. For k > 2 it is assembled from the one-vs-rest tasks: the diagonal
        ``P(lambda_j = t | Y = t)`` from task ``t``, the errors ``1 - diag`` spread over the other
        classes ``o`` in proportion to ``P(lambda_j = o | Y != o)`` from task ``o``.
        """
        return _confusions(self.tables, k=self._k)

    def class_prior(self) -> Float[Array, " k"]:
        return self.prior

    def vote_rates(self) -> Float[Array, "m a y"]:
        """``P(lambda_j = a | Y = y)``, ``[j, a, y]``, from the clique tables.

        Exact for k = 2. For k > 2, from task ``a``: ``P(lambda^(a)_j = +1 | Y^(a) = +1)`` when
        ``y = a``, else ``P(lambda^(a)_j = +1 | Y^(a) = -1)`` (the task lumps the other classes).
        """
        return _vote_rates(self.tables, self.task_prior, k=self._k)

    def uncovered_prior(self) -> Float[Array, " k"]:
        # every task gives P(Y^(c) = 1) = b_c on a row without votes; normalised, that is b
        return self.prior / self.prior.sum()


class FlyingSquid(AbstractLabelModel):
    r"""FlyingSquid's triplet method (Fu et al., ICML 2020): closed form, no iterations.

    See the module docstring for the model, the triplet estimator, the clique tables and the
    one-vs-rest reduction for k > 2. The class balance is ``data.class_balance`` when the weak
    labels carry one (``dev_labels=class_balance``), else uniform (the package's default; FlyingSquid
    does not estimate it).

    Cost: one ``(m, n) @ (n, m)`` product per task for the second moments and ``O(m^3)`` for the
    triplets (one ``(m, m)`` slab per LF, ``lax.map``), so ``O(t (n m^2 + m^3))`` with ``t = 1`` for
    k = 2 and ``t = k`` otherwise.

    Degenerate inputs: fewer than 3 LFs raise ``ValueError`` (no triplet exists). When fitted
    eagerly, fewer than 3 LFs that ever vote, or no pair of LFs that ever votes together, raise
    ``ValueError`` too; under ``jit`` those cases give moments 0 (posteriors from the vote
    marginals alone). An LF that never votes gets moment 0 and changes nothing.

    Attributes:
        aggregate: ``"mean"`` (the paper's and package's default ``triplet_mean``) or
            ``"median"`` (``triplet_median``) over each LF's triplets.
        moments: ``"raw"`` (default: the paper's $\mathbb{E}[\lambda_i \lambda_j]$ triplets,
            symmetric accuracies) or ``"centred"`` (triplets on the covariances of the vote
            indicators; see the module docstring). ``aggregate`` applies to both; ``triplets``
            only to ``"raw"``.
        triplets: ``"overlapping"`` (default) uses a triplet only when its three LF pairs vote
            together on some row and ``M_ij != 0``; ``"all"`` is the package's rule (every pair of
            other LFs, a triplet with ``M_ij = 0`` counted as 0), kept to reproduce the package and
            WRENCH's FlyingSquid numbers. With ``"all"`` an LF that never votes shrinks every other
            LF's moment, so that setting does not pass the contract's all-abstain-LF check.

    Example:
        >>> import jax.random as jr
        >>> from wsbench.synthetic import sample_independent
        >>> sim = sample_independent(jr.key(0), n=2000, m=6, accuracy=(0.6, 0.85), propensity=0.6)
        >>> fitted = FlyingSquid().fit(sim.weak, key=jr.key(1))
        >>> fitted.predict_proba(sim.weak.L).shape, fitted.confusions().shape
        ((2000, 2), (6, 2, 2))
    """

    aggregate: Literal["mean", "median"] = eqx.field(static=True, default="mean")
    triplets: Literal["overlapping", "all"] = eqx.field(static=True, default="overlapping")
    moments: Literal["raw", "centred"] = eqx.field(static=True, default="raw")

    def __check_init__(self):
        check_choice("FlyingSquid", "aggregate", self.aggregate, _AGGREGATES)
        check_choice("FlyingSquid", "triplets", self.triplets, _TRIPLETS)
        check_choice("FlyingSquid", "moments", self.moments, _MOMENTS)

    def fit(self, data: WeakLabels, *, key: PRNGKeyArray) -> FlyingSquidFitted:
        check_key("FlyingSquid.fit", key)
        del key  # deterministic; accepted for API uniformity
        data = check_weak_labels(data)
        k, m = data.n_classes, data.m
        if m < 3:
            raise ValueError(
                f"FlyingSquid's triplet method needs at least 3 labeling functions, got m={m}; "
                "use MajorityVote (or DawidSkene) with fewer LFs."
            )
        sums = _sums(data.L, k=k, centred=self.moments == "centred")
        return self._from_sums(sums, data.n, k, data.class_balance)

    def _from_sums(self, sums, n, k: int, class_balance=None) -> FlyingSquidFitted:
        """The fit from the row sums of ``_sums`` (in memory) or of a chunked pass
        (``fit_chunked``): everything after the one pass over ``L``."""
        if not is_traced(sums[0]):
            _check_identifiable(np.asarray(sums[0]))
        balance = (
            jnp.full((k,), 1.0 / k, jnp.float32)
            if class_balance is None
            else jnp.asarray(class_balance, jnp.float32)
        )
        tables, pis, e, counts, coverage = _fit_from_sums(
            sums,
            jnp.asarray(n, jnp.float32),
            balance,
            n_classes=k,
            aggregate=self.aggregate,
            triplets=self.triplets,
            moments=self.moments,
        )
        return FlyingSquidFitted(
            tables=tables,
            task_prior=pis,
            moments=e,
            n_triplets=counts.astype(jnp.int32),
            coverage=coverage,
            prior=balance,
            trace={},
        )


def _check_identifiable(overlap: np.ndarray) -> None:
    """Eager-only data checks on the ``(m, m)`` co-vote counts: the triplet method needs 3 voting
    LFs and some overlap."""
    m = overlap.shape[0]
    active = np.flatnonzero(np.diag(overlap) > 0)
    if active.size < 3:
        raise ValueError(
            f"FlyingSquid needs at least 3 labeling functions that vote on some row; only "
            f"{active.size} of {m} ever vote (LFs {active.tolist()}); the others abstain on every row. "
            "Check those LFs, or use MajorityVote."
        )
    co = overlap[np.ix_(active, active)].copy()
    np.fill_diagonal(co, 0)
    if not co.any():
        raise ValueError(
            "FlyingSquid needs LFs that vote together: no two labeling functions ever vote on the "
            "same row, so no second moment (and no triplet) is observed. Use MajorityVote."
        )
