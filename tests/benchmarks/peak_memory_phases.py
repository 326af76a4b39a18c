"""Where MatrixCompletion's peak memory goes: ``VmHWM`` between the phases of fit + predict_proba.

A diagnostic beside ``peak_memory.py`` (which measures the total the budget is about), run by hand
from the repository root::

    python -m tests.benchmarks.peak_memory_phases --L /tmp/L.npy --k 2 [--estimator NAME] [--trim]

Each phase (``WeakLabels``; the statistics pass; the unsupervised class balance, when the estimator
needs it; the fit program; predict_proba) runs twice, the second time with everything compiled, so
the first line of a pair is compile + run and the second the run alone. Per phase it prints one JSON
line: the peak above the baseline (``hwm_over_base``, the benchmark's number once the last phase
has run), the peak above the phase's own start (``hwm_over_start``) and the resident memory left
afterwards. ``--trim`` calls glibc's ``malloc_trim`` after each phase, which separates memory that
is still held (compiled programs, buffers) from freed heap the allocator kept. Linux only.
"""

import argparse
import ctypes
import dataclasses
import json
import time
from pathlib import Path

from tests.benchmarks.peak_memory import high_water_mark_bytes, reset_high_water_mark


def resident_bytes() -> int:
    """The process's resident set size now (``VmRSS``), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status: measured on Linux only")


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimator", default="matrix_completion", help="a MatrixCompletion YAML")
    parser.add_argument("--L", required=True, type=Path, help="int8 label matrix as .npy")
    parser.add_argument("--k", required=True, type=int, help="number of classes")
    parser.add_argument("--trim", action="store_true", help="malloc_trim after each phase")
    args = parser.parse_args(argv)

    import jax
    import jax.random as jr
    import numpy as np

    from tests._utils import instantiate_estimator
    from wsbench.data import WeakLabels
    from wsbench.labelmodels import _matrix_completion as mc
    from wsbench.labelmodels._base import as_array_hyperparameters

    mb = 2**20
    L = np.load(args.L)
    est = instantiate_estimator(args.estimator)
    jax.block_until_ready(jax.numpy.zeros(1))
    if not reset_high_water_mark():
        raise RuntimeError("cannot reset VmHWM (/proc/self/clear_refs): phases need it")
    base = high_water_mark_bytes()
    rows = []

    def phase(label, f):
        start = resident_bytes()
        reset_high_water_mark()
        t = time.perf_counter()
        out = jax.block_until_ready(f())
        row = {
            "phase": label,
            "seconds": round(time.perf_counter() - t, 2),
            "hwm_over_base_mb": round((high_water_mark_bytes() - base) / mb, 1),
            "hwm_over_start_mb": round((high_water_mark_bytes() - start) / mb, 1),
            "rss_after_over_base_mb": round((resident_bytes() - base) / mb, 1),
        }
        if args.trim:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            row["rss_after_trim_over_base_mb"] = round((resident_bytes() - base) / mb, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
        return out

    data = phase("WeakLabels", lambda: WeakLabels(L=L, n_classes=args.k))
    stats = phase("statistics", lambda: est.statistics(data))
    phase("statistics (compiled)", lambda: est.statistics(data))
    fit_est = as_array_hyperparameters(est)
    if est._needs_triples(stats.class_balance):
        prior = phase("class balance", lambda: mc._class_balance_from_stats(fit_est, stats))
        phase("class balance (compiled)", lambda: mc._class_balance_from_stats(fit_est, stats))
        stats = dataclasses.replace(stats, class_balance=prior)  # as fit_from_stats does
        fit_est = dataclasses.replace(fit_est, class_balance_from="data")
    key = jr.key(0)
    fitted = phase("fit program", lambda: mc._fit_from_stats(fit_est, stats, key))
    phase("fit program (compiled)", lambda: mc._fit_from_stats(fit_est, stats, key))
    phase("predict_proba", lambda: fitted.predict_proba(data.L))
    phase("predict_proba (compiled)", lambda: fitted.predict_proba(data.L))
    return rows


if __name__ == "__main__":
    main()
