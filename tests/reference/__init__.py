"""Slow, loop-based NumPy references and golden files to check the JAX label models against."""

from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
