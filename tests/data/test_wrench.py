"""WRENCH-format loader: tiny fixtures written here (good and malformed) and the real mirror."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from wsbench.data import Dataset, load_wrench, load_wrench_dataset, read_wrench_split

REPO_ROOT = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("WSBENCH_DATA_MIRROR") or REPO_ROOT.parent / "shared" / "datasets")
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(),
    reason=f"no dataset mirror at {MIRROR} "
    "(set WSBENCH_DATA_MIRROR to a copy of the shared datasets)",
)

LABELS = {"0": "HAM", "1": "SPAM"}


def rows(votes, labels, texts=None):
    texts = texts or [f"text {i}" for i in range(len(votes))]
    return {
        str(i): {"label": y, "weak_labels": v, "data": {"text": t}}
        for i, (v, y, t) in enumerate(zip(votes, labels, texts, strict=True))
    }


def write_wrench(root: Path, splits: dict, labels=LABELS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "label.json").write_text(json.dumps(labels))
    for name, content in splits.items():
        text = content if isinstance(content, str) else json.dumps(content, indent=4)
        (root / f"{name}.json").write_text(text)
    return root


@pytest.fixture
def good(tmp_path):
    return write_wrench(
        tmp_path / "toy",
        {
            "train": rows([[0, -1, 1], [1, 1, -1], [-1, -1, -1]], [0, 1, 1], ["a", "b", "c"]),
            "valid": rows([[0, 0, -1], [1, -1, 1]], [0, 1]),
            "test": rows([[-1, 1, 1], [0, 0, 0]], [1, 0]),
        },
    )


def test_load_good(good):
    ds = load_wrench(good)
    assert isinstance(ds, Dataset) and ds.name == "toy" and ds.n_classes == 2
    np.testing.assert_array_equal(ds.train.weak.L, [[0, -1, 1], [1, 1, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(ds.train.y, [0, 1, 1])
    np.testing.assert_array_equal(ds.test.weak.L, [[-1, 1, 1], [0, 0, 0]])
    assert ds.train.x is None
    ds2, rec = load_wrench(good, return_records=True, name="renamed")
    assert ds2.name == "renamed"
    assert rec["train"]["ids"] == ["0", "1", "2"]
    assert [d["text"] for d in rec["train"]["data"]] == ["a", "b", "c"]
    assert rec["label_names"] == ["HAM", "SPAM"]


def test_read_split_returns_arrays(good):
    ids, L, y, data = read_wrench_split(good / "valid.json", 2)
    assert ids == ["0", "1"] and L.dtype == np.int32 and L.shape == (2, 3) and y.tolist() == [0, 1]
    assert data[1] == {"text": "text 1"}


def test_unknown_gold_is_minus_one(tmp_path):
    r = rows([[0], [1], [-1]], [0, 1, 0])
    r["1"]["label"] = None
    del r["2"]["label"]
    root = write_wrench(tmp_path / "t", {"train": r, "valid": r, "test": r})
    np.testing.assert_array_equal(load_wrench(root).train.y, [0, -1, -1])


def test_n_classes_must_match_label_json(good):
    with pytest.raises(ValueError, match="n_classes=3 but .*label.json lists 2"):
        load_wrench(good, n_classes=3)


def test_missing_train_protocol(tmp_path):
    root = write_wrench(
        tmp_path / "vt",
        {
            "valid": rows([[0, 1], [1, -1]], [0, 1]),
            "test": rows([[1, 1]], [1]),
        },
    )
    with pytest.raises(ValueError, match=r"train\.json is missing \(pass missing_train='valid'"):
        load_wrench(root)
    ds = load_wrench(root, missing_train="valid")
    np.testing.assert_array_equal(ds.train.weak.L, ds.valid.weak.L)
    np.testing.assert_array_equal(ds.train.y, ds.valid.y)
    # not reading train from disk also falls back to valid
    ds = load_wrench(root, splits=("valid", "test"), missing_train="valid")
    assert ds.train.n == 2


@pytest.mark.parametrize(
    ("split_text", "message"),
    [
        (
            '{\n    "0": {"label": 0, "weak_labels": [0, 1], "data": {}},\n'
            '    "1": {"label": 1, "weak_labels": [1, 1],,}\n}',
            r"train\.json: malformed JSON at line 3.*row '1'",
        ),
        ("[1, 2]", r"train\.json: expected a JSON object keyed by example id"),
        ("{}", r"train\.json: the split has no rows"),
    ],
)
def test_malformed_file(tmp_path, split_text, message):
    root = write_wrench(
        tmp_path / "bad",
        {
            "train": split_text,
            "valid": rows([[0, 1]], [0]),
            "test": rows([[0, 1]], [0]),
        },
    )
    with pytest.raises(ValueError, match=message):
        load_wrench(root)


def _bad_row(tmp_path, mutate):
    r = rows([[0, 1], [1, -1], [-1, -1]], [0, 1, 0])
    mutate(r)
    return write_wrench(
        tmp_path / "bad", {"train": r, "valid": rows([[0, 1]], [0]), "test": rows([[0, 1]], [0])}
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["1"].pop("weak_labels"), r"train\.json, row '1': missing 'weak_labels'"),
        (
            lambda r: r["2"].update(weak_labels=[0]),
            r"train\.json, row '2': has 1 weak labels but row '0' has 2",
        ),
        (
            lambda r: r["1"].update(weak_labels=[0, 2]),
            r"row '1': weak label 2 of LF 1 is outside -1\.\.1",
        ),
        (lambda r: r["1"].update(weak_labels=[0, -2]), r"row '1': weak label -2 of LF 1"),
        (
            lambda r: r["1"].update(weak_labels=[0, 1.0]),
            r"row '1': 'weak_labels' must be a list of ints",
        ),
        (
            lambda r: r["2"].update(label=5),
            r"train\.json, row '2': label 5 is not a class of label\.json \(0\.\.1\)",
        ),
        (lambda r: r["2"].update(label="SPAM"), r"row '2': label 'SPAM' is not a class"),
        (lambda r: r.update({"3": [1, 2]}), r"row '3': expected an object"),
    ],
)
def test_bad_rows_name_file_and_row(tmp_path, mutate, message):
    with pytest.raises(ValueError, match=message):
        load_wrench(_bad_row(tmp_path, mutate))


def test_bad_label_json_and_lf_count(tmp_path):
    root = write_wrench(
        tmp_path / "a",
        {"train": rows([[0]], [0]), "valid": rows([[0]], [0]), "test": rows([[0]], [0])},
        labels={"0": "A", "2": "B"},
    )
    with pytest.raises(ValueError, match=r"label\.json: keys must be exactly 0\.\.1"):
        load_wrench(root)
    root = write_wrench(
        tmp_path / "b",
        {"train": rows([[0]], [0]), "valid": rows([[0, 1]], [0]), "test": rows([[0]], [0])},
    )
    with pytest.raises(ValueError, match="different numbers of LFs"):
        load_wrench(root)
    (tmp_path / "c").mkdir()
    with pytest.raises(ValueError, match=r"label\.json is missing"):
        load_wrench(tmp_path / "c")
    with pytest.raises(ValueError, match="does not exist"):
        load_wrench(tmp_path / "nowhere")


# ------------------------------------------------------------------------------------------------
# the real mirror (counts from each folder's SOURCE.md)

EXPECTED = {
    # name: (n_train, n_valid, n_test, m, k, test class counts)
    "wrench_youtube": (1586, 120, 250, 10, 2, [132, 118]),
    "wrench_sms": (4571, 500, 500, 73, 2, [433, 67]),
    "wrench_chemprot": (1607, 1607, 1607, 26, 10, [65, 438, 202, 519, 53, 59, 9, 2, 192, 68]),
}


@needs_mirror
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mirror_datasets(name, tmp_path, key):
    n_train, n_valid, n_test, m, k, test_counts = EXPECTED[name]
    ds = load_wrench_dataset(name, key=key, mirror=MIRROR, data_dir=tmp_path)
    assert ds.name == name and ds.n_classes == k
    assert (ds.train.n, ds.valid.n, ds.test.n) == (n_train, n_valid, n_test)
    assert ds.train.weak.m == m
    assert np.bincount(np.asarray(ds.test.y), minlength=k).tolist() == test_counts


@needs_mirror
def test_mirror_youtube_coverage_and_config(tmp_path, monkeypatch):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    monkeypatch.setenv("WSBENCH_DATA_MIRROR", str(MIRROR))
    monkeypatch.setenv("WSBENCH_DATA", str(tmp_path))
    cfg = OmegaConf.load(REPO_ROOT / "conf" / "dataset" / "wrench_youtube.yaml")
    ds = instantiate(cfg, _convert_="all")(key=None)
    cov = [
        float((np.asarray(s.weak.L) != -1).any(axis=1).mean())
        for s in (ds.train, ds.valid, ds.test)
    ]
    np.testing.assert_allclose(cov, [0.877, 0.875, 0.928], atol=5e-4)  # SOURCE.md table


def test_malformed_row_located_in_indented_layout(tmp_path):
    """In indent=4 WRENCH files nested keys ("data") start lines too; the row id is still found."""
    text = json.dumps(rows([[0, 1], [1, -1], [0, 0]], [0, 1, 0]), indent=4)
    cut = text.index('"text"', text.index('"2"'))  # inside row 2's nested "data" object
    broken = text[:cut] + '"text" ' + text[cut + len('"text":') :]
    root = write_wrench(
        tmp_path / "ind",
        {"train": broken, "valid": rows([[0, 1]], [0]), "test": rows([[0, 1]], [0])},
    )
    with pytest.raises(ValueError, match=r"train\.json: malformed JSON at line \d+.*row '2'"):
        load_wrench(root)
