"""End models trained on probabilistic labels (noise-aware): logistic regression, an MLP, and image
models (a CIFAR ResNet, a small CNN) that train with any ``wsbench.augment`` policy."""

from ._base import (
    AbstractEndModel,
    AbstractFittedEndModel,
    FittedClassifier,
    check_features,
    check_sizes,
    check_targets,
    check_weights,
)
from ._image import CNN, FittedImageClassifier, ResNet
from ._logreg import LogisticRegression
from ._mlp import MLP
from ._select import SELECT_KEYS, grid_candidates, select_on_valid
from ._text import FittedTextClassifier, TextCNN
from ._train import adamw, train_classifier
from .losses import soft_cross_entropy, votes_weight

__all__ = [
    "SELECT_KEYS",
    "grid_candidates",
    "CNN",
    "MLP",
    "FittedImageClassifier",
    "ResNet",
    "TextCNN",
    "FittedTextClassifier",
    "AbstractEndModel",
    "AbstractFittedEndModel",
    "FittedClassifier",
    "LogisticRegression",
    "adamw",
    "check_features",
    "check_sizes",
    "check_targets",
    "check_weights",
    "select_on_valid",
    "soft_cross_entropy",
    "train_classifier",
    "votes_weight",
]
