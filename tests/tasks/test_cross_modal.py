"""Cross-modal chest X-ray: the real-pair loader on a tiny synthetic folder written to tmp, and the
constructed PneumoniaMNIST + IU pairing (class-matched, deterministic)."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from wsbench.tasks import chest_xray, cross_modal

REPO = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("WSBENCH_DATA_MIRROR") or REPO.parent / "shared" / "datasets")
needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason=f"no dataset mirror at {MIRROR}")

NORMAL_TEXT = (
    "The heart is normal in size. The lungs are clear.",
    "No acute cardiopulmonary abnormality.",
)
SICK_TEXT = ("There is a large right pleural effusion.", "Right pleural effusion.")


def _write_pairs(root: Path, n: int = 60, drop_frontal=()) -> dict:
    from PIL import Image

    (root / "images").mkdir(parents=True)
    truth = {}
    with open(root / "indiana_reports.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "uid",
                "MeSH",
                "Problems",
                "image",
                "indication",
                "comparison",
                "findings",
                "impression",
            ]
        )
        for uid in range(1, n + 1):
            sick = uid % 3 == 0
            findings, impression = SICK_TEXT if sick else NORMAL_TEXT
            problems = "Pleural Effusion" if sick else "normal"
            w.writerow([uid, problems, problems, "Xray", "", "None.", findings, impression])
            truth[str(uid)] = int(sick)
    with open(root / "indiana_projections.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["uid", "filename", "projection"])
        for uid in range(1, n + 1):
            value = 200 if truth[str(uid)] else 50  # image brightness encodes the class
            for proj, suffix in (("Frontal", "1001"), ("Lateral", "2001")):
                if proj == "Frontal" and uid in drop_frontal:
                    continue
                name = f"{uid}_IM-{suffix}.png"
                Image.fromarray(
                    np.full((40, 30), value if proj == "Frontal" else 0, np.uint8)
                ).save(root / "images" / name)
                w.writerow([uid, name, proj])
    return truth


def test_paired_loader_on_synthetic_folder(tmp_path):
    truth = _write_pairs(tmp_path / "iu", drop_frontal=(5,))
    ds = cross_modal.make_paired_chest_xray(tmp_path / "iu", image_size=8)
    n = ds.train.n + ds.valid.n + ds.test.n
    assert n == 59  # study 5 has no frontal image
    for split in ("train", "valid", "test"):
        s = getattr(ds, split)
        x, y = np.asarray(s.x), np.asarray(s.y)
        assert x.shape == (s.n, 64) and x.dtype == np.float32
        # the frontal image (not the black lateral) is paired with its own report's gold
        np.testing.assert_allclose(x.mean(axis=1), np.where(y == 1, 200 / 255, 50 / 255), rtol=1e-5)
        assert s.weak.L.shape[1] == len(chest_xray.CHEST_XRAY_LFS)
    uids = [str(u) for u in range(1, 61) if u != 5]
    which = [chest_xray.split_of(u) for u in uids]
    assert ds.test.n == which.count("test")
    assert int(np.asarray(ds.test.y).sum()) == sum(
        truth[u] for u, s in zip(uids, which, strict=True) if s == "test"
    )
    img = cross_modal.make_paired_chest_xray(tmp_path / "iu", image_size=8, flatten=False)
    assert img.train.x.shape == (ds.train.n, 8, 8)


def test_paired_loader_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        cross_modal.make_paired_chest_xray(tmp_path / "nowhere")
    _write_pairs(tmp_path / "iu", n=6)
    (tmp_path / "iu" / "images" / "3_IM-1001.png").unlink()
    with pytest.raises(ValueError, match="3_IM-1001.png .* is missing"):
        cross_modal.make_paired_chest_xray(tmp_path / "iu", image_size=4)
    with pytest.raises(ValueError, match="image_size"):
        cross_modal.make_paired_chest_xray(tmp_path / "iu", image_size=0)


def test_pair_by_class_cycles_and_matches():
    idx = cross_modal.pair_by_class(np.array([0, 1, 0, 0, 1]), np.array([1, 0, 0]), ["a", "b", "c"])
    assert list(np.array([1, 0, 0])[idx]) == [0, 1, 0, 0, 1]
    assert len(set(idx[[0, 2, 3]])) == 2  # 3 normal images share the 2 normal reports (cycling)
    with pytest.raises(ValueError, match="no report of class 1"):
        cross_modal.pair_by_class(np.array([1]), np.array([0]), ["a"])


@needs_mirror
def test_constructed_pairing(tmp_path):
    ds = cross_modal.make_constructed_pairing(mirror=str(MIRROR), data_dir=str(tmp_path))
    assert (ds.train.n, ds.valid.n, ds.test.n) == (4708, 524, 624)
    assert ds.train.x.shape == (4708, 784) and float(ds.train.x.max()) <= 1.0
    assert int(np.asarray(ds.train.y).sum()) == 3494  # PneumoniaMNIST gold, pneumonia = 1
    assert "CONSTRUCTED" in cross_modal.CONSTRUCTED_NOTE
    # the report LFs carry the class: majority vote over them beats chance clearly on test
    L, y = np.asarray(ds.test.weak.L), np.asarray(ds.test.y)
    votes = np.stack([(L == c).sum(1) for c in (0, 1)], 1)
    decided = votes[:, 0] != votes[:, 1]
    assert ((votes.argmax(1) == y)[decided]).mean() > 0.8
