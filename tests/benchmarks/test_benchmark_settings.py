"""The benchmarks' own settings (tests/benchmarks/conftest.py), checked in the default suite."""

import os
import subprocess
import sys
from pathlib import Path


def test_benchmarks_compile_with_optimisations_on():
    from jax._src import compiler

    assert compiler._DISABLE_MOST_OPTIMIZATIONS.value is False
    assert "JAX_DISABLE_MOST_OPTIMIZATIONS" not in os.environ
    code = "from jax._src import compiler; print(compiler._DISABLE_MOST_OPTIMIZATIONS.value)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # a memory benchmark's subprocess sees the same


def test_fast_mode_emitter_flag_only_where_no_benchmark_is_timed():
    """The suite's cheaper XLA emitters (tests/conftest.py) are for runs that skip the benchmarks
    in fast mode; a benchmark run, or the slow pass with optimisations on, keeps XLA's defaults."""
    from tests.conftest import fast_mode_xla_flags

    flag = "--xla_cpu_use_fusion_emitters=false"
    fast = {"JAX_DISABLE_MOST_OPTIMIZATIONS": "1"}
    assert fast_mode_xla_flags(fast, ["pytest", "--benchmark-skip"]) == flag
    assert fast_mode_xla_flags({**fast, "PYTEST_ADDOPTS": "-q --benchmark-skip"}, []) == flag
    assert fast_mode_xla_flags(fast, ["pytest", "--benchmark-only"]) == ""
    assert fast_mode_xla_flags(fast, ["pytest", "tests/benchmarks/test_memory.py"]) == ""
    slow = {"JAX_DISABLE_MOST_OPTIMIZATIONS": "0"}
    assert fast_mode_xla_flags(slow, ["pytest", "--benchmark-skip"]) == ""
    # other flags are kept, and the flag is not added twice (xdist workers inherit it)
    other = {**fast, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    got = fast_mode_xla_flags(other, ["--benchmark-skip"])
    assert got == f"--xla_force_host_platform_device_count=4 {flag}"
    assert fast_mode_xla_flags({**fast, "XLA_FLAGS": got}, ["--benchmark-skip"]) == got


def test_scale_benchmark_settings_are_checked(monkeypatch):
    """``WSBENCH_SCALE_N`` / ``WSBENCH_SCALE_ROUNDS`` (tests/benchmarks/test_scale.py): a clear
    error naming the variable for a bad value, never a silent 0 rounds or a truncated size."""
    import pytest

    from tests.benchmarks.test_scale import env_ints

    monkeypatch.setenv("WSBENCH_SCALE_N", "1e6,10000000")
    assert env_ints("WSBENCH_SCALE_N", "1000000", low=1) == [1_000_000, 10_000_000]
    monkeypatch.delenv("WSBENCH_SCALE_N")
    assert env_ints("WSBENCH_SCALE_N", "1000000", low=1) == [1_000_000]
    for bad in ("0", "-3", "2.5", "ten", "", "1e6,,2"):
        monkeypatch.setenv("WSBENCH_SCALE_ROUNDS", bad)
        with pytest.raises(ValueError, match="WSBENCH_SCALE_ROUNDS=.*whole numbers >= 1"):
            env_ints("WSBENCH_SCALE_ROUNDS", "3", low=1)
    code = "import tests.benchmarks.test_scale"
    env = dict(os.environ, WSBENCH_SCALE_ROUNDS="3,4")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root
    )
    assert out.returncode != 0 and "give one number of timed rounds" in out.stderr
