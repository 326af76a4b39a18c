"""Speed (and accuracy) of wsbench label models against the reference libraries.

A measurement script, never a test dependency: it needs ``snorkel`` and ``crowd-kit`` (the
``reference`` extra, best in a separate virtualenv with the CPU build of torch) and wsbench on the
path. From the repository root:

    python -m tests.reference.compare_speed --n 1000000 --m 50 --k 2 --n-iter 100

Compared, on the same ``sample_independent`` data:

* wsbench ``MajorityVote`` fit + predict (jitted, warm) vs snorkel
  ``MajorityLabelVoter.predict_proba``;
* wsbench ``DawidSkene(n_iter)`` fit + predict (jitted, warm) vs crowd-kit
  ``DawidSkene(n_iter, tol=-inf).fit_predict_proba`` (``tol=-inf``: exactly ``n_iter`` EM rounds,
  as in wsbench) and crowd-kit with its default ``tol=1e-5`` (early stopping; the iterations it
  used are reported, and wsbench is timed again with that many iterations).

Converting the label matrix to crowd-kit's long format is done before its timer starts. crowd-kit
runs on the first ``--crowdkit-n`` rows when that is smaller than ``--n`` (wsbench is then timed on
the same rows too, so each ratio compares equal work). Times are the best of ``--repeats`` runs.
"""

import argparse
import json
import platform
import time

import jax
import jax.random as jr
import numpy as np

from wsbench.data import WeakLabels
from wsbench.labelmodels import DawidSkene, MajorityVote
from wsbench.synthetic import sample_independent


def sample(n: int, m: int, k: int, seed: int, chunk: int = 100_000):
    """``sample_independent`` data in row chunks (bounded temporaries at n = 1e6)."""
    Ls, ys = [], []
    for start in range(0, n, chunk):
        sim = sample_independent(
            jr.fold_in(jr.key(seed), start), n=min(chunk, n - start), m=m, n_classes=k
        )
        Ls.append(np.asarray(sim.weak.L))
        ys.append(np.asarray(sim.y))
    return np.concatenate(Ls), np.concatenate(ys)


def best_of(fn, repeats: int):
    """(best wall time in seconds, last result)."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def time_wsbench(est, L: np.ndarray, k: int, repeats: int):
    data = WeakLabels(L=L, n_classes=k)
    run = jax.jit(lambda d: est.fit(d, key=jr.key(0)).predict_proba(d.L))
    jax.block_until_ready(run(data))  # compile + warm-up outside the timer
    t, probs = best_of(lambda: jax.block_until_ready(run(data)), repeats)
    return t, np.asarray(probs)


def to_long(L: np.ndarray):
    import pandas as pd

    task, worker = np.nonzero(L != -1)
    return pd.DataFrame({"task": task, "worker": worker, "label": L[task, worker]})


def crowdkit_probs(probas, n: int, k: int) -> np.ndarray:
    """crowd-kit's (task x label) frame as a dense (n, k) array (uncovered tasks: uniform)."""
    out = np.full((n, k), 1.0 / k)
    cols = [c for c in probas.columns if 0 <= int(c) < k]
    out[probas.index.to_numpy()[:, None], np.asarray(cols, int)[None, :]] = probas[cols].to_numpy()
    return out


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == y).mean())


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--m", type=int, default=50)
    p.add_argument("--k", type=int, default=2)
    p.add_argument("--n-iter", type=int, default=100)
    p.add_argument(
        "--crowdkit-n", type=int, default=None, help="rows given to crowd-kit (default: --n)"
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--crowdkit-repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip", nargs="*", default=[], choices=["snorkel", "crowdkit", "crowdkit_tol"])
    args = p.parse_args(argv)
    from crowdkit.aggregation import DawidSkene as CrowdKitDS
    from snorkel.labeling.model import MajorityLabelVoter

    L, y = sample(args.n, args.m, args.k, args.seed)
    res = {
        "n": args.n,
        "m": args.m,
        "k": args.k,
        "n_iter": args.n_iter,
        "jax_backend": jax.default_backend(),
        "device": jax.devices()[0].device_kind,
        "cpu": platform.processor() or platform.machine(),
    }

    t, probs = time_wsbench(MajorityVote(), L, args.k, args.repeats)
    res["wsbench_mv_s"], res["wsbench_mv_acc"] = t, accuracy(probs, y)
    if "snorkel" not in args.skip:
        mlv = MajorityLabelVoter(cardinality=args.k)
        t, probs = best_of(lambda: mlv.predict_proba(L), args.repeats)
        res["snorkel_mv_s"], res["snorkel_mv_acc"] = t, accuracy(probs, y)
        res["mv_speedup"] = res["snorkel_mv_s"] / res["wsbench_mv_s"]

    t, probs = time_wsbench(DawidSkene(n_iter=args.n_iter), L, args.k, args.repeats)
    res["wsbench_ds_s"], res["wsbench_ds_acc"] = t, accuracy(probs, y)

    nc = min(args.crowdkit_n or args.n, args.n)
    res["crowdkit_n"] = nc
    Lc, yc = L[:nc], y[:nc]
    if nc < args.n:
        t, probs = time_wsbench(DawidSkene(n_iter=args.n_iter), Lc, args.k, args.repeats)
        res["wsbench_ds_s_at_crowdkit_n"], res["wsbench_ds_acc_at_crowdkit_n"] = (
            t,
            accuracy(probs, yc),
        )
    else:
        res["wsbench_ds_s_at_crowdkit_n"] = res["wsbench_ds_s"]
        res["wsbench_ds_acc_at_crowdkit_n"] = res["wsbench_ds_acc"]
    long = to_long(Lc)  # not timed against crowd-kit
    res["crowdkit_long_rows"] = len(long)
    for name, tol in [("crowdkit", -np.inf), ("crowdkit_tol", 1e-5)]:
        if name in args.skip:
            continue
        ds = CrowdKitDS(n_iter=args.n_iter, tol=tol)
        t, probas = best_of(lambda ds=ds: ds.fit_predict_proba(long), args.crowdkit_repeats)
        res[f"{name}_ds_s"] = t
        res[f"{name}_ds_acc"] = accuracy(crowdkit_probs(probas, nc, args.k), yc)
        res[f"{name}_ds_iters"] = len(ds.loss_history_)
        res[f"{name}_ds_speedup"] = t / res["wsbench_ds_s_at_crowdkit_n"]
        per_iter_ws = res["wsbench_ds_s_at_crowdkit_n"] / args.n_iter
        res[f"{name}_ds_per_iter_speedup"] = (t / res[f"{name}_ds_iters"]) / per_iter_ws
        if res[f"{name}_ds_iters"] != args.n_iter:  # same number of EM rounds as crowd-kit used
            est = DawidSkene(n_iter=res[f"{name}_ds_iters"])
            t_ws, probs = time_wsbench(est, Lc, args.k, args.repeats)
            res[f"wsbench_ds_s_at_{name}_iters"] = t_ws
            res[f"wsbench_ds_acc_at_{name}_iters"] = accuracy(probs, yc)
            res[f"{name}_ds_speedup_same_iters"] = t / t_ws
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
