"""wsbench.data.fetch: manifest, mirror copies, downloads (file:// and local HTTP), errors."""

import functools
import hashlib
import http.server
import os
import re
import shutil
import socket
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from wsbench.data import fetch as fetch_module
from wsbench.data.fetch import (
    ChecksumError,
    FetchError,
    ManifestError,
    data_root,
    dataset_dir,
    fetch,
    list_datasets,
    manifest,
    verify,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def mirror_path() -> Path:
    env = os.environ.get("WSBENCH_DATA_MIRROR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "datasets"


MIRROR = mirror_path()
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(),
    reason=f"no dataset mirror at {MIRROR} "
    "(set WSBENCH_DATA_MIRROR to a copy of the shared datasets)",
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No user cache, no inherited mirror, no proxy for 127.0.0.1."""
    monkeypatch.delenv("WSBENCH_DATA_MIRROR", raising=False)
    monkeypatch.setenv("WSBENCH_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(tmp_path, monkeypatch, files: list[dict], name: str = "toy") -> None:
    path = tmp_path / "manifest.yaml"
    entry = {
        "description": "toy",
        "licence": "CC0",
        "manual": "Ask the toy maintainer.",
        "files": files,
    }
    path.write_text(yaml.safe_dump({"version": 1, "datasets": {name: entry}}))
    monkeypatch.setenv("WSBENCH_MANIFEST", str(path))


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A two-file toy dataset: a mirror folder, and a manifest whose URLs point at it (file://)."""
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    contents = {"a.txt": b"alpha\n" * 100, "sub/b.json": b'{"b": 1}'}
    files = []
    for rel, data in contents.items():
        p = mirror / "toy" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        files.append({"path": rel, "sha256": sha(data), "size": len(data), "url": p.as_uri()})
    write_manifest(tmp_path, monkeypatch, files)
    return mirror, contents, files


# ------------------------------------------------------------------------------------------------
# paths and manifest


def test_data_root_resolution(monkeypatch, tmp_path):
    assert data_root(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("WSBENCH_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("WSBENCH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_root() == tmp_path / "xdg" / "wsbench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_root() == Path.home() / ".cache" / "wsbench"


def test_repo_manifest_is_complete():
    entries = manifest()
    assert set(list_datasets()) == {
        "wrench_youtube",
        "wrench_sms",
        "wrench_chemprot",
        "youtube_spam_collection_raw",
        "sms_spam_collection_raw",
        "spouse_snorkel",
        "bc5cdr_pubtator",
        "iu_chest_xray_reports",
        "pneumoniamnist",
        "cifar10_jpeg",
        "cifar10",
    }
    for name, entry in entries.items():
        for field in (
            "description",
            "licence",
            "citation",
            "homepage",
            "source",
            "manual",
            "files",
        ):
            assert entry.get(field), f"{name} lacks {field}"
        for f in entry["files"]:
            assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"]), (name, f)
            assert isinstance(f["size"], int) and f["size"] > 0
            assert "url" in f or "archive" in f, (name, f["path"])
        if entry.get("in_mirror", True) is False:  # then only the network has it
            assert all(f.get("url") or f.get("archive") for f in entry["files"]), name


def test_unknown_dataset_lists_names():
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*wrench_youtube"):
        fetch("nope")
    with pytest.raises(ValueError, match="unknown dataset"):
        dataset_dir("nope")


@pytest.mark.parametrize(
    "text, match",
    [
        ("datasets:\n  toy: [unclosed\n", r"not valid YAML at line \d+, column \d+"),
        ("- just\n- a list\n", "expected a mapping with a 'datasets' key"),
        ("datasets:\n  toy: 3\n", "dataset 'toy' must be a mapping"),
        ("datasets:\n  toy: {description: x}\n", "needs a non-empty list 'files'"),
        ("datasets:\n  toy: {files: [{sha256: x}]}\n", r"files\[0\] has no 'path'"),
        ("datasets:\n  toy: {files: [{path: f, sha256: abc}]}\n", "'sha256' must be 64 hex"),
        (
            f"datasets:\n  toy: {{files: [{{path: f, sha256: {'a' * 64}, size: -1}}]}}\n",
            "'size' must be a non-negative integer",
        ),
        (
            f"datasets:\n  toy: {{in_mirror: 'no', files: [{{path: f, sha256: {'a' * 64}}}]}}\n",
            "'in_mirror' must be true or false",
        ),
    ],
)
def test_malformed_manifest_is_a_clear_value_error(monkeypatch, tmp_path, text, match):
    path = tmp_path / f"manifest_{abs(hash(text))}.yaml"
    path.write_text(text)
    monkeypatch.setenv("WSBENCH_MANIFEST", str(path))
    with pytest.raises(ManifestError, match=match) as info:
        list_datasets()
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value) and "WSBENCH_MANIFEST" in str(info.value)


def test_how_to_lists_the_pinned_urls(tmp_path, monkeypatch):
    write_manifest(
        tmp_path,
        monkeypatch,
        [
            {"path": "a.txt", "sha256": sha(b"a"), "size": 1, "url": "https://example.org/a.txt"},
            {
                "path": "b.txt",
                "sha256": sha(b"b"),
                "size": 1,
                "archive": "https://example.org/b.zip",
                "member": "in/b.txt",
            },
            {"path": "c.txt", "sha256": sha(b"c"), "size": 1},
        ],
    )
    with pytest.raises(FetchError) as info:
        fetch("toy", data_dir=tmp_path / "data", mirror=tmp_path / "nowhere")
    msg = str(info.value)
    assert "Pinned URLs" in msg
    assert "a.txt: https://example.org/a.txt" in msg
    assert "b.txt: member in/b.txt of https://example.org/b.zip" in msg
    assert "c.txt:" not in msg


def test_repo_manifest_errors_list_the_urls_they_promise():
    """Every manual text that promises "the pinned raw URLs" gets them listed in the error."""
    for name, entry in manifest().items():
        if "pinned raw" not in entry.get("manual", ""):
            continue
        text = fetch_module._how_to(name, Path("/x"))
        urls = [f.get("url") or f.get("archive") for f in entry["files"]]
        assert any(urls), name
        for u in urls:
            if u:
                assert u in text, (name, u)


def test_missing_manifest_is_clear(monkeypatch, tmp_path):
    monkeypatch.setenv("WSBENCH_MANIFEST", str(tmp_path / "absent.yaml"))
    with pytest.raises(FetchError, match="cannot find the dataset manifest"):
        list_datasets()


# ------------------------------------------------------------------------------------------------
# mirror


def test_fetch_from_mirror_copies_and_verifies(toy, tmp_path):
    mirror, contents, _ = toy
    out = fetch("toy", mirror=mirror, data_dir=tmp_path / "data")
    assert out == tmp_path / "data" / "toy"
    for rel, data in contents.items():
        assert (out / rel).read_bytes() == data
    assert not list(out.rglob("*.part"))
    # second call: served from the verified local copy, even without a mirror
    shutil.rmtree(mirror)
    assert fetch("toy", data_dir=tmp_path / "data") == out
    assert verify("toy", data_dir=tmp_path / "data") == out


def test_mirror_from_env(toy, tmp_path, monkeypatch):
    mirror, contents, _ = toy
    monkeypatch.setenv("WSBENCH_DATA_MIRROR", str(mirror))
    out = fetch("toy")  # data dir from WSBENCH_DATA
    assert out == tmp_path / "cache" / "toy"
    assert (out / "a.txt").read_bytes() == contents["a.txt"]


def test_corrupted_mirror_file(toy, tmp_path):
    mirror, _, _ = toy
    (mirror / "toy" / "a.txt").write_bytes(b"alpha\n" * 99 + b"alphX\n")  # same size, other bytes
    with pytest.raises(ChecksumError, match=r"toy/a\.txt.*sha256.*expected") as info:
        fetch("toy", mirror=mirror, data_dir=tmp_path / "data")
    assert "Ask the toy maintainer" in str(info.value)
    assert not (tmp_path / "data" / "toy" / "a.txt").exists()
    assert not list((tmp_path / "data").rglob("*.part"))


def test_truncated_mirror_file(toy, tmp_path):
    mirror, _, _ = toy
    (mirror / "toy" / "a.txt").write_bytes(b"alpha\n")
    with pytest.raises(ChecksumError, match=r"toy/a\.txt.*6 bytes, expected 600"):
        fetch("toy", mirror=mirror, data_dir=tmp_path / "data")


def test_missing_mirror_file(toy, tmp_path):
    mirror, _, _ = toy
    (mirror / "toy" / "sub" / "b.json").unlink()
    with pytest.raises(FetchError, match=r"toy/sub/b\.json is missing from the mirror") as info:
        fetch("toy", mirror=mirror, data_dir=tmp_path / "data")
    assert "by hand" in str(info.value) and "WSBENCH_DATA_MIRROR" in str(info.value)


def test_mirror_without_the_dataset_downloads_it(toy, tmp_path, monkeypatch):
    """A mirror that holds other datasets but not this one (the full CIFAR-10 is not in the wsbench
    mirror) passes it on to its URLs; with no URL the error names the mirror."""
    _, contents, files = toy
    other = tmp_path / "other_mirror"
    (other / "something_else").mkdir(parents=True)
    out = fetch("toy", mirror=other, data_dir=tmp_path / "data")
    assert (out / "a.txt").read_bytes() == contents["a.txt"]
    no_url = [{**f, "url": None} for f in files]
    (tmp_path / "m2").mkdir()  # a new manifest path (manifests are cached by path)
    write_manifest(tmp_path / "m2", monkeypatch, no_url, name="toy2")
    with pytest.raises(FetchError, match=r"toy2/a\.txt is missing from the mirror"):
        fetch("toy2", mirror=other, data_dir=tmp_path / "data")


def test_local_copy_modified_is_refetched(toy, tmp_path):
    mirror, contents, _ = toy
    out = fetch("toy", mirror=mirror, data_dir=tmp_path / "data")
    (out / "a.txt").write_bytes(b"tampered")
    with pytest.raises(ChecksumError):
        verify("toy", data_dir=tmp_path / "data")
    fetch("toy", mirror=mirror, data_dir=tmp_path / "data")
    assert (out / "a.txt").read_bytes() == contents["a.txt"]
    (out / "a.txt").unlink()
    with pytest.raises(FetchError, match="missing"):
        verify("toy", data_dir=tmp_path / "data")


def _tamper_keep_size_and_mtime(path: Path) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_tampered_local_copy_with_restored_mtime_is_caught(toy, tmp_path):
    mirror, contents, _ = toy
    out = fetch("toy", mirror=mirror, data_dir=tmp_path / "data")
    _tamper_keep_size_and_mtime(out / "a.txt")
    fetch("toy", mirror=mirror, data_dir=tmp_path / "data")  # re-copied from the mirror
    assert (out / "a.txt").read_bytes() == contents["a.txt"]
    # no mirror and a dead URL: a clear error, never the tampered bytes
    _tamper_keep_size_and_mtime(out / "a.txt")
    shutil.rmtree(mirror)
    with pytest.raises(FetchError, match="(?s)local copy failed its check.*sha256.*by hand"):
        fetch("toy", data_dir=tmp_path / "data")
    assert not (out / "a.txt").exists()


def test_verified_local_copy_is_not_rehashed(toy, tmp_path, monkeypatch):
    mirror, _, _ = toy
    fetch("toy", mirror=mirror, data_dir=tmp_path / "data")
    hashed = []
    real = fetch_module._sha256
    monkeypatch.setattr(fetch_module, "_sha256", lambda p: hashed.append(p.name) or real(p))
    fetch("toy", data_dir=tmp_path / "data")
    assert hashed == []  # unchanged files: the stamp vouches for them
    os.utime(tmp_path / "data" / "toy" / "a.txt")  # touched: checked again, once
    fetch("toy", data_dir=tmp_path / "data")
    assert hashed == ["a.txt"]
    fetch("toy", data_dir=tmp_path / "data")
    assert hashed == ["a.txt"]


def test_force_recopies(toy, tmp_path):
    mirror, _, _ = toy
    out = fetch("toy", mirror=mirror, data_dir=tmp_path / "data")
    before = (out / "a.txt").stat().st_ino
    fetch("toy", mirror=mirror, data_dir=tmp_path / "data", force=True)
    assert (out / "a.txt").stat().st_ino != before


# ------------------------------------------------------------------------------------------------
# downloads


def test_download_file_url(toy, tmp_path):
    _, contents, _ = toy
    out = fetch("toy", data_dir=tmp_path / "data")
    assert (out / "sub" / "b.json").read_bytes() == contents["sub/b.json"]


def test_download_checksum_mismatch(tmp_path, monkeypatch):
    src = tmp_path / "upstream.txt"
    src.write_bytes(b"new upstream version")
    write_manifest(
        tmp_path,
        monkeypatch,
        [
            {"path": "f.txt", "sha256": sha(b"old"), "size": 20, "url": src.as_uri()},
        ],
    )
    with pytest.raises(ChecksumError, match=r"toy/f\.txt from file:.*sha256"):
        fetch("toy", data_dir=tmp_path / "data")
    # nothing survives: neither the file under its final name nor the partial download
    leftovers = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert leftovers == []


def test_download_zip_member(tmp_path, monkeypatch):
    member = b"ham\thello\nspam\tWIN\n"
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme", "x")
        zf.writestr("inner/Data", member)
    write_manifest(
        tmp_path,
        monkeypatch,
        [
            {
                "path": "Data",
                "sha256": sha(member),
                "size": len(member),
                "archive": archive.as_uri(),
                "member": "inner/Data",
            },
        ],
    )
    out = fetch("toy", data_dir=tmp_path / "data")
    assert (out / "Data").read_bytes() == member
    assert not list(out.glob("*.zip")) and not list(out.glob("*.part*"))


def test_download_missing_zip_member(tmp_path, monkeypatch):
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("other", "x")
    write_manifest(
        tmp_path,
        monkeypatch,
        [
            {
                "path": "Data",
                "sha256": sha(b"x"),
                "size": 1,
                "archive": archive.as_uri(),
                "member": "Data",
            },
        ],
    )
    with pytest.raises(FetchError, match="has no member 'Data'"):
        fetch("toy", data_dir=tmp_path / "data")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server on 127.0.0.1 serving a temp folder; shut down after the test."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_download_over_http(http_root, tmp_path, monkeypatch):
    root, base = http_root
    data = os.urandom(3 * (1 << 20) + 17)  # several chunks
    (root / "big.bin").write_bytes(data)
    write_manifest(
        tmp_path,
        monkeypatch,
        [
            {"path": "big.bin", "sha256": sha(data), "size": len(data), "url": f"{base}/big.bin"},
        ],
    )
    out = fetch("toy", data_dir=tmp_path / "data", timeout=10)
    assert (out / "big.bin").read_bytes() == data


def test_http_404_is_clear(http_root, tmp_path, monkeypatch):
    _, base = http_root
    write_manifest(
        tmp_path,
        monkeypatch,
        [
            {"path": "gone.txt", "sha256": sha(b"x"), "size": 1, "url": f"{base}/gone.txt"},
        ],
    )
    with pytest.raises(FetchError, match=r"could not download toy/gone\.txt.*404"):
        fetch("toy", data_dir=tmp_path / "data", timeout=10)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_network_error_says_how_to_get_data(tmp_path, monkeypatch):
    write_manifest(
        tmp_path,
        monkeypatch,
        [
            {
                "path": "f.txt",
                "sha256": sha(b"x"),
                "size": 1,
                "url": f"http://127.0.0.1:{_closed_port()}/f.txt",
            },
        ],
    )
    with pytest.raises(FetchError) as info:
        fetch("toy", data_dir=tmp_path / "data", timeout=5)
    msg = str(info.value)
    assert "could not download toy/f.txt" in msg and "offline" in msg
    assert "Ask the toy maintainer" in msg and "WSBENCH_DATA_MIRROR" in msg
    assert not list((tmp_path / "data").rglob("*.part"))


def test_no_url_needs_mirror(tmp_path, monkeypatch):
    write_manifest(
        tmp_path, monkeypatch, [{"path": "f.txt", "sha256": sha(b"x"), "size": 1, "url": None}]
    )
    with pytest.raises(FetchError, match="(?s)no download URL.*Ask the toy maintainer"):
        fetch("toy", data_dir=tmp_path / "data")


# ------------------------------------------------------------------------------------------------
# the real mirror


def _source_md_table(folder: Path) -> dict[str, tuple[int, str]]:
    text = (folder / "SOURCE.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| ([\d,]+) \| `([0-9a-f]{64})` \|", text, flags=re.M)
    return {name: (int(size.replace(",", "")), digest) for name, size, digest in rows}


def _mirrored() -> list[str]:
    """The datasets of the wsbench data mirror (``in_mirror: false``: fetched from their URLs)."""
    return [n for n, e in manifest().items() if e.get("in_mirror", True) is not False]


@needs_mirror
def test_manifest_matches_mirror_source_cards():
    for name in _mirrored():
        entry = manifest()[name]
        table = _source_md_table(MIRROR / name)
        got = {f["path"]: (f["size"], f["sha256"]) for f in entry["files"]}
        assert got == table, name


@needs_mirror
def test_fetch_every_dataset_from_mirror(tmp_path):
    for name in _mirrored():
        out = fetch(name, mirror=MIRROR, data_dir=tmp_path)
        assert sorted(f["path"] for f in manifest()[name]["files"]) == sorted(
            p.name for p in out.iterdir() if not p.name.startswith(".")
        )


@needs_mirror
def test_real_mirror_corrupted_and_missing(tmp_path):
    bad = tmp_path / "bad_mirror"
    shutil.copytree(MIRROR / "wrench_youtube", bad / "wrench_youtube")
    (bad / "wrench_youtube").chmod(0o755)
    target = bad / "wrench_youtube" / "valid.json"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[100] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"wrench_youtube/valid\.json"):
        fetch("wrench_youtube", mirror=bad, data_dir=tmp_path / "data")
    target.unlink()
    with pytest.raises(FetchError, match=r"wrench_youtube/valid\.json is missing.*\n.*WRENCH"):
        fetch("wrench_youtube", mirror=bad, data_dir=tmp_path / "data")
