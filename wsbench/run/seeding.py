"""Keys by name: one root seed per run, named sub-streams that never shift each other (big_vision)."""

import zlib

import jax.random as jr
from jaxtyping import PRNGKeyArray


def root_key(seed: int) -> PRNGKeyArray:
    """The run's root key (typed key)."""
    return jr.key(int(seed))


def named_key(key: PRNGKeyArray, name: str) -> PRNGKeyArray:
    """A sub-key for a named consumer: ``fold_in(key, crc32(name))``."""
    return jr.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)
