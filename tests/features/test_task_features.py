"""Features on the real tasks and on WRENCH-format sets: ``x`` for every split, fitted on train."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.reference import text_features_numpy as ref
from wsbench.data import load_wrench
from wsbench.features import TfidfNGrams
from wsbench.tasks import chest_xray, spam

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("WSBENCH_DATA_MIRROR") or REPO.parent / "shared" / "datasets")
needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason=f"no dataset mirror at {MIRROR}")


def _write(root: Path, texts: dict[str, list[str]]) -> Path:
    root.mkdir()
    (root / "label.json").write_text(json.dumps({"0": "ham", "1": "spam"}))
    for split, ts in texts.items():
        doc = {
            str(i): {"label": i % 2, "weak_labels": [i % 2, -1], "data": {"text": t}}
            for i, t in enumerate(ts)
        }
        (root / f"{split}.json").write_text(json.dumps(doc))
    return root


def test_wrench_features_fit_on_train(tmp_path):
    texts = {
        "train": ["aa bb", "bb cc cc", "aa cc"],
        "valid": ["aa zz", "cc"],
        "test": ["zz yy", "bb bb"],
    }
    root = _write(tmp_path / "toy", texts)
    assert load_wrench(root).train.x is None  # default unchanged
    ds = load_wrench(root, features={"name": "tfidf", "ngram_range": (1, 1)})
    for split in ("train", "valid", "test"):
        _, expected = ref.tfidf(texts["train"], texts[split])
        np.testing.assert_allclose(np.asarray(getattr(ds, split).x), expected, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(ds.test.x)[0], 0.0)  # test-only words unknown


def test_wrench_features_need_text(tmp_path):
    root = _write(tmp_path / "toy", {"train": ["aa"], "valid": ["bb"], "test": ["cc"]})
    doc = json.loads((root / "valid.json").read_text())
    doc["0"]["data"] = {"sentence": "no text key"}
    (root / "valid.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"row 0 of the valid split has no data\['text'\]"):
        load_wrench(root, features="tfidf")


@needs_mirror
def test_youtube_features(tmp_path):
    ds = spam.make_youtube(mirror=str(MIRROR), data_dir=str(tmp_path))
    d = ds.train.x.shape[1]
    for s in (ds.train, ds.valid, ds.test):
        x = np.asarray(s.x)
        assert x.dtype == np.float32 and x.shape == (s.n, d)
        norms = np.linalg.norm(x, axis=1)
        assert np.all((np.abs(norms - 1) < 1e-4) | (norms == 0))
    assert 1000 < d <= 5000
    records, _ = spam.youtube_records(MIRROR / "youtube_spam_collection_raw")
    fitted = TfidfNGrams(ngram_range=(1, 2), min_df=2, max_features=5000).fit(
        [c.text for c in records["train"]]
    )
    np.testing.assert_allclose(
        np.asarray(ds.test.x), fitted.transform([c.text for c in records["test"]]), atol=1e-6
    )
    assert (
        spam.make_youtube(features=None, mirror=str(MIRROR), data_dir=str(tmp_path)).train.x is None
    )


@needs_mirror
def test_chest_xray_hashed_features(tmp_path):
    ds = chest_xray.make_chest_xray(
        features={"name": "hashed", "n_features": 256, "analyzer": "char", "ngram_range": (3, 4)},
        mirror=str(MIRROR),
        data_dir=str(tmp_path),
    )
    assert ds.train.x.shape == (ds.train.n, 256) and ds.test.x.shape == (ds.test.n, 256)
    empty = (np.asarray(ds.train.x).sum(axis=1) == 0).mean()
    assert empty < 0.01  # a report without FINDINGS and IMPRESSION text has a zero row


@needs_mirror
@pytest.mark.slow
@pytest.mark.parametrize(
    "module,maker",
    [("spam", "make_sms"), ("spouse", "make_spouse"), ("cdr", "make_cdr")],
)
def test_every_task_has_default_features(module, maker, tmp_path):
    import importlib

    make = getattr(importlib.import_module(f"wsbench.tasks.{module}"), maker)
    ds = make(mirror=str(MIRROR), data_dir=str(tmp_path))
    d = ds.train.x.shape[1]
    assert 100 < d <= 5000
    for s in (ds.train, ds.valid, ds.test):
        assert s.x.shape == (s.n, d) and s.x.dtype == np.float32
        assert (np.asarray(s.x).sum(axis=1) > 0).mean() > 0.9  # most rows have known n-grams
