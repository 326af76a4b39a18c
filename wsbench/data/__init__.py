"""Data containers, converters and label-matrix operations."""

from ._containers import Dataset, Split, WeakLabels
from ._convert import from_long, from_metal
from ._ops import conflict, coverage, one_hot_votes, overlap, vote_counts

__all__ = [
    "Dataset",
    "Split",
    "WeakLabels",
    "conflict",
    "coverage",
    "from_long",
    "from_metal",
    "one_hot_votes",
    "overlap",
    "vote_counts",
]
