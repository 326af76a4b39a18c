"""Slow, loop-based NumPy references (and golden files) that the JAX label models are checked against."""

from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
