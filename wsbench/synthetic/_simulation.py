"""``Simulation``: synthetic weak labels together with the true parameters that generated them."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..data import Dataset, Split, WeakLabels


class Simulation(eqx.Module):
    """Weak labels sampled from a known generative model.

    Attributes:
        weak: the sampled weak labels (``class_balance`` left unset: what a model may know is the
            benchmark's ``dev_labels`` decision, not the generator's).
        y: the true labels.
        confusions: ``(m, k, k)`` true ``P(lambda_j = o | Y = t, lambda_j votes)``, indexed ``[j, t, o]``.
        propensity: ``(m,)`` true probability that each LF votes (independent of the class).
        class_balance: ``(k,)`` true ``P(Y)``.
        edges: dependency edges ``(i, j)`` between LFs (empty for conditionally independent LFs).
        x: optional class-conditional features (for end models).
        clique_tables: for simulations with dependency edges, ``(e, k+1, k+1, k)`` true joint tables
            ``P(lambda_i = a, lambda_j = b | Y = y)`` per edge ``(i, j)`` (index 0 = abstain); else None.
    """

    weak: WeakLabels
    y: Int[Array, " n"]
    confusions: Float[Array, "m k k"]
    propensity: Float[Array, " m"]
    class_balance: Float[Array, " k"]
    edges: tuple[tuple[int, int], ...] = eqx.field(static=True, default=())
    x: Float[Array, "n d"] | None = None
    clique_tables: Float[Array, "e k+1 k+1 k"] | None = None

    @property
    def accuracy(self) -> Float[Array, " m"]:
        """``P(lambda_j = Y | lambda_j votes)`` averaged over the class balance."""
        diag = jnp.diagonal(self.confusions, axis1=1, axis2=2)
        return diag @ self.class_balance

    def conditionals(self) -> Float[Array, "m o k"]:
        """Snorkel's table ``P(lambda_j = a | Y = y)``, rows ``a`` = abstain, 0, ..., k-1; columns ``y``."""
        p = self.propensity[:, None, None]
        votes = p * jnp.swapaxes(self.confusions, 1, 2)  # [j, o, t]
        abstain = jnp.broadcast_to(1.0 - p, (votes.shape[0], 1, votes.shape[2]))
        return jnp.concatenate([abstain, votes], axis=1)


def bayes_posterior(sim: Simulation, L) -> Float[Array, "n k"]:
    """``P(Y | L)`` under the true parameters of a conditionally independent simulation."""
    if sim.edges:
        raise ValueError(
            "bayes_posterior assumes conditionally independent LFs, but this simulation has "
            "dependency edges; use wsbench.synthetic.dependent_posterior instead."
        )
    L = jnp.asarray(L)
    log_conf = jnp.log(jnp.clip(sim.confusions, 1e-30, 1.0))  # [j, t, o]
    onehot = (L[..., None] == jnp.arange(sim.weak.n_classes)[None, None, :]).astype(
        jnp.float32
    )  # [n, j, o]
    loglik = jnp.einsum("njo,jto->nt", onehot, log_conf)
    return jax.nn.softmax(jnp.log(sim.class_balance)[None, :] + loglik, axis=-1)


def sample_from_confusions(
    key: PRNGKeyArray,
    *,
    n: int,
    confusions: Float[Array, "m k k"],
    propensity: Float[Array, " m"],
    class_balance: Float[Array, " k"],
) -> tuple[Int[Array, " n"], Int[Array, "n m"]]:
    """Sample ``y`` and a conditionally independent ``L`` (abstains at the given propensities)."""
    k_y, k_vote, k_label = jr.split(key, 3)
    m, k, _ = confusions.shape
    y = jr.choice(k_y, k, shape=(n,), p=class_balance)
    votes = jr.uniform(k_vote, (n, m)) < propensity[None, :]
    cdf = jnp.cumsum(confusions, axis=-1)  # [j, t, o]
    u = jr.uniform(k_label, (n, m, 1))
    row_cdf = cdf[jnp.arange(m)[None, :], y[:, None]]  # [n, j, o]
    labels = jnp.minimum((u > row_cdf).sum(-1), k - 1)
    return y, jnp.where(votes, labels, -1).astype(jnp.int32)


def per_lf(value, m: int, name: str, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """A per-LF parameter from a scalar, a ``[lo, hi]`` range (evenly spaced) or m values."""
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.ndim != 1 or arr.size not in (1, 2, m):
        raise ValueError(
            f"{name} must be a scalar, a [low, high] range or {m} per-LF values, got {value!r}."
        )
    if arr.size == 1:
        arr = np.full(m, arr[0])
    elif arr.size == 2:
        arr = np.linspace(arr[0], arr[1], m)
    if not np.all(np.isfinite(arr)) or np.any(arr < lo) or np.any(arr > hi):
        raise ValueError(f"{name} values must lie in [{lo}, {hi}], got {arr.tolist()}.")
    return arr


def class_balance_or_uniform(class_balance, k: int) -> np.ndarray:
    if class_balance is None:
        return np.full(k, 1.0 / k)
    cb = np.asarray(class_balance, dtype=np.float64)
    if cb.shape != (k,) or np.any(cb < 0) or abs(cb.sum() - 1.0) > 1e-6:
        raise ValueError(
            f"class_balance must be a distribution of length {k}, got {class_balance!r}."
        )
    return cb


def subset(sim: Simulation, idx) -> Simulation:
    """The simulation restricted to rows ``idx`` (parameters unchanged)."""
    weak = sim.weak.subset(idx)
    x = None if sim.x is None else sim.x[idx]
    return eqx.tree_at(
        lambda s: (s.weak, s.y, s.x), sim, (weak, sim.y[idx], x), is_leaf=lambda v: v is None
    )


def to_dataset(sim: Simulation, n_train: int, n_valid: int, n_test: int, *, name: str) -> Dataset:
    """Cut a simulation of ``n_train + n_valid + n_test`` rows into consecutive splits."""
    sizes: Sequence[int] = (n_train, n_valid, n_test)
    if sim.weak.n != sum(sizes):
        raise ValueError(f"simulation has {sim.weak.n} rows but the splits need {sum(sizes)}.")
    bounds = np.cumsum((0, *sizes))
    splits = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        part = subset(sim, slice(int(lo), int(hi)))
        splits.append(Split(weak=part.weak, y=part.y, x=part.x))
    return Dataset(train=splits[0], valid=splits[1], test=splits[2], name=name)


def check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if sizes.get("n_classes", 2) < 2:
        raise ValueError(
            f"n_classes must be >= 2, got {sizes['n_classes']}: there is nothing to label."
        )
