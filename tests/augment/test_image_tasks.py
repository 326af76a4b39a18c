"""CIFAR-10 and PneumoniaMNIST loaders (skipped when the data mirror is absent)."""

import os
from pathlib import Path

import numpy as np
import pytest

MIRROR = os.environ.get("WSBENCH_DATA_MIRROR")


def _need(name):
    if not MIRROR or not (Path(MIRROR) / name).is_dir():
        pytest.skip(
            f"dataset {name!r} not available: set WSBENCH_DATA_MIRROR to a folder holding {name}/"
        )


@pytest.fixture
def data_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "wsbench_data"


def test_cifar10_split(data_dir):
    _need("cifar10_jpeg")
    from wsbench.tasks.cifar10 import make_cifar10

    task = make_cifar10(mirror=MIRROR, data_dir=data_dir)
    assert task.x_train.shape == (5000, 32, 32, 3) and task.x_unlabeled.shape == (5000, 32, 32, 3)
    assert task.x_test.shape == (10000, 32, 32, 3) and task.n_classes == 10
    assert task.x_train.dtype == np.float32 and 0 <= task.x_train.min() and task.x_train.max() <= 1
    assert np.all(np.bincount(task.y_train, minlength=10) == 500)
    assert np.all(np.bincount(task.y_test, minlength=10) == 1000)
    small = task.subsample(n_train=200, n_test=100)
    assert np.all(np.bincount(small.y_train, minlength=10) == 20)
    assert np.all(np.bincount(small.y_test, minlength=10) == 10)  # test prefixes keep every class
    # labelled and unlabeled images are disjoint (no duplicated row)
    a = {r.tobytes() for r in (task.x_train[:300] * 255).astype(np.uint8)}
    b = {r.tobytes() for r in (task.x_unlabeled * 255).astype(np.uint8)}
    assert not a & b
    assert task.class_names[0] == "airplane"
    with pytest.raises(ValueError, match="n_labelled"):
        make_cifar10(n_labelled=10_000, mirror=MIRROR, data_dir=data_dir)
    assert task.x_valid.shape == (0, 32, 32, 3)


def test_cifar10_validation_split_comes_out_of_the_labelled_images(data_dir):
    _need("cifar10_jpeg")
    from wsbench.tasks.cifar10 import make_cifar10

    full = make_cifar10(mirror=MIRROR, data_dir=data_dir)
    task = make_cifar10(n_valid=1000, mirror=MIRROR, data_dir=data_dir)
    assert task.x_train.shape == (4000, 32, 32, 3) and task.x_valid.shape == (1000, 32, 32, 3)
    assert np.all(np.bincount(task.y_valid, minlength=10) == 100)
    # the training prefix is unchanged, the validation images are the labelled pool's last ones
    np.testing.assert_array_equal(task.x_train, full.x_train[:4000])
    np.testing.assert_array_equal(task.x_valid, full.x_train[4000:])
    np.testing.assert_array_equal(task.y_valid, full.y_train[4000:])
    np.testing.assert_array_equal(task.x_unlabeled, full.x_unlabeled)
    small = task.subsample(n_train=100, n_valid=50)
    assert len(small.y_train) == 100 and len(small.y_valid) == 50
    for bad in (-1, 5000):
        with pytest.raises(ValueError, match="n_valid"):
            make_cifar10(n_valid=bad, mirror=MIRROR, data_dir=data_dir)


def test_pneumoniamnist_split(data_dir):
    _need("pneumoniamnist")
    from wsbench.tasks.pneumoniamnist import make_pneumoniamnist

    task = make_pneumoniamnist(mirror=MIRROR, data_dir=data_dir)
    assert task.x_train.shape == (4708, 28, 28, 1) and task.x_valid.shape == (524, 28, 28, 1)
    assert task.x_test.shape == (624, 28, 28, 1)
    assert np.bincount(task.y_train).tolist() == [1214, 3494]
    assert np.bincount(task.y_test).tolist() == [234, 390]
    part = make_pneumoniamnist(n_labelled=500, mirror=MIRROR, data_dir=data_dir)
    assert len(part.y_train) == 500 and len(part.x_unlabeled) == 4208
    assert abs(part.y_train.mean() - 3494 / 4708) < 0.01
    assert abs(part.subsample(n_test=100).y_test.mean() - 390 / 624) < 0.02
