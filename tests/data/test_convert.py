"""Converters at the boundary: long (crowd-kit) format and MeTaL's 0-abstain matrices."""

import jax.random as jr
import numpy as np
import pandas as pd
import pytest

from wsbench.data import WeakLabels, from_long, from_metal


def _random_L(key, n=30, m=5, k=3):
    k_vote, k_label = jr.split(key)
    votes = np.asarray(jr.uniform(k_vote, (n, m))) < 0.5
    labels = np.asarray(jr.randint(k_label, (n, m), 0, k))
    return np.where(votes, labels, -1)


def _to_long(L, label_names=None):
    rows = [
        (f"item{i}", f"lf{j}", int(L[i, j]) if label_names is None else label_names[L[i, j]])
        for i in range(L.shape[0])
        for j in range(L.shape[1])
        if L[i, j] != -1
    ]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def _reorder(weak, items, lfs, L):
    """The original matrix's rows/columns in the converter's (first appearance) order."""
    rows = [int(t.removeprefix("item")) for t in items]
    cols = [int(w.removeprefix("lf")) for w in lfs]
    return L[np.ix_(rows, cols)]


def test_from_long_round_trip(key):
    L = _random_L(key)
    df = _to_long(L)
    weak, items, lfs = from_long(df, n_classes=3)
    assert isinstance(weak, WeakLabels) and weak.n_classes == 3
    covered = (L != -1).any(axis=1)
    assert len(items) == covered.sum()  # items with no vote cannot appear in long format
    np.testing.assert_array_equal(weak.L, _reorder(weak, items, lfs, L))


def test_from_long_order_is_first_appearance_and_shuffle_invariant(key):
    L = _random_L(key)
    df = _to_long(L)
    perm = np.asarray(jr.permutation(jr.fold_in(key, 1), len(df)))
    shuffled = df.iloc[perm].reset_index(drop=True)
    weak, items, lfs = from_long(shuffled, n_classes=3)
    assert items == list(dict.fromkeys(shuffled["task"]))
    assert lfs == list(dict.fromkeys(shuffled["worker"]))
    np.testing.assert_array_equal(weak.L, _reorder(weak, items, lfs, L))


def test_from_long_mapping_input_custom_columns_and_label_names():
    records = {
        "doc": ["a", "a", "b", "c", "c"],
        "annotator": [1, 2, 1, 2, 3],
        "answer": ["pos", "neg", "neg", "pos", "pos"],
    }
    weak, items, lfs = from_long(
        records, task="doc", worker="annotator", label="answer", label_names=["neg", "pos"]
    )
    assert (items, lfs, weak.n_classes) == (["a", "b", "c"], [1, 2, 3], 2)
    np.testing.assert_array_equal(weak.L, [[1, 0, -1], [0, -1, -1], [-1, 1, 1]])


def test_from_long_infers_n_classes_and_accepts_consistent_duplicates():
    records = {"task": [0, 0, 1, 1], "worker": [0, 0, 0, 1], "label": [2, 2, 0, 1]}
    weak, _, _ = from_long(records)
    assert weak.n_classes == 3
    np.testing.assert_array_equal(weak.L, [[2, -1], [0, 1]])
    weak, _, _ = from_long({"task": [0], "worker": [0], "label": [0]})
    assert weak.n_classes == 2  # never fewer than two classes
    weak, _, _ = from_long({"task": [0], "worker": [0], "label": [np.int64(1)]}, n_classes=5)
    assert weak.n_classes == 5


@pytest.mark.parametrize(
    "records,kwargs,match",
    [
        (
            {"task": [0], "label": [0]},
            {},
            r"need a 'worker' column; got columns \['task', 'label'\]",
        ),
        (
            pd.DataFrame({"task": [0], "worker": [0]}),
            {},
            r"need a 'label' column; got columns \['task', 'worker'\]",
        ),
        ({"item": [0], "worker": [0], "label": [0]}, {}, r"need a 'task' column"),
        (
            {"task": [0, 0], "worker": [5, 5], "label": [0, 1]},
            {},
            r"row 1: LF 5 labelled item 0 twice with different labels",
        ),
        (
            {"task": [0], "worker": [0], "label": ["maybe"]},
            {"label_names": ["no", "yes"]},
            r"label 'maybe' is not one of label_names \['no', 'yes'\]",
        ),
        (
            {"task": [0], "worker": [0], "label": ["yes"]},
            {},
            r"label 'yes' is not a class id.*label_names",
        ),
        ({"task": [0], "worker": [0], "label": [-1]}, {}, r"label -1 is not a class id"),
        ({"task": [0], "worker": [0], "label": [1.0]}, {}, r"label 1.0 is not a class id"),
        ({"task": [0], "worker": [0], "label": [True]}, {}, r"label True is not a class id"),
        ({"task": [0, 1], "worker": [0], "label": [0, 1]}, {}, r"equal lengths.*'worker': 1"),
        ({"task": [], "worker": [], "label": []}, {}, r"records are empty"),
        ({"task": [0], "worker": [0], "label": [3]}, {"n_classes": 2}, r"outside -1\.\.1"),
    ],
    ids=[
        "missing-worker",
        "missing-label-df",
        "missing-task",
        "conflicting-duplicate",
        "unknown-label-name",
        "string-label",
        "negative-label",
        "float-label",
        "bool-label",
        "ragged-columns",
        "empty",
        "label-beyond-n_classes",
    ],
)
def test_from_long_rejects(records, kwargs, match):
    with pytest.raises(ValueError, match=match):
        from_long(records, **kwargs)


def test_from_metal_round_trip(key):
    L = _random_L(key)
    weak = from_metal(L + 1, n_classes=3)
    assert weak.n_classes == 3 and weak.L.dtype == np.int32
    np.testing.assert_array_equal(weak.L, L)
    np.testing.assert_array_equal(from_metal((L + 1).tolist(), n_classes=3).L, L)


@pytest.mark.parametrize(
    "L_metal,n_classes,match",
    [
        (
            [[0, -1], [1, 2]],
            2,
            r"values in 0\.\.2 \(0 = abstain\); found -1\.\.2\. Is it already -1-abstain\?",
        ),
        ([[0, 3], [1, 2]], 2, r"found 0\.\.3"),
        ([[0.0, 1.0]], 2, r"must be integer.*float64"),
        ([[True, False]], 2, r"must be integer.*bool"),
        ([[0, 1], [1, 0]], 1, r"n_classes must be >= 2"),
        ([[0, 1], [1, 0]], 2.0, r"n_classes must be a Python int"),
        ([0, 1, 2], 2, r"must be 2-D"),
    ],
    ids=["minus-one", "above-k", "float", "bool", "k-1", "k-float", "1d"],
)
def test_from_metal_rejects(L_metal, n_classes, match):
    with pytest.raises(ValueError, match=match):
        from_metal(L_metal, n_classes=n_classes)
