"""make_cifar10_full: the full CIFAR-10 from the authors' binary archive (a small fake archive with
the real layout, fetched through a test manifest) or from torchvision (a fake module)."""

import hashlib
import io
import sys
import tarfile
import types

import numpy as np
import pytest
import yaml

from wsbench.tasks import cifar10 as c10

N_PER_BATCH, N_TEST = 20, 30  # 100 training images (10 a class), 30 test images


def _images(rng, n):
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def _records(images, labels) -> bytes:
    """The binary format: per image a label byte, then the R, G and B planes row-major."""
    planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return np.concatenate([labels[:, None].astype(np.uint8), planes], axis=1).tobytes()


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


NAMES = "airplane automobile bird cat deer dog frog horse ship truck"


def _archive(rng, *, drop=None, bad=None):
    x = _images(rng, 5 * N_PER_BATCH)
    y = np.arange(5 * N_PER_BATCH) % 10
    xt, yt = _images(rng, N_TEST), rng.permutation(np.arange(N_TEST) % 10)
    members = {
        f"data_batch_{i + 1}.bin": _records(
            x[i * N_PER_BATCH : (i + 1) * N_PER_BATCH], y[i * N_PER_BATCH : (i + 1) * N_PER_BATCH]
        )
        for i in range(5)
    }
    members["test_batch.bin"] = _records(xt, yt)
    members["batches.meta.txt"] = ("\n".join(NAMES.split()) + "\n\n").encode()
    if bad is not None:
        members[bad[0]] = bad[1]
    members.pop(drop, None)
    return _tar(members), (x, y, xt, yt)


def _write_fetchable(root, archive: bytes, monkeypatch):
    """A mirror holding ``cifar10/`` with ``archive``, and a manifest pinning its sha256."""
    (root / "mirror" / "cifar10").mkdir(parents=True)
    (root / "mirror" / "cifar10" / c10.FULL_FILE).write_bytes(archive)
    file = {"path": c10.FULL_FILE, "sha256": hashlib.sha256(archive).hexdigest()}
    entry = {"description": "fake", "licence": "-", "manual": "-", "files": [file]}
    (root / "manifest.yaml").write_text(yaml.safe_dump({"datasets": {"cifar10": entry}}))
    monkeypatch.setenv("WSBENCH_MANIFEST", str(root / "manifest.yaml"))
    return root / "mirror"


@pytest.fixture
def fetchable(tmp_path, monkeypatch):
    """``make(archive, **kw)``: a mirror and a manifest for ``archive``, then make_cifar10_full."""

    def make(archive: bytes, **kw):
        root = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        mirror = _write_fetchable(root, archive, monkeypatch)
        return c10.make_cifar10_full(mirror=mirror, data_dir=root / "data", **kw)

    return make


def _by_bytes(images, labels):
    return {img.tobytes(): int(c) for img, c in zip(images, labels, strict=True)}


def test_binary_archive_split(fetchable):
    archive, (x, y, xt, yt) = _archive(np.random.default_rng(0))
    task = fetchable(archive, n_labelled=50, n_valid=10)
    assert task.x_train.shape == (40, 32, 32, 3) and task.x_valid.shape == (10, 32, 32, 3)
    assert task.x_unlabeled.shape == (50, 32, 32, 3) and task.x_test.shape == (N_TEST, 32, 32, 3)
    assert task.x_train.dtype == np.float32 and 0 <= task.x_train.min() <= task.x_train.max() <= 1
    assert task.class_names == tuple(NAMES.split()) and task.n_classes == 10
    # every image decoded as written (channel planes -> HWC) and kept with its own label
    u8 = lambda a: np.rint(a * 255).astype(np.uint8)  # noqa: E731
    truth = _by_bytes(x, y)
    for xs, ys in ((task.x_train, task.y_train), (task.x_valid, task.y_valid)):
        assert _by_bytes(u8(xs), ys).items() <= truth.items()
    got = [
        img.tobytes() for img in u8(np.concatenate([task.x_train, task.x_valid, task.x_unlabeled]))
    ]
    assert sorted(got) == sorted(truth) and len(set(got)) == len(got)  # disjoint, all 100
    assert _by_bytes(u8(task.x_test), task.y_test) == _by_bytes(xt, yt)
    # class-interleaved order: the labelled prefix and the test prefix keep every class
    assert np.all(np.bincount(task.y_train, minlength=10) == 4)
    assert np.all(np.bincount(task.y_valid, minlength=10) == 1)
    assert np.all(np.bincount(task.y_test[:10], minlength=10) == 1)
    # the validation images are the labelled pool's last ones, as in make_cifar10
    plain = fetchable(archive, n_labelled=50)
    np.testing.assert_array_equal(plain.x_train[:40], task.x_train)
    np.testing.assert_array_equal(plain.x_train[40:], task.x_valid)


def test_parse_binary_batch_layout():
    img = np.zeros((1, 32, 32, 3), np.uint8)
    img[0, 0, 1, 0], img[0, 2, 0, 1], img[0, 31, 31, 2] = 10, 20, 30  # R at (0,1), G, B
    out, labels = c10.parse_binary_batch(_records(img, np.array([7])))
    np.testing.assert_array_equal(out, img)
    assert labels.tolist() == [7] and labels.dtype == np.int32


@pytest.mark.parametrize(
    "damage, match",
    [
        ({"bad": ("data_batch_3.bin", b"\x00" * 3000)}, "not a whole number of 3073-byte"),
        ({"bad": ("test_batch.bin", b"\x0a" + b"\x00" * 3072)}, "label 10 out of range"),
        ({"drop": "test_batch.bin"}, "not a complete cifar-10-binary"),
    ],
)
def test_damaged_archive_is_a_clear_error(fetchable, damage, match):
    archive, _ = _archive(np.random.default_rng(1), **damage)
    with pytest.raises(ValueError, match=match):
        fetchable(archive)


def test_bad_arguments_fail_before_any_download(monkeypatch):
    monkeypatch.setenv("WSBENCH_MANIFEST", "/nonexistent/manifest.yaml")  # never read
    for kw, match in (
        ({"n_labelled": 50_000}, "n_labelled must be in 1..49999"),
        ({"n_labelled": 100, "n_valid": 100}, "n_valid"),
        ({"source": "kaggle"}, "source must be 'fetch' or 'torchvision'"),
    ):
        with pytest.raises(ValueError, match=match):
            c10.make_cifar10_full(**kw)


def test_torchvision_source_gives_the_same_task(fetchable, monkeypatch, tmp_path):
    archive, (x, y, xt, yt) = _archive(np.random.default_rng(2))
    roots = []

    class CIFAR10:  # the attributes make_cifar10_full reads from torchvision's dataset
        classes = NAMES.split()

        def __init__(self, root, train, download):
            roots.append(root)
            assert download is True
            self.data, self.targets = (x, list(y)) if train else (xt, list(yt))

    datasets = types.ModuleType("torchvision.datasets")
    datasets.CIFAR10 = CIFAR10
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    tv = c10.make_cifar10_full(
        n_labelled=50, n_valid=10, source="torchvision", data_dir=tmp_path / "tv"
    )
    ref = fetchable(archive, n_labelled=50, n_valid=10)
    for a in ("x_train", "y_train", "x_valid", "y_valid", "x_unlabeled", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(tv, a), getattr(ref, a), err_msg=a)
    assert roots == [str(tmp_path / "tv" / "cifar10_torchvision")] * 2


def test_torchvision_source_without_torchvision_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import fails
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(ImportError, match=r"wsbench\[vision\].*source='fetch'"):
        c10.make_cifar10_full(source="torchvision", data_dir=tmp_path)


def test_repo_manifest_pins_the_authors_archive(monkeypatch):
    from wsbench.data.fetch import manifest

    monkeypatch.delenv("WSBENCH_MANIFEST", raising=False)
    (f,) = manifest()["cifar10"]["files"]
    assert f["path"] == c10.FULL_FILE and f["size"] == 170_052_171
    assert f["url"] == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    assert f["sha256"] == "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"


def test_experiment_file_composes_the_papers_split():
    from hydra import compose, initialize_config_dir

    from tests._utils import CONF

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        c = compose("tanda", overrides=["experiment=tanda_cifar10_full"])
        base = compose("tanda", overrides=["experiment=tanda_cifar10"])
    assert c.task._target_.endswith("make_cifar10_full") and c.task.source == "fetch"
    assert c.task.n_labelled - c.task.n_valid == 5000  # the paper's 5,000 training labels
    assert c.name == "tanda_cifar10_full"
    for key in ("endmodel", "tanda", "tfs", "seq_len", "then_basic", "disc_width", "policies"):
        assert c[key] == base[key], key  # everything but the data as tanda_cifar10


# ResNet and TANDA compilation: tens of seconds on 2 cores.
@pytest.mark.slow
def test_experiment_runs_end_to_end_on_a_fake_archive(tmp_path, monkeypatch):
    import pandas as pd
    from hydra import compose, initialize_config_dir

    from tests._utils import CONF
    from wsbench.run import tanda

    archive, _ = _archive(np.random.default_rng(3))
    mirror = _write_fetchable(tmp_path, archive, monkeypatch)
    small = [
        "experiment=tanda_cifar10_full",
        "logger=none",
        "jax_cache=null",
        f"task.mirror={mirror}",
        "+task.data_dir=" + str(tmp_path / "data"),
        "task.n_labelled=50",
        "task.n_valid=10",
        "policies=[basic,mean_field]",
        "objective=mean_field",
        "seeds=1",
        "disc_width=4",
        "tanda.n_steps=2",
        "tanda.batch_size=4",
        "endmodel.blocks_per_stage=1",
        "endmodel.width=4",
        "endmodel.n_steps=2",
        "endmodel.batch_size=8",
        "n_samples=2",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("tanda", overrides=small)
    tanda.run(cfg, out_dir=tmp_path / "run")
    df = pd.read_parquet(tmp_path / "run" / "results.parquet")
    assert sorted(df["policy"]) == ["basic", "mean_field"]
    assert df["test/accuracy"].between(0, 1).all() and df["valid/accuracy"].between(0, 1).all()
    assert (tmp_path / "data" / "cifar10" / c10.FULL_FILE).is_file()  # fetched, sha256-checked
