r"""Matrix-completion label model (Ratner et al., AAAI 2019), with known LF dependencies.

Model. Each labeling-function variable :math:`\psi_u` (the one-hot non-abstain vote of one LF, or the
one-hot joint vote of a dependency clique) has class-conditional means
:math:`\mu_u[a, y] = P(\psi_u = a \mid Y = y)`. Variables in different components of the dependency graph
are conditionally independent given Y, so the observed second moments satisfy

.. math::

    O = \mathbb{E}[\psi \psi^\top] = \mu\, \mathrm{diag}(P(Y))\, \mu^\top
    \quad \text{on every entry } (u, v) \text{ with } u, v \text{ in different components}

(paper, eq. 3 with the inverse-covariance mask reduced to its observable block). We fit

.. math::

    \min_{\mu \in [0, 1]} \| M \odot (O - \mu P \mu^\top) \|_F^2
    + \| \mu P \mathbf{1} - \mathrm{diag}(O) \|^2 + \ell_2 \| \mu - \mu_0 \|^2

with an optax optimizer inside ``lax.scan`` (the Snorkel ``LabelModel`` objective), then clamp to valid
probabilities and align latent classes with the Hungarian algorithm (LFs better than random on average).

Dependencies. Given dependency edges that form a forest (every clique an edge, every separator a single
LF), the class-conditional distribution of the votes factorises over the junction tree,

.. math::

    P(\lambda \mid y) = \frac{\prod_C P(\lambda_C \mid y)}{\prod_S P(\lambda_S \mid y)}
    = \prod_{r \text{ root}} P(\lambda_r \mid y) \prod_{(p \to c)} P(\lambda_c \mid \lambda_p, y),

i.e. separators *divide* (Snorkel MeTaL multiplied them in, double-counting correlated LFs). We
evaluate the right-hand, rooted form, which is a normalised distribution even when the fitted clique
tables are slightly inconsistent. Clique tables come from a joint indicator variable per edge in the
same overlap matrix; overlaps inside a component are masked.

Abstentions. The fitted tables keep class-dependent vote probabilities ``P(lambda_j = a | y)`` (and so
class-dependent abstain rates), which is what makes one-sided LFs (a keyword that only ever votes
"spam") informative. At prediction time an LF's abstain contributes nothing (Snorkel's convention):
rows without votes get the class prior exactly, and the posterior is exact whenever abstaining does
not depend on Y, as in every generator of ``wsbench.synthetic``. ``conditionals()`` reports the full
tables, abstain row included.

References:
    Ratner, Hancock, Dunnmon, Sala, Pandey, Ré. "Training Complex Models with Multi-Task Weak
    Supervision." AAAI 2019. Ratner, Bach, Ehrenberg, Fries, Wu, Ré. "Snorkel: Rapid Training Data
    Creation with Weak Supervision." VLDB 2018.
"""

import dataclasses
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ..data import WeakLabels
from ..data.validate import is_traced
from ..metrics import min_cost_permutation
from ._base import (
    AbstractDependencyAware,
    AbstractGenerativeFitted,
    AbstractTwoStageLabelModel,
    as_array_hyperparameters,
    check_weak_labels,
    checked_L,
)
from ._class_balance import anchor_rows, fit_class_balance
from ._dawid_skene import _vote_loglik
from ._dependencies import Layout, _as_edges, _Structure, _structure, _structure_of
from ._hyper import as_edge_list, as_int, check_bool, check_choice, check_int, check_key, check_real
from ._rows import map_rows
from ._statistics import OverlapStats, overlap_stats

EPS = 1e-6
"""Floor on every fitted probability (keeps log-likelihoods finite)."""
BALANCE_MODES = ("auto", "data", "unsupervised", "uniform")


# ----------------------------------------------------------------------------------------------------------
# fitted model


class MatrixCompletionFitted(AbstractGenerativeFitted):
    """A fitted matrix-completion model: per-LF tables, clique tables and the class prior.

    Attributes:
        tables: ``(m, k+1, k)`` ``P(lambda_j = a | Y = y)``, rows abstain, 0..k-1 (``Simulation.conditionals``).
        clique_tables: ``(e, k+1, k+1, k)`` ``P(lambda_i = a, lambda_j = b | Y = y)`` per edge ``(i, j)``.
        log_cond: ``(m, k+1, k+1, k)`` ``log P(lambda_j = b | lambda_parent = a, y)`` (roots ignore ``a``).
        prior: ``(k,)`` class balance.
        parent: static parent LF of each LF in the rooted dependency forest (itself for roots).
        edges: static dependency edges.
        trace: ``{"loss": (n_iter,)}``.
    """

    # o = k + 1 outputs (abstain first); a named axis, as k is bound only by `prior` below
    tables: Float[Array, "m o k"]
    clique_tables: Float[Array, "e o o k"]
    log_cond: Float[Array, "m o o k"]
    prior: Float[Array, " k"]
    trace: dict[str, Array]
    parent: tuple[int, ...] = eqx.field(static=True)
    edges: tuple[tuple[int, int], ...] = eqx.field(static=True)

    @staticmethod
    def from_tables(tables, prior, *, edges=(), clique_tables=None) -> "MatrixCompletionFitted":
        """Build a fitted model from (e.g. true) parameters: the posterior then is the exact Bayes one.

        Args:
            tables: ``(m, k+1, k)`` ``P(lambda_j = a | Y = y)`` (abstain row first).
            prior: ``(k,)`` class balance.
            edges: dependency edges (a forest); clique_tables: ``(e, k+1, k+1, k)`` joint tables per edge.
        """
        tables = jnp.asarray(tables, jnp.float32)
        prior = jnp.asarray(prior, jnp.float32)
        edges = _as_edges(edges)
        m, k1, k = tables.shape
        if clique_tables is None:
            if edges:
                raise ValueError("from_tables with edges needs clique_tables.")
            clique_tables = jnp.zeros((0, k1, k1, k), jnp.float32)
        return _finalize(tables, jnp.asarray(clique_tables, jnp.float32), prior, edges, {})

    def predict_proba(self, L: Int[ArrayLike, "n m"]) -> Float[Array, "n k"]:
        m, k = self.tables.shape[0], self.prior.shape[0]
        return _predict(self, checked_L(L, n_classes=k, n_lfs=m))

    def conditionals(self) -> Float[Array, "m o k"]:
        """``P(lambda_j = a | Y = y)``, rows abstain, 0, ..., k-1; columns y (``Simulation.conditionals``)."""
        return self.tables

    def confusions(self) -> Float[Array, "m k k"]:
        votes = self.tables[:, 1:, :]  # [j, o, t]
        total = votes.sum(axis=1, keepdims=True)
        k = votes.shape[1]
        conf = jnp.where(total > 0, votes / jnp.maximum(total, 1e-30), 1.0 / k)
        return jnp.swapaxes(conf, 1, 2)

    def class_prior(self) -> Float[Array, " k"]:
        return self.prior

    def vote_rates(self) -> Float[Array, "m a y"]:
        return self.tables[:, 1:, :]

    def fit_loss(self, L, prior: Float[Array, " k"]) -> Float[Array, ""]:
        """The moment objective on the single-LF tables (pairs of different LFs, plus marginals)."""
        m, k = self.tables.shape[0], self.prior.shape[0]
        L = checked_L(L, n_classes=k, n_lfs=m)
        stats = overlap_stats(L, k, (), triples=False)
        mu = self.tables[:, 1:, :].reshape(m * k, k)
        lf = np.repeat(np.arange(m), k)
        mask = jnp.asarray(lf[:, None] != lf[None, :], jnp.float32)
        resid = mask * (stats.second_moments - (mu * prior[None, :]) @ mu.T)
        marg = mu @ prior - jnp.diagonal(stats.second_moments)
        return jnp.sum(resid**2) + jnp.sum(marg**2)

    def uncovered_prior(self) -> Float[Array, " k"]:
        return self.class_prior()  # abstains are ignored at prediction time


def _add_lf(acc, xs):
    lj, lp, table = xs
    return acc + table[lp + 1, lj + 1], None


@eqx.filter_jit
def _predict(fitted: MatrixCompletionFitted, L: Int[Array, "n m"]) -> Float[Array, "n k"]:
    """The junction-tree posterior, one row block at a time (no transposed or gathered copy of the
    whole ``L``; memory O(block m)).

    A root LF's log-likelihood term depends on its own vote only: the roots' terms are DawidSkene's
    ``_vote_loglik`` (one ``(block, m) @ (m, k)`` product per vote value, float32 on every device);
    a child LF's term also depends on its parent's vote and is gathered one LF at a time. Abstains
    contribute nothing (``log_cond``'s abstain row is 0).
    """
    parent = np.asarray(fitted.parent)
    m = parent.shape[0]
    roots = np.flatnonzero(parent == np.arange(m))
    children = np.flatnonzero(parent != np.arange(m))
    # [root, y, a]: a root's table does not depend on the parent axis; vote rows only (multi-task:
    # an LF never casts its padding votes)
    log_conf = jnp.swapaxes(fitted.log_cond[roots, 0, 1:, :], 1, 2)
    log_prior = jnp.log(fitted.prior)

    def rows(Lc):
        Lr = Lc if children.size == 0 else Lc[:, roots]
        loglik = log_prior[None, :] + _vote_loglik(Lr, log_conf)
        if children.size:
            Lk, Lp = Lc[:, children], Lc[:, parent[children]]
            loglik, _ = jax.lax.scan(_add_lf, loglik, (Lk.T, Lp.T, fitted.log_cond[children]))
        return jax.nn.softmax(loglik, axis=-1)

    return map_rows(rows, L)


def _normalise(t: Array, axis, valid=None) -> Array:
    t = jnp.maximum(t, EPS)
    if valid is not None:  # padding rows of LFs with fewer outputs than kmax stay exactly 0
        t = jnp.where(valid, t, 0.0)
    return t / t.sum(axis=axis, keepdims=True)


def _valid_rows(s: _Structure):
    """``(m, kmax+1, 1)`` and ``(e, kmax+1, kmax+1, 1)`` masks of the real (non-padding) table rows;
    ``None, None`` for the single-task layout (no padding)."""
    if s.layout.is_single:
        return None, None
    rows = np.arange(s.kmax + 1)
    v = rows[None, :] <= s.out[:, None]  # abstain + out_cards[j] votes
    ve = [v[i][:, None] & v[j][None, :] for i, j in s.edges]
    ve = np.stack(ve) if ve else np.zeros((0, s.kmax + 1, s.kmax + 1), bool)
    return v[..., None], ve[..., None]


def _finalize(tables, clique_tables, prior, edges, trace, layout=None) -> MatrixCompletionFitted:
    """Clamp/normalise the tables and build the rooted conditional tables (abstains ignored)."""
    m, k1, k = tables.shape
    s = _structure(m, k, edges) if layout is None else _structure_of(layout)
    valid, valid_e = _valid_rows(s)
    tables = _normalise(tables, axis=1, valid=valid)
    cond = jnp.broadcast_to(tables[:, None, :, :], (m, k1, k1, k))
    if edges:
        clique_tables = _normalise(clique_tables, axis=(1, 2), valid=valid_e)
        children = np.flatnonzero(s.parent_edge >= 0)
        e = s.parent_edge[children]
        ct = clique_tables[e]  # [c, a_i, a_j, y]
        ct = jnp.where(s.child_is_second[children][:, None, None, None], ct, jnp.swapaxes(ct, 1, 2))
        cc = ct / jnp.maximum(ct.sum(axis=2, keepdims=True), 1e-30)  # P(child=b | parent=a, y)
        cond = cond.at[children].set(cc)
    log_cond = jnp.log(jnp.maximum(cond, EPS))
    # Abstentions are ignored at prediction time (Snorkel's convention): an LF's own abstain adds
    # nothing to the log-likelihood, so rows with no votes get the prior exactly, while the fitted vote
    # probabilities keep their dependence on y (which is what makes one-sided LFs informative).
    log_cond = log_cond.at[:, :, 0, :].set(0.0)
    return MatrixCompletionFitted(
        tables=tables,
        clique_tables=clique_tables,
        log_cond=log_cond,
        prior=prior,
        trace=trace,
        parent=tuple(int(p) for p in s.parent),
        edges=edges,
    )


# ----------------------------------------------------------------------------------------------------------
# the estimator


class MatrixCompletion(AbstractTwoStageLabelModel, AbstractDependencyAware):
    r"""Matrix-completion label model of Ratner et al. (2019) — the model behind Snorkel's ``LabelModel``.

    See the module docstring for the model, the objective and the junction-tree posterior. The fit is a
    pure function of the overlap statistics (:func:`overlap_stats`), so sweeps over ``lr``/``l2``/seeds
    reuse one pass over ``L`` (``fit_from_stats``).

    Class balance (``class_balance_from``): ``"auto"`` uses ``data.class_balance`` when the weak labels carry one
    (the runner sets it when ``dev_labels=class_balance``: given, or estimated from dev labels), else
    the unsupervised estimate; ``"data"`` requires it; ``"unsupervised"`` always estimates it from
    three-way LF overlaps (MeTaL's class-balance model, ``_class_balance.py``), falling back to uniform
    unless the estimate has a lower loss than uniform and is well identified (significantly different
    from uniform under a jackknife over groups of LFs; dependent real LFs fail this); ``"uniform"``
    fixes it.

    Degenerate inputs: fewer than three conditionally independent LF groups raise ``ValueError``
    (the model is not identifiable; use ``MajorityVote`` or ``DawidSkene``). An LF that never votes
    keeps all-zero vote probabilities (it always abstains and changes nothing). LFs that always agree,
    or a class that is never voted, give finite (if uninformative) tables.

    Example:
        >>> import jax.random as jr
        >>> from wsbench.synthetic import sample_independent
        >>> sim = sample_independent(jr.key(0), n=2000, m=8, accuracy=0.8, propensity=0.6)
        >>> fitted = MatrixCompletion(n_iter=300).fit(sim.weak, key=jr.key(1))
        >>> fitted.conditionals().shape
        (8, 3, 2)
    """

    n_iter: int = eqx.field(static=True, default=500, converter=as_int)
    """Optimizer steps (``lax.scan`` length)."""
    lr: float | Array = 0.01
    """Learning rate (cosine-decayed to 1% over ``n_iter``); vmappable."""
    l2: float | Array = 0.0
    """Weight of ``||mu - mu_0||^2`` (pull towards the initial guess); vmappable."""
    prec_init: float | Array = 0.7
    """Initial guess of every LF's precision ``P(vote correct | LF votes)``, i.e. its accuracy on
    the rows it covers (snorkel's name and meaning; it also breaks the latent permutation
    symmetry); vmappable."""
    prior_power: float | Array = 1.0
    """Exponent on the class balance the fit uses (given or estimated, see ``class_balance_from``): the prior
    is ``p ** prior_power`` renormalised, so 1 keeps it and 0 is uniform (snorkel's default);
    vmappable, so ``dev_labels=select`` can choose on valid between the valid split's class prior,
    uniform and points in between (``conf/select_grid/matrix_completion.yaml``)."""
    init_noise: float | Array = 0.0
    """Relative Gaussian jitter of the starting point, drawn from ``key`` (0: deterministic); vmappable."""
    optimizer: Literal["adam", "sgd"] = eqx.field(static=True, default="adam")
    """optax optimizer."""
    class_balance_from: Literal["auto", "data", "unsupervised", "uniform"] = eqx.field(
        static=True, default="auto"
    )
    """Where the class balance comes from (see the class docstring)."""
    edges: tuple[tuple[int, int], ...] = eqx.field(
        static=True, default=(), converter=lambda e: _as_edges(as_edge_list(e))
    )
    """Known dependency edges ``(i, j)`` between LFs (a forest)."""
    init: Literal["coverage", "marginal", "snorkel"] = eqx.field(static=True, default="coverage")
    """``"coverage"``: every LF votes with its coverage, correct with probability ``prec_init``
    (symmetric off-diagonals). ``"marginal"``: every LF's vote ``a`` multiplies the odds of class
    ``a`` by the same ratio ``r = prec_init (k - 1) / (1 - prec_init)`` (the likelihood ratio of a
    symmetric LF of accuracy ``prec_init``), each vote row scaled to the LF's observed vote rate,
    ``mu[j, a, y] = P(lambda_j = a) w_ay / sum_t w_at P(Y = t)`` with ``w_aa = r``, else 1: the
    moment-consistent guess under which the posterior is majority vote weighted by ``log r`` plus
    the class prior (equal to ``"coverage"`` when the votes and the prior are uniform; single-task
    layouts only). A large ``l2`` holds the fit there. ``"snorkel"``: snorkel 0.10's recipe: only the diagonal
    ``mu[j, y, y] = init_scale * clip(coverage_j * prec_init / P(y), 0, 1)`` (off-diagonals 0), no
    clipping between steps, and the final ``mu`` clamped to ``[mu_eps, 1 - mu_eps]`` with snorkel's
    ``mu_eps = min(0.01, 10^-ceil(log10 n))`` before the posterior is formed."""
    init_scale: float | Array = 1.0
    """Factor on the initial ``mu`` (snorkel draws it uniformly from [0, 1)); vmappable."""
    schedule: Literal["cosine", "constant"] = eqx.field(static=True, default="cosine")
    """Learning-rate schedule: cosine decay to 1% over ``n_iter``, or constant (snorkel's)."""
    anchor: bool = eqx.field(static=True, default=True)
    """Identifiability constraint ``P(lambda_j = a | Y = a) >= P(lambda_j = a | Y = y)`` for every LF
    ``j`` and vote ``a`` (projection after every step, ``_class_balance.anchor_rows``): an LF that votes
    ``a`` does so most often on class ``a``. Without it the objective has a degenerate family of
    solutions in which one-sided LFs stop supporting their own class."""

    def __check_init__(self):
        own = "MatrixCompletion"
        check_choice(own, "optimizer", self.optimizer, ("adam", "sgd"))
        check_choice(own, "init", self.init, ("coverage", "marginal", "snorkel"))
        check_choice(own, "schedule", self.schedule, ("cosine", "constant"))
        check_choice(own, "class_balance_from", self.class_balance_from, BALANCE_MODES)
        check_bool(own, "anchor", self.anchor)
        check_int(own, "n_iter", self.n_iter)
        check_real(own, "lr", self.lr, low=0.0, low_open=True, meaning="learning rate")
        check_real(
            own, "l2", self.l2, low=0.0, meaning="weight of the pull towards the initial guess"
        )
        check_real(
            own, "prec_init", self.prec_init, low=0.0, high=1.0, meaning="initial LF accuracy"
        )
        check_real(own, "init_noise", self.init_noise, low=0.0)
        check_real(own, "prior_power", self.prior_power, low=0.0, meaning="exponent on the prior")
        check_real(own, "init_scale", self.init_scale, low=0.0, low_open=True)

    def _needs_triples(self, class_balance) -> bool:
        return self.class_balance_from == "unsupervised" or (
            self.class_balance_from == "auto" and class_balance is None
        )

    def statistics(self, data: WeakLabels) -> OverlapStats:
        """The sufficient statistics of ``data`` (one pass over ``L``); see ``fit_from_stats``."""
        data = check_weak_labels(data)
        self._check_structure(data.m, data.n_classes)
        if self.class_balance_from == "data" and data.class_balance is None:
            raise ValueError(
                "MatrixCompletion(class_balance_from='data') needs WeakLabels.class_balance (run with "
                "dev_labels=class_balance), or use class_balance_from='auto'/'unsupervised'/'uniform'."
            )
        return overlap_stats(
            data.L,
            data.n_classes,
            self.edges,
            class_balance=data.class_balance,
            triples=self._needs_triples(data.class_balance),
        )

    def _check_structure(self, m: int, k: int) -> _Structure:
        s = _structure(m, k, self.edges)
        if s.n_components < 3:
            raise ValueError(
                f"MatrixCompletion needs at least 3 conditionally independent LFs (groups of LFs, when "
                f"dependency edges are given); got {s.n_components} from m={m} LFs. The model is not "
                "identifiable with fewer: use MajorityVote or DawidSkene instead."
            )
        return s

    def fit(self, data: WeakLabels, *, key: PRNGKeyArray) -> MatrixCompletionFitted:
        check_key("MatrixCompletion.fit", key)
        return self.fit_from_stats(self.statistics(data), key=key)

    def fit_from_stats(self, stats: OverlapStats, *, key: PRNGKeyArray) -> MatrixCompletionFitted:
        """Fit from precomputed ``OverlapStats`` (pure; vmap over estimators/keys reuses ``stats``)."""
        check_key("MatrixCompletion.fit_from_stats", key)
        k, m = stats.n_classes, stats.coverage.shape[0]
        if stats.edges != self.edges:
            raise ValueError(
                f"stats were computed for edges {stats.edges}, the model has {self.edges}."
            )
        self._check_structure(m, k)
        if self._needs_triples(stats.class_balance) and stats.third_moments.shape[0] == 0:
            raise ValueError(
                "these stats have no triple overlaps, which the unsupervised class balance needs; "
                "compute them with MatrixCompletion.statistics(data) (or overlap_stats(..., triples=True))."
            )
        est = as_array_hyperparameters(self)
        if self._needs_triples(stats.class_balance) and not is_traced(stats.second_moments):
            # eagerly, the unsupervised class balance is a program of its own: XLA's memory for
            # compiling it together with the main fit is the larger part of a fit's peak memory
            prior = _class_balance_from_stats(est, stats)
            stats = dataclasses.replace(stats, class_balance=prior)
            est = dataclasses.replace(est, class_balance_from="data")  # the same prior, now given
        return _fit_from_stats(est, stats, key)

    def _fit_impl(self, stats: OverlapStats, key: PRNGKeyArray) -> MatrixCompletionFitted:
        k, m = stats.n_classes, stats.coverage.shape[0]
        layout = stats.layout or Layout.single(
            m, k, self.edges
        )  # multi-task: MultitaskMatrixCompletion
        s = _structure_of(layout)
        prior = self._prior(stats, s)
        if self.init == "snorkel":
            mu_init = _snorkel_init_mu(stats.second_moments, prior, s, self.prec_init)
            mu0 = mu_init * self.init_scale  # snorkel: l2 pulls towards the unscaled guess
        elif self.init == "marginal":
            if not s.layout.is_single:
                raise ValueError(
                    "MatrixCompletion(init='marginal') supports single-task layouts only; use "
                    "init='coverage' for multi-task label matrices."
                )
            mu_init = _marginal_init_mu(stats.second_moments, prior, s, self.prec_init)
            mu0 = mu_init * self.init_scale
        else:
            mu_init = _init_mu(stats.coverage, s, self.prec_init)
            mu0 = mu_init * self.init_scale
        mu0 = jnp.clip(mu0 * (1.0 + self.init_noise * jr.normal(key, mu0.shape)), 0.0, 1.0)
        mu, trace = self._optimise(
            stats.second_moments, prior, mu_init, mu0, jnp.asarray(s.mask), s.n_single
        )
        if not self.anchor:
            # align latent classes (only among classes of equal prior, which leaves the objective
            # unchanged); with the anchor the constraint itself names the classes
            clash = jnp.abs(prior[:, None] - prior[None, :]) > 1e-6
            cost = -_agreement(mu, s) + 1e3 * clash
            mu = mu[:, min_cost_permutation(cost)]
        if self.init == "snorkel":
            eps = jnp.minimum(0.01, 10.0 ** -jnp.ceil(jnp.log10(stats.n_rows)))
            mu = jnp.clip(mu, eps, 1.0 - eps)
        tables, cliques = _tables_from_mu(mu, s)
        return _finalize(tables, cliques, prior, self.edges, {"loss": trace}, stats.layout)

    def _prior(self, stats: OverlapStats, s: _Structure) -> Float[Array, " k"]:
        p = self._balance(stats, s)
        tempered = jnp.exp(self.prior_power * jnp.log(jnp.maximum(p, 1e-30)))
        # prior_power = 1 returns p bit for bit (exp(log p) is not exact)
        return jnp.where(self.prior_power == 1.0, p, tempered / tempered.sum())

    def _balance(self, stats: OverlapStats, s: _Structure) -> Float[Array, " k"]:
        k = stats.n_classes
        if self.class_balance_from == "uniform":
            return jnp.full((k,), 1.0 / k, jnp.float32)
        if self.class_balance_from in ("auto", "data") and stats.class_balance is not None:
            return jnp.asarray(stats.class_balance, jnp.float32)
        mk = s.m * k
        p, _ = fit_class_balance(
            stats.second_moments[:mk, :mk],
            stats.third_moments,
            s.mask[:mk, :mk],
            s.triples,
            stats.coverage,
            k=k,
            anchor=self.anchor,
        )
        return jax.lax.stop_gradient(p)

    def _optimise(self, O, prior, mu_init, mu0, mask, n_single: int):
        diag = jnp.diagonal(O)
        l2 = self.l2

        def loss(mu):
            resid = mask * (O - (mu * prior[None, :]) @ mu.T)
            marg = mu @ prior - diag
            return jnp.sum(resid**2) + jnp.sum(marg**2) + l2 * jnp.sum((mu - mu_init) ** 2)

        if self.schedule == "cosine":
            schedule = optax.cosine_decay_schedule(self.lr, self.n_iter, alpha=0.01)
        else:
            schedule = self.lr
        opt = (
            optax.adam(schedule) if self.optimizer == "adam" else optax.sgd(schedule, momentum=0.9)
        )

        k = prior.shape[0]

        def project(mu):
            if self.init == "snorkel":  # snorkel clamps once, after the last step
                return mu
            mu = jnp.clip(mu, 0.0, 1.0)
            if self.anchor:
                single = anchor_rows(mu[:n_single].reshape(-1, k, k))
                mu = mu.at[:n_single].set(single.reshape(n_single, k))
            return mu

        def step(carry, _):
            mu, state = carry
            value, grad = jax.value_and_grad(loss)(mu)
            updates, state = opt.update(grad, state, mu)
            return (project(optax.apply_updates(mu, updates)), state), value

        (mu, _), trace = jax.lax.scan(step, (mu0, opt.init(mu0)), None, length=self.n_iter)
        return mu, trace


@eqx.filter_jit
def _class_balance_from_stats(est: MatrixCompletion, stats: OverlapStats) -> Float[Array, " k"]:
    m = stats.coverage.shape[0]
    layout = stats.layout or Layout.single(m, stats.n_classes, est.edges)
    return est._balance(stats, _structure_of(layout))  # the power applies in the fit


@eqx.filter_jit
def _fit_from_stats(
    est: MatrixCompletion, stats: OverlapStats, key: PRNGKeyArray
) -> MatrixCompletionFitted:
    return est._fit_impl(stats, key)


def _agreement(mu, s: _Structure) -> Float[Array, "k k"]:
    """``[y', y] = sum_j mu_j[label_of[j, y'], y]``: how much the LFs credit latent y with the votes
    that are correct under y' (the single-task case: ``sum_j mu_j[y', y]``)."""
    m, k = s.m, s.k
    if s.layout.is_single:
        return mu[: m * k].reshape(m, k, k).sum(axis=0)
    rows = s.offsets[:-1][:, None] + np.maximum(s.label_of, 0)  # [j, y'] row of mu
    credit = mu[rows] * (s.label_of >= 0)[:, :, None]  # [j, y', y]
    return credit.sum(axis=0)


def _init_mu(coverage, s: _Structure, prec_init) -> Float[Array, "d k"]:
    """Initial guess: each LF votes with its coverage, correct with probability ``prec_init`` (LFs
    whose task does not apply under a latent value: uniform over their votes)."""
    k = s.k
    if s.layout.is_single:
        eye = jnp.eye(k, dtype=jnp.float32)
        conf = prec_init * eye + (1.0 - prec_init) / (k - 1) * (1.0 - eye)  # [a, y]
        blocks = list(coverage[:, None, None] * conf[None])  # [j][a, y]
    else:
        blocks = []
        for j in range(s.m):
            c, lab = int(s.out[j]), s.label_of[j]
            hit = np.arange(c)[:, None] == lab[None, :]  # [a, y]
            conf = jnp.where(hit, prec_init, (1.0 - prec_init) / (c - 1))
            conf = jnp.where((lab >= 0)[None, :], conf, 1.0 / c)
            blocks.append(coverage[j] * conf)
    parts = [jnp.concatenate(blocks, axis=0)]  # [sum_j out_j, y]
    for i, j in s.edges:
        pair = blocks[i][:, None, :] * blocks[j][None, :, :]  # [a, b, y]
        parts.append(pair.reshape(-1, k))
    return jnp.concatenate(parts, axis=0).astype(jnp.float32)


def _marginal_init_mu(O, prior, s: _Structure, prec_init) -> Float[Array, "d k"]:
    """``init="marginal"``: ``mu[j, a, y] = P(lambda_j = a) w_ay / sum_t w_at P(Y = t)``, ``w_aa = r``,
    ``w_ay = 1`` (``r = prec_init (k - 1) / (1 - prec_init)``); clique rows are the products of
    their LFs' rows (independent given Y)."""
    k, mk = s.k, s.m * s.k
    lps = jnp.diagonal(O)[:mk].reshape(s.m, k)  # P(lambda_j = a)
    r = prec_init * (k - 1) / jnp.maximum(1.0 - prec_init, EPS)
    w = 1.0 + (r - 1.0) * jnp.eye(k, dtype=jnp.float32)  # [a, y]
    conf = w / (w @ prior)[:, None]  # [a, y], sum_y conf[a, y] P(y) = 1
    blocks = lps[:, :, None] * conf[None]  # [j, a, y]
    parts = [blocks.reshape(mk, k)]
    for i, j in s.edges:
        parts.append((blocks[i][:, None, :] * blocks[j][None, :, :]).reshape(-1, k))
    return jnp.concatenate(parts, axis=0).astype(jnp.float32)


def _snorkel_init_mu(O, prior, s: _Structure, prec_init) -> Float[Array, "d k"]:
    """snorkel 0.10 ``LabelModel._init_params``: ``mu[j k + y, y] = clip(P(lambda_j = y) prec_init /
    P(Y = y), 0, 1)``, every other entry 0 (clique rows included)."""
    k, mk = s.k, s.m * s.k
    lps = jnp.diagonal(O)[:mk].reshape(s.m, k)  # P(lambda_j = y)
    diag = jnp.clip(lps * prec_init / prior[None, :], 0.0, 1.0)  # [j, y]
    single = diag[:, :, None] * jnp.eye(k, dtype=jnp.float32)[None]  # [j, a, y]
    return jnp.zeros((s.n_vars, k), jnp.float32).at[:mk].set(single.reshape(mk, k))


def _tables_from_mu(mu, s: _Structure):
    """Full tables with abstain rows from the fitted non-abstain means.

    General layouts: LF blocks are zero-padded to ``kmax`` votes, so tables are ``(m, kmax+1, k)``
    and clique tables ``(e, kmax+1, kmax+1, k)``.
    """
    if not s.layout.is_single:
        return _padded_tables_from_mu(mu, s)
    m, k = s.m, s.k
    single = mu[: m * k].reshape(m, k, k)  # [j, a, y]
    total = single.sum(axis=1, keepdims=True)
    single = single / jnp.maximum(total, 1.0)  # at most probability 1 of voting
    tables = jnp.concatenate([1.0 - single.sum(axis=1, keepdims=True), single], axis=1)
    e = len(s.edges)
    if not e:
        return tables, jnp.zeros((0, k + 1, k + 1, k), jnp.float32)
    ei = np.array([p[0] for p in s.edges])
    ej = np.array([p[1] for p in s.edges])
    pair = mu[m * k :].reshape(e, k, k, k)  # [e, a, b, y]
    vi, vj = single[ei], single[ej]  # [e, a, y]
    pair = jnp.minimum(pair, jnp.minimum(vi[:, :, None, :], vj[:, None, :, :]))
    i_only = jnp.maximum(vi - pair.sum(axis=2), 0.0)  # lambda_i = a, lambda_j abstains
    j_only = jnp.maximum(vj - pair.sum(axis=1), 0.0)
    none = jnp.maximum(1.0 - vi.sum(axis=1) - vj.sum(axis=1) + pair.sum(axis=(1, 2)), 0.0)  # [e, y]
    top = jnp.concatenate([none[:, None, None, :], j_only[:, None, :, :]], axis=2)  # [e, 1, k+1, y]
    rest = jnp.concatenate([i_only[:, :, None, :], pair], axis=2)  # [e, k, k+1, y]
    return tables, jnp.concatenate([top, rest], axis=1)


def _padded_tables_from_mu(mu, s: _Structure):
    """``_tables_from_mu`` for LFs of different output cardinalities (zero padding to ``kmax``)."""
    k, kmax = s.k, s.kmax
    blocks = []
    for j in range(s.m):
        b = mu[s.offsets[j] : s.offsets[j + 1]]  # [a, y]
        b = b / jnp.maximum(b.sum(axis=0, keepdims=True), 1.0)
        blocks.append(jnp.pad(b, ((0, kmax - b.shape[0]), (0, 0))))
    single = jnp.stack(blocks)  # [j, kmax, y]
    tables = jnp.concatenate([1.0 - single.sum(axis=1, keepdims=True), single], axis=1)
    if not s.edges:
        return tables, jnp.zeros((0, kmax + 1, kmax + 1, k), jnp.float32)
    cliques = []
    for e, (i, j) in enumerate(s.edges):
        ci, cj = int(s.out[i]), int(s.out[j])
        pair = mu[s.pair_offsets[e] : s.pair_offsets[e + 1]].reshape(ci, cj, k)
        vi, vj = single[i, :ci], single[j, :cj]  # [a, y]
        pair = jnp.minimum(pair, jnp.minimum(vi[:, None, :], vj[None, :, :]))
        i_only = jnp.maximum(vi - pair.sum(axis=1), 0.0)
        j_only = jnp.maximum(vj - pair.sum(axis=0), 0.0)
        none = jnp.maximum(1.0 - vi.sum(axis=0) - vj.sum(axis=0) + pair.sum(axis=(0, 1)), 0.0)
        top = jnp.concatenate([none[None, None], j_only[None]], axis=1)  # [1, cj+1, y]
        rest = jnp.concatenate([i_only[:, None], pair], axis=1)  # [ci, cj+1, y]
        full = jnp.concatenate([top, rest], axis=0)
        cliques.append(jnp.pad(full, ((0, kmax - ci), (0, kmax - cj), (0, 0))))
    return tables, jnp.stack(cliques)
