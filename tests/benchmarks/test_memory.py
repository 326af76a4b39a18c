"""Peak extra memory of fit + predict_proba for every estimator in ``conf/estimator/*.yaml``.

Each estimator runs in its own subprocess (``tests/benchmarks/peak_memory.py``) on one int8 label
matrix written to disk once, so the numbers do not leak between estimators. Skipped by
``--benchmark-skip``; run with::

    pytest tests/benchmarks/test_memory.py --benchmark-only -s
    pytest tests/benchmarks/test_memory.py --benchmark-only -s -k 1000000      # the budget size

pytest-benchmark times the subprocess; the measured peak (``peak_extra_mb``) is in ``extra_info``
and printed. The memory budget, at most 250 MB of peak extra memory at n = 1e6, m = 50, k = 2 for
every estimator (compilation included), is asserted at that size; ``WSBENCH_MEMORY_BUDGET_MB``
sets another budget (e.g. for a GPU backend, whose host-side peak differs).
"""

import functools
import json
import os
import subprocess
import sys

import jax.random as jr
import numpy as np
import pytest

from tests._utils import REPO_ROOT, estimator_configs
from wsbench.synthetic import sample_independent

ESTIMATORS = sorted(estimator_configs())
SIZES = [(100_000, 50, 2), (1_000_000, 50, 2)]
CHUNK = 100_000
BUDGET_MB = 250


@functools.lru_cache(maxsize=1)
def label_matrix_file(n: int, m: int, k: int, tmp_root: str) -> str:
    path = os.path.join(tmp_root, f"L_{n}_{m}_{k}.npy")
    parts = []
    for start in range(0, n, CHUNK):
        sim = sample_independent(
            jr.fold_in(jr.key(0), start), n=min(CHUNK, n - start), m=m, n_classes=k
        )
        parts.append(np.asarray(sim.weak.L, dtype=np.int8))
    np.save(path, np.concatenate(parts))
    return path


def measure(name: str, path: str, k: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.peak_memory", "--estimator", name, "--L", path]
        + ["--k", str(k)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"peak_memory for {name} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux-only")
@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(("n", "m", "k"), SIZES, ids=[f"{n}-{m}-{k}" for n, m, k in SIZES])
def test_peak_memory(benchmark, tmp_path_factory, name, n, m, k):
    path = label_matrix_file(n, m, k, str(tmp_path_factory.getbasetemp()))
    result = benchmark.pedantic(measure, args=(name, path, k), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(json.dumps(result))
    assert result["finite"], f"{name} returned non-finite probabilities"
    budget = os.environ.get("WSBENCH_MEMORY_BUDGET_MB", str(BUDGET_MB))
    if n == 1_000_000:
        assert result["peak_extra_mb"] <= float(budget), (
            f"{name}: peak extra memory {result['peak_extra_mb']:.0f} MB over the "
            f"{budget} MB budget at n={n}, m={m}, k={k}"
        )
