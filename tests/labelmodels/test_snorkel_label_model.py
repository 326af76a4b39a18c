"""conf/estimator/snorkel_label_model.yaml reproduces snorkel 0.10 LabelModel's predictions.

Golden files: tests/reference/snorkel_label_model_golden.py (run in the reference environment).
"""

import os
import pathlib

import jax.random as jr
import numpy as np
import pytest

from tests._utils import estimator_configs, instantiate_config
from tests.reference import GOLDEN
from wsbench.data import WeakLabels

FIT_SPLIT = {"wrench_youtube": "train", "wrench_sms": "train", "wrench_chemprot": "valid"}


def _agreement(probs, golden) -> float:
    """Share of rows with the same argmax, counting rows where snorkel ties as agreeing with any
    of its tied classes (snorkel's predict breaks those at random)."""
    probs, golden = np.asarray(probs), np.asarray(golden)
    pred = probs.argmax(axis=1)
    tied_ok = golden[np.arange(len(pred)), pred] >= golden.max(axis=1) - 1e-5
    return float(tied_ok.mean())


def _fit(L, k):
    est = instantiate_config(estimator_configs()["snorkel_label_model"])
    weak = WeakLabels(L=L, n_classes=k)
    return est.fit(weak, key=jr.key(0)).predict_proba(weak.L)


def test_matches_snorkel_on_synthetic_golden():
    g = np.load(GOLDEN / "snorkel_label_model_synthetic.npz")
    probs = _fit(g["L"].astype(np.int32), int(g["n_classes"]))
    assert _agreement(probs, g["probs"]) >= 0.99
    np.testing.assert_allclose(probs, g["probs"], atol=0.02)


@pytest.mark.parametrize("name", sorted(FIT_SPLIT))
def test_matches_snorkel_on_wrench(name):
    mirror = os.environ.get("WSBENCH_DATA_MIRROR")
    if not mirror or not (pathlib.Path(mirror) / name).is_dir():
        pytest.skip(
            f"needs the dataset mirror: set WSBENCH_DATA_MIRROR to a folder holding {name}/"
        )
    from wsbench.data import load_wrench

    ds = load_wrench(pathlib.Path(mirror) / name, missing_train="valid")
    split = getattr(ds, FIT_SPLIT[name])  # chemprot ships no train: fit rows are valid
    g = np.load(GOLDEN / f"snorkel_label_model_{name}.npz")
    probs = _fit(split.weak.L, ds.n_classes)
    assert probs.shape == g["probs"].shape
    assert _agreement(probs, g["probs"]) >= 0.99
