"""Slow, obviously-correct NumPy references for wsbench.features (loops over a term list)."""

import math
import re
import zlib

import numpy as np


def tokens(text):
    return re.findall(r"\b\w\w+\b", text.lower())


def word_grams(text, lo, hi):
    t = tokens(text)
    out = []
    for n in range(lo, hi + 1):
        for i in range(len(t) - n + 1):
            out.append(" ".join(t[i : i + n]))
    return out


def char_grams(text, lo, hi):
    s = " " + " ".join(text.lower().split()) + " "
    out = []
    for n in range(lo, hi + 1):
        for i in range(len(s) - n + 1):
            out.append(s[i : i + n])
    return out


def tfidf(train, texts, lo=1, hi=1, min_df=1, analyzer="word", max_features=None):
    """(vocabulary, X): smooth idf from train, raw counts, unit L2 rows; ``max_features`` keeps
    the terms of highest train document frequency (ties: alphabetical)."""
    grams_of = word_grams if analyzer == "word" else char_grams
    docs = [grams_of(t, lo, hi) for t in train]
    terms = sorted({g for d in docs for g in d})
    df = {g: sum(g in d for d in docs) for g in terms}
    vocab = [g for g in terms if df[g] >= min_df]
    if max_features is not None:
        vocab = sorted(sorted(vocab, key=lambda g: (-df[g], g))[:max_features])
    x = np.zeros((len(texts), len(vocab)))
    for i, t in enumerate(texts):
        grams = grams_of(t, lo, hi)
        for j, g in enumerate(vocab):
            x[i, j] = grams.count(g) * (math.log((1 + len(train)) / (1 + df[g])) + 1)
        norm = math.sqrt(sum(v * v for v in x[i]))
        if norm > 0:
            x[i] /= norm
    return vocab, x


def hashed(texts, d, lo=1, hi=1):
    """Hashed word-n-gram counts (crc32 mod d), unit L2 rows, no idf."""
    x = np.zeros((len(texts), d))
    for i, t in enumerate(texts):
        for g in word_grams(t, lo, hi):
            x[i, zlib.crc32(g.encode()) % d] += 1
        norm = np.sqrt((x[i] ** 2).sum())
        if norm > 0:
            x[i] /= norm
    return x
