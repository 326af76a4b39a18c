"""Synthetic weak supervision with known truth, for recovery and scaling studies."""

from ._dawid_skene import make_dawid_skene, sample_dawid_skene
from ._dependent import dependent_posterior, make_dependent, sample_dependent
from ._features import (
    dataset_with_features,
    features_bayes_accuracy,
    features_posterior,
    make_with_features,
    sample_features,
    with_features,
)
from ._independent import make_independent, sample_independent
from ._simulation import Simulation, bayes_posterior, subset, to_dataset

__all__ = [
    "Simulation",
    "bayes_posterior",
    "dataset_with_features",
    "dependent_posterior",
    "features_bayes_accuracy",
    "features_posterior",
    "make_dawid_skene",
    "make_dependent",
    "make_independent",
    "make_with_features",
    "sample_dawid_skene",
    "sample_dependent",
    "sample_features",
    "sample_independent",
    "subset",
    "to_dataset",
    "with_features",
]
