"""MatrixCompletion benchmarks: fit + predict over a size grid, and a 100-fit vmapped sweep vs a loop.

Skipped by ``--benchmark-skip`` (CI). Run::

    pytest tests/benchmarks/test_matrix_completion_speed.py --benchmark-only -m "not slow or slow"
    pytest tests/benchmarks/test_matrix_completion_speed.py --benchmark-only -k sweep

Compilation is excluded (warm-up call before the timer); results are synchronised with
``jax.block_until_ready``; ``extra_info`` records sizes and backend. The n = 1e6 cases are marked slow
(about 1-4 GB of one-hot temporaries are avoided by accumulating the overlap matrix in row chunks, but
they still take tens of seconds on a laptop CPU). The comparison with snorkel lives in
``tests/reference/compare_matrix_completion_speed.py``.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

from wsbench.data import WeakLabels
from wsbench.labelmodels import MatrixCompletion
from wsbench.labelmodels.grid import expand_grid
from wsbench.synthetic import sample_independent

SIZES = [(n, m, k) for n in (10_000, 100_000, 1_000_000) for m in (10, 50, 100) for k in (2, 10)]
CHUNK = 100_000


@functools.lru_cache(maxsize=1)
def weak_labels(n: int, m: int, k: int) -> WeakLabels:
    parts = []
    for start in range(0, n, CHUNK):
        sim = sample_independent(
            jr.fold_in(jr.key(0), start), n=min(CHUNK, n - start), m=m, n_classes=k
        )
        parts.append(sim.weak.L)
    return WeakLabels(L=jnp.concatenate(parts), n_classes=k)


@eqx.filter_jit
def fit_predict(est, data, key):
    return est.fit(data, key=key).predict_proba(data.L)


def _size_param(n, m, k):
    marks = [pytest.mark.slow] if n >= 1_000_000 else []
    return pytest.param(n, m, k, id=f"{n}-{m}-{k}", marks=marks)


@pytest.mark.parametrize("balance", ["uniform", "auto"])
@pytest.mark.parametrize(("n", "m", "k"), [_size_param(*s) for s in SIZES])
def test_fit_predict_speed(benchmark, n, m, k, balance):
    est = MatrixCompletion(class_balance_from=balance)
    data = weak_labels(n, m, k)
    jax.block_until_ready(fit_predict(est, data, jr.key(1)))
    benchmark.extra_info.update(
        n=n, m=m, k=k, class_balance_from=balance, backend=jax.default_backend()
    )
    benchmark.pedantic(
        lambda: jax.block_until_ready(fit_predict(est, data, jr.key(2))),
        rounds=1 if n >= 1_000_000 else 3,
        iterations=1,
    )


LRS = [0.002, 0.005, 0.01, 0.02, 0.05]
L2S = [0.0, 0.001, 0.01, 0.1, 1.0]
SEEDS = 4  # 5 x 5 x 4 = 100 fits


def _sweep_inputs():
    est = MatrixCompletion(class_balance_from="uniform", init_noise=0.05)
    stacked, points = expand_grid(est, {"lr": LRS, "l2": L2S})
    return est, stacked, points, jr.split(jr.key(3), SEEDS)


@eqx.filter_jit
def vmapped_sweep(est, stacked, data, keys):
    stats = est.statistics(data)  # one pass over L, shared by all 100 fits

    def one(e, key):
        return e.fit_from_stats(stats, key=key).conditionals()

    return eqx.filter_vmap(
        eqx.filter_vmap(one, in_axes=(None, 0)), in_axes=(eqx.if_array(0), None)
    )(stacked, keys)


@eqx.filter_jit
def single_fit(est, data, key):
    return est.fit(data, key=key).conditionals()


@pytest.mark.parametrize("mode", ["vmapped", "loop"])
def test_sweep_100_fits(benchmark, mode):
    """100 fits (4 seeds x 5 lr x 5 l2) at n=1e5, m=10, k=2: one vmapped program vs a loop of fits."""
    data = weak_labels(100_000, 10, 2)
    est, stacked, points, keys = _sweep_inputs()
    benchmark.extra_info.update(mode=mode, fits=len(points) * SEEDS, backend=jax.default_backend())
    if mode == "vmapped":
        jax.block_until_ready(vmapped_sweep(est, stacked, data, keys))
        run = lambda: jax.block_until_ready(vmapped_sweep(est, stacked, data, keys))  # noqa: E731
    else:
        ests = [jax.tree.map(lambda x, i=i: x[i], stacked) for i in range(len(points))]
        jax.block_until_ready(single_fit(ests[0], data, keys[0]))

        def run():
            for e in ests:
                for key in keys:
                    jax.block_until_ready(single_fit(e, data, key))

    benchmark.pedantic(run, rounds=1, iterations=1)
