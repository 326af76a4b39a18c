"""The Dask applier on corpora split into partitions gives exactly the in-memory label matrix
(dask is in the ``test`` extra, so these run in the default suite). dask.bag / dask.dataframe
are imported in the tests that use them: importing them costs every pytest process about 2 s of
collection, also where this file's tests do not run (pytest-xdist collects every file in every worker)."""

import os
from pathlib import Path

import numpy as np
import pytest

from wsbench.lf import ABSTAIN, LFApplicationError, apply_lfs, apply_lfs_dask, labeling_function

WORDS = ["check out my channel", "great song", "subscribe", "love it", "free money http://x.com"]
CORPUS = [{"id": i, "text": f"{WORDS[i % 5]} {i}"} for i in range(103)]  # 103: uneven partitions


@labeling_function()
def link(x):
    return 1 if "http" in x["text"] else ABSTAIN


@labeling_function(pre=[lambda x: {**x, "text": x["text"].lower()}], resources={"w": "subscribe"})
def keyword(x, w):
    return 1 if w in x["text"] else ABSTAIN


@labeling_function()
def short(x):
    return 0 if len(x["text"].split()) < 4 else ABSTAIN


@labeling_function(vectorized=True)
def even_id(records):
    ids = records["id"] if hasattr(records, "columns") else [r["id"] for r in records]
    return np.where(np.asarray(ids) % 2 == 0, 0, ABSTAIN)


LFS = [link, keyword, short, even_id]


@pytest.mark.parametrize("npartitions", [1, 4, 7, 200])
@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_bag_partitions_identical(npartitions, scheduler):
    expected = apply_lfs(LFS, CORPUS, progress=False)
    got = apply_lfs_dask(LFS, CORPUS, npartitions=npartitions, scheduler=scheduler)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, expected)
    import dask.bag as db

    bag = db.from_sequence(CORPUS, partition_size=10)
    assert bag.npartitions > 1
    np.testing.assert_array_equal(apply_lfs_dask(LFS, bag, scheduler="sync"), expected)


def test_dataframe_partitions_identical():
    import dask.dataframe as dd
    import pandas as pd

    df = pd.DataFrame(CORPUS)
    expected = apply_lfs(LFS, df, progress=False)
    ddf = dd.from_pandas(df, npartitions=5)
    assert ddf.npartitions == 5
    np.testing.assert_array_equal(apply_lfs_dask(LFS, ddf, scheduler="sync"), expected)


def test_error_names_partition_and_local_index():
    @labeling_function()
    def boom(x):
        if x["id"] == 57:
            raise KeyError("no field")
        return ABSTAIN

    with pytest.raises(LFApplicationError, match=r"partition \d+: labeling function 'boom'") as e:
        apply_lfs_dask([boom], CORPUS, npartitions=4, scheduler="sync")
    assert e.value.lf_name == "boom" and e.value.index < 57  # partition-local index


REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("WSBENCH_DATA_MIRROR") or REPO.parent / "shared" / "datasets")


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no dataset mirror")
def test_youtube_corpus_in_partitions():
    from wsbench.tasks import spam

    records, _ = spam.youtube_records(MIRROR / "youtube_spam_collection_raw")
    corpus = [c for s in ("train", "valid", "test") for c in records[s]]
    expected = apply_lfs(spam.YOUTUBE_LFS, corpus, n_classes=2, progress=False)
    got = apply_lfs_dask(spam.YOUTUBE_LFS, corpus, n_classes=2, npartitions=8, scheduler="sync")
    np.testing.assert_array_equal(got, expected)
