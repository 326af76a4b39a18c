"""Fit + predict wall time of every estimator in ``conf/estimator/*.yaml`` (pytest-benchmark).

Skipped by ``--benchmark-skip`` (the CI command passes it). Timings:

    pytest tests/benchmarks/test_fit_speed.py --benchmark-only --benchmark-autosave
    pytest tests/benchmarks/test_fit_speed.py --benchmark-only -k "1000000-50-2"   # one size

Compilation is excluded (a warm-up call runs before the timer) and results are synchronised with
``jax.block_until_ready``. ``extra_info`` records the sizes, backend and device kind: compare runs
only on the same device. Data: conditionally independent LFs from ``sample_independent``, made once
per ``(n, m, k)`` (in chunks of rows, so that sampling 1e6 x 50 needs no large temporaries).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

from tests._utils import estimator_configs, instantiate_config
from wsbench.data import WeakLabels
from wsbench.synthetic import sample_independent

ESTIMATORS = sorted(estimator_configs())
SIZES = [(n, m, k) for n in (10_000, 100_000, 1_000_000) for m in (10, 50) for k in (2, 10)]
CHUNK = 100_000


@functools.lru_cache(maxsize=1)  # tests are ordered by size, so one data set is alive at a time
def weak_labels(n: int, m: int, k: int) -> WeakLabels:
    """``n`` rows of ``sample_independent`` data (accuracies 0.6..0.9, propensity 0.5)."""
    key = jr.key(0)
    parts = []
    for start in range(0, n, CHUNK):
        rows = min(CHUNK, n - start)
        sim = sample_independent(jr.fold_in(key, start), n=rows, m=m, n_classes=k)
        parts.append(sim.weak.L)
    return WeakLabels(L=jnp.concatenate(parts), n_classes=k)


@eqx.filter_jit
def fit_predict(est, data: WeakLabels, key):
    return est.fit(data, key=key).predict_proba(data.L)


# "name" is the innermost (fastest-varying) parameter, so each data set is built once.
@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(("n", "m", "k"), SIZES, ids=[f"{n}-{m}-{k}" for n, m, k in SIZES])
def test_fit_speed(benchmark, name, n, m, k):
    est = instantiate_config(estimator_configs()[name])
    data = weak_labels(n, m, k)
    key = jr.key(1)
    jax.block_until_ready(fit_predict(est, data, key))  # compile outside the timer
    device = jax.devices()[0]
    benchmark.extra_info.update(
        estimator=name, n=n, m=m, k=k, backend=jax.default_backend(), device_kind=device.device_kind
    )
    benchmark.pedantic(
        lambda: jax.block_until_ready(fit_predict(est, data, key)),
        rounds=3 if n >= 1_000_000 else 5,
        iterations=1,
        warmup_rounds=0,
    )
