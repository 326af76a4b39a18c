"""Unsupervised class balance from three-way LF overlaps (the class-balance model of Snorkel MeTaL).

Pairwise overlaps of conditionally independent LFs identify ``mu P mu^T`` only, so ``P(Y)`` and the scale
of ``mu`` trade off (``mu P^{1/2}`` fits as well). Three-way overlaps of LF triples that are mutually
conditionally independent given Y,

.. math::

    O_{abc}[x, y, z] = P(\\lambda_a = x, \\lambda_b = y, \\lambda_c = z)
                    = \\sum_t P(Y = t)\\, \\mu_a[x, t]\\, \\mu_b[y, t]\\, \\mu_c[z, t],

form a CP decomposition whose weights are the class balance (identifiable up to a permutation of classes
by Kruskal's theorem when the LFs are informative). We fit ``P(Y)`` (softmax logits) and the per-LF
non-abstain conditionals ``mu`` jointly on the pairwise and three-way moments with Adam inside
``lax.scan``, then align the classes so that the LFs are better than random on average (Hungarian).

References:
    Ratner, Hancock, Dunnmon, Sala, Pandey, Ré. "Training Complex Models with Multi-Task Weak
    Supervision." AAAI 2019 (the class-balance model of the Snorkel MeTaL code release).
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float

from ..metrics import min_cost_permutation

MAX_TRIPLES = 200
"""At most this many LF triples enter the three-way overlaps (cost ``O(n * MAX_TRIPLES)``)."""
MAX_TRIPLE_ENTRIES = 200_000
"""...and at most this many third-moment entries ``t * k**3`` (the fit costs ``O(t k^4)`` per step)."""


def choose_triples(comp: np.ndarray, k: int) -> np.ndarray:
    """LF triples ``(a, b, c)``, ``a < b < c``, in three different dependency components.

    Every admissible triple when there are at most ``max_t = clip(MAX_TRIPLE_ENTRIES // k**3, 1,
    MAX_TRIPLES)`` of them (so that appending an LF only adds triples containing it); otherwise ``max_t``
    of them, evenly spaced in lexicographic order (deterministic). Returns an ``(t, 3)`` int array (``t`` may be 0).
    """
    m = len(comp)
    triples = [
        t
        for t in itertools.combinations(range(m), 3)
        if len({comp[t[0]], comp[t[1]], comp[t[2]]}) == 3
    ]
    max_t = int(np.clip(MAX_TRIPLE_ENTRIES // k**3, 1, MAX_TRIPLES))
    if len(triples) > max_t:
        pick = np.unique(np.linspace(0, len(triples) - 1, max_t).round().astype(int))
        triples = [triples[i] for i in pick]
    return np.asarray(triples, dtype=np.int32).reshape(-1, 3)


def anchor_rows(mu: Float[Array, "m a y"]) -> Float[Array, "m a y"]:
    """Project every vote row ``mu[j, a, :]`` onto ``{mu[j, a, a] >= mu[j, a, y] for all y}``.

    The identifiability constraint for one-sided LFs: an LF that votes ``a`` does so most often on
    class ``a`` (its own class wins; for symmetric confusions this is "better than random",
    accuracy >= 1/k). Without it a converged fit can move an LF's votes onto another class at no
    cost in the moment objective. Euclidean projection: the diagonal and every larger entry are
    pooled to their mean, ``t = max_s (mu_aa + sum of the s largest others) / (s + 1)``.
    """
    k = mu.shape[-1]
    eye = jnp.eye(k, dtype=bool)
    d = jnp.diagonal(mu, axis1=1, axis2=2)  # [j, a]
    others = jnp.where(eye[None], -jnp.inf, mu)
    top = -jnp.sort(-others, axis=-1)[..., : k - 1]  # [j, a, k-1] descending
    csum = jnp.cumsum(top, axis=-1)
    pooled = (d[..., None] + csum) / jnp.arange(2, k + 1, dtype=mu.dtype)[None, None, :]
    t = jnp.maximum(d, pooled.max(axis=-1))  # [j, a]
    capped = jnp.minimum(mu, t[..., None])
    return jnp.where(eye[None], t[..., None], capped)


JACKKNIFE_GROUPS = 10
"""LFs are split into at most this many groups (round robin) for the jackknife of the balance."""
IDENTIFIED_Z = 2.0
"""The learned balance is kept when ``||p - uniform|| > IDENTIFIED_Z * SE`` (about a 5% test)."""


def _jackknife_weights(m: int) -> np.ndarray:
    """``(G, m)`` LF weights of the delete-a-group jackknife: ``G = min(m, JACKKNIFE_GROUPS)``
    groups of LFs assigned round robin, row ``g`` is 0 on group ``g`` and 1 elsewhere."""
    g = min(m, JACKKNIFE_GROUPS)
    groups = np.arange(m) % g
    return np.stack([groups != i for i in range(g)]).astype(np.float32)


def _well_identified(p: Float[Array, " k"], refit, m: int, k: int) -> Array:
    """Is the unsupervised balance ``p`` significantly different from uniform?

    Under the model (LFs conditionally independent given Y) every subset of the LFs estimates the
    same ``P(Y)``, so the estimate should barely move when a few LFs are left out. The delete-a-group
    jackknife (``G = min(m, JACKKNIFE_GROUPS)`` groups of LFs assigned round robin; ``refit(w)``
    fits with LF weights ``w``, 0 for the left-out group) gives the standard error
    ``SE^2 = (G - 1) / G * sum_g ||p_(g) - mean||^2``, and ``p`` is trusted only when
    ``||p - 1/k|| > IDENTIFIED_Z * SE``. When the balance is identified by the conditional
    independence structure the error is small (a few 0.01 with a few thousand rows); when it is
    driven by dependent LFs or a few triples it is large, and uniform (snorkel's default) is used.
    """
    loo = jax.vmap(refit)(jnp.asarray(_jackknife_weights(m)))  # [g, k]
    return _jackknife_identified(p, loo, k)


def _jackknife_identified(p: Float[Array, " k"], loo: Float[Array, "g k"], k: int) -> Array:
    """``_well_identified`` given the leave-a-group-out estimates ``loo``."""
    g = loo.shape[0]
    se2 = (g - 1) / g * jnp.sum((loo - loo.mean(axis=0, keepdims=True)) ** 2)
    dist2 = jnp.sum((p - 1.0 / k) ** 2)
    return dist2 > IDENTIFIED_Z**2 * se2


def fit_class_balance(
    O_single: Float[Array, "mk mk"],
    O3: Float[Array, "t k3"],
    mask_single: np.ndarray,
    triples: np.ndarray,
    coverage: Float[Array, " m"],
    *,
    k: int,
    n_iter: int = 1000,
    lr: float = 0.02,
    prec_init: float = 0.7,
    logit_lr_scale: float = 30.0,
    anchor: bool = True,
) -> tuple[Float[Array, " k"], Float[Array, " n_iter"]]:
    """Fit ``P(Y)`` from pairwise and three-way overlaps of LF indicator vectors.

    Args:
        O_single: ``(m k, m k)`` second moments of the LFs' one-hot (non-abstain) vote indicators.
        O3: ``(t, k^3)`` third moments of the triples (frequencies).
        mask_single: ``(m k, m k)`` 1 where two LFs are conditionally independent given Y (different
            dependency components), else 0.
        triples: ``(t, 3)`` LF indices of the triples.
        coverage: ``(m,)`` fraction of rows each LF votes on (initialisation).
        k: number of classes; n_iter, lr: Adam steps and learning rate; prec_init: initial accuracy guess.
        anchor: project the LF vote rows with :func:`anchor_rows` after every step.

    The same fit is also run with the class balance frozen at uniform; the learned balance is kept
    only if its final loss is lower *and* it is well identified (:func:`_well_identified`: it
    departs from uniform by more than twice its jackknife standard error over groups of LFs). With
    sparse LFs the three-way overlaps are almost all zero, the
    objective is flat in the balance and Adam's normalised steps can walk it into a corner of the
    simplex with a *worse* loss than uniform (an optimisation failure, not the objective's optimum):
    the comparison makes the estimate never worse, in the objective, than not estimating it. With
    dependent LFs (real LF sets) the lower loss can come from the balance absorbing the misfit of
    the dependencies (youtube: 0.76/0.24 for a 0.53/0.47 truth, loss lower than uniform); such an
    estimate then changes a lot when a few LFs are left out, which the jackknife detects.

    Returns:
        ``(class_balance, loss_trace)`` (the trace of the run whose balance is returned).
    """
    m = coverage.shape[0]
    eye = jnp.eye(k, dtype=jnp.float32)
    off = (1.0 - prec_init) / (k - 1)
    mu0 = coverage[:, None, None] * (prec_init * eye + off * (1.0 - eye))[None]  # [j, a, y]
    diag = jnp.diagonal(O_single)
    mask = jnp.asarray(mask_single, jnp.float32)
    ta, tb, tc = (jnp.asarray(triples[:, i]) for i in range(3))

    def loss(params, w):
        """The moment objective with LF ``j``'s terms weighted by ``w[j]`` (0: leave it out)."""
        logits, mu = params
        p = jax.nn.softmax(logits)
        flat = mu.reshape(m * k, k)
        wr = jnp.repeat(w, k)
        pair = mask * wr[:, None] * wr[None, :] * (O_single - (flat * p[None, :]) @ flat.T)
        marg = wr * (flat @ p - diag)
        model3 = jnp.einsum("y,txy,tuy,tvy->txuv", p, mu[ta], mu[tb], mu[tc]).reshape(-1, k**3)
        w3 = (w[ta] * w[tb] * w[tc])[:, None]
        return jnp.sum(pair**2) + jnp.sum(marg**2) + jnp.sum(w3 * (O3 - model3) ** 2)

    # the class balance lies along a flat valley of the objective: give its logits a larger step
    opt = optax.multi_transform(
        {
            "logits": optax.adam(
                optax.cosine_decay_schedule(lr * logit_lr_scale, n_iter, alpha=0.01)
            ),
            "mu": optax.adam(optax.cosine_decay_schedule(lr, n_iter, alpha=0.01)),
        },
        ("logits", "mu"),
    )
    params0 = (jnp.zeros((k,), jnp.float32), mu0)

    def run(learn_prior, w):
        def step(carry, _):
            params, state = carry
            value, grads = jax.value_and_grad(loss)(params, w)
            grads = (grads[0] * learn_prior, grads[1])
            updates, state = opt.update(grads, state, params)
            logits, mu = optax.apply_updates(params, updates)
            mu = jnp.clip(mu, 0.0, 1.0)
            if anchor:
                mu = anchor_rows(mu)
            return ((logits, mu), state), value

        (params, _), trace = jax.lax.scan(step, (params0, opt.init(params0)), None, length=n_iter)
        return params, trace, loss(params, w)

    # the three fits (balance learned, balance frozen at uniform, and the jackknife's G refits with
    # a group of LFs left out) are one vmapped run: XLA compiles one loop body instead of three
    # (compiling this program was the largest part of a MatrixCompletion fit's peak memory)
    ones = np.ones((1, m), np.float32)
    weights = jnp.asarray(np.concatenate([ones, ones, _jackknife_weights(m)]))  # [2 + G, m]
    learn = jnp.asarray(np.r_[1.0, 0.0, np.ones(len(weights) - 2)], jnp.float32)
    (all_logits, all_mu), all_trace, all_final = jax.vmap(run)(learn, weights)
    logits, mu, trace, final = all_logits[0], all_mu[0], all_trace[0], all_final[0]
    mu_u, trace_u, final_u = all_mu[1], all_trace[1], all_final[1]
    loo = jax.nn.softmax(all_logits[2:], axis=-1)
    better = (final < final_u) & _jackknife_identified(jax.nn.softmax(logits), loo, k)
    logits = jnp.where(better, logits, 0.0)
    mu = jnp.where(better, mu, mu_u)
    trace = jnp.where(better, trace, trace_u)
    p = jax.nn.softmax(logits)
    if anchor:  # the constraint names the classes
        return p, trace
    # align latent classes so that the LFs agree with the class they are credited to, on average
    cost = -jnp.sum(mu, axis=0)  # [a (label), y (latent)]
    perm = min_cost_permutation(cost)
    return p[perm], trace
