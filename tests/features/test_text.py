"""wsbench.features: n-gram extraction, TF-IDF and hashed features against hand computation and a
NumPy reference, fitting on train only, determinism, and clear errors."""

import math

import numpy as np
import pytest

from tests.reference import text_features_numpy as ref
from wsbench.features import (
    DEFAULT_TEXT_FEATURES,
    WORD_CHAR_TEXT_FEATURES,
    HashedNGrams,
    TfidfNGrams,
    UnionFeatures,
    char_ngrams,
    featurize_splits,
    make_featurizer,
    word_ngrams,
)

TRAIN = ["aa bb", "bb cc cc"]
CORPUS = [
    "Check out my channel http://spam.example",
    "great song, great video",
    "subscribe to my channel please",
    "I love this song so much",
    "check my new song",
]


def test_ngrams():
    assert word_ngrams("Check it OUT, a b", (1, 2)) == ["check", "it", "out", "check it", "it out"]
    assert char_ngrams("Ab  c", (2, 3)) == [
        " a",
        "ab",
        "b ",
        " c",
        "c ",
        " ab",
        "ab ",
        "b c",
        " c ",
    ]


def test_tfidf_hand_computed():
    fitted = TfidfNGrams(ngram_range=(1, 1)).fit(TRAIN)
    assert fitted.vocabulary == ("aa", "bb", "cc")
    # df: aa 1, bb 2, cc 1 over n = 2 documents; idf = ln((1 + n) / (1 + df)) + 1
    i1 = math.log(3 / 2) + 1
    np.testing.assert_allclose(fitted.idf, [i1, 1.0, i1], rtol=1e-6)
    x = fitted.transform(TRAIN + ["dd"])
    assert x.dtype == np.float32 and x.shape == (3, 3)
    r1 = np.array([i1, 1.0, 0.0])
    r2 = np.array([0.0, 1.0, 2 * i1])
    np.testing.assert_allclose(x[0], r1 / np.linalg.norm(r1), rtol=1e-6)
    np.testing.assert_allclose(x[1], r2 / np.linalg.norm(r2), rtol=1e-6)
    np.testing.assert_array_equal(x[2], 0.0)  # unknown words only: a zero row, not NaN


@pytest.mark.parametrize("ngram_range,min_df", [((1, 1), 1), ((1, 2), 1), ((1, 2), 2)])
def test_tfidf_matches_reference(ngram_range, min_df):
    train, other = CORPUS[:4], CORPUS[4:] + ["nothing known here"]
    vocab, expected = ref.tfidf(train, train + other, *ngram_range, min_df=min_df)
    fitted = TfidfNGrams(ngram_range=ngram_range, min_df=min_df).fit(train)
    assert list(fitted.vocabulary) == vocab
    np.testing.assert_allclose(fitted.transform(train + other), expected, rtol=1e-5, atol=1e-7)


def test_tfidf_fits_on_train_only_and_max_features():
    fitted = TfidfNGrams(ngram_range=(1, 1)).fit(CORPUS[:2])
    assert "subscribe" not in fitted.vocabulary  # a valid/test-only word is not learned
    top = TfidfNGrams(ngram_range=(1, 1), max_features=2).fit(CORPUS)
    # document frequencies: my 3, channel 2, check 2, song 3 -> highest df first, ties by name
    assert top.vocabulary == ("my", "song")


@pytest.mark.parametrize("max_features", [None, 12])
def test_char_tfidf_matches_reference(max_features):
    train, other = CORPUS[:4], CORPUS[4:] + ["zzz"]
    vocab, expected = ref.tfidf(
        train, train + other, 2, 4, min_df=2, analyzer="char", max_features=max_features
    )
    fitted = TfidfNGrams(
        analyzer="char", ngram_range=(2, 4), min_df=2, max_features=max_features
    ).fit(train)
    assert list(fitted.vocabulary) == vocab
    np.testing.assert_allclose(fitted.transform(train + other), expected, rtol=1e-5, atol=1e-7)


def test_union_matches_reference_blocks():
    """Word and char TF-IDF side by side, each block / sqrt(2): unit rows, fitted on train only."""
    train, texts = CORPUS[:3], CORPUS + ["zzz"]
    _, word = ref.tfidf(train, texts, 1, 2, min_df=1)
    _, char = ref.tfidf(train, texts, 2, 3, min_df=2, analyzer="char")
    expected = np.concatenate([word, char], axis=1) / np.sqrt(2.0)
    spec = {
        "name": "union",
        "parts": [
            {"name": "tfidf", "ngram_range": [1, 2]},
            {"name": "tfidf", "analyzer": "char", "ngram_range": [2, 3], "min_df": 2},
        ],
    }
    union = make_featurizer(spec)
    assert union == UnionFeatures(
        parts=(
            TfidfNGrams(ngram_range=(1, 2)),
            TfidfNGrams(analyzer="char", ngram_range=(2, 3), min_df=2),
        )
    )
    fitted = union.fit(train)
    x = fitted.transform(texts)
    assert x.dtype == np.float32 and x.shape == expected.shape == (6, fitted.n_features)
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-7)
    # rows with known n-grams in both blocks are unit L2; "zzz" knows none: a zero row, not NaN
    np.testing.assert_allclose(np.linalg.norm(x[:3], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(x[-1], 0.0)
    # a single part is that part unchanged
    one = UnionFeatures(parts=("tfidf",)).fit(train).transform(texts)
    np.testing.assert_allclose(one, TfidfNGrams().fit(train).transform(texts), rtol=1e-6)


def test_union_errors():
    with pytest.raises(ValueError, match="non-empty list"):
        UnionFeatures(parts=())
    with pytest.raises(ValueError, match="non-empty list"):
        UnionFeatures(parts=(None,))
    with pytest.raises(ValueError, match="list of featuriser specs"):
        UnionFeatures(parts="tfidf")
    with pytest.raises(ValueError, match="unknown featuriser 'bow'"):
        make_featurizer({"name": "union", "parts": ["bow"]})
    with pytest.raises(TypeError, match="sequence of strings"):
        UnionFeatures(parts=("tfidf",)).fit("one string")


@pytest.mark.parametrize("d", [7, 64])
def test_hashed_matches_reference(d):
    fitted = HashedNGrams(n_features=d, ngram_range=(1, 2)).fit(CORPUS[:2])
    np.testing.assert_allclose(
        fitted.transform(CORPUS), ref.hashed(CORPUS, d, 1, 2), rtol=1e-5, atol=1e-7
    )


def test_hashed_idf_and_char():
    f = HashedNGrams(n_features=32, idf=True, analyzer="char", ngram_range=(2, 3)).fit(CORPUS)
    x = f.transform(CORPUS)
    assert x.shape == (5, 32) and np.all(np.isfinite(x))
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    assert f.idf.min() >= 1.0 and f.idf.max() > 1.0


def test_deterministic_and_featurize_splits():
    texts = {"train": CORPUS[:3], "valid": CORPUS[3:4], "test": CORPUS[4:]}
    a = featurize_splits("default", texts)
    b = featurize_splits(dict(DEFAULT_TEXT_FEATURES), texts)
    for s in texts:
        np.testing.assert_array_equal(a[s], b[s])
        assert a[s].shape[1] == a["train"].shape[1]
    assert featurize_splits(None, texts) is None


def test_make_featurizer_specs_and_errors():
    assert isinstance(make_featurizer("hashed"), HashedNGrams)
    f = make_featurizer({"name": "tfidf", "ngram_range": [1, 3], "min_df": 2})
    assert f == TfidfNGrams(ngram_range=(1, 3), min_df=2)
    with pytest.raises(ValueError, match="unknown featuriser 'bow'"):
        make_featurizer("bow")
    with pytest.raises(ValueError, match="featuriser 'tfidf'"):
        make_featurizer({"name": "tfidf", "bogus": 1})
    with pytest.raises(ValueError, match="min_df must be a positive int"):
        TfidfNGrams(min_df=0)
    with pytest.raises(ValueError, match="ngram_range"):
        TfidfNGrams(ngram_range=(2, 1))
    with pytest.raises(ValueError, match="analyzer"):
        HashedNGrams(analyzer="bytes")
    with pytest.raises(ValueError, match="lower min_df"):
        TfidfNGrams(min_df=3).fit(TRAIN)
    with pytest.raises(TypeError, match=r"texts\[1\] is a int"):
        TfidfNGrams().fit(["a text", 3])
    with pytest.raises(TypeError, match="sequence of strings"):
        TfidfNGrams().fit("one string")


def test_word_char_preset():
    """features="word_char": the default word TF-IDF and a char 2-5-gram TF-IDF side by side."""
    f = make_featurizer("word_char")
    assert isinstance(f, UnionFeatures)
    assert f.parts[0] == make_featurizer("default")
    assert f.parts[1] == TfidfNGrams(
        analyzer="char", ngram_range=(2, 5), min_df=2, max_features=10000
    )
    assert f == make_featurizer(dict(WORD_CHAR_TEXT_FEATURES))
    texts = {"train": CORPUS[:3], "valid": CORPUS[3:4], "test": CORPUS[4:]}
    x = featurize_splits("word_char", texts)
    word = featurize_splits("default", texts)
    for split in texts:  # the word block is the default features / sqrt(2)
        d = word[split].shape[1]
        np.testing.assert_allclose(x[split][:, :d], word[split] / np.sqrt(2.0), rtol=1e-6)
    with pytest.raises(ValueError, match="preset name"):
        make_featurizer("word-char")
