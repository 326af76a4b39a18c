"""A finished job drops JAX's compiled programs once the process nears the kernel's map limit."""

import sys

import jax
import pytest

from wsbench.run.job import _memory_maps, release_compiled_programs_if_needed

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/self/maps (Linux only)"
)


def test_maps_are_counted():
    held, limit = _memory_maps()
    assert 0 < held < limit


def test_release_only_past_the_share():
    f = jax.jit(lambda x: x + 1)
    f(1)
    assert f._cache_size() == 1
    assert not release_compiled_programs_if_needed(share=1.0)  # nobody holds every map
    assert f._cache_size() == 1
    assert release_compiled_programs_if_needed(share=0.0)
    assert f._cache_size() == 0
