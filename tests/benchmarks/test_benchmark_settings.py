"""The benchmarks' own settings (tests/benchmarks/conftest.py), checked in the default suite."""

import os
import subprocess
import sys


def test_benchmarks_compile_with_optimisations_on():
    from jax._src import compiler

    assert compiler._DISABLE_MOST_OPTIMIZATIONS.value is False
    assert "JAX_DISABLE_MOST_OPTIMIZATIONS" not in os.environ
    code = "from jax._src import compiler; print(compiler._DISABLE_MOST_OPTIMIZATIONS.value)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # a memory benchmark's subprocess sees the same
