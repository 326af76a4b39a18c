"""Fitting MatrixCompletion and DawidSkene from a memory-mapped on-disk ``L`` (peak memory).

Each estimator runs in its own subprocess (``tests/benchmarks/peak_memory_chunked.py``). Skipped
by ``--benchmark-skip``; run with::

    pytest tests/benchmarks/test_memory_chunked.py --benchmark-only -s
    WSBENCH_CHUNKED_N=100000000 pytest tests/benchmarks/test_memory_chunked.py --benchmark-only -s \
        -k "matrix_completion or early_stopped"

(the second writes a 5 GB int8 matrix to the temporary directory; ``-k`` keeps the two fits whose
number of passes over ``L`` does not grow with a fixed iteration count: MatrixCompletion's one
statistics pass, and DawidSkene stopped at ``tol=1e-5``, each plus one prediction pass; the fixed
100 EM iterations of the default ``dawid_skene`` are 100 passes over 5 GB).
``peak_extra_mb_anon`` is the process's own allocations; ``peak_extra_mb_hwm`` also counts the
file pages read through the map.
"""

import json
import os
import subprocess
import sys

import jax.random as jr
import numpy as np
import pytest

from tests._utils import REPO_ROOT
from wsbench.synthetic import sample_independent

N = int(os.environ.get("WSBENCH_CHUNKED_N", 1_000_000))
M, K = 50, 2
BLOCK = 1_000_000


def write_label_matrix(path, n: int) -> None:
    """An int8 ``(n, M)`` matrix written block by block (never whole in memory)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.int8, shape=(n, M))
    block = np.asarray(sample_independent(jr.key(0), n=min(BLOCK, n), m=M, n_classes=K).weak.L)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        out[start:stop] = np.roll(block[: stop - start], start // BLOCK, axis=1)
    out.flush()


@pytest.fixture(scope="module")
def L_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("chunked") / f"L_{N}_{M}.npy"
    write_label_matrix(path, N)
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status is Linux-only")
@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("matrix_completion", []),
        ("dawid_skene", []),
        ("dawid_skene", ["tol=1e-5"]),
        ("crowdkit_dawid_skene", []),
    ],
    ids=["matrix_completion", "dawid_skene", "dawid_skene_early_stopped", "crowdkit_dawid_skene"],
)
def test_chunked_peak_memory(benchmark, L_path, name, overrides):
    def run():
        sets = [arg for item in overrides for arg in ("--set", item)]
        proc = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.peak_memory_chunked", "--estimator", name]
            + ["--L", str(L_path), "--k", str(K)]
            + sets,
            cwd=REPO_ROOT,
            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(f"{name} failed:\n{proc.stderr[-4000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(json.dumps(result))
    assert result["finite"]
