r"""Generators over fixed-length sequences of TF indices: mean-field and LSTM (Ratner et al. 2017, §3).

A generator defines $\pi_\theta(\tau)$ over sequences $\tau = (\tau_1, \dots, \tau_L)$ of indices into
a :class:`~wsbench.augment.TFSet` of size K. Logits are squashed into ``(-logit_range, logit_range)``
(``logit_range * tanh``), which bounds every TF's probability away from 0 and keeps exploring, as in
the reference implementation (HazyResearch/tanda), whose LSTM emits logits in (-2, 2): its cell
output ``h`` in (-1, 1) rescaled by an ``OutputRangeWrapper`` of range 4. The bound caps how much
of the mass one TF can take, ``e^c / (e^c + (K - 1) e^-c)`` at range ``c``: 63% for 33 TFs at
``c = 2`` (the LSTM's default), 99% at ``c = 4`` (the mean field's). ``sample(key, batch)`` returns the indices and their per-step
log-probabilities; ``log_prob(indices)`` re-scores given sequences differentiably (REINFORCE).
``usage(key)`` says how many TFs a trained generator still uses (a collapse diagnostic).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

__all__ = ["AbstractGenerator", "LSTMGenerator", "MeanFieldGenerator", "TFUsage"]


class TFUsage(eqx.Module):
    r"""How a generator spreads its draws over the TFs (:meth:`AbstractGenerator.usage`).

    ``marginal[k]``: the share of all TF draws (every step of every sequence) that are TF k;
    ``effective_tfs = exp(entropy(marginal))``: 1 when every draw is the same TF, ``n_tfs`` when
    the TFs are used equally; ``conditional_entropy``: the mean per-step entropy of
    $\pi(\tau_t \mid \tau_{<t})$ in nats (0: the sequence is deterministic)."""

    marginal: Float[Array, " K"]
    effective_tfs: Float[Array, ""]
    conditional_entropy: Float[Array, ""]

    @property
    def top(self) -> tuple[int, float]:
        """The most used TF's index and its share of the draws."""
        k = int(jnp.argmax(self.marginal))
        return k, float(self.marginal[k])


class AbstractGenerator(eqx.Module):
    """A distribution over TF sequences of static length ``seq_len`` on ``n_tfs`` TFs."""

    n_tfs: eqx.AbstractVar[int]
    seq_len: eqx.AbstractVar[int]

    @abc.abstractmethod
    def step_logits(self, indices: Int[Array, " L"]) -> Float[Array, "L K"]:
        """Squashed logits of step t given ``indices[:t]`` (teacher forcing), for every t."""

    @abc.abstractmethod
    def sample_one(self, key: PRNGKeyArray) -> tuple[Int[Array, " L"], Float[Array, " L"]]:
        """One sequence and the log-probability of each of its steps."""

    def sample(
        self, key: PRNGKeyArray, batch: int
    ) -> tuple[Int[Array, "B L"], Float[Array, "B L"]]:
        """``batch`` independent sequences ``(indices, log_probs)``."""
        return jax.vmap(self.sample_one)(jr.split(key, batch))

    def log_prob(self, indices: Int[Array, "B L"]) -> Float[Array, "B L"]:
        """Per-step log-probabilities of given sequences (differentiable in the parameters)."""

        def one(seq):
            logp = jax.nn.log_softmax(self.step_logits(seq), axis=-1)
            return jnp.take_along_axis(logp, seq[:, None], axis=-1)[:, 0]

        return jax.vmap(one)(indices)

    def usage(self, key: PRNGKeyArray, n: int = 4096) -> TFUsage:
        """TF usage averaged over ``n`` sampled sequences (exact for :class:`MeanFieldGenerator`,
        whose steps do not depend on the sequence): the step distributions are evaluated along the
        sampled prefixes, so the estimate of ``marginal`` has variance far below that of counting
        the sampled indices."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"usage needs n >= 1 sampled sequences, got {n!r}.")
        indices, _ = self.sample(key, n)
        logp = jax.vmap(lambda seq: jax.nn.log_softmax(self.step_logits(seq), axis=-1))(indices)
        p = jnp.exp(logp)  # (n, L, K)
        marginal = p.mean(axis=(0, 1))
        h_marginal = -jnp.sum(jnp.where(marginal > 0, marginal * jnp.log(marginal), 0.0))
        h_cond = -jnp.sum(p * logp, axis=-1).mean()
        return TFUsage(marginal, jnp.exp(h_marginal), h_cond)


def _squash(raw, logit_range):
    return logit_range * jnp.tanh(raw / logit_range)


class MeanFieldGenerator(AbstractGenerator):
    r"""Independent steps: $\pi(\tau) = \prod_t \mathrm{softmax}(c \tanh(\theta / c))_{\tau_t}$.

    Example:
        >>> import jax.random as jr
        >>> g = MeanFieldGenerator(n_tfs=5, seq_len=3)
        >>> idx, logp = g.sample(jr.key(0), 4)
        >>> idx.shape, logp.shape
        ((4, 3), (4, 3))
    """

    raw_logits: Float[Array, " K"]
    n_tfs: int = eqx.field(static=True)
    seq_len: int = eqx.field(static=True)
    logit_range: float = eqx.field(static=True, default=4.0)

    def __init__(self, n_tfs: int, seq_len: int, *, logit_range: float = 4.0, key=None):
        del key  # uniform initialisation
        if n_tfs < 1 or seq_len < 1:
            raise ValueError(f"need n_tfs >= 1 and seq_len >= 1, got {n_tfs}, {seq_len}.")
        self.n_tfs, self.seq_len, self.logit_range = n_tfs, seq_len, float(logit_range)
        self.raw_logits = jnp.zeros((n_tfs,), jnp.float32)

    def logits(self) -> Float[Array, " K"]:
        return _squash(self.raw_logits, self.logit_range)

    def probs(self) -> Float[Array, " K"]:
        """The per-step TF distribution (the learned TF frequencies)."""
        return jax.nn.softmax(self.logits())

    def step_logits(self, indices):
        return jnp.broadcast_to(self.logits(), (indices.shape[0], self.n_tfs))

    def sample_one(self, key):
        logits = self.logits()
        idx = jr.categorical(key, logits, shape=(self.seq_len,))
        logp = jax.nn.log_softmax(logits)[idx]
        return idx.astype(jnp.int32), logp


class LSTMGenerator(AbstractGenerator):
    r"""An LSTM whose input at step t is an embedding of $\tau_{t-1}$ (a learned start token at t = 1)
    and whose output is the squashed logits of $\tau_t$:
    $\pi(\tau) = \prod_t \pi(\tau_t \mid \tau_{<t})$.

    ``logit_range`` defaults to 2, the reference LSTM's (-2, 2). With the mean field's 4 (and its
    learning rate) the LSTM concentrated far faster than the mean field did: on the CPU cuts it
    drew effectively 7.5 to 12 of the 24 / 33 image TFs (``TFUsage.effective_tfs``), the mean
    field 18.5 to 20.7; with range 2 and its own rate (``generator.lstm.lr`` 1e-3 in
    ``conf/tanda.yaml``) 18.4 to 19.5.
    """

    embedding: eqx.nn.Embedding
    cell: eqx.nn.LSTMCell
    head: eqx.nn.Linear
    n_tfs: int = eqx.field(static=True)
    seq_len: int = eqx.field(static=True)
    hidden: int = eqx.field(static=True)
    logit_range: float = eqx.field(static=True, default=4.0)

    def __init__(
        self,
        n_tfs: int,
        seq_len: int,
        *,
        hidden: int = 32,
        embed: int = 16,
        logit_range: float = 2.0,
        key: PRNGKeyArray,
    ):
        if n_tfs < 1 or seq_len < 1:
            raise ValueError(f"need n_tfs >= 1 and seq_len >= 1, got {n_tfs}, {seq_len}.")
        k1, k2, k3 = jr.split(key, 3)
        self.n_tfs, self.seq_len, self.hidden = n_tfs, seq_len, hidden
        self.logit_range = float(logit_range)
        self.embedding = eqx.nn.Embedding(n_tfs + 1, embed, key=k1)  # row n_tfs = start token
        self.cell = eqx.nn.LSTMCell(embed, hidden, key=k2)
        head = eqx.nn.Linear(hidden, n_tfs, key=k3)
        # start near uniform, as the mean-field generator does
        self.head = eqx.tree_at(
            lambda h: (h.weight, h.bias), head, (head.weight * 0.1, head.bias * 0)
        )

    def _init_state(self):
        z = jnp.zeros((self.hidden,), jnp.float32)
        return (z, z)

    def _logits(self, state, prev):
        state = self.cell(self.embedding(prev), state)
        return state, _squash(self.head(state[0]), self.logit_range)

    def step_logits(self, indices):
        prevs = jnp.concatenate(
            [jnp.array([self.n_tfs], jnp.int32), indices[:-1].astype(jnp.int32)]
        )

        def step(state, prev):
            state, logits = self._logits(state, prev)
            return state, logits

        _, logits = jax.lax.scan(step, self._init_state(), prevs)
        return logits

    def sample_one(self, key):
        def step(carry, k):
            state, prev = carry
            state, logits = self._logits(state, prev)
            idx = jr.categorical(k, logits).astype(jnp.int32)
            return (state, idx), (idx, jax.nn.log_softmax(logits)[idx])

        start = (self._init_state(), jnp.array(self.n_tfs, jnp.int32))
        _, (idx, logp) = jax.lax.scan(step, start, jr.split(key, self.seq_len))
        return idx, logp

    def transition_matrix(self) -> Float[Array, "K1 K"]:
        """Rows ``i < K``: P(tau_2 = j | tau_1 = i); last row: P(tau_1 = j) (the first step)."""
        state1, logits1 = self._logits(self._init_state(), jnp.array(self.n_tfs, jnp.int32))
        rows = jax.vmap(lambda i: jax.nn.softmax(self._logits(state1, i)[1]))(
            jnp.arange(self.n_tfs, dtype=jnp.int32)
        )
        return jnp.concatenate([rows, jax.nn.softmax(logits1)[None]], axis=0)
