r"""Multi-task end model: a shared MLP trunk, one linear head per task, masked soft-label losses.

For task s with probabilistic targets :math:`q_{is}` (a distribution over its ``k_s`` real classes) and
per-row weights :math:`w_{is}` (0 where the task does not apply, e.g. the fine task of a "normal"
report, or the label model's :math:`1 - P(\text{not applicable})`), the loss is

.. math::

    \sum_s \frac{\sum_i w_{is}\, \mathbb{E}_{y \sim q_{is}}[-\log p_s(y \mid x_i)]}{\sum_i w_{is}},

the noise-aware cross-entropy per task (``wsbench.endmodels.losses.soft_cross_entropy``) summed over
tasks; a row with weight 0 contributes nothing (its targets are never read into the gradient). Head s
predicts task s *given that it applies*; :meth:`MultitaskMLPFitted.predict_proba` returns those
conditionals. With one task the network, its initialisation, the minibatches and the loss are those of
``wsbench.endmodels.MLP`` (same key, same numbers).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from ..endmodels import adamw, check_features, check_sizes, check_targets, check_weights
from ..endmodels.losses import soft_cross_entropy
from ..types import ScalarLike
from ._task_graph import TaskGraph


class _Network(eqx.Module):
    trunk: tuple[eqx.nn.Linear, ...]
    heads: tuple[eqx.nn.Linear, ...]

    def __call__(self, x) -> tuple[Array, ...]:
        h = x
        for layer in self.trunk:
            h = jax.nn.relu(layer(h))
        return tuple(head(h) for head in self.heads)


def _build(d: int, ks: tuple[int, ...], width: int, depth: int, key) -> _Network:
    # the first head and the trunk are exactly eqx.nn.MLP(d, ks[0], width, depth): one task == MLP
    mlp = eqx.nn.MLP(d, ks[0], width, depth, activation=jax.nn.relu, key=key)
    extra = tuple(
        eqx.nn.Linear(width, k, key=jr.fold_in(key, 1000 + s)) for s, k in enumerate(ks) if s > 0
    )
    return _Network(trunk=tuple(mlp.layers[:-1]), heads=(mlp.layers[-1], *extra))


class MultitaskMLPFitted(eqx.Module):
    """A trained multi-task network.

    Attributes:
        network: trunk + heads; trace: ``{"loss": (n_steps,)}`` (summed over tasks).
    """

    network: _Network
    trace: dict[str, Array]
    n_features: int = eqx.field(static=True)

    def predict_proba(self, x) -> tuple[Float[Array, "n _"], ...]:
        """Per task s, ``(n, k_s)``: ``p_s(y | x, task s applies)``."""
        x = check_features(x, n_features=self.n_features)
        logits = jax.vmap(self.network)(x)
        return tuple(jax.nn.softmax(z, axis=-1) for z in logits)


class MultitaskMLP(eqx.Module):
    """Shared ReLU trunk (``depth`` hidden layers of ``width``) + one linear head per task (AdamW).

    Example:
        >>> import jax, jax.random as jr
        >>> x = jr.normal(jr.key(0), (64, 3))
        >>> t = (jax.nn.one_hot(x[:, 0] > 0, 2), jax.nn.one_hot(x[:, 1] > 0, 2))
        >>> fitted = MultitaskMLP(n_steps=20, width=8).fit(x, t, key=jr.key(1))
        >>> [p.shape for p in fitted.predict_proba(x)]
        [(64, 2), (64, 2)]
    """

    lr: ScalarLike = 1e-2
    """AdamW learning rate (vmappable)."""
    weight_decay: ScalarLike = 1e-4
    """AdamW decoupled weight decay (vmappable)."""
    width: int = eqx.field(static=True, default=64)
    depth: int = eqx.field(static=True, default=1)
    """Hidden layers of the shared trunk (>= 1)."""
    n_steps: int = eqx.field(static=True, default=500)
    batch_size: int | None = eqx.field(static=True, default=256)
    """Minibatch size (rows drawn with replacement, as ``wsbench.endmodels``); ``None`` = full batch."""

    def __check_init__(self):
        check_sizes(self, "width", "depth", "n_steps", optional=("batch_size",))

    def fit(self, x, targets, *, weights=None, key: PRNGKeyArray) -> MultitaskMLPFitted:
        """Train on features ``x`` ``(n, d)`` and per-task targets.

        Args:
            targets: tuple, task s a ``(n, k_s)`` distribution over its real classes (see
                :func:`targets_from_marginals`, :func:`targets_from_gold`).
            weights: optional tuple of ``(n,)`` non-negative weights per task (0 = the task does not
                apply / drop the row); ones when omitted.
            key: PRNG key (initialisation and minibatches).
        """
        x = check_features(x)
        n, d = x.shape
        if isinstance(targets, (jax.Array, np.ndarray)) or not len(targets):
            raise ValueError("targets must be a non-empty tuple of (n, k_s) arrays, one per task.")
        targets = tuple(check_targets(t, n) for t in targets)
        if weights is None:
            weights = (None,) * len(targets)
        if len(weights) != len(targets):
            raise ValueError(f"weights has {len(weights)} entries for {len(targets)} tasks.")
        weights = tuple(check_weights(w, n) for w in weights)
        ks = tuple(int(t.shape[1]) for t in targets)
        k_init, k_train = jr.split(key)
        net = _build(d, ks, self.width, self.depth, k_init)
        lr, wd = (jnp.asarray(v, jnp.float32) for v in (self.lr, self.weight_decay))
        net, losses = _train(
            net, x, targets, weights, lr, wd, self.n_steps, self.batch_size, k_train
        )
        return MultitaskMLPFitted(network=net, trace={"loss": losses}, n_features=d)


@eqx.filter_jit
def _train(net, x, targets, weights, lr, wd, n_steps, batch_size, key):
    """``lax.scan`` over ``n_steps`` AdamW steps; the key schedule of ``endmodels.train_classifier``."""
    optimizer = adamw(lr, wd)
    n = x.shape[0]
    full = batch_size is None or batch_size >= n
    params, static = eqx.partition(net, eqx.is_inexact_array)
    state0 = optimizer.init(params)

    def loss_fn(p, xb, tb, wb):
        logits = jax.vmap(eqx.combine(p, static))(xb)
        return sum(soft_cross_entropy(z, t, w) for z, t, w in zip(logits, tb, wb, strict=True))

    def step(carry, step_key):
        p, state = carry
        k_batch, _ = jr.split(step_key)
        if full:
            xb, tb, wb = x, targets, weights
        else:
            idx = jr.randint(k_batch, (batch_size,), 0, n)
            xb = x[idx]
            tb = tuple(t[idx] for t in targets)
            wb = tuple(w[idx] for w in weights)
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, tb, wb)
        updates, state = optimizer.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), loss

    (params, _), losses = jax.lax.scan(step, (params, state0), jr.split(key, n_steps))
    return eqx.combine(params, static), losses


def targets_from_marginals(graph: TaskGraph, marginals) -> tuple[tuple, tuple]:
    """Label-model per-task marginals ``(n, n_labels[s])`` -> (targets, weights) for :class:`MultitaskMLP`.

    A child task's weight is ``1 - P(not applicable)`` and its target the marginal over its real classes,
    renormalised (uniform where the label model is sure the task does not apply: weight 0 there).
    """
    if len(marginals) != graph.n_tasks:
        raise ValueError(f"expected {graph.n_tasks} per-task marginals, got {len(marginals)}.")
    targets, weights = [], []
    for s, q in enumerate(marginals):
        q = jnp.asarray(q, jnp.float32)
        k = graph.cardinalities[s]
        if q.ndim != 2 or q.shape[1] != graph.n_labels[s]:
            raise ValueError(
                f"task {s} marginals must be (n, {graph.n_labels[s]}), got {tuple(q.shape)}."
            )
        real = q[:, :k]
        mass = real.sum(axis=1, keepdims=True)
        targets.append(jnp.where(mass > 1e-8, real / jnp.maximum(mass, 1e-8), 1.0 / k))
        weights.append(mass[:, 0] if graph.parents[s] is not None else jnp.ones(q.shape[0]))
    return tuple(targets), tuple(weights)


def targets_from_gold(graph: TaskGraph, Y) -> tuple[tuple, tuple]:
    """Gold task labels ``(n, t)`` -> one-hot targets and weights (0 where not applicable or unknown)."""
    Y = np.asarray(Y)
    targets, weights = [], []
    for s in range(graph.n_tasks):
        k = graph.cardinalities[s]
        ok = (Y[:, s] >= 0) & (Y[:, s] < k)
        targets.append(jax.nn.one_hot(np.where(ok, Y[:, s], 0), k))
        weights.append(jnp.asarray(ok, jnp.float32))
    return tuple(targets), tuple(weights)
