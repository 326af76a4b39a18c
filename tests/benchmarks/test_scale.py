"""Scale benchmarks: fit + predict of every estimator at large n, a 1,000-fit vmapped sweep, and the
statistics pass's throughput, with the device recorded and the rows written to a CSV.

Skipped by ``--benchmark-skip``. On a GPU (or on CPU, which is the default backend otherwise)::

    WSBENCH_SCALE_N=1000000,10000000,100000000 WSBENCH_BENCHMARK_CSV=benchmarks/scale.csv \\
        pytest tests/benchmarks/test_scale.py --benchmark-only -s

``WSBENCH_SCALE_N`` (default ``1000000``) lists the row counts (m = 50, k = 2, an int8 ``L`` on the
device); ``WSBENCH_SCALE_ROUNDS`` (default 3) the timed rounds per measurement; ``WSBENCH_BENCHMARK_CSV``, when set, is the CSV that every measurement is appended to, one
row each with the backend and device name (``jax.devices()[0].device_kind``), so that runs on
different devices can share one file. Times exclude compilation (one warm-up call first) and are the
median of the rounds. ``stats_gb_per_s`` is ``n m`` bytes of int8 ``L`` over the time of
``MatrixCompletion.statistics``: compare it with the device's memory bandwidth.
"""

import csv
import functools
import os
import statistics
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests._utils import estimator_configs, instantiate_config
from wsbench.data import WeakLabels
from wsbench.labelmodels import MatrixCompletion
from wsbench.synthetic import sample_independent

ESTIMATORS = sorted(estimator_configs())


def env_ints(name: str, default: str, *, low: int) -> list[int]:
    """A comma-separated list of integers >= ``low`` from the environment (``1e6`` allowed)."""
    raw = os.environ.get(name, default)
    try:
        values = [float(x) for x in raw.split(",")]
    except ValueError:
        values = []
    if not values or any(v != int(v) or v < low for v in values):
        raise ValueError(
            f"{name}={raw!r}: give comma-separated whole numbers >= {low}, e.g. {name}={default}"
        )
    return [int(v) for v in values]


SIZES = env_ints("WSBENCH_SCALE_N", "1000000", low=1)
M, K = 50, 2
BLOCK = 1_000_000
ROUNDS = env_ints("WSBENCH_SCALE_ROUNDS", "3", low=1)
if len(ROUNDS) != 1:
    raise ValueError(f"WSBENCH_SCALE_ROUNDS={ROUNDS}: give one number of timed rounds, e.g. 3")
ROUNDS = ROUNDS[0]
CSV_FIELDS = [
    "kind", "estimator", "n", "m", "k", "fits", "median_s", "stats_gb_per_s", "backend",
    "device_kind", "jax_version",
]  # fmt: skip


@functools.lru_cache(maxsize=1)
def weak_labels(n: int) -> WeakLabels:
    """int8 ``sample_independent`` votes, one block sampled and its columns rolled per block (so
    that 1e8 rows need no 1e8-row sampling temporaries)."""
    block = np.asarray(
        sample_independent(jr.key(0), n=min(BLOCK, n), m=M, n_classes=K).weak.L, np.int8
    )
    L = np.empty((n, M), np.int8)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        L[start:stop] = np.roll(block[: stop - start], start // BLOCK, axis=1)
    return WeakLabels(L=L, n_classes=K)


def median_time(fn) -> float:
    jax.block_until_ready(fn())  # compile outside the timer
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def record(benchmark, **row) -> dict:
    """Add the device to ``row``, put it in ``extra_info`` and append it to the CSV (if asked)."""
    row = {
        **row,
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
    }
    benchmark.extra_info.update(row)
    path = os.environ.get("WSBENCH_BENCHMARK_CSV")
    if path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists()
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
    print(row)
    return row


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("n", SIZES)
def test_fit_predict_at_scale(benchmark, n, name):
    est = instantiate_config(estimator_configs()[name])
    data = weak_labels(n)
    assert data.L.dtype == jnp.int8

    def run():
        return est.fit(data, key=jr.key(0)).predict_proba(data.L)

    t = benchmark.pedantic(lambda: median_time(run), rounds=1, iterations=1)
    record(benchmark, kind="fit_predict", estimator=name, n=n, m=M, k=K, fits=1, median_s=t)


@pytest.mark.parametrize("n", SIZES)
def test_statistics_throughput(benchmark, n):
    data = weak_labels(n)
    est = MatrixCompletion()
    t = benchmark.pedantic(
        lambda: median_time(lambda: est.statistics(data).second_moments), rounds=1
    )
    record(
        benchmark,
        kind="statistics",
        estimator="matrix_completion",
        n=n,
        m=M,
        k=K,
        fits=0,
        median_s=t,
        stats_gb_per_s=n * M / t / 1e9,
    )


def test_vmapped_sweep_of_1000_fits(benchmark):
    """1,000 MatrixCompletion fits (10 lr x 10 l2 x 10 seeds) vmapped over one ``OverlapStats``."""
    n = SIZES[0]
    data = weak_labels(n)
    base = MatrixCompletion(n_iter=100, class_balance_from="uniform")
    stats = base.statistics(data)
    lr, l2, seed = np.meshgrid(
        np.geomspace(1e-3, 1e-1, 10), np.geomspace(1e-4, 1.0, 10), np.arange(10), indexing="ij"
    )
    lr, l2 = jnp.asarray(lr.ravel(), jnp.float32), jnp.asarray(l2.ravel(), jnp.float32)
    keys = jax.vmap(jr.key)(jnp.asarray(seed.ravel()))

    @eqx.filter_jit
    def sweep(lr, l2, keys):
        def one(lr, l2, key):
            est = MatrixCompletion(n_iter=100, class_balance_from="uniform", lr=lr, l2=l2)
            return est.fit_from_stats(stats, key=key).tables  # (the prior is fixed: uniform)

        return jax.vmap(one)(lr, l2, keys)

    t = benchmark.pedantic(lambda: median_time(lambda: sweep(lr, l2, keys)), rounds=1)
    assert bool(jnp.isfinite(sweep(lr, l2, keys)).all())
    record(
        benchmark,
        kind="vmapped_sweep",
        estimator="matrix_completion",
        n=n,
        m=M,
        k=K,
        fits=int(lr.shape[0]),
        median_s=t,
    )
