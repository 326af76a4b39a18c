"""Data containers, converters and label-matrix operations."""

from . import validate
from ._containers import Dataset, Split, WeakLabels
from ._convert import from_long, from_metal
from ._ops import class_frequencies, conflict, coverage, overlap, vote_counts
from ._wrench import load_wrench, load_wrench_dataset, read_wrench_split

__all__ = [
    "Dataset",
    "Split",
    "WeakLabels",
    "class_frequencies",
    "conflict",
    "coverage",
    "from_long",
    "from_metal",
    "load_wrench",
    "load_wrench_dataset",
    "overlap",
    "read_wrench_split",
    "validate",
    "vote_counts",
]
