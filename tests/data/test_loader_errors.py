"""Bad input to the WRENCH loader and the long-format converter: clear errors, never a crash."""

import json

import numpy as np
import pandas as pd
import pytest

from wsbench.data import from_long
from wsbench.data._wrench import load_wrench, read_wrench_split


def _folder(tmp_path, train_text=None):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "label.json").write_text(json.dumps({"0": "ham", "1": "spam"}))
    good = json.dumps({"0": {"label": 0, "weak_labels": [0, 1], "data": {}}}, indent=1)
    for split in ("train", "valid", "test"):
        (root / f"{split}.json").write_text(good)
    if train_text is not None:
        (root / "train.json").write_text(train_text)
    return root


@pytest.mark.parametrize("cut", ["at_newline", "two_newlines", "mid_line", "empty"])
def test_truncated_json_is_a_value_error_not_index_error(tmp_path, cut):
    full = json.dumps(
        {str(i): {"label": 0, "weak_labels": [0, 1], "data": {}} for i in range(3)}, indent=1
    )
    if cut == "at_newline":  # the issue-10 crash: the formatter indexed past the last line
        text = full[: full.index("\n", len(full) // 2) + 1]
    elif cut == "two_newlines":
        text = full[: full.index("\n", len(full) // 2)] + "\n\n"
    elif cut == "mid_line":
        text = full[: len(full) // 2]
    else:
        text = ""
    root = _folder(tmp_path, train_text=text)
    with pytest.raises(ValueError, match=r"train\.json: malformed JSON at line \d+") as info:
        load_wrench(root)
    if cut != "mid_line":
        assert "truncated" in str(info.value)


@pytest.mark.parametrize("bad", ["2", 2.0, True])
def test_n_classes_of_the_wrong_type(tmp_path, bad):
    root = _folder(tmp_path)
    with pytest.raises(TypeError, match=r"n_classes=\.\.\.\) must be an int.*n_classes=2"):
        load_wrench(root, n_classes=bad)
    assert load_wrench(root, n_classes=np.int64(2)).train.weak.n_classes == 2


def test_load_wrench_on_a_file_names_the_folder(tmp_path):
    root = _folder(tmp_path)
    with pytest.raises(ValueError, match=r"got the file .*train\.json; pass its folder") as info:
        load_wrench(root / "train.json")
    assert str(root) in str(info.value) and "read_wrench_split" in str(info.value)
    with pytest.raises(TypeError, match="needs the path of a WRENCH dataset folder"):
        load_wrench(None)
    ids, L, y, _ = read_wrench_split(root / "train.json", 2)  # the suggested call works
    assert ids == ["0"] and L.tolist() == [[0, 1]]


def test_from_long_on_tuples_says_how_to_convert():
    records = [("t1", "w1", 0), ("t1", "w2", 1), ("t2", "w1", 1)]
    with pytest.raises(TypeError, match=r"got a list of tuple.*pandas\.DataFrame\(records") as info:
        from_long(records)
    assert "'task'" in str(info.value) and "'worker'" in str(info.value)
    # both suggested conversions work
    df = pd.DataFrame(records, columns=["task", "worker", "label"])
    weak, items, lfs = from_long(df)
    weak2, _, _ = from_long(
        dict(zip(["task", "worker", "label"], zip(*records, strict=True), strict=True))
    )
    assert np.asarray(weak.L).tolist() == [[0, 1], [1, -1]] == np.asarray(weak2.L).tolist()
    assert items == ["t1", "t2"] and lfs == ["w1", "w2"]
    with pytest.raises(TypeError, match="got a ndarray"):
        from_long(np.zeros((3, 3)))
