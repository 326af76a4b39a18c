r"""TANDA: train a TF-sequence generator adversarially against a discriminator on unlabeled data.

Ratner, Ehrenberg, Hussain, Dunnmon, Ré, "Learning to Compose Domain-Specific Transformations for
Data Augmentation", NeurIPS 2017, section 3. With $x_t$ the point after the first $t$ TFs of
$\tau \sim \pi_\theta$ ($x_0 = x$) and the discriminator's probability $D_\phi(x) = \sigma(f_\phi(x))$
that a point is real, the generator's loss on every prefix is

$$\ell_t = -\log D_\phi(x_t) + \alpha\, \mathrm{div}(x_t, x),$$

with the diversity term $\mathrm{div} = \max(0, m - d(x_t, x))$ (hinge: a transformed point must move
at least $m$ from its original, eq. 4's distance penalty) or $1 / (d(x_t, x) + \epsilon)$
("inverse", the reference implementation's choice); $d$ is the mean squared difference (token
mismatch rate for :class:`~wsbench.augment.Tokens`). The per-step cost is the change
$c_t = \ell_t - \ell_{t-1}$ and REINFORCE minimises

$$\frac{1}{B} \sum_{b} \sum_{t} \log \pi_\theta(\tau_{b,t} \mid \tau_{b,<t})\,
  \big(R_{b,t} - \bar R_t\big), \qquad R_{b,t} = \sum_{s \ge t} \gamma^{s-t} c_{b,s},$$

($\bar R_t$: the batch mean, a baseline). The discriminator minimises the logistic loss of real
points vs fully transformed ones. One :meth:`Tanda.step` (sample, transform, both optax updates)
is one jitted function; :func:`train_tanda` scans it.
"""

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from ._generator import AbstractGenerator
from ._text import Tokens
from .tfs import TFSet

__all__ = [
    "DIVERSITY",
    "Tanda",
    "TandaState",
    "default_distance",
    "reinforce_surrogate",
    "reward_to_go",
    "train_tanda",
]


DIVERSITY = ("hinge", "inverse")
"""The diversity terms :class:`Tanda` offers (its ``diversity`` field)."""


def default_distance(x, y) -> Float[Array, ""]:
    """Mean squared difference for arrays; fraction of differing token ids for ``Tokens``."""
    if isinstance(x, Tokens):
        return jnp.mean((x.ids != y.ids).astype(jnp.float32))
    return jnp.mean((jnp.asarray(x, jnp.float32) - jnp.asarray(y, jnp.float32)) ** 2)


def reward_to_go(costs: Float[Array, "B L"], gamma) -> Float[Array, "B L"]:
    """``R[:, t] = sum_{s >= t} gamma**(s - t) * costs[:, s]`` (discounted future cost)."""

    def step(acc, c):
        acc = c + gamma * acc
        return acc, acc

    _, out = jax.lax.scan(step, jnp.zeros(costs.shape[0], costs.dtype), costs.T[::-1])
    return out[::-1].T


def reinforce_surrogate(
    log_probs: Float[Array, "B L"],
    costs: Float[Array, "B L"],
    *,
    gamma=1.0,
    baseline: Literal["batch_mean", "none"] = "batch_mean",
) -> Float[Array, " B"]:
    """Per-sequence REINFORCE surrogate whose gradient estimates that of the expected cost.

    ``sum_t log_probs[:, t] * stop_gradient(R[:, t] - baseline_t)``; its batch mean is the loss.
    """
    R = reward_to_go(costs, gamma)
    if baseline == "batch_mean":
        R = R - R.mean(axis=0, keepdims=True)
    elif baseline != "none":
        raise ValueError(f"baseline must be 'batch_mean' or 'none', got {baseline!r}.")
    return jnp.sum(log_probs * jax.lax.stop_gradient(R), axis=1)


class TandaState(eqx.Module):
    """Generator, discriminator and their optimiser states (a pytree; nothing is mutated)."""

    generator: AbstractGenerator
    discriminator: eqx.Module
    g_opt_state: optax.OptState
    d_opt_state: optax.OptState


def _take(x, idx):
    return jax.tree.map(lambda a: a[idx], x)


class Tanda(eqx.Module):
    """The TANDA training recipe (hyperparameters as fields).

    Example:
        >>> import jax.numpy as jnp, jax.random as jr
        >>> from wsbench.augment import (ImageDiscriminator, MeanFieldGenerator, Tanda,
        ...     cifar_tfs)
        >>> tfs = cifar_tfs(); x = jr.uniform(jr.key(0), (16, 8, 8, 3))
        >>> tanda = Tanda(tfs=tfs, n_steps=2, batch_size=4)
        >>> policy, trace = tanda.fit(x, MeanFieldGenerator(len(tfs), 2),
        ...     ImageDiscriminator(3, width=4, key=jr.key(1)), key=jr.key(2))
        >>> trace["d_loss"].shape
        (2,)
    """

    tfs: TFSet
    g_lr: float = 1e-2
    """Generator Adam learning rate (the TANDA runner sets it per learned policy:
    ``generator.<policy>.lr`` in ``conf/tanda.yaml``, 1e-3 for the LSTM)."""
    d_lr: float = 1e-3
    """Discriminator Adam learning rate."""
    gamma: float = 1.0
    """Discount of future per-step costs."""
    diversity_weight: float = 1.0
    """alpha, weight of the diversity term (0 = none)."""
    diversity_margin: float = 0.01
    """m, the hinge margin on the distance to the original."""
    diversity: Literal["hinge", "inverse"] = eqx.field(static=True, default="hinge")
    n_steps: int = eqx.field(static=True, default=1000)
    batch_size: int = eqx.field(static=True, default=64)
    n_disc_steps: int = eqx.field(static=True, default=1)
    """Discriminator updates per generator update."""

    def __check_init__(self):
        if self.diversity not in DIVERSITY:
            raise ValueError(f"diversity must be 'hinge' or 'inverse', got {self.diversity!r}.")
        for name in ("n_steps", "batch_size", "n_disc_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}.")

    def _g_opt(self):
        return optax.adam(self.g_lr)

    def _d_opt(self):
        return optax.adam(self.d_lr)

    def init(self, generator: AbstractGenerator, discriminator: eqx.Module) -> TandaState:
        if generator.n_tfs != len(self.tfs):
            raise ValueError(
                f"generator has n_tfs={generator.n_tfs} but the TF set has {len(self.tfs)} TFs."
            )
        return TandaState(
            generator=generator,
            discriminator=discriminator,
            g_opt_state=self._g_opt().init(eqx.filter(generator, eqx.is_inexact_array)),
            d_opt_state=self._d_opt().init(eqx.filter(discriminator, eqx.is_inexact_array)),
        )

    def _div(self, d):
        if self.diversity == "hinge":
            return jax.nn.relu(self.diversity_margin - d)
        return 1.0 / (d + 1e-6)

    def prefix_losses(self, disc, x, prefixes) -> Float[Array, "B L1"]:
        """The generator's loss ``l_t`` for each point and prefix ``t = 0 .. L``."""
        logits = jax.vmap(jax.vmap(disc))(prefixes)  # (B, L + 1)
        dist = jax.vmap(lambda x0, xs: jax.vmap(lambda xt: default_distance(xt, x0))(xs))(
            x, prefixes
        )
        return jax.nn.softplus(-logits) + self.diversity_weight * self._div(dist)

    def step(
        self, state: TandaState, x, *, key: PRNGKeyArray
    ) -> tuple[TandaState, dict[str, Array]]:
        """One TANDA step on the batch ``x``: sample, transform, update D, update G (REINFORCE)."""
        B = jax.tree.leaves(x)[0].shape[0]
        k_seq, k_tf = jr.split(key)
        gen, disc = state.generator, state.discriminator
        indices, _ = gen.sample(k_seq, B)
        prefixes = jax.vmap(self.tfs.apply_sequence)(x, indices, jr.split(k_tf, B))
        fake = jax.tree.map(lambda a: a[:, -1], prefixes)

        def d_loss_fn(d):
            real = jax.vmap(d)(x)
            gen_ = jax.vmap(d)(fake)
            return 0.5 * (jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(gen_)))

        d_opt = self._d_opt()
        d_state = state.d_opt_state
        for _ in range(self.n_disc_steps):
            d_loss, grads = eqx.filter_value_and_grad(d_loss_fn)(disc)
            updates, d_state = d_opt.update(grads, d_state, eqx.filter(disc, eqx.is_inexact_array))
            disc = eqx.apply_updates(disc, updates)

        losses = jax.lax.stop_gradient(self.prefix_losses(disc, x, prefixes))
        costs = losses[:, 1:] - losses[:, :-1]

        def g_loss_fn(g):
            surrogate = reinforce_surrogate(g.log_prob(indices), costs, gamma=self.gamma)
            return jnp.mean(surrogate)

        g_grads = eqx.filter_grad(g_loss_fn)(gen)
        g_opt = self._g_opt()
        updates, g_state = g_opt.update(
            g_grads, state.g_opt_state, eqx.filter(gen, eqx.is_inexact_array)
        )
        gen = eqx.apply_updates(gen, updates)
        new = TandaState(gen, disc, g_state, d_state)
        return new, {"d_loss": d_loss, "g_loss": losses[:, -1].mean()}

    def train(self, state: TandaState, x, *, key: PRNGKeyArray):
        """``n_steps`` steps (``lax.scan``) on minibatches of ``x`` drawn with replacement."""
        return _train(self, state, x, key)

    def fit(self, x, generator: AbstractGenerator, discriminator: eqx.Module, *, key: PRNGKeyArray):
        """Train from scratch; return the learned :class:`TandaPolicy` and the per-step trace."""
        from ._policy import TandaPolicy

        state, trace = self.train(self.init(generator, discriminator), x, key=key)
        return TandaPolicy(tfs=self.tfs, generator=state.generator), trace


@eqx.filter_jit
def _train(tanda: Tanda, state: TandaState, x, key):
    n = jax.tree.leaves(x)[0].shape[0]
    params, static = eqx.partition(state, eqx.is_array)

    def body(p, k):
        k_batch, k_step = jr.split(k)
        idx = jr.randint(k_batch, (tanda.batch_size,), 0, n)
        new, metrics = tanda.step(eqx.combine(p, static), _take(x, idx), key=k_step)
        return eqx.filter(new, eqx.is_array), metrics

    params, trace = jax.lax.scan(body, params, jr.split(key, tanda.n_steps))
    return eqx.combine(params, static), trace


def train_tanda(
    x,
    tfs: TFSet,
    generator: AbstractGenerator,
    discriminator: eqx.Module,
    *,
    key: PRNGKeyArray,
    **hyperparameters,
):
    """Functional form of ``Tanda(tfs=tfs, **hyperparameters).fit(x, generator, discriminator)``.

    Returns:
        ``(TandaPolicy, trace)`` with ``trace = {"d_loss": (n_steps,), "g_loss": (n_steps,)}``.
    """
    return Tanda(tfs=tfs, **hyperparameters).fit(x, generator, discriminator, key=key)
