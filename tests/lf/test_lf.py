"""wsbench.lf: the decorator, resources and preprocessors, apply_lfs (per-record and
vectorised), errors naming the LF and the record, and lf_summary against hand counts and Snorkel's
definitions."""

import sys

import jax.random as jr
import numpy as np
import pandas as pd
import pytest

from wsbench.lf import (
    ABSTAIN,
    LabelingFunction,
    LFApplicationError,
    apply_lfs,
    apply_lfs_dask,
    labeling_function,
    lf_summary,
)

RECORDS = [
    {"text": "Check out my channel http://spam.example"},
    {"text": "great song"},
    {"text": "subscribe please"},
    {"text": "I love this video so much, Shakira is the best"},
]


@labeling_function()
def has_link(x):
    return 1 if "http" in x["text"] else ABSTAIN


@labeling_function(name="short", resources={"max_len": 12})
def short_comment(x, max_len):
    return 0 if len(x["text"]) <= max_len else ABSTAIN


@labeling_function(resources={"words": frozenset({"subscribe", "channel"})})
def keywords(x, words):
    return 1 if words & set(x["text"].lower().split()) else ABSTAIN


def test_decorator_builds_named_lfs():
    assert isinstance(has_link, LabelingFunction)
    assert has_link.name == "has_link" and short_comment.name == "short"
    assert has_link(RECORDS[0]) == 1 and has_link(RECORDS[1]) == ABSTAIN == -1
    assert short_comment(RECORDS[1]) == 0 and short_comment.resources == {"max_len": 12}
    assert "resources=['max_len']" in repr(short_comment)

    @labeling_function
    def bare(x):
        return 0

    assert bare.name == "bare" and bare({}) == 0


def test_preprocessors_run_in_order():
    def lower(x):
        return {**x, "text": x["text"].lower()}

    def words(x):
        return {**x, "words": x["text"].split()}

    @labeling_function(pre=[lower, words])
    def says_subscribe(x):
        return 1 if "subscribe" in x["words"] else ABSTAIN

    assert says_subscribe({"text": "SUBSCRIBE now"}) == 1
    L = apply_lfs([says_subscribe], [{"text": "SUBSCRIBE now"}, {"text": "no"}], progress=False)
    assert L.tolist() == [[1], [-1]]


def test_bad_definitions_fail_early():
    with pytest.raises(ValueError, match="cannot be called as f\\(record, \\*\\*resources\\)"):
        labeling_function(resources={"nope": 1})(lambda x: 0)
    with pytest.raises(ValueError, match="not callable"):
        labeling_function(pre=[3])(lambda x: 0)
    with pytest.raises(ValueError, match="vectorised LF .* cannot have per-record preprocessors"):
        labeling_function(pre=[lambda x: x], vectorized=True)(lambda xs: xs)
    with pytest.raises(ValueError, match="non-empty str name"):
        LabelingFunction("", lambda x: 0)


def test_apply_lfs_matrix():
    L = apply_lfs([has_link, short_comment, keywords], RECORDS, n_classes=2, progress=False)
    assert L.dtype == np.int32 and L.shape == (4, 3)
    assert L.tolist() == [[1, -1, 1], [-1, 0, -1], [-1, -1, 1], [-1, -1, -1]]


def test_apply_lfs_on_dataframe_rows_allow_attribute_access():
    @labeling_function()
    def attr_style(x):
        return 1 if "http" in x.text else ABSTAIN

    df = pd.DataFrame(RECORDS)
    L = apply_lfs([attr_style, has_link], df, progress=False)
    assert L[:, 0].tolist() == L[:, 1].tolist() == [1, -1, -1, -1]


def test_progress_bar_runs(monkeypatch):
    """progress=True draws a bar (on a terminal) that advances once per record and is closed;
    progress=False turns it off."""
    import tqdm.auto

    made = []

    class FakeBar:
        def __init__(self, iterable, **kwargs):
            self.iterable, self.kwargs, self.seen, self.closed = iterable, kwargs, 0, False
            made.append(self)

        def __iter__(self):
            for item in self.iterable:
                self.seen += 1
                yield item

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm.auto, "tqdm", FakeBar)
    L = apply_lfs([has_link], RECORDS, progress=True)
    assert L[:, 0].tolist() == [1, -1, -1, -1]
    (bar,) = made
    assert bar.kwargs["disable"] is None  # None: tqdm draws only when stderr is a terminal
    assert bar.kwargs["total"] == len(RECORDS) and bar.seen == len(RECORDS) and bar.closed
    apply_lfs([has_link], RECORDS, progress=False)
    assert made[1].kwargs["disable"] is True


def test_vectorized_equals_per_record(key):
    n = 300
    lengths = np.asarray(jr.randint(key, (n,), 0, 40))
    records = [{"text": "x" * int(k) + (" http" if k % 7 == 0 else "")} for k in lengths]

    @labeling_function(name="short_vec", resources={"max_len": 12}, vectorized=True)
    def short_vec(xs, max_len):
        n_chars = np.array([len(x["text"]) for x in xs])
        return np.where(n_chars <= max_len, 0, ABSTAIN)

    @labeling_function(name="link_vec", vectorized=True)
    def link_vec(xs):
        return np.array([1 if "http" in x["text"] else -1 for x in xs])

    per_record = apply_lfs([short_comment, has_link], records, progress=False)
    vectorised = apply_lfs([short_vec, link_vec], records, progress=False)
    mixed = apply_lfs([short_vec, has_link], records, progress=False)
    np.testing.assert_array_equal(per_record, vectorised)
    np.testing.assert_array_equal(per_record, mixed)
    # on a DataFrame, a vectorised LF receives the whole frame
    df = pd.DataFrame(records)

    @labeling_function(name="short_df", vectorized=True)
    def short_df(frame):
        return np.where(frame["text"].str.len().to_numpy() <= 12, 0, -1)

    np.testing.assert_array_equal(apply_lfs([short_df], df, progress=False)[:, 0], per_record[:, 0])


def test_lf_raising_names_lf_and_row():
    @labeling_function()
    def needs_author(x):
        return 1 if x["author"] else 0

    with pytest.raises(
        LFApplicationError, match=r"'needs_author' raised KeyError: 'author' on record 0"
    ) as info:
        apply_lfs([has_link, needs_author], RECORDS, progress=False)
    assert info.value.lf_name == "needs_author" and info.value.index == 0
    assert isinstance(info.value, ValueError) and isinstance(info.value.__cause__, KeyError)

    @labeling_function()
    def fails_on_third(x):
        if "subscribe" in x["text"]:
            raise RuntimeError("boom")
        return ABSTAIN

    with pytest.raises(
        LFApplicationError, match=r"'fails_on_third' raised RuntimeError: boom on record 2"
    ):
        apply_lfs([fails_on_third], RECORDS, progress=False)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, r"returned None of type NoneType on record 1.*ABSTAIN = -1 instead of None"),
        ("1", r"returned '1' of type str on record 1"),
        (1.0, r"returned 1.0 of type float on record 1"),
        (True, r"returned True of type bool on record 1"),
        (-2, r"returned -2 on record 1; votes must be ABSTAIN \(-1\) or a class id 0..1"),
        (2, r"returned 2 on record 1.*\(n_classes=2\)"),
    ],
)
def test_invalid_return_value(value, message):
    @labeling_function(name="bad_lf")
    def bad(x):
        return value if x["text"] == "great song" else ABSTAIN

    with pytest.raises(LFApplicationError, match="'bad_lf' " + message):
        apply_lfs([bad], RECORDS, n_classes=2, progress=False)


def test_numpy_int_votes_are_accepted():
    @labeling_function()
    def np_vote(x):
        return np.int64(1)

    assert apply_lfs([np_vote], RECORDS[:2], n_classes=2, progress=False).tolist() == [[1], [1]]


def test_vectorized_errors():
    @labeling_function(name="wrong_len", vectorized=True)
    def wrong_len(xs):
        return np.zeros(len(xs) - 1, dtype=int)

    @labeling_function(name="floats", vectorized=True)
    def floats(xs):
        return np.zeros(len(xs))

    @labeling_function(name="out_of_range", vectorized=True)
    def out_of_range(xs):
        return np.array([0, 0, 3, 0])

    @labeling_function(name="raises", vectorized=True)
    def raises(xs):
        raise KeyError("col")

    with pytest.raises(
        LFApplicationError, match=r"'wrong_len' returned shape \(3,\); expected \(4,\)"
    ):
        apply_lfs([wrong_len], RECORDS, progress=False)
    with pytest.raises(LFApplicationError, match="'floats' returned dtype float64"):
        apply_lfs([floats], RECORDS, progress=False)
    with pytest.raises(LFApplicationError, match=r"'out_of_range' returned 3 on record 2"):
        apply_lfs([out_of_range], RECORDS, n_classes=2, progress=False)
    with pytest.raises(LFApplicationError, match="'raises' raised KeyError"):
        apply_lfs([raises], RECORDS, progress=False)


def test_apply_input_errors():
    with pytest.raises(ValueError, match="at least one labeling function"):
        apply_lfs([], RECORDS)
    with pytest.raises(ValueError, match="not a LabelingFunction"):
        apply_lfs([lambda x: 0], RECORDS)
    with pytest.raises(ValueError, match="names must be unique.*has_link"):
        apply_lfs([has_link, has_link], RECORDS)
    with pytest.raises(ValueError, match="materialise iterators"):
        apply_lfs([has_link], iter(RECORDS))


def test_dask_applier_without_dask_is_clear(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.bag", None)
    with pytest.raises(ImportError, match="apply_lfs_dask needs dask"):
        apply_lfs_dask([has_link], RECORDS)


def test_dask_applier_matches_apply_lfs():
    pytest.importorskip("dask.bag", reason="dask is optional and not installed")
    lfs = [has_link, short_comment, keywords]
    expected = apply_lfs(lfs, RECORDS * 5, progress=False)
    got = apply_lfs_dask(lfs, RECORDS * 5, npartitions=3, scheduler="sync")
    np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------------------------------------
# lf_summary


def test_lf_summary_hand_computed():
    L = np.array(
        [
            [0, 0, -1, -1],
            [1, 0, -1, -1],
            [-1, 1, 1, -1],
            [-1, -1, 1, -1],
            [1, -1, -1, -1],
        ]
    )
    y = np.array([0, 1, 1, 0, -1])
    s = lf_summary(L, y, names=["a", "b", "c", "d"])
    assert list(s.index) == ["a", "b", "c", "d"]
    assert s["j"].tolist() == [0, 1, 2, 3]
    assert s["polarity"].tolist() == [[0, 1], [0, 1], [1], []]
    np.testing.assert_allclose(s["coverage"], [3 / 5, 3 / 5, 2 / 5, 0])
    np.testing.assert_allclose(s["overlaps"], [2 / 5, 3 / 5, 1 / 5, 0])
    np.testing.assert_allclose(s["conflicts"], [1 / 5, 1 / 5, 0, 0])
    # a: rows 0, 1 right, row 4 gold unknown; b: rows 0, 2 right, row 1 wrong;
    # c: row 2 right, row 3 wrong
    assert s["correct"].tolist() == [2, 2, 1, 0]
    assert s["incorrect"].tolist() == [0, 1, 1, 0]
    np.testing.assert_allclose(s["emp_acc"][:3], [1.0, 2 / 3, 0.5])
    assert np.isnan(s["emp_acc"].iloc[3])  # no votes: undefined (Snorkel reports 0)
    no_y = lf_summary(L)
    assert list(no_y.columns) == ["j", "polarity", "coverage", "overlaps", "conflicts"]
    assert list(no_y.index) == ["lf_0", "lf_1", "lf_2", "lf_3"]


def snorkel_reference(L: np.ndarray, Y: np.ndarray) -> dict:
    """Snorkel 0.9 LFAnalysis definitions, transcribed on dense arrays (labels shifted by +1)."""
    Ls = L + 1
    n = Ls.shape[0]
    voted = Ls != 0
    overlapped_rows = (voted.sum(axis=1) > 1).astype(int)
    row_max = Ls.max(axis=1)
    conflicted_rows = np.max((row_max[:, None] * voted) != Ls, axis=1).astype(int)
    X = np.where(Ls == 0, 0, np.where(Ls == (Y + 1)[:, None], 1, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        emp = np.nan_to_num(0.5 * (X.sum(axis=0) / voted.sum(axis=0) + 1))
    return {
        "polarity": [sorted(np.unique(L[:, j][L[:, j] != -1]).tolist()) for j in range(L.shape[1])],
        "coverage": voted.sum(axis=0) / n,
        "overlaps": voted.T @ overlapped_rows / n,
        "conflicts": voted.T @ conflicted_rows / n,
        "correct": ((L == Y[:, None]) & (L != -1)).sum(axis=0),
        "incorrect": ((L != Y[:, None]) & (L != -1)).sum(axis=0),
        "emp_acc": emp,
    }


@pytest.mark.parametrize("k", [2, 4])
def test_lf_summary_matches_snorkel_definitions(key, k):
    k_l, k_y, k_m = jr.split(key, 3)
    n, m = 500, 7
    L = np.asarray(jr.randint(k_l, (n, m), -1, k))
    L = np.where(np.asarray(jr.uniform(k_m, (n, m))) < 0.5, -1, L)  # sparser votes
    L[:, -1] = -1  # an LF that never votes
    Y = np.asarray(jr.randint(k_y, (n,), 0, k))
    s = lf_summary(L, Y, n_classes=k)
    ref = snorkel_reference(L, Y)
    assert s["polarity"].tolist() == ref["polarity"]
    for col in ("coverage", "overlaps", "conflicts"):
        np.testing.assert_allclose(s[col].to_numpy(), ref[col], atol=1e-6, err_msg=col)
    np.testing.assert_array_equal(s["correct"], ref["correct"])
    np.testing.assert_array_equal(s["incorrect"], ref["incorrect"])
    np.testing.assert_allclose(s["emp_acc"].to_numpy()[:-1], ref["emp_acc"][:-1], atol=1e-12)
    assert np.isnan(s["emp_acc"].iloc[-1]) and ref["emp_acc"][-1] == 0.0


def test_lf_summary_chunked_equals_single_block(key, monkeypatch):
    import wsbench.lf._analysis as analysis

    L = np.asarray(jr.randint(key, (1000, 5), -1, 3))
    whole = lf_summary(L)
    monkeypatch.setattr(analysis, "_CHUNK", 97)
    chunked = lf_summary(L)
    for col in ("coverage", "overlaps", "conflicts"):
        np.testing.assert_allclose(chunked[col], whole[col], atol=1e-6)


def test_lf_summary_errors():
    L = np.array([[0, 1], [1, -1]])
    with pytest.raises(ValueError, match="names has 1 entries but L has 2 columns"):
        lf_summary(L, names=["a"])
    with pytest.raises(ValueError, match="names must be unique"):
        lf_summary(L, names=["a", "a"])
    with pytest.raises(ValueError, match="integer array"):
        lf_summary(L.astype(float))
    with pytest.raises(ValueError, match="outside -1..1"):
        lf_summary(np.array([[0, -2]]))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        lf_summary(L, y=np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="outside -1..1"):
        lf_summary(L, y=np.array([0, 2]), n_classes=2)
