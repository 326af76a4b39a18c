"""Slicing functions (authoring, the shared appliers, errors) and per-slice metrics against a
NumPy reference (mask-aware, jittable)."""

import os
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from tests.reference import slices_numpy as ref
from wsbench.lf import (
    LFApplicationError,
    SlicingFunction,
    apply_lfs_dask,
    apply_slices,
    labeling_function,
    slicing_function,
)
from wsbench.metrics import slice_scores, slice_table

RECORDS = [
    {"text": "Check out my channel http://spam.example"},
    {"text": "great song"},
    {"text": "SUBSCRIBE PLEASE TO MY CHANNEL"},
    {"text": "I love this video so much, Shakira is the best"},
]


@slicing_function()
def has_link(x):
    return "http" in x["text"]


@slicing_function(name="short", resources={"max_words": 3})
def short(x, max_words):
    return len(x["text"].split()) <= max_words


@slicing_function(vectorized=True)
def shouting(records):
    return np.array([r["text"].isupper() for r in records])


def test_apply_slices_matrix():
    S = apply_slices([has_link, short, shouting], RECORDS)
    assert S.dtype == bool and S.shape == (4, 3)
    np.testing.assert_array_equal(
        S, [[True, False, False], [False, True, False], [False, False, True], [False, False, False]]
    )
    assert isinstance(has_link, SlicingFunction) and has_link.name == "has_link"


def test_apply_slices_with_dask_is_identical():
    pytest.importorskip("dask.bag")
    records = RECORDS * 7
    expected = apply_slices([has_link, short, shouting], records)
    got = apply_slices(
        [has_link, short, shouting],
        records,
        applier=apply_lfs_dask,
        npartitions=4,
        scheduler="sync",
    )
    np.testing.assert_array_equal(got, expected)


def test_slice_errors():
    @slicing_function()
    def not_bool(x):
        return 1

    @slicing_function(vectorized=True)
    def vec_int(records):
        return np.ones(len(records), int)

    with pytest.raises(LFApplicationError, match="'not_bool'.*must return a bool"):
        apply_slices([not_bool], RECORDS)
    with pytest.raises(LFApplicationError, match="bool array"):
        apply_slices([vec_int], RECORDS)

    @labeling_function()
    def lf(x):
        return 1

    with pytest.raises(ValueError, match="not a SlicingFunction"):
        apply_slices([lf], RECORDS)


def _problem(key, n=200, s=4, k=2):
    k1, k2, k3, k4 = jr.split(key, 4)
    probs = jax.nn.softmax(2 * jr.normal(k1, (n, k)), axis=-1)
    probs = probs.at[:10].set(0.5)  # exact ties
    y = jr.randint(k2, (n,), 0, k).at[:15:3].set(-1)  # some unknown gold
    S = jr.bernoulli(k3, 0.3, (n, s)).at[:, -1].set(False)  # last slice empty
    return probs, y, S


def test_slice_scores_match_numpy_reference():
    probs, y, S = _problem(jr.key(0))
    got = jax.jit(slice_scores, static_argnames="metrics")(
        probs, y, S, metrics=("accuracy", "f1", "brier")
    )
    expected = ref.slice_scores(np.asarray(probs), np.asarray(y), np.asarray(S))
    for m in ("accuracy", "f1", "brier"):
        np.testing.assert_allclose(got[m][:-1], expected[m][:-1], rtol=1e-5)
        assert np.isnan(got[m][-1]) or m == "f1"  # the empty slice scores NaN (f1 counts: 0)
    np.testing.assert_array_equal(got["n"], expected["n"])


def test_slice_table_has_all_row():
    probs, y, S = _problem(jr.key(1), s=2)
    table = slice_table(probs, y, S, names=["a", "b"], metrics=("accuracy",))
    assert list(table) == ["all", "a", "b"]
    assert table["all"]["n"] == int((np.asarray(y) >= 0).sum())
    np.testing.assert_allclose(
        table["all"]["accuracy"], ref.accuracy(np.asarray(probs), np.asarray(y)), rtol=1e-5
    )
    with pytest.raises(ValueError, match="distinct slice names"):
        slice_table(probs, y, S, names=["a"])
    with pytest.raises(ValueError, match="bool slice matrix"):
        slice_scores(probs, y, jnp.asarray(S, jnp.int32))
    with pytest.raises(ValueError, match="unknown metrics"):
        slice_scores(probs, y, S, metrics=("auc",))


REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("WSBENCH_DATA_MIRROR") or REPO.parent / "shared" / "datasets")


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no dataset mirror")
def test_youtube_slices(tmp_path):
    from wsbench.tasks import spam

    sl = spam.youtube_slices(mirror=str(MIRROR), data_dir=str(tmp_path))
    assert sl["names"] == ["short_text", "has_link", "long_text", "shouting"]
    records, _ = spam.youtube_records(MIRROR / "youtube_spam_collection_raw")
    for split, n in (("train", 1586), ("valid", 120), ("test", 250)):
        S = sl[split]
        assert S.shape == (n, 4) and S.any(axis=0).all()  # every slice non-empty in every split
        short = np.array([len(c.text.split()) < 5 for c in records[split]])
        np.testing.assert_array_equal(S[:, 0], short)


@pytest.mark.slow
def test_slice_metrics_columns_match_numpy_reference():
    from wsbench.metrics import slice_metrics

    kp, ky, ks = jr.split(jr.key(3), 3)
    probs = np.asarray(jax.nn.softmax(jr.normal(kp, (60, 2)) * 2, axis=1))
    y = np.asarray(jr.randint(ky, (60,), -1, 2))
    S = np.asarray(jr.bernoulli(ks, 0.4, (60, 3)))
    cols = slice_metrics(probs, y, S, ["a", "b", "c"], prefix="lm_", metrics=("accuracy", "f1"))
    want = ref.slice_scores(probs, y, S)
    for j, name in enumerate("abc"):
        assert cols[f"slice/{name}/n"] == want["n"][j]
        np.testing.assert_allclose(cols[f"slice/{name}/lm_accuracy"], want["accuracy"][j], 1e-6)
        np.testing.assert_allclose(cols[f"slice/{name}/lm_f1"], want["f1"][j], 1e-6)
    assert not any(k.startswith("slice/all/") for k in cols)
