"""Speed and parameter error: wsbench ``MatrixCompletion`` vs snorkel 0.10's ``LabelModel``.

Never run in CI. Snorkel (and torch) live in a separate virtualenv, so this script runs in two parts:
the wsbench side (this interpreter) samples the data, writes it to a temporary ``.npz`` and times the
JAX model; the snorkel side (``--ref-python``, or ``$WSBENCH_REF_PYTHON``) is this same file run with
``--snorkel-worker`` and reports its timings as JSON on stdout.

Usage::

    python tests/reference/compare_matrix_completion_speed.py --ref-python <venv>/bin/python \\
        [--n 1000000 --m 50 --k 2 --snorkel-sweep-fits 3]

Measures, at the given (n, m, k) on conditionally independent synthetic LFs:
1. snorkel ``LabelModel.fit(L, n_epochs=100, lr=0.01, seed=...)`` + ``predict_proba(L)`` wall time and
   the mean absolute error of ``get_conditional_probs()`` vs the truth; vs wsbench ``MatrixCompletion``
   (compiled, warm: the second call of the jitted fit + predict) time and error.
2. a sweep of 100 fits (4 seeds x 5 lr x 5 l2): wsbench as one vmapped program over one ``OverlapStats``
   vs a loop of snorkel fits. Snorkel's loop is *extrapolated linearly* from ``--snorkel-sweep-fits``
   timed fits (each fit recomputes its overlap matrix, as snorkel always does).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

LRS = [0.002, 0.005, 0.01, 0.02, 0.05]
L2S = [0.0, 0.001, 0.01, 0.1, 1.0]
SEEDS = 4


def snorkel_worker(path: str, sweep_fits: int) -> None:
    import torch
    from snorkel.labeling.model import LabelModel

    torch.set_num_threads(os.cpu_count() or 1)
    data = np.load(path)
    L, truth, k = data["L"], data["truth"], int(data["k"])
    t0 = time.perf_counter()
    lm = LabelModel(cardinality=k, verbose=False)
    lm.fit(L, n_epochs=100, lr=0.01, seed=0, progress_bar=False)
    t_fit = time.perf_counter() - t0
    probs = lm.predict_proba(L)
    t_total = time.perf_counter() - t0
    err = float(np.abs(lm.get_conditional_probs() - truth).mean())
    sweep = []
    for i in range(sweep_fits):
        t0 = time.perf_counter()
        LabelModel(cardinality=k, verbose=False).fit(
            L, n_epochs=100, lr=LRS[i % len(LRS)], l2=L2S[i % len(L2S)], seed=i, progress_bar=False
        )
        sweep.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "fit_s": t_fit,
                "fit_predict_s": t_total,
                "error": err,
                "probs_finite": bool(np.isfinite(probs).all()),
                "sweep_fit_s": sweep,
            }
        )
    )


def wsbench_side(args) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import jax.random as jr

    from wsbench.labelmodels import MatrixCompletion
    from wsbench.labelmodels.grid import expand_grid
    from wsbench.synthetic import sample_independent

    sim = sample_independent(
        jr.key(0), n=args.n, m=args.m, n_classes=args.k, accuracy=(0.6, 0.9), propensity=0.5
    )
    truth = sim.conditionals()
    est = MatrixCompletion(class_balance_from="uniform")

    @eqx.filter_jit
    def fit_predict(e, weak, key):
        fitted = e.fit(weak, key=key)
        return fitted.conditionals(), fitted.predict_proba(weak.L)

    jax.block_until_ready(fit_predict(est, sim.weak, jr.key(1)))  # compile
    t0 = time.perf_counter()
    tables, probs = jax.block_until_ready(fit_predict(est, sim.weak, jr.key(2)))
    t_ws = time.perf_counter() - t0
    err_ws = float(jnp.abs(tables - truth).mean())

    # the 100-fit sweep: one pass over L, then every (lr, l2, seed) fit vmapped over the same stats
    sweep_est = MatrixCompletion(class_balance_from="uniform", init_noise=0.05)
    stacked, points = expand_grid(sweep_est, {"lr": LRS, "l2": L2S})
    keys = jr.split(jr.key(3), SEEDS)

    @eqx.filter_jit
    def sweep(stacked, weak, keys):
        stats = sweep_est.statistics(weak)
        one = lambda e, kk: jnp.abs(e.fit_from_stats(stats, key=kk).conditionals() - truth).mean()  # noqa: E731
        over_seeds = eqx.filter_vmap(one, in_axes=(None, 0))
        return eqx.filter_vmap(over_seeds, in_axes=(eqx.if_array(0), None))(stacked, keys)

    jax.block_until_ready(sweep(stacked, sim.weak, keys))
    t0 = time.perf_counter()
    errs = jax.block_until_ready(sweep(stacked, sim.weak, keys))
    t_sweep = time.perf_counter() - t0
    assert errs.shape == (len(points), SEEDS)
    return {
        "L": np.asarray(sim.weak.L),
        "truth": np.asarray(truth),
        "fit_predict_s": t_ws,
        "error": err_ws,
        "sweep_s": t_sweep,
        "sweep_fits": int(errs.size),
        "sweep_best_error": float(errs.min()),
        "backend": jax.default_backend(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--m", type=int, default=50)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--ref-python", default=os.environ.get("WSBENCH_REF_PYTHON"))
    parser.add_argument("--snorkel-sweep-fits", type=int, default=3)
    parser.add_argument("--snorkel-worker", metavar="NPZ")
    args = parser.parse_args()
    if args.snorkel_worker:
        snorkel_worker(args.snorkel_worker, args.snorkel_sweep_fits)
        return
    if not args.ref_python:
        parser.error(
            "give --ref-python (a Python with snorkel==0.10.0 and torch) or $WSBENCH_REF_PYTHON"
        )
    ws = wsbench_side(args)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        np.savez(path, L=ws.pop("L"), truth=ws.pop("truth"), k=args.k)
        out = subprocess.run(
            [
                args.ref_python,
                __file__,
                "--snorkel-worker",
                path,
                "--snorkel-sweep-fits",
                str(args.snorkel_sweep_fits),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    sn = json.loads(out.stdout.strip().splitlines()[-1])
    per_fit = float(np.mean(sn["sweep_fit_s"]))
    report = {
        "n": args.n,
        "m": args.m,
        "k": args.k,
        "backend": ws["backend"],
        "snorkel_fit_predict_s": sn["fit_predict_s"],
        "snorkel_error": sn["error"],
        "wsbench_fit_predict_s": ws["fit_predict_s"],
        "wsbench_error": ws["error"],
        "speedup_fit_predict": sn["fit_predict_s"] / ws["fit_predict_s"],
        "snorkel_sweep_s_extrapolated": per_fit * ws["sweep_fits"],
        "snorkel_sweep_fits_timed": len(sn["sweep_fit_s"]),
        "wsbench_sweep_s": ws["sweep_s"],
        "wsbench_sweep_best_error": ws["sweep_best_error"],
        "speedup_sweep": per_fit * ws["sweep_fits"] / ws["sweep_s"],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
