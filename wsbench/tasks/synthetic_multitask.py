"""A synthetic hierarchical multi-task dataset with known truth and features (the MeTaL smoke task).

Joint labels and LF votes come from ``wsbench.multitask.sample_multitask`` (a coarse task and a fine
task defined under one coarse class, LFs at both levels); features are class-conditional Gaussians
on the *joint* label, ``x = separation * mu[y] + noise * eps`` with ``mu`` ``(K, d)`` standard
normal, so one shared trunk can read both tasks. Rows are split in order into train / valid / test
(the rows are i.i.d.). No download.
"""

import jax.random as jr
import numpy as np

from ..multitask import (
    MultitaskDataset,
    MultitaskSplit,
    MultitaskWeakLabels,
    TaskGraph,
    sample_multitask,
)


def make_synthetic_multitask(
    *,
    key,
    coarse: int = 2,
    fine: int = 3,
    under: int = 1,
    n_train: int = 2000,
    n_valid: int = 200,
    n_test: int = 1000,
    lfs_per_task=4,
    accuracy=(0.6, 0.85),
    propensity: float = 0.5,
    cross_task: float = 0.0,
    d: int = 10,
    separation: float = 1.0,
    noise: float = 1.0,
    name: str = "synthetic_multitask",
) -> MultitaskDataset:
    """A hierarchical ``coarse -> fine`` task (fine defined under ``under``) with features.

    Args:
        key: PRNG key (labels, votes, features); n_train, n_valid, n_test: rows per split.
        lfs_per_task, accuracy, propensity, cross_task: passed to ``sample_multitask``.
        d, separation, noise: the features (module docstring).
    """
    for arg, v in {"n_train": n_train, "n_valid": n_valid, "n_test": n_test, "d": d}.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"make_synthetic_multitask: {arg} must be a positive int, got {v!r}.")
    graph = TaskGraph.hierarchy(coarse, fine, under=under, names=("coarse", "fine"))
    k_sim, k_mu, k_eps = jr.split(key, 3)
    n = n_train + n_valid + n_test
    sim = sample_multitask(
        k_sim,
        n=n,
        graph=graph,
        lfs_per_task=lfs_per_task,
        accuracy=accuracy,
        propensity=propensity,
        cross_task=cross_task,
    )
    y = np.asarray(sim.y_joint)
    mu = np.asarray(jr.normal(k_mu, (graph.n_joint, d)))
    x = (separation * mu[y] + noise * np.asarray(jr.normal(k_eps, (n, d)))).astype(np.float32)
    L, Y = np.asarray(sim.weak.L), sim.Y
    bounds = np.cumsum([0, n_train, n_valid, n_test])
    splits = {}
    for s, (a, b) in zip(
        ("train", "valid", "test"), zip(bounds[:-1], bounds[1:], strict=True), strict=True
    ):
        weak = MultitaskWeakLabels(L[a:b], graph, sim.weak.lf_task)
        splits[s] = MultitaskSplit(weak, Y=Y[a:b], x=x[a:b])
    return MultitaskDataset(name=name, **splits)
