"""Measure the NumPy multi-task reference vs feasible-set MV vs Bayes vs independent per-task models.

Run from the repository root:  PYTHONPATH=$PWD python -m tests.reference.multitask_compare [--real]

Synthetic: hierarchical graph (coarse 2 classes, fine 3 under class 1), 5 LFs per task, n = 30000,
prior (0.4, 0.25, 0.2, 0.15); posterior accuracy on the first 5000 rows (the fitting rows: the label
model's transductive setting), for cross_task = 0 (LFs see only their task) and 0.15 (cross-task
informative LFs). "independent" fits the single-task reference on each task's LFs alone (fine task:
every row, k = 3, prior = P(fine | applicable)) and scores the fine task where it applies.
Real (--real): the chest X-ray hierarchy, fit on train with the class balance from valid gold, scored on test.
"""

import sys

import jax.random as jr
import numpy as np

from tests.reference import matrix_completion_numpy as single_ref
from tests.reference import multitask_matrix_completion_numpy as ref
from wsbench.multitask import (
    MultitaskMajorityVote,
    TaskGraph,
    multitask_bayes_posterior,
    sample_multitask,
)


def scores(graph, Y, q_joint):
    """Coarse accuracy, fine accuracy where the fine task applies (from a joint posterior)."""
    coarse, fine = ref.task_marginals(q_joint, graph)
    on = Y[:, 1] < graph.cardinalities[1]
    return (coarse.argmax(1) == Y[:, 0]).mean(), (fine[on, :-1].argmax(1) == Y[on, 1]).mean()


def independent(L, lf_task, graph, prior_tasks, Y, rows):
    out = []
    for s in range(graph.n_tasks):
        cols = [j for j, u in enumerate(lf_task) if u == s]
        k = graph.cardinalities[s]
        fit = single_ref.fit(L[:, cols], k, prior_tasks[s])
        q = single_ref.posterior(L[rows][:, cols], fit["tables"], prior_tasks[s])
        on = Y[rows, s] < k
        out.append((q[on].argmax(1) == Y[rows][on, s]).mean())
    return out


def synthetic():
    g = TaskGraph.hierarchy(2, 3, 1)
    prior = np.array([0.4, 0.25, 0.2, 0.15])
    print("synthetic hierarchy: accuracy (coarse, fine | applicable), first 5000 rows, n = 30000")
    for cross in (0.0, 0.15):
        for seed in range(3):
            sim = sample_multitask(
                jr.key(seed),
                n=30000,
                graph=g,
                lfs_per_task=5,
                accuracy=(0.6, 0.85),
                propensity=0.7,
                cross_task=cross,
                prior=prior,
            )
            L, Y = np.asarray(sim.weak.L), sim.Y
            rows = slice(0, 5000)
            res = {}
            for name, kw in (("ref_pairwise", {}), ("ref_third", {"third_order": True})):
                fit = ref.fit(L, g, sim.weak.lf_task, prior, **kw)
                res[name] = scores(g, Y[rows], ref.posterior(L[rows], fit["tables"], prior))
            res["bayes"] = scores(g, Y[rows], np.asarray(multitask_bayes_posterior(sim, L[rows])))
            mv = MultitaskMajorityVote().fit(sim.weak, key=jr.key(0)).predict_proba_joint(L[rows])
            res["mv"] = scores(g, Y[rows], np.asarray(mv))
            pt = [np.array([0.4, 0.6]), prior[1:] / prior[1:].sum()]
            res["independent"] = tuple(independent(L, sim.weak.lf_task, g, pt, Y, rows))
            line = "  ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}" for k, v in res.items())
            print(f"cross_task={cross} seed={seed}: {line}")


def real():
    from wsbench.tasks.chest_xray_multitask import make_chest_xray_multitask

    ds = make_chest_xray_multitask()
    g = ds.graph
    yv = ds.valid.y_joint
    prior = np.bincount(yv, minlength=g.n_joint) / len(yv)
    L, Lt, Yt = np.asarray(ds.train.weak.L), np.asarray(ds.test.weak.L), np.asarray(ds.test.Y)
    lf_task = ds.train.weak.lf_task
    res = {}
    for name, kw in (("ref_pairwise", {}), ("ref_third", {"third_order": True})):
        fit = ref.fit(L, g, lf_task, prior, **kw)
        res[name] = scores(g, Yt, ref.posterior(Lt, fit["tables"], prior))
    mv = MultitaskMajorityVote().fit(ds.train.weak, key=jr.key(0)).predict_proba_joint(Lt)
    res["mv"] = scores(g, Yt, np.asarray(mv))
    Yv = np.asarray(ds.valid.Y)
    pt = [np.bincount(Yv[:, 0], minlength=2) / len(Yv)]
    on = Yv[:, 1] < 5
    pt.append(np.bincount(Yv[on, 1], minlength=5) / on.sum())
    out = []
    for s in range(2):
        cols = [j for j, u in enumerate(lf_task) if u == s]
        k = g.cardinalities[s]
        fit = single_ref.fit(L[:, cols], k, pt[s])
        q = single_ref.posterior(Lt[:, cols], fit["tables"], pt[s])
        m = Yt[:, s] < k
        out.append((q[m].argmax(1) == Yt[m, s]).mean())
    res["independent"] = tuple(out)
    print("chest X-ray hierarchy, test accuracy (abnormal, finding | abnormal):")
    print("  ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}" for k, v in res.items()))


if __name__ == "__main__":
    real() if "--real" in sys.argv else synthetic()
