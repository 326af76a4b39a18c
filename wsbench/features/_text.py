"""Text featurisers: word / character n-grams as TF-IDF or hashed counts, fitted on train only.

String processing is host-side NumPy (tokenising is not an accelerator job); the output is a dense
float32 ``(n, d)`` array that ``jnp.asarray`` takes as is. Conventions (close to scikit-learn's
``TfidfVectorizer`` defaults, which readers know, but implemented here):

- word tokens: lower-cased matches of ``\\b\\w\\w+\\b`` (words of two or more characters);
  word n-grams join consecutive tokens with one space;
- character n-grams: every substring of length n of the lower-cased text with runs of whitespace
  collapsed to one space and one space added at each end;
- smooth idf: ``idf(t) = ln((1 + n) / (1 + df(t))) + 1`` with ``df`` counted on the train split;
- rows are scaled to unit L2 norm (``norm="l2"``); a row with no known n-gram stays all zeros.
"""

import abc
import re
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_SPACE = re.compile(r"\s+")

DEFAULT_TEXT_FEATURES: dict[str, Any] = {
    "name": "tfidf",
    "analyzer": "word",
    "ngram_range": (1, 2),
    "min_df": 2,
    "max_features": 5000,
}
"""What the real tasks use when ``features="default"``: word uni+bigram TF-IDF, terms seen in >= 2
train documents, the 5000 most frequent kept."""

WORD_CHAR_TEXT_FEATURES: dict[str, Any] = {
    "name": "union",
    "parts": (
        dict(DEFAULT_TEXT_FEATURES),
        {
            "name": "tfidf",
            "analyzer": "char",
            "ngram_range": (2, 5),
            "min_df": 2,
            "max_features": 10000,
        },
    ),
}
"""``features="word_char"``: the default word 1-2-gram TF-IDF beside character 2-5-gram TF-IDF
(terms in >= 2 train documents, the 10000 most frequent), each block unit-L2 scaled by
``1 / sqrt(2)`` (:class:`UnionFeatures`). Character n-grams see sub-word cues (URLs, obfuscated or
misspelt words, digits) that whole-word tokens miss."""

PRESETS: dict[str, dict[str, Any]] = {
    "default": DEFAULT_TEXT_FEATURES,
    "word_char": WORD_CHAR_TEXT_FEATURES,
}
"""Named featuriser specs :func:`make_featurizer` accepts as a string."""


def _check_range(ngram_range, name: str) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in ngram_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: ngram_range must be a pair (min_n, max_n) of ints, got {ngram_range!r}."
        ) from None
    if lo < 1 or hi < lo:
        raise ValueError(f"{name}: ngram_range must satisfy 1 <= min_n <= max_n, got {(lo, hi)}.")
    return lo, hi


def word_ngrams(text: str, ngram_range: tuple[int, int] = (1, 1)) -> list[str]:
    """Word n-grams of ``text`` (see the module docstring), shortest n first, in text order."""
    lo, hi = _check_range(ngram_range, "word_ngrams")
    tokens = _TOKEN.findall(text.lower())
    return [
        " ".join(tokens[i : i + n]) for n in range(lo, hi + 1) for i in range(len(tokens) - n + 1)
    ]


def char_ngrams(text: str, ngram_range: tuple[int, int] = (2, 4)) -> list[str]:
    """Character n-grams of ``text`` (see the module docstring), shortest n first."""
    lo, hi = _check_range(ngram_range, "char_ngrams")
    s = " " + _SPACE.sub(" ", text.lower()).strip() + " "
    return [s[i : i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1)]


def _check_texts(texts, who: str) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(
            f"{who} needs a sequence of strings (one per record), got {type(texts).__name__}."
        )
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(
                f"{who}: texts[{i}] is a {type(t).__name__}, not a str; extract the text field "
                "of each record first (e.g. [r.text for r in records])."
            )
    return list(texts)


def _scale(tf: np.ndarray, sublinear_tf: bool) -> np.ndarray:
    return np.where(tf > 0, 1.0 + np.log(np.maximum(tf, 1.0)), 0.0) if sublinear_tf else tf


def _normalize(x: np.ndarray, norm: str | None) -> np.ndarray:
    if norm is None:
        return x
    length = np.sqrt((x.astype(np.float64) ** 2).sum(axis=1, keepdims=True))
    return (x / np.where(length > 0, length, 1.0)).astype(np.float32)


class FittedTextFeaturizer(abc.ABC):
    """What :meth:`TextFeaturizer.fit` returns: ``transform(texts) -> (n, d)`` float32."""

    n_features: int

    @abc.abstractmethod
    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Features for each text, a float32 ``(len(texts), n_features)`` array."""


class TextFeaturizer(abc.ABC):
    """Hyperparameters of a featuriser; ``fit(train_texts)`` returns the fitted featuriser."""

    @abc.abstractmethod
    def fit(self, texts: Sequence[str]) -> FittedTextFeaturizer:
        """Fit on the train texts only (vocabulary, document frequencies)."""

    def _grams(self, text: str) -> list[str]:
        fn = word_ngrams if self.analyzer == "word" else char_ngrams
        return fn(text, self.ngram_range)

    def _check_common(self):
        name = type(self).__name__
        if self.analyzer not in ("word", "char"):
            raise ValueError(f"{name}: analyzer must be 'word' or 'char', got {self.analyzer!r}.")
        object.__setattr__(self, "ngram_range", _check_range(self.ngram_range, name))
        if self.norm not in ("l2", None):
            raise ValueError(f"{name}: norm must be 'l2' or None, got {self.norm!r}.")


# ------------------------------------------------------------------------------------ TF-IDF


@dataclass(frozen=True)
class FittedTfidf(FittedTextFeaturizer):
    """A fitted :class:`TfidfNGrams`: the sorted ``vocabulary`` and its ``idf`` (from train)."""

    spec: "TfidfNGrams"
    vocabulary: tuple[str, ...]
    idf: np.ndarray
    index: dict[str, int] = field(repr=False)

    @property
    def n_features(self) -> int:
        return len(self.vocabulary)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts, "TfidfNGrams.transform")
        x = np.zeros((len(texts), self.n_features), dtype=np.float32)
        for i, text in enumerate(texts):
            for gram, count in Counter(self.spec._grams(text)).items():
                j = self.index.get(gram)
                if j is not None:
                    x[i, j] = count
        x = (_scale(x, self.spec.sublinear_tf) * self.idf[None, :]).astype(np.float32)
        return _normalize(x, self.spec.norm)


@dataclass(frozen=True)
class TfidfNGrams(TextFeaturizer):
    """TF-IDF of word or character n-grams with a vocabulary learned from the train texts.

    Args:
        analyzer: ``"word"`` or ``"char"`` n-grams (see the module docstring).
        ngram_range: ``(min_n, max_n)``, inclusive.
        min_df: keep n-grams that occur in at least this many train documents.
        max_features: keep at most this many n-grams, the highest train document frequency first
            (ties broken alphabetically); ``None`` keeps all.
        sublinear_tf: use ``1 + ln(tf)`` instead of the raw count.
        norm: ``"l2"`` (unit rows) or ``None``.

    Raises:
        ValueError: bad hyperparameters, or (at fit) no n-gram passing ``min_df``.
    """

    analyzer: Literal["word", "char"] = "word"
    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = 1
    max_features: int | None = None
    sublinear_tf: bool = False
    norm: Literal["l2"] | None = "l2"

    def __post_init__(self):
        self._check_common()
        if isinstance(self.min_df, bool) or not isinstance(self.min_df, int) or self.min_df < 1:
            raise ValueError(f"TfidfNGrams: min_df must be a positive int, got {self.min_df!r}.")
        if self.max_features is not None and (
            isinstance(self.max_features, bool)
            or not isinstance(self.max_features, int)
            or self.max_features < 1
        ):
            raise ValueError(
                f"TfidfNGrams: max_features must be a positive int or None, got {self.max_features!r}."
            )

    def fit(self, texts: Sequence[str]) -> FittedTfidf:
        texts = _check_texts(texts, "TfidfNGrams.fit")
        if not texts:
            raise ValueError("TfidfNGrams.fit: no train texts.")
        df = Counter(g for text in texts for g in set(self._grams(text)))
        kept = [(g, c) for g, c in df.items() if c >= self.min_df]
        if not kept:
            raise ValueError(
                f"TfidfNGrams.fit: no {self.analyzer} n-gram in range {self.ngram_range} occurs in "
                f">= min_df={self.min_df} of the {len(texts)} train texts; lower min_df."
            )
        if self.max_features is not None:
            kept = sorted(kept, key=lambda gc: (-gc[1], gc[0]))[: self.max_features]
        kept.sort()
        vocabulary = tuple(g for g, _ in kept)
        dfs = np.array([c for _, c in kept], dtype=np.float64)
        idf = (np.log((1.0 + len(texts)) / (1.0 + dfs)) + 1.0).astype(np.float32)
        return FittedTfidf(
            spec=self,
            vocabulary=vocabulary,
            idf=idf,
            index={g: j for j, g in enumerate(vocabulary)},
        )


# ------------------------------------------------------------------------------------ hashed


def _bucket(gram: str, n_features: int) -> int:
    return zlib.crc32(gram.encode("utf-8")) % n_features


@dataclass(frozen=True)
class FittedHashed(FittedTextFeaturizer):
    """A fitted :class:`HashedNGrams`: ``idf`` per column (ones when ``idf=False``)."""

    spec: "HashedNGrams"
    idf: np.ndarray

    @property
    def n_features(self) -> int:
        return self.spec.n_features

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts, "HashedNGrams.transform")
        x = np.zeros((len(texts), self.n_features), dtype=np.float32)
        for i, text in enumerate(texts):
            for gram in self.spec._grams(text):
                x[i, _bucket(gram, self.n_features)] += 1.0
        x = (_scale(x, self.spec.sublinear_tf) * self.idf[None, :]).astype(np.float32)
        return _normalize(x, self.spec.norm)


@dataclass(frozen=True)
class HashedNGrams(TextFeaturizer):
    """Counts of word or character n-grams hashed into ``n_features`` columns (the hashing trick).

    Column of an n-gram: ``crc32(utf-8 bytes) mod n_features`` (fixed across platforms and Python
    runs, unlike ``hash``); collisions add up. With ``idf=True`` the columns are weighted by the
    smooth idf of their train document frequency, the only thing fitting learns.

    Args:
        analyzer, ngram_range, sublinear_tf, norm: as for :class:`TfidfNGrams`.
        n_features: the number of columns d.
        idf: weight columns by the train idf.
    """

    analyzer: Literal["word", "char"] = "word"
    ngram_range: tuple[int, int] = (1, 2)
    n_features: int = 2**12
    idf: bool = False
    sublinear_tf: bool = False
    norm: Literal["l2"] | None = "l2"

    def __post_init__(self):
        self._check_common()
        if (
            isinstance(self.n_features, bool)
            or not isinstance(self.n_features, int)
            or self.n_features < 1
        ):
            raise ValueError(
                f"HashedNGrams: n_features must be a positive int, got {self.n_features!r}."
            )

    def fit(self, texts: Sequence[str]) -> FittedHashed:
        texts = _check_texts(texts, "HashedNGrams.fit")
        if not texts:
            raise ValueError("HashedNGrams.fit: no train texts.")
        if not self.idf:
            return FittedHashed(spec=self, idf=np.ones(self.n_features, np.float32))
        df = np.zeros(self.n_features, dtype=np.float64)
        for text in texts:
            for j in {_bucket(g, self.n_features) for g in self._grams(text)}:
                df[j] += 1.0
        idf = (np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0).astype(np.float32)
        return FittedHashed(spec=self, idf=idf)


# ------------------------------------------------------------------------------------- union


@dataclass(frozen=True)
class FittedUnion(FittedTextFeaturizer):
    """A fitted :class:`UnionFeatures`: the fitted parts, their columns side by side."""

    spec: "UnionFeatures"
    parts: tuple[FittedTextFeaturizer, ...]

    @property
    def n_features(self) -> int:
        return sum(p.n_features for p in self.parts)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts, "UnionFeatures.transform")
        scale = np.float32(1.0 / np.sqrt(len(self.parts)))
        return np.concatenate([p.transform(texts) * scale for p in self.parts], axis=1)


@dataclass(frozen=True)
class UnionFeatures(TextFeaturizer):
    """Several featurisers' columns side by side (e.g. word and character n-gram TF-IDF).

    Each part is fitted on the same train texts; every block is scaled by ``1 / sqrt(len(parts))``,
    so parts with unit-L2 rows give unit-L2 rows (each part weighs the same in a linear model's
    dot products, whatever its number of columns).

    Args:
        parts: the featurisers (instances or :func:`make_featurizer` specs), at least one.

    Raises:
        ValueError: no parts, or a part that is not a valid featuriser spec.
    """

    parts: tuple = ()

    def __post_init__(self):
        if isinstance(self.parts, (str, Mapping)) or not isinstance(self.parts, Sequence):
            raise ValueError(
                "UnionFeatures: parts must be a list of featuriser specs, got "
                f"{type(self.parts).__name__}."
            )
        parts = tuple(make_featurizer(p) for p in self.parts)
        if not parts or any(p is None for p in parts):
            raise ValueError(
                "UnionFeatures: parts must be a non-empty list of featurisers (None is not one)."
            )
        object.__setattr__(self, "parts", parts)

    def fit(self, texts: Sequence[str]) -> FittedUnion:
        texts = _check_texts(texts, "UnionFeatures.fit")
        return FittedUnion(spec=self, parts=tuple(p.fit(texts) for p in self.parts))


# ---------------------------------------------------------------------------------- helpers

FEATURIZERS: dict[str, type[TextFeaturizer]] = {
    "tfidf": TfidfNGrams,
    "hashed": HashedNGrams,
    "union": UnionFeatures,
}
"""Featuriser names accepted by :func:`make_featurizer` (and the tasks' ``features=`` option)."""


def make_featurizer(spec) -> TextFeaturizer | None:
    """A featuriser from a spec: ``None`` (no features), a preset name in :data:`PRESETS`
    (``"default"``: :data:`DEFAULT_TEXT_FEATURES`, ``"word_char"``: :data:`WORD_CHAR_TEXT_FEATURES`),
    a name in :data:`FEATURIZERS`, a mapping ``{"name": ...,
    **hyperparameters}`` (e.g. a Hydra config node), or a :class:`TextFeaturizer` instance.

    Raises:
        ValueError: an unknown name, a mapping without ``name``, or bad hyperparameters.
    """
    if spec is None or isinstance(spec, TextFeaturizer):
        return spec
    if isinstance(spec, str):
        spec = PRESETS.get(spec, {"name": spec})
    if not isinstance(spec, Mapping):
        raise ValueError(
            f"features must be None, 'default', a name in {sorted(FEATURIZERS)}, a mapping "
            f"{{'name': ..., **params}} or a TextFeaturizer; got {type(spec).__name__}."
        )
    params = dict(spec)
    name = params.pop("name", None)
    if name not in FEATURIZERS:
        raise ValueError(
            f"unknown featuriser {name!r}; choose 'name' from {sorted(FEATURIZERS)} "
            f"(or pass a preset name from {sorted(PRESETS)})."
        )
    if "ngram_range" in params:
        params["ngram_range"] = tuple(params["ngram_range"])
    if name == "union" and isinstance(params.get("parts"), Sequence):
        params["parts"] = tuple(params["parts"])
    try:
        return FEATURIZERS[name](**params)
    except TypeError as err:
        raise ValueError(f"featuriser {name!r}: {err}") from None


def featurize_splits(spec, texts: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray] | None:
    """Fit the featuriser ``spec`` on ``texts["train"]`` and transform every split.

    Returns:
        ``{split: float32 (n_split, d)}``, or ``None`` when ``spec`` is ``None``.
    """
    featurizer = make_featurizer(spec)
    if featurizer is None:
        return None
    if "train" not in texts:
        raise ValueError(f"featurize_splits needs a 'train' split to fit on, got {sorted(texts)}.")
    fitted = featurizer.fit(texts["train"])
    return {split: fitted.transform(t) for split, t in texts.items()}
