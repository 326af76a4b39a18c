"""Dawid-Skene: EM over one full confusion matrix per labeling function."""

import warnings
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlogy
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ..data import WeakLabels
from ..data.validate import is_traced
from ..metrics import min_cost_permutation
from ._base import AbstractGenerativeFitted, AbstractLabelModel, check_weak_labels, checked_L
from ._hyper import as_int, check_choice, check_int, check_key, check_real, check_tol
from ._rows import map_rows, sum_rows

_INITS = ("majority_vote", "vote_fraction", "uniform")
_ABSTAIN = ("ignore", "observed")
_STOP_ON = ("objective", "crowdkit")
_UNIFORM_INIT_DIAG = 0.7  # P(lambda_j = t | Y = t) of every LF under init="uniform"
# Stands in for log(0): exp(-1e4) is exactly 0 in float32, 0 * _LOG_ZERO == 0 inside the mask
# products (0 * -inf would be NaN), and a row on which every class has a zero-probability vote still
# keeps the ordinary log-likelihood terms to ~1e-3 (float32 spacing near 1e4) instead of losing
# them entirely.
_LOG_ZERO = -1e4
# No TF32 on GPUs: the 0/1 masks are exact, the weights must stay float32 too.
_HIGHEST = jax.lax.Precision.HIGHEST


def _votes_dtype(L: Int[Array, "n m"], k: int):
    """Compare votes in int8 when the classes fit (4x less memory traffic than int32)."""
    return L.astype(jnp.int8) if k < 128 else L


def _vote_loglik(L: Int[Array, "n m"], log_conf: Float[Array, "m k o"]) -> Float[Array, "n k"]:
    """``sum_j log_conf[j, t, L_ij]`` over the non-abstaining LFs, without an ``(n, m, k)`` tensor.

    ``o`` outputs per LF: ``k`` classes, plus abstain as an output when it is modelled (``o = k + 1``).

    One ``(n, m) @ (m, k)`` product per output class ``o`` (a ``lax.scan``), so the largest
    temporary is a single ``(n, m)`` 0/1 mask.
    """
    k, n_out = log_conf.shape[1], log_conf.shape[2]
    L = _votes_dtype(L, n_out)

    def add_class(acc, o):
        mask = (L == o).astype(jnp.float32)
        w = jnp.take(log_conf, o, axis=2)  # [j, t]
        return acc + jnp.dot(mask, w, precision=_HIGHEST), None

    acc0 = jnp.zeros((L.shape[0], k), jnp.float32)
    acc, _ = jax.lax.scan(add_class, acc0, jnp.arange(n_out, dtype=L.dtype))
    return acc


def _vote_counts_by_class(
    L: Int[Array, "n m"], q: Float[Array, "n k"], n_out: int
) -> Float[Array, "m k o"]:
    """Counts ``c[j, t, o] = sum_i q[i, t] 1[L_ij = o]``: one ``(m, n) @ (n, k)`` per output ``o``."""
    L = _votes_dtype(L, n_out)

    def per_class(_, o):
        mask = (L == o).astype(jnp.float32)
        return None, jnp.dot(mask.T, q, precision=_HIGHEST)  # [j, t]

    _, c = jax.lax.scan(per_class, None, jnp.arange(n_out, dtype=L.dtype))  # [o, j, t]
    return jnp.transpose(c, (1, 2, 0))


def _normalise(counts: Float[Array, "... k"], alpha) -> Float[Array, "... k"]:
    """``(counts + alpha) / sum``; all-zero rows (only possible with ``alpha = 0``) are uniform."""
    k = counts.shape[-1]
    num = counts + alpha
    den = num.sum(axis=-1, keepdims=True)
    ok = den > 0
    return jnp.where(ok, num / jnp.where(ok, den, 1.0), 1.0 / k)


def _safe_log(p: Float[Array, "..."]) -> Float[Array, "..."]:
    """``log p`` with a finite floor at ``p = 0`` (``0 * -inf`` is NaN in the mask products)."""
    return jnp.where(p > 0, jnp.log(jnp.where(p > 0, p, 1.0)), _LOG_ZERO)


def _posterior(log_prior, log_conf, L):
    """Posterior ``(n, k)`` and per-row log evidence ``(n,)``."""
    joint = log_prior[None, :] + _vote_loglik(L, log_conf)
    # softmax (not exp(joint - logsumexp)) so rows stay normalised even when joint is near _LOG_ZERO
    return jax.nn.softmax(joint, axis=1), jax.nn.logsumexp(joint, axis=1)


def _observed(L: Int[Array, "n m"], k: int) -> Int[Array, "n m"]:
    """Abstain (-1) as the extra output class k."""
    return jnp.where(L == -1, k, L)


def _predict_rows(log_prior, log_conf, L: Int[Array, "n m"]) -> Float[Array, "n k"]:
    """Posterior of each row. With abstains ignored (``o == k``), rows without votes get
    ``exp(log_prior)`` exactly; with abstains observed (``o == k + 1``) every row, uncovered ones
    included, gets the model's posterior."""
    k, n_out = log_conf.shape[1], log_conf.shape[2]
    if n_out == k + 1:
        return _posterior(log_prior, log_conf, _observed(L, k))[0]
    probs, _ = _posterior(log_prior, log_conf, L)
    voted = (L != -1).any(axis=1, keepdims=True)
    return jnp.where(voted, probs, jnp.exp(log_prior)[None, :])


@eqx.filter_jit
def _predict(log_prior: Float[Array, " k"], log_conf: Float[Array, "m k o"], L: Int[Array, "n m"]):
    """``_predict_rows`` one row block at a time (no ``(n, m)`` float temporaries)."""
    return map_rows(lambda Lc: _predict_rows(log_prior, log_conf, Lc), L)


def _class_counts(L: Int[Array, "n m"], k: int) -> Float[Array, "n k"]:
    """Votes per class on each row (float32)."""
    L = _votes_dtype(L, k)
    # a scan, not a list of k reductions: XLA would materialise all k (n, m) comparisons at once
    _, counts = jax.lax.scan(
        lambda _, o: (None, (L == o).sum(axis=1, dtype=jnp.int32)),
        None,
        jnp.arange(k, dtype=L.dtype),
    )
    return counts.T.astype(jnp.float32)  # [i, o]


def _majority_vote_posterior(
    L: Int[Array, "n m"], prior: Float[Array, " k"]
) -> Float[Array, "n k"]:
    """Majority vote with ties split uniformly; rows without votes get ``prior``."""
    counts = _class_counts(L, prior.shape[0])
    top = counts.max(axis=1, keepdims=True)
    winners = ((counts == top) & (top > 0)).astype(jnp.float32)
    mv = winners / jnp.maximum(winners.sum(axis=1, keepdims=True), 1.0)
    return jnp.where(top > 0, mv, prior[None, :])


def _vote_fraction_posterior(
    L: Int[Array, "n m"], prior: Float[Array, " k"]
) -> Float[Array, "n k"]:
    """Each row's share of votes per class (soft majority vote); rows without votes get ``prior``."""
    counts = _class_counts(L, prior.shape[0])
    total = counts.sum(axis=1, keepdims=True)
    return jnp.where(total > 0, counts / jnp.maximum(total, 1.0), prior[None, :])


def _class_permutation(agreement: Float[Array, "k k"]) -> Int[Array, " k"]:
    """``perm[t]``: the LF output class matched to latent class ``t`` (max total agreement)."""
    return min_cost_permutation(-agreement)


class DawidSkeneFitted(AbstractGenerativeFitted):
    """Fitted Dawid-Skene parameters.

    Attributes:
        log_prior: ``log P(Y = t)``.
        log_confusion: ``log P(lambda_j = o | Y = t, lambda_j votes)``, indexed ``[j, t, o]``, shape
            ``(m, k, k)``; with ``abstain="observed"``, ``log P(lambda_j = o | Y = t)`` with abstain as
            the last output ``o = k``, shape ``(m, k, k + 1)``.
        trace: ``"objective"``: ``(n_iter,)``, the MAP-EM objective of each iteration's
            parameters; when EM stopped early (``tol > 0``), the entries after the last iteration run
            repeat its value (static shape, no NaN). ``"ran"``: ``(n_iter,)`` int32, 1 for the
            iterations actually run, then 0 (every trace entry is per iteration, so grids stack
            them as ``(h, s, n_iter)``); ``n_iter_run`` is its sum.
    """

    log_prior: Float[Array, " k"]
    log_confusion: Float[Array, "m k o"]
    trace: dict[str, Array]

    @property
    def n_iter_run(self) -> Int[Array, "..."]:
        """The number of EM iterations run (``n_iter`` unless ``tol`` stopped EM early)."""
        return jnp.sum(self.trace["ran"], axis=-1)

    def predict_proba(self, L: Int[ArrayLike, "n m"]) -> Float[Array, "n k"]:
        m, k, _ = self.log_confusion.shape
        L = checked_L(L, n_classes=k, n_lfs=m)
        return _predict(self.log_prior, self.log_confusion, L)

    def confusions(self) -> Float[Array, "m k k"]:
        k = self.log_confusion.shape[1]
        votes = jnp.exp(self.log_confusion[:, :, :k])
        return votes / votes.sum(axis=-1, keepdims=True)

    def class_prior(self) -> Float[Array, " k"]:
        return jnp.exp(self.log_prior)

    def vote_rates(self) -> Float[Array, "m a y"]:
        k = self.log_confusion.shape[1]
        return jnp.swapaxes(jnp.exp(self.log_confusion[:, :, :k]), 1, 2)

    def fit_loss(self, L, prior: Float[Array, " k"]) -> Float[Array, ""]:
        """Mean negative log-likelihood per row (abstains as the model treats them)."""
        m, k, n_out = self.log_confusion.shape
        L = checked_L(L, n_classes=k, n_lfs=m)
        L_em = _observed(L, k) if n_out == k + 1 else L
        _, log_evidence = _posterior(_safe_log(prior), self.log_confusion, L_em)
        return -log_evidence.mean()

    def uncovered_prior(self) -> Float[Array, " k"]:
        m, k, n_out = self.log_confusion.shape
        if n_out == k:
            return jnp.exp(self.log_prior)
        return jax.nn.softmax(self.log_prior + self.log_confusion[:, :, k].sum(axis=0))


class DawidSkene(AbstractLabelModel):
    r"""Dawid & Skene (1979) EM over per-LF confusion matrices.

    Model: $Y_i \sim \mathrm{Cat}(\pi)$ and, independently given $Y_i$, each LF that votes
    outputs $\lambda_{ij} = o$ with probability $\theta_{j,Y_i,o}$ (abstains carry no information
    about $Y$). With $\alpha$ = ``smoothing``, EM maximises the MAP objective

    $$\mathcal{J}(\pi, \theta) = \sum_i \log \sum_t \pi_t \prod_{j: \lambda_{ij} \neq -1}
      \theta_{j,t,\lambda_{ij}} + \alpha \sum_{j,t,o} \log \theta_{j,t,o}
      + \alpha \sum_t \log \pi_t,$$

    i.e. a $\mathrm{Dirichlet}(1 + \alpha)$ prior on every confusion row and on $\pi$ (Dawid &
    Skene 1979, eqs. 2.3-2.5, with additive smoothing). Each iteration is an M-step
    $\theta_{j,t,o} \propto \alpha + \sum_i q_{it} \mathbb{1}[\lambda_{ij} = o]$,
    $\pi_t \propto \alpha + \sum_i q_{it}$, followed by an E-step
    $q_{it} \propto \pi_t \prod_j \theta_{j,t,\lambda_{ij}}$ in log space;
    ``trace["objective"][s]`` is $\mathcal{J}$ at the parameters of iteration ``s`` (a sum over
    rows, not a mean), non-decreasing by the EM argument.

    Abstentions. By default (``abstain="ignore"``, the crowdsourcing model of Dawid & Skene and
    crowd-kit) an abstain is a missing observation. Labeling functions, unlike crowd workers, often
    vote for one class only (a keyword LF votes "spam" or abstains); for them the information is *in*
    the abstentions, and ``abstain="observed"`` models abstain as an extra output $o = k$ of every
    confusion row ($\theta_{j,t,\cdot}$ then has $k + 1$ entries and the products above run over
    every LF). EM and its monotone objective are unchanged; rows without votes then get
    $P(Y \mid \text{all abstain})$, which ``uncovered_prior()`` returns. When the data carry ``class_balance``,
    $\pi$ is fixed to it (and drops out of the prior term). A confusion row with no (expected) votes
    at all, possible only when ``smoothing = 0``, is set to uniform.

    The latent classes of a mixture are only identified up to a permutation. After EM the latent
    class $t$ is renamed to the LF output class $\mathrm{perm}(t)$, where the assignment (Hungarian
    algorithm) maximises the agreement $\sum_i q_{i,t}\, \mathrm{mv}_{i,\mathrm{perm}(t)}$ with the
    majority-vote labelling of the fit rows (ties split): "the votes are right more often than not".
    This changes nothing when EM kept the majority-vote labelling, which is the usual case. (Summed
    confusion diagonals, the usual alternative, are flat when LFs vote for one class only or when a
    latent class is empty, and then rename the dominant class.)

    Weak supervision. With one-sided LFs (each votes one class or abstains) and
    ``abstain="ignore"`` every confusion row of such an LF is the same one-hot vector, so the
    votes carry no information and the fit predicts the prior's argmax on every row. ``fit`` warns
    when most LFs are one-sided (eagerly, i.e. when ``L`` is not traced); use
    ``abstain="observed"`` (``conf/estimator/dawid_skene.yaml`` does).

    Cost: each iteration makes two passes over ``L`` as ``2k`` matrix products of an ``(n, m)`` 0/1
    mask (one output class at a time) with ``(m, k)`` weights, i.e. ``O(n m k^2)`` flops in float32
    at ``Precision.HIGHEST``; the largest temporary is one ``(n, m)`` mask, never an ``(n, m, k)``
    one-hot (plus one M-step pass before the first iteration).

    Attributes:
        n_iter: the maximum number of EM iterations (static; exactly this many when ``tol`` is
            ``None`` or ``0``).
        init: ``"majority_vote"`` starts from the majority-vote posterior (ties uniform);
            ``"vote_fraction"`` from each row's share of votes per class (WRENCH's and crowd-kit's
            start; softer on rows with conflicting votes);
            ``"uniform"`` starts from the posterior under "every LF has the same confusion matrix,
            0.7 on the diagonal", which breaks the latent-class symmetry that a uniform posterior
            could not (a uniform posterior is a fixed point of EM).
        smoothing: Dirichlet pseudo-count $\alpha \ge 0$ (an array leaf: vmappable over a grid).
        abstain: ``"ignore"`` or ``"observed"`` (see above).
        tol: convergence tolerance $\ge 0$ (an array leaf: vmappable), or ``None`` (the default,
            the benchmark setting: cost independent of the data; no pytree leaf, so ``jax.vmap``
            over an estimator that sweeps only ``smoothing`` is unchanged). ``None`` and ``0`` run
            all ``n_iter`` iterations; to vmap over tolerances stack numbers (``0`` included). With
            ``tol > 0``, EM (a ``lax.while_loop`` bounded by ``n_iter``) stops after iteration
            $s \ge 1$ when the *absolute* change of the per-vote stopping quantity is below ``tol``:
            $(\mathcal{J}_s - \mathcal{J}_{s-1}) / N < \text{tol}$ with $N$ the number of votes
            (``stop_on="objective"``), a scale-free rule that also stops on a decrease.
        stop_on: the stopping quantity (static). ``"objective"``: $\mathcal{J}$ above.
            ``"crowdkit"``: crowd-kit 1.4's ``DawidSkene`` rule, its per-vote "ELBO"
            $[\sum_{ij} \sum_t q_{it} (\log \theta_{j,t,\lambda_{ij}} + \log \pi_t) + H(q)] / N$
            at the posterior and the M-step after it (its prior counted once per vote, not per row);
            with ``tol=1e-5``, ``init="vote_fraction"`` and ``smoothing=0.001`` this runs as many
            iterations as crowd-kit's defaults (``tests/reference/crowdkit_dawid_skene.yaml``). Computed from the
            M-step sums, so it costs no extra pass over ``L``.

    References:
        A. P. Dawid and A. M. Skene. Maximum likelihood estimation of observer error-rates using the
        EM algorithm. Journal of the Royal Statistical Society C, 28(1):20-28, 1979.

    Example:
        >>> import jax.random as jr
        >>> from wsbench.synthetic import sample_dawid_skene
        >>> sim = sample_dawid_skene(jr.key(0), n=500, m=6, n_classes=3)
        >>> fitted = DawidSkene(n_iter=20).fit(sim.weak, key=jr.key(1))
        >>> fitted.predict_proba(sim.weak.L).shape, fitted.trace["objective"].shape
        ((500, 3), (20,))
    """

    n_iter: int = eqx.field(static=True, default=100, converter=as_int)
    init: Literal["majority_vote", "vote_fraction", "uniform"] = eqx.field(
        static=True, default="majority_vote"
    )
    smoothing: float | Float[Array, ""] = 0.01
    abstain: Literal["ignore", "observed"] = eqx.field(static=True, default="ignore")
    tol: float | Float[Array, ""] | None = None
    stop_on: Literal["objective", "crowdkit"] = eqx.field(static=True, default="objective")

    def __check_init__(self):
        check_int("DawidSkene", "n_iter", self.n_iter)
        check_choice("DawidSkene", "init", self.init, _INITS)
        check_choice("DawidSkene", "abstain", self.abstain, _ABSTAIN)
        check_real("DawidSkene", "smoothing", self.smoothing, low=0.0, meaning="pseudo-count")
        check_tol("DawidSkene", self.tol)
        check_choice("DawidSkene", "stop_on", self.stop_on, _STOP_ON)

    def fit(self, data: WeakLabels, *, key: PRNGKeyArray) -> DawidSkeneFitted:
        check_key("DawidSkene.fit", key)
        del key  # deterministic; accepted for API uniformity
        data = check_weak_labels(data)
        if self.abstain == "ignore" and not is_traced(data.L):
            _warn_if_one_sided(data.L, data.n_classes)
        alpha = jnp.asarray(self.smoothing, jnp.float32)
        tol = jnp.asarray(0.0 if self.tol is None else self.tol, jnp.float32)
        log_prior, log_conf, objective, n_run = _em(
            data.L,
            alpha,
            tol,
            data.class_balance,
            n_classes=data.n_classes,
            n_iter=self.n_iter,
            init=self.init,
            abstain=self.abstain,
            stop_on=self.stop_on,
        )
        log_prior, log_conf = _align_to_majority_vote(
            data.L, log_prior, log_conf, abstain=self.abstain
        )
        return DawidSkeneFitted(
            log_prior=log_prior,
            log_confusion=log_conf,
            trace={"objective": objective, "ran": _ran(n_run, self.n_iter)},
        )


def _warn_if_one_sided(L, k: int) -> None:
    """Warn when most voting LFs vote for a single class: classic DS cannot use them."""
    with jax.ensure_compile_time_eval():  # L is concrete: a value even inside a caller's vmap
        counts = np.asarray(_classes_voted(L, k))
    n_voted = (counts > 0).sum(axis=1)  # classes each LF votes for
    voting = n_voted[n_voted > 0]
    one_sided = int((voting == 1).sum())
    if voting.size and one_sided >= 0.5 * voting.size:
        warnings.warn(
            f"DawidSkene(abstain='ignore'): {one_sided} of {voting.size} voting LFs vote for a single "
            "class only; with abstains ignored they carry no information about Y and the fit will "
            "predict (nearly) one class everywhere. For weak supervision use "
            "DawidSkene(abstain='observed') (estimator=dawid_skene).",
            UserWarning,
            stacklevel=3,
        )


@eqx.filter_jit
def _classes_voted(L: Int[Array, "n m"], k: int) -> Int[Array, "m k"]:
    """``[j, c]``: the number of rows on which LF j votes class c (one pass, in row blocks)."""
    return sum_rows(lambda Lc: jnp.stack([(Lc == c).sum(axis=0) for c in range(k)], axis=1), L)


@eqx.filter_jit
def _em(
    L,
    alpha,
    tol,
    class_balance,
    *,
    n_classes: int,
    n_iter: int,
    init: str,
    abstain: str,
    stop_on: str,
):
    """EM from the initial posterior: ``log_prior``, ``log_conf`` (latent classes not yet aligned:
    ``_align_to_majority_vote``), the objective trace and the iterations run.

    Jitted at module level so that repeated eager fits with the same shapes reuse one compilation
    (inside a caller's ``jit``/``vmap`` it is simply inlined).
    """
    k, m = n_classes, L.shape[1]
    # with abstain observed, EM runs on L with abstain recoded as the extra output class k
    n_out = k + 1 if abstain == "observed" else k
    fixed_prior = class_balance is not None
    init_prior = class_balance if fixed_prior else jnp.full((k,), 1.0 / k, jnp.float32)

    def votes(Lc):
        return _observed(Lc, k) if abstain == "observed" else Lc

    def init_sums(Lc):
        L_em = votes(Lc)
        sums = _m_step_sums(L_em, _initial_posterior(Lc, init_prior, init), n_out)
        return sums, (L_em != -1).sum()

    def iteration_sums(Lc, log_prior, log_conf):
        # E-step at theta_s on a row block, then the M-step sums it gives (q never has n rows)
        L_em = votes(Lc)
        q, log_evidence = _posterior(log_prior, log_conf, L_em)
        return _m_step_sums(L_em, q, n_out), log_evidence.sum()

    # every pass over the rows runs in row blocks (_rows.sum_rows): no (n, m) float temporaries
    (counts, q_sum, entropy), n_votes = sum_rows(init_sums, L)
    n_votes = jnp.maximum(n_votes, 1).astype(jnp.float32)

    def cond(carry):
        s, done = carry[0], carry[1]
        return (s < n_iter) & ~done

    def body(carry):
        # iteration s: E-step at theta_s (objective J_s), then M-step to theta_{s+1} (for the next
        # iteration and for crowd-kit's stopping quantity); the returned parameters are theta_s
        s, _, _, _, nxt, prev_j, prev_ck, objective = carry
        conf, prior, log_prior, log_conf, _ = nxt
        sums, log_evidence = sum_rows(lambda Lc: iteration_sums(Lc, log_prior, log_conf), L)
        j = _objective(log_evidence, conf, prior, alpha, fixed_prior)
        nxt = _m_step(*sums, alpha, class_balance, n_votes)
        done = _converged(s, tol, j, prev_j, nxt[4], prev_ck, n_votes, stop_on)
        objective = objective.at[s].set(j)
        return (s + 1, done, log_prior, log_conf, nxt, j, nxt[4], objective)

    first = _m_step(counts, q_sum, entropy, alpha, class_balance, n_votes)
    carry0 = (
        jnp.zeros((), jnp.int32),
        jnp.zeros((), bool),
        jnp.zeros((k,), jnp.float32),
        jnp.zeros((m, k, n_out), jnp.float32),
        first,
        jnp.zeros((), jnp.float32),
        first[4],
        jnp.zeros((n_iter,), jnp.float32),
    )
    n_run, _, log_prior, log_conf, _, _, _, objective = jax.lax.while_loop(cond, body, carry0)
    return log_prior, log_conf, _pad_trace(objective, n_run), n_run


@eqx.filter_jit
def _align_to_majority_vote(L, log_prior, log_conf, *, abstain: str):
    """``_align`` with the agreement of the last E-step's posterior (at the returned parameters)
    and majority vote, one row block at a time. A program of its own, so that XLA never compiles
    EM and the assignment together (compilation memory is the larger part of a fit's peak)."""
    k = log_prior.shape[0]

    def agreement(Lc):
        L_em = _observed(Lc, k) if abstain == "observed" else Lc
        return _mv_agreement(Lc, _posterior(log_prior, log_conf, L_em)[0])

    return _align(log_prior, log_conf, sum_rows(agreement, L))


# The pieces of EM, shared with the chunked (streaming) fit in ``_streaming.py``: everything that
# touches rows is a sum over rows, so a pass over row chunks gives the same statistics.


def _initial_posterior(L: Int[Array, "n m"], init_prior, init: str) -> Float[Array, "n k"]:
    """The starting posterior of each row (row-local)."""
    k, m = init_prior.shape[0], L.shape[1]
    if init == "majority_vote":
        return _majority_vote_posterior(L, init_prior)
    if init == "vote_fraction":
        return _vote_fraction_posterior(L, init_prior)
    off = (1.0 - _UNIFORM_INIT_DIAG) / (k - 1)
    conf0 = jnp.full((k, k), off).at[jnp.diag_indices(k)].set(_UNIFORM_INIT_DIAG)
    log_conf0 = jnp.broadcast_to(jnp.log(conf0), (m, k, k))  # votes only, abstains ignored
    return _posterior(_safe_log(init_prior), log_conf0, L)[0]


def _n_votes(L_em: Int[Array, "n m"]) -> Float[Array, ""]:
    """Observed entries (crowd-kit's number of answers; at least 1)."""
    return jnp.maximum((L_em != -1).sum(), 1).astype(jnp.float32)


def _m_step_sums(L_em, q, n_out: int):
    """The row sums an M-step needs: vote counts ``(m, k, o)``, ``sum_i q_i`` and the entropy of
    ``q`` over the rows that have a vote (crowd-kit's stopping quantity)."""
    counts = _vote_counts_by_class(L_em, q, n_out)
    voted = (L_em != -1).any(axis=1)
    entropy = -jnp.where(voted[:, None], xlogy(q, q), 0.0).sum()
    return counts, q.sum(axis=0), entropy


def _two_sum(a, b):
    """Knuth's error-free ``a + b = s + e`` (``s`` the float32 sum, ``e`` its rounding error)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _compensated_sum(x: Float[Array, "..."]) -> Float[Array, "2"]:
    """``sum(x)`` as an unevaluated float32 pair ``hi + lo`` (double-single arithmetic), by a
    pairwise tree of error-free additions: the rounding of the total is carried in ``lo``
    instead of lost. Accurate to the terms' own rounding (a few ulps of the largest term)."""
    x = x.reshape(-1)
    size = 1 << max(int(x.shape[0]) - 1, 0).bit_length()
    hi = jnp.zeros((size,), x.dtype).at[: x.shape[0]].set(x)
    lo = jnp.zeros_like(hi)
    while hi.shape[0] > 1:
        s, e = _two_sum(hi[0::2], hi[1::2])
        hi, lo = _two_sum(s, e + lo[0::2] + lo[1::2])  # renormalised: |lo| <= ulp(hi) / 2
    return jnp.stack([hi[0], lo[0]])


def _m_step(counts, q_sum, entropy, alpha, class_balance, n_votes):
    """Parameters from the M-step sums, and crowd-kit 1.4's "ELBO" at them:
    ``E_q[log theta + log pi]`` summed over votes (its prior counted once per vote), + ``H(q)``.

    The ELBO is a ``(2,)`` double-single pair (``_compensated_sum``), not divided by the number
    of votes: its per-vote change between iterations (``_converged``) is about 1e-5 at
    crowd-kit's tolerance on a total of order 1, where one float32 ulp of the total is 1% of the
    tolerance; with the pair the change is exact up to the terms' own rounding, and the stopping
    iteration is crowd-kit's float64 one (tests/labelmodels/test_dawid_skene_stopping.py)."""
    conf = _normalise(counts, alpha)
    prior = class_balance if class_balance is not None else _normalise(q_sum, alpha)
    log_prior, log_conf = _safe_log(prior), _safe_log(conf)
    terms = counts * (log_conf + log_prior[None, :, None])
    ck = _compensated_sum(jnp.concatenate([terms.reshape(-1), entropy.reshape(1)]))
    return conf, prior, log_prior, log_conf, ck


def _objective(log_evidence_sum, conf, prior, alpha, fixed_prior: bool):
    """The MAP objective: log evidence + the Dirichlet log prior of the parameters."""
    log_dirichlet = xlogy(alpha, conf).sum()
    if not fixed_prior:
        log_dirichlet = log_dirichlet + xlogy(alpha, prior).sum()
    return log_evidence_sum + log_dirichlet


def _converged(s, tol, j, prev_j, ck, prev_ck, n_votes, stop_on: str):
    """The stopping test after iteration ``s`` (never after the first; never when ``tol = 0``).
    ``ck``: ``_m_step``'s double-single ELBO pair (the highs differ by little, so their
    difference is exact)."""
    if stop_on == "crowdkit":
        change = ((ck[0] - prev_ck[0]) + (ck[1] - prev_ck[1])) / n_votes
    else:
        change = (j - prev_j) / n_votes
    return (s >= 1) & (tol > 0) & (change < tol)


def _pad_trace(objective, n_run):
    """A static-shape trace: the iterations not run hold the last objective (no NaN)."""
    n_iter = objective.shape[0]
    return jnp.where(jnp.arange(n_iter) < n_run, objective, objective[jnp.maximum(n_run, 1) - 1])


def _ran(n_run, n_iter: int) -> Int[Array, " n_iter"]:
    """1 for the iterations run, then 0."""
    return (jnp.arange(n_iter) < n_run).astype(jnp.int32)


def _mv_agreement(L, q) -> Float[Array, "k k"]:
    """``[t, o]``: expected number of rows in latent class t that majority vote labels o."""
    k = q.shape[1]
    return q.T @ _majority_vote_posterior(L, jnp.zeros((k,), jnp.float32))


def _align(log_prior, log_conf, agreement):
    """Rename latent classes to the majority-vote labelling of the fit rows (rows with votes)."""
    inverse = jnp.argsort(_class_permutation(agreement))  # new class o holds old latent inverse[o]
    return log_prior[inverse], log_conf[:, inverse, :]
