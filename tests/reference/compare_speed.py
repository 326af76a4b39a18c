"""End-to-end speed and accuracy of wsbench label models against snorkel 0.10 and crowd-kit.

A measurement script, never a test dependency. It needs ``snorkel`` and ``crowd-kit`` (the
``reference`` extra, best in a separate virtualenv with the CPU build of torch) with wsbench
importable (``PYTHONPATH`` = the repository root; wsbench's label models need only jax, equinox,
jaxtyping, optax, numpy and scipy there). From the repository root, in that virtualenv::

    PYTHONPATH=$PWD python -m tests.reference.compare_speed --n 1000000 --m 50 --k 2 --repeats 3

Compared on one int8 ``sample_independent`` label matrix, what a user runs, timed end to end:

* ``majority_vote``: wsbench ``WeakLabels(L)`` + ``MajorityVote().fit`` + ``predict_proba`` vs
  snorkel's ``MajorityLabelVoter(cardinality=k).predict_proba(L)``;
* ``crowdkit_dawid_skene``: wsbench with ``tests/reference/crowdkit_dawid_skene.yaml`` (crowd-kit's
  defaults: 100 iterations at most, ``tol=1e-5`` on its per-vote ELBO) vs crowd-kit
  ``DawidSkene(n_iter=100).fit_predict_proba`` (its default ``tol=1e-5``). crowd-kit's long-format
  frame is built before its timer starts (in its favour); the iterations each ran are reported;
* ``snorkel_label_model``: wsbench ``MatrixCompletion`` with
  ``conf/estimator/snorkel_label_model.yaml`` (100 SGD steps) vs snorkel's
  ``LabelModel(cardinality=k).fit(L, n_epochs=100, seed=123)`` + ``predict_proba(L)``.

wsbench's times include validation, the device transfer and every pass over ``L``; compilation is
excluded (one warm-up call first, as a sweep or a second fit would see it) and reported separately
as ``*_first_s``. The two libraries are timed interleaved (wsbench, peer, wsbench, peer, ...) so a
busy machine slows both alike; each time is the median of ``--repeats`` runs and each ratio is
peer median / wsbench median. Accuracy is against the sampler's true labels.
"""

import argparse
import importlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.random as jr
import numpy as np

from wsbench.data import WeakLabels
from wsbench.synthetic import sample_independent

CONF = Path(__file__).resolve().parents[2] / "conf" / "estimator"


def sample(n: int, m: int, k: int, seed: int, chunk: int = 100_000):
    """int8 ``sample_independent`` data in row chunks (bounded temporaries at n = 1e6)."""
    Ls, ys = [], []
    for start in range(0, n, chunk):
        sim = sample_independent(
            jr.fold_in(jr.key(seed), start), n=min(chunk, n - start), m=m, n_classes=k
        )
        Ls.append(np.asarray(sim.weak.L, np.int8))
        ys.append(np.asarray(sim.y))
    return np.concatenate(Ls), np.concatenate(ys)


def estimator(name: str):
    """The estimator of ``conf/estimator/<name>.yaml`` (``_target_`` + keyword arguments; no Hydra
    needed in the reference virtualenv)."""
    import yaml

    path = CONF / f"{name}.yaml"
    if not path.is_file():  # a reference-only preset (crowdkit_dawid_skene.yaml), beside this file
        path = Path(__file__).resolve().parent / f"{name}.yaml"
    cfg = yaml.safe_load(path.read_text())
    module, _, cls = cfg.pop("_target_").rpartition(".")
    if "edges" in cfg:
        cfg["edges"] = tuple(tuple(e) for e in cfg["edges"])
    return getattr(importlib.import_module(module), cls)(**cfg)


def wsbench_run(est, L: np.ndarray, k: int):
    """``WeakLabels`` + fit + predict_proba, as a user calls them: (seconds, probs, fitted)."""
    t0 = time.perf_counter()
    data = WeakLabels(L=L, n_classes=k)
    fitted = est.fit(data, key=jr.key(0))
    probs = jax.block_until_ready(fitted.predict_proba(data.L))
    return time.perf_counter() - t0, np.asarray(probs), fitted


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def to_long(L: np.ndarray):
    import pandas as pd

    task, worker = np.nonzero(L != -1)
    return pd.DataFrame({"task": task, "worker": worker, "label": L[task, worker].astype(int)})


def crowdkit_probs(probas, n: int, k: int) -> np.ndarray:
    """crowd-kit's (task x label) frame as a dense (n, k) array (uncovered tasks: uniform)."""
    out = np.full((n, k), 1.0 / k)
    cols = [c for c in probas.columns if 0 <= int(c) < k]
    out[probas.index.to_numpy()[:, None], np.asarray(cols, int)[None, :]] = probas[cols].to_numpy()
    return out


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((np.asarray(probs).argmax(axis=1) == y).mean())


def peers(L: np.ndarray, k: int):
    """``{name: function returning (probs, extra info)}`` for the reference libraries."""
    from crowdkit.aggregation import DawidSkene as CrowdKitDS
    from snorkel.labeling.model import LabelModel, MajorityLabelVoter

    long = to_long(L)  # crowd-kit's input format, built outside its timer

    def snorkel_mv():
        return MajorityLabelVoter(cardinality=k).predict_proba(L), {}

    def crowdkit_ds():
        ds = CrowdKitDS(n_iter=100)  # crowd-kit's defaults (tol=1e-5)
        probas = ds.fit_predict_proba(long)
        return crowdkit_probs(probas, L.shape[0], k), {"iters": len(ds.loss_history_)}

    def snorkel_lm():
        lm = LabelModel(cardinality=k, verbose=False)
        lm.fit(L, n_epochs=100, seed=123, progress_bar=False)
        return lm.predict_proba(L), {}

    return {
        "majority_vote": snorkel_mv,
        "crowdkit_dawid_skene": crowdkit_ds,
        "snorkel_label_model": snorkel_lm,
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--m", type=int, default=50)
    p.add_argument("--k", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--only",
        nargs="*",
        default=["majority_vote", "crowdkit_dawid_skene", "snorkel_label_model"],
    )
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = p.parse_args(argv)

    L, y = sample(args.n, args.m, args.k, args.seed)
    res = {
        "n": args.n,
        "m": args.m,
        "k": args.k,
        "L_dtype": str(L.dtype),
        "repeats": args.repeats,
        "jax_backend": jax.default_backend(),
        "device": jax.devices()[0].device_kind,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    peer = peers(L, args.k)
    for name in args.only:
        est = estimator(name)
        first, probs, fitted = wsbench_run(est, L, args.k)  # compiles
        ws_times, peer_times, info = [], [], {}
        for _ in range(args.repeats):
            t, probs, fitted = wsbench_run(est, L, args.k)
            ws_times.append(t)
            t, (peer_probs, info) = timed(peer[name])
            peer_times.append(t)
        ws, pr = statistics.median(ws_times), statistics.median(peer_times)
        res[name] = {
            "wsbench_s": ws,
            "wsbench_times": ws_times,
            "wsbench_first_s": first,
            "wsbench_acc": accuracy(probs, y),
            "peer_s": pr,
            "peer_times": peer_times,
            "peer_acc": accuracy(peer_probs, y),
            "speedup": pr / ws,
            **{f"peer_{key}": v for key, v in info.items()},
        }
        if hasattr(fitted, "n_iter_run"):
            res[name]["wsbench_iters"] = int(fitted.n_iter_run)
        print(json.dumps({name: res[name]}), flush=True)
    text = json.dumps(res, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return res


if __name__ == "__main__":
    main()
