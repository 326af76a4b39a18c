"""Estimated vs measured advantage of a label model over majority vote (issue 9, part 3).

For each dataset: MatrixCompletion, DawidSkene(abstain="observed") and MajorityVote are fitted on the train split's L (valid for
sets without train); on test we measure the accuracy difference LM - MV (tie-split accuracy) and
the accuracy difference on the covered test rows only (at least one vote: on uncovered rows a label
model predicts its class prior while majority vote ties, which is not a modelling advantage and
which the estimate, counting only rows where LFs conflict, leaves out), and the paper's A_w (LM
right and MV not, minus the reverse; ties never right; all rows); the estimate
``expected_advantage`` is computed from the train L alone (and from the test L).

Usage:
    WSBENCH_DATA_MIRROR=<mirror> python scripts/advantage_table.py
"""

import importlib
import sys

import jax
import jax.numpy as jnp
import jax.random as jr

from wsbench import metrics
from wsbench.data import load_wrench_dataset
from wsbench.labelmodels import DawidSkene, MajorityVote, MatrixCompletion
from wsbench.lf import agreement_rate, expected_advantage, label_density, modeling_advantage

WRENCH = ("wrench_youtube", "wrench_sms", "wrench_chemprot", "spouse_snorkel")
TASKS = ("youtube", "sms", "spouse", "cdr", "chest_xray")
THRESHOLD = 0.01  # "a label model is worth it" when the estimate exceeds this


def load(name):
    if name in WRENCH:
        return load_wrench_dataset(name)
    mod = importlib.import_module(f"wsbench.tasks.{'spam' if name in ('youtube', 'sms') else name}")
    return getattr(mod, f"make_{name}")(features=None)


def oracle_weighted_vote(train, test_L, k):
    """Weighted vote with one-coin log-odds weights from the train split's *gold* accuracies: the
    optimal weights w* the estimate bounds (for independent LFs), as an achievable reference."""
    L, y = train.weak.L, train.y
    voted = (L != -1) & (y[:, None] >= 0)
    acc = ((L == y[:, None]) & voted).sum(0) / jnp.maximum(voted.sum(0), 1)
    acc = jnp.clip(acc, 0.01, 0.99)
    w = jnp.log(acc * (k - 1) / (1 - acc))
    scores = jnp.stack([((test_L == c) * w[None, :]).sum(axis=1) for c in range(k)], axis=1)
    return jax.nn.softmax(scores, axis=1)


def main(names):
    header = (
        f"{'dataset':16s} {'k':>2s} {'m':>3s} {'density':>7s} {'agree':>6s} {'est(train)':>10s} "
        f"{'est(test)':>9s} {'MV acc':>7s} | MC: {'d_all':>7s} {'d_cov':>7s} {'A_w':>7s} | "
        f"DS: {'d_all':>7s} {'d_cov':>7s} {'A_w':>7s} | oracle: {'d_cov':>7s} | "
        "sign agrees (d_cov, est > 0.01): MC DS oracle"
    )
    print(header, flush=True)
    for name in names:
        ds = load(name)
        k, Ltr, te = ds.n_classes, ds.train.weak.L, ds.test
        mv = MajorityVote().fit(ds.train.weak, key=jr.key(0))
        p_mv = mv.predict_proba(te.weak.L)
        acc_mv = float(metrics.accuracy(p_mv, te.y))
        y_cov = jnp.where((te.weak.L != -1).any(axis=1), te.y, -1)
        acc_mv_cov = float(metrics.accuracy(p_mv, y_cov))
        est_tr = float(expected_advantage(Ltr, k))
        est_te = float(expected_advantage(te.weak.L, k))
        cols, signs = [], []
        for lm in (MatrixCompletion(), DawidSkene(abstain="observed")):
            p = lm.fit(ds.train.weak, key=jr.key(0)).predict_proba(te.weak.L)
            diff = float(metrics.accuracy(p, te.y)) - acc_mv
            diff_cov = float(metrics.accuracy(p, y_cov)) - acc_mv_cov
            cols.append([diff, diff_cov, float(modeling_advantage(p, te.weak.L, te.y))])
            signs.append("yes" if (diff_cov > 0) == (est_tr > THRESHOLD) else "no")
        p_or = oracle_weighted_vote(ds.train, te.weak.L, k)
        or_cov = float(metrics.accuracy(p_or, y_cov)) - acc_mv_cov
        signs.append("yes" if (or_cov > 0) == (est_tr > THRESHOLD) else "no")
        print(
            f"{name:16s} {k:2d} {Ltr.shape[1]:3d} {float(label_density(Ltr)):7.2f} "
            f"{float(agreement_rate(Ltr, k)):6.3f} {est_tr:10.4f} {est_te:9.4f} {acc_mv:7.4f} "
            + "".join(" | " + " ".join(f"{c:+7.4f}" for c in col) for col in cols)
            + f" | {or_cov:+7.4f} | {signs[0]} {signs[1]} {signs[2]}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:] or WRENCH + TASKS)
