"""Data containers, converters and label-matrix operations."""

from ._containers import Dataset, Split, WeakLabels
from ._convert import from_long, from_metal
from ._ops import conflict, coverage, one_hot_votes, overlap, vote_counts
from ._wrench import load_wrench, load_wrench_dataset, read_wrench_split

__all__ = [
    "Dataset",
    "Split",
    "WeakLabels",
    "conflict",
    "coverage",
    "from_long",
    "from_metal",
    "load_wrench",
    "load_wrench_dataset",
    "one_hot_votes",
    "overlap",
    "read_wrench_split",
    "vote_counts",
]
