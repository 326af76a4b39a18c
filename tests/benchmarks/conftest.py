"""Benchmarks measure what users run: XLA's optimisations on.

``tests/conftest.py`` turns them off for the test suite (``JAX_DISABLE_MOST_OPTIMIZATIONS=1``: the
suite is compile-bound), which would make every benchmark here time and measure unoptimised
programs, in process and in the subprocesses the memory benchmarks start (they inherit the
environment). Each benchmark module's tests run with the flag off and without the variable.
"""

import jax
import pytest

FLAG = "jax_disable_most_optimizations"


@pytest.fixture(autouse=True)
def optimised_compiles(monkeypatch):
    from jax._src import compiler

    before = bool(compiler._DISABLE_MOST_OPTIMIZATIONS.value)
    monkeypatch.delenv("JAX_DISABLE_MOST_OPTIMIZATIONS", raising=False)  # for subprocesses
    jax.config.update(FLAG, False)
    yield
    jax.config.update(FLAG, before)
