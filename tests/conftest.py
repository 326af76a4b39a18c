"""Shared fixtures: JAX strictness, a printed test key, CPU-only and offline settings, and the
two settings that make the suite cheap to compile (see ``pytest_configure``)."""

import os
import sys

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("HYDRA_FULL_ERROR", "1")
# Compiling, not running, is most of the suite's CPU time (tiny problems, thousands of programs):
# XLA's optimisation passes are skipped for tests. Same semantics, other rounding at most (tests
# compare with tolerances); CI's slow pass runs with JAX_DISABLE_MOST_OPTIMIZATIONS=0, so every
# program is also tested as users compile it. Set before jax is imported (subprocesses inherit it).
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")


def fast_mode_xla_flags(env, argv) -> str:
    """``XLA_FLAGS`` for this run: in the fast mode above, and when the run skips the benchmarks
    (``--benchmark-skip``, as the README's test command does), XLA:CPU's older elemental emitters
    instead of its MLIR fusion emitters. Measured on 2 cores, a DawidSkene or MatrixCompletion fit +
    predict of a tiny problem compiles in 0.8-1.7 s instead of 1.4-2.8 s; the same programs. XLA
    reads the flag once per process, so a run that may time benchmarks (``tests/benchmarks``
    measure what users run) keeps XLA's default emitters; so does CI's slow pass (optimisations
    on). xdist workers inherit the controller's environment."""
    flags = env.get("XLA_FLAGS", "")
    args = [*argv, *env.get("PYTEST_ADDOPTS", "").split()]
    fast = env.get("JAX_DISABLE_MOST_OPTIMIZATIONS") not in ("0", "", None)
    if fast and "--benchmark-skip" in args and "xla_cpu_use_fusion_emitters" not in flags:
        flags = f"{flags} --xla_cpu_use_fusion_emitters=false".strip()
    return flags


_flags = fast_mode_xla_flags(os.environ, sys.argv)
if _flags:
    os.environ["XLA_FLAGS"] = _flags

import jax  # noqa: E402
import jax.random as jr  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")

TEST_SEED = int(os.environ.get("WSBENCH_TEST_SEED", "0"))


@pytest.fixture
def key(request):
    """A key derived from WSBENCH_TEST_SEED and the test's name (so tests do not share streams)."""
    import zlib

    k = jr.fold_in(jr.key(TEST_SEED), zlib.crc32(request.node.name.encode()) & 0x7FFFFFFF)
    return k


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module.

    Every XLA:CPU executable holds its own memory mappings, and a process that keeps the
    thousands a full suite compiles runs into the kernel's map limit (``vm.max_map_count``,
    65530 by default): LLVM's next allocation fails and the compiler segfaults. Modules do not
    share programs worth keeping, so clearing the caches between them costs little.
    """
    yield
    import gc

    jax.clear_caches()
    gc.collect()


def pytest_configure(config):
    """JAX's persistent compilation cache in pytest's cache folder (``.pytest_cache/d/jax``).

    A re-run of the suite loads its programs instead of compiling them (about 4x less CPU on a
    warm cache), and programs compiled again after a module's ``clear_caches`` are loaded too.
    ``pytest --cache-clear`` or ``-p no:cacheprovider`` starts cold; ``WSBENCH_TEST_JAX_CACHE=0``
    turns it off. Subprocesses started by tests inherit it through the environment.
    """
    cache = getattr(config, "cache", None)
    if cache is None or os.environ.get("WSBENCH_TEST_JAX_CACHE", "1") == "0":
        return
    path = str(cache.mkdir("jax"))
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", path)
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    for name, value in (("min_compile_time_secs", 0), ("min_entry_size_bytes", 0)):
        os.environ.setdefault(f"JAX_PERSISTENT_CACHE_{name.upper()}", str(value))
        jax.config.update(f"jax_persistent_cache_{name}", value)


def pytest_report_header(config):
    opt = "off" if os.environ.get("JAX_DISABLE_MOST_OPTIMIZATIONS") not in ("0", "", None) else "on"
    return (
        f"wsbench test seed: WSBENCH_TEST_SEED={TEST_SEED}; jax backend: {jax.default_backend()}; "
        f"XLA optimisations {opt}; compilation cache: "
        f"{os.environ.get('JAX_COMPILATION_CACHE_DIR') or 'off'}"
    )


# ----------------------------------------------------------------------------------------------
# Real-data tests must not skip silently where the data is there (CI sets the variable below).

REQUIRE_REAL_DATA = "WSBENCH_REQUIRE_REAL_DATA"
_REAL_DATA_SKIP = ("dataset mirror", "WSBENCH_DATA_MIRROR")


def _is_real_data_skip(report) -> bool:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return any(s.lower() in reason.lower() for s in _REAL_DATA_SKIP)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With ``WSBENCH_REQUIRE_REAL_DATA=1``, a test skipped for want of the dataset mirror fails.

    Real-data tests skip with a reason naming the mirror (``needs_mirror`` and the mirror
    fixtures); where CI has the mirror, such a skip means the mirror was not found or not passed
    on, and the run must not pass with those tests unrun.
    """
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get(REQUIRE_REAL_DATA) == "1" and _is_real_data_skip(report):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid}: skipped for want of real data although {REQUIRE_REAL_DATA}=1 "
            f"(WSBENCH_DATA_MIRROR={os.environ.get('WSBENCH_DATA_MIRROR')!r}); skip reason: "
            f"{reason}"
        )
