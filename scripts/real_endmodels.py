"""Measure a logistic-regression end model on a real task's text features (issue 9, part 1).

Trained on (a) gold train labels, (b) MatrixCompletion, (c) majority-vote and (d) DawidSkene(abstain="observed") soft labels
(both label models fitted on the train split's L only, rows with no vote dropped), each selected on
valid (``select_on_valid`` over lr x weight_decay x n_steps); test accuracy mean and standard error
over seeds (minibatch order). Also prints each label model's own test accuracy.

Usage (the runner takes this over next round):
    WSBENCH_DATA_MIRROR=<mirror> python scripts/real_endmodels.py --task youtube --seeds 3
"""

import argparse
import itertools
import json

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from wsbench import metrics
from wsbench.endmodels import LogisticRegression, select_on_valid
from wsbench.labelmodels import DawidSkene, MajorityVote, MatrixCompletion
from wsbench.metrics import slice_table


def load(task: str, features):
    if task in ("youtube", "sms"):
        from wsbench.tasks import spam

        return getattr(spam, f"make_{task}")(features=features)
    if task.startswith("wrench_") or task == "spouse_snorkel":
        from wsbench.data import load_wrench_dataset

        return load_wrench_dataset(task, features=features)
    import importlib

    mod = importlib.import_module(f"wsbench.tasks.{task}")
    return getattr(mod, f"make_{task}")(features=features)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", default="youtube")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--features", default="default", help="'default' or a JSON featuriser spec")
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()
    features = args.features if args.features == "default" else json.loads(args.features)
    ds = load(args.task, features)
    tr, va, te = ds.train, ds.valid, ds.test
    k = ds.n_classes
    covered = (tr.weak.L != -1).any(axis=1).astype(jnp.float32)
    key = jr.key(0)
    mc = MatrixCompletion().fit(tr.weak, key=jr.fold_in(key, 1))
    mv = MajorityVote().fit(tr.weak, key=jr.fold_in(key, 2))
    ds_ = DawidSkene(abstain="observed").fit(tr.weak, key=jr.fold_in(key, 4))
    targets = {
        "gold": (jax.nn.one_hot(tr.y, k), None),
        "matrix_completion": (mc.predict_proba(tr.weak.L), covered),
        "majority_vote": (mv.predict_proba(tr.weak.L), covered),
        "dawid_skene_abstain": (ds_.predict_proba(tr.weak.L), covered),
    }
    grid = [
        LogisticRegression(lr=lr, weight_decay=wd, n_steps=n, batch_size=args.batch_size)
        for lr, wd, n in itertools.product((0.01, 0.1), (1e-4, 1e-2), (100, 300, 1000))
    ]
    rows = {
        "labelmodel/matrix_completion": [
            float(metrics.accuracy(mc.predict_proba(te.weak.L), te.y))
        ],
        "labelmodel/majority_vote": [float(metrics.accuracy(mv.predict_proba(te.weak.L), te.y))],
        "labelmodel/dawid_skene_abstain": [
            float(metrics.accuracy(ds_.predict_proba(te.weak.L), te.y))
        ],
    }
    slices = None
    if args.task in ("youtube", "sms"):
        from wsbench.tasks import spam

        slices = getattr(spam, f"{args.task}_slices")()
    slice_rows = {}
    for name, (t, w) in targets.items():
        accs = []
        for seed in range(args.seeds):
            fitted, best, _ = select_on_valid(
                grid, tr.x, t, va.x, va.y, weights=w, key=jr.fold_in(jr.key(seed), 3)
            )
            accs.append(float(metrics.accuracy(fitted.predict_proba(te.x), te.y)))
            print(f"{name} seed {seed}: best candidate {grid[best]!r:.80} test acc {accs[-1]:.4f}")
        rows[f"endmodel/{name}"] = accs
        if slices is not None:  # per-slice test accuracy of the last seed's model
            table = slice_table(
                fitted.predict_proba(te.x), te.y, slices["test"], slices["names"], ("accuracy",)
            )
            slice_rows[name] = table
    print(f"\n{args.task}: d={tr.x.shape[1]}, n_train={tr.n}, n_test={te.n}")
    print(f"{'model':32s} {'test accuracy':>14s} {'sem':>7s}  n")
    for name, accs in rows.items():
        a = np.asarray(accs)
        sem = a.std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else float("nan")
        print(f"{name:32s} {a.mean():14.4f} {sem:7.4f}  {len(a)}")
    if slice_rows:
        names = list(next(iter(slice_rows.values())))
        print("\nper-slice test accuracy (last seed; n = scored rows):")
        print(f"{'end model on':22s} " + " ".join(f"{n:>16s}" for n in names))
        counts = next(iter(slice_rows.values()))
        print(f"{'n':22s} " + " ".join(f"{counts[n]['n']:16d}" for n in names))
        for name, table in slice_rows.items():
            print(f"{name:22s} " + " ".join(f"{table[n]['accuracy']:16.4f}" for n in names))


if __name__ == "__main__":
    main()
