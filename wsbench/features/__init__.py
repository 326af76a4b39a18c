"""Featurisers turning raw records into float32 ``(n, d)`` arrays for end models.

A featuriser is *fitted on the train split only* (vocabulary, document frequencies) and then
transforms every split; fitting and transforming are deterministic (no RNG, no Python ``hash``).

- :class:`TfidfNGrams` — TF-IDF over word or character n-grams, vocabulary and idf from train;
- :class:`HashedNGrams` — n-gram counts hashed (CRC-32) into a fixed number of columns, optionally
  idf-weighted with document frequencies from train;
- :class:`UnionFeatures` — several featurisers' columns side by side (word and character n-grams);
- :func:`make_featurizer` — a featuriser from a config spec (a preset ``"default"`` /
  ``"word_char"``, ``"tfidf"``, ``{"name": "hashed",
  "n_features": 4096}``, an instance, or ``None``);
- :func:`featurize_splits` — fit on train, transform every split.

Example:
    >>> f = TfidfNGrams(ngram_range=(1, 1), min_df=1).fit(["spam spam ham", "ham eggs"])
    >>> f.vocabulary
    ('eggs', 'ham', 'spam')
    >>> f.transform(["spam"]).tolist()
    [[0.0, 0.0, 1.0]]
"""

from ._text import (
    DEFAULT_TEXT_FEATURES,
    FEATURIZERS,
    PRESETS,
    WORD_CHAR_TEXT_FEATURES,
    FittedTextFeaturizer,
    HashedNGrams,
    TextFeaturizer,
    TfidfNGrams,
    UnionFeatures,
    char_ngrams,
    featurize_splits,
    make_featurizer,
    word_ngrams,
)

__all__ = [
    "DEFAULT_TEXT_FEATURES",
    "FEATURIZERS",
    "FittedTextFeaturizer",
    "HashedNGrams",
    "PRESETS",
    "TextFeaturizer",
    "TfidfNGrams",
    "UnionFeatures",
    "WORD_CHAR_TEXT_FEATURES",
    "char_ngrams",
    "featurize_splits",
    "make_featurizer",
    "word_ngrams",
]
