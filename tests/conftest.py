"""Shared fixtures: JAX strictness, a printed test key, CPU-only and offline settings."""

import os

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("HYDRA_FULL_ERROR", "1")

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


def pytest_report_header(config):
    return f"wsbench test seed: WSBENCH_TEST_SEED={TEST_SEED}; jax backend: {jax.default_backend()}"
