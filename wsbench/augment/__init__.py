"""TANDA (Ratner et al., NeurIPS 2017): learned compositions of transformation functions.

- TFs: :class:`TF`, :class:`TFSet`, :func:`cifar_tfs` (the paper's 33), :func:`grayscale_tfs`,
  text TFs over :class:`Tokens` (:func:`text_tfs`, :class:`NgramLM`);
- generators: :class:`MeanFieldGenerator`, :class:`LSTMGenerator` (:class:`TFUsage`: how many TFs
  a trained one still uses);
- discriminators: :class:`ImageDiscriminator`, :class:`TextDiscriminator`;
- training: :class:`Tanda` (``step``, ``fit``), :func:`train_tanda`;
- policies: :class:`IdentityPolicy`, :class:`CropFlipPolicy`, :class:`RandomSequencePolicy`,
  :class:`TandaPolicy`, :class:`ChainPolicy` behind :class:`AbstractAugmentPolicy`;
- pipeline pieces: :func:`make_policy` (by name) and :func:`fit_and_score` (end-model test accuracy).
"""

from ._discriminator import ImageDiscriminator, TextDiscriminator
from ._evaluate import (
    CLASS_WEIGHTS,
    POLICIES,
    THEN_BASIC,
    balanced_weights,
    fit_and_score,
    make_policy,
)
from ._generator import AbstractGenerator, LSTMGenerator, MeanFieldGenerator, TFUsage
from ._policy import (
    NO_AUGMENT,
    AbstractAugmentPolicy,
    ChainPolicy,
    CropFlipPolicy,
    IdentityPolicy,
    RandomSequencePolicy,
    TandaPolicy,
)
from ._tanda import (
    DIVERSITY,
    Tanda,
    TandaState,
    default_distance,
    reinforce_surrogate,
    reward_to_go,
    train_tanda,
)
from ._text import (
    PAD,
    NgramLM,
    Tokens,
    adjacent_swap,
    ngram_substitute,
    pad_tokens,
    text_tfs,
    word_dropout,
)
from .tfs import TF, TFSet, cifar_tfs, grayscale_tfs, image_basic, make_tfs

__all__ = [
    "PAD",
    "CLASS_WEIGHTS",
    "DIVERSITY",
    "POLICIES",
    "THEN_BASIC",
    "balanced_weights",
    "fit_and_score",
    "make_policy",
    "TF",
    "AbstractAugmentPolicy",
    "AbstractGenerator",
    "ChainPolicy",
    "CropFlipPolicy",
    "IdentityPolicy",
    "NO_AUGMENT",
    "ImageDiscriminator",
    "LSTMGenerator",
    "MeanFieldGenerator",
    "NgramLM",
    "RandomSequencePolicy",
    "TFSet",
    "TFUsage",
    "Tanda",
    "TandaPolicy",
    "TandaState",
    "TextDiscriminator",
    "Tokens",
    "adjacent_swap",
    "cifar_tfs",
    "default_distance",
    "grayscale_tfs",
    "image_basic",
    "make_tfs",
    "ngram_substitute",
    "pad_tokens",
    "reinforce_surrogate",
    "reward_to_go",
    "text_tfs",
    "train_tanda",
    "word_dropout",
]
