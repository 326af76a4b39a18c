"""Fetch the real datasets listed in ``datasets/manifest.yaml`` into a local data directory.

``fetch(name)`` returns a folder holding every file of the dataset, each checked against the sha256
in the manifest. It fills that folder, in this order, from:

1. the data directory itself, when the files are already there and verified (nothing is copied);
2. a mirror directory (``mirror=`` argument, else ``$WSBENCH_DATA_MIRROR``) laid out as
   ``<mirror>/<name>/<file>``: files are copied, then checked (a mirror without a ``<name>/``
   folder, e.g. one without the 170 MB full CIFAR-10, passes a dataset with URLs on to 3);
3. the network: each file's ``url`` (or ``member`` of the zip at ``archive``) is downloaded to a
   temporary file with a progress bar, checked, and renamed into place (atomic, so an interrupted
   download never leaves a half-written file under its final name).

The data directory is ``data_dir=`` if given, else ``$WSBENCH_DATA``, else
``$XDG_CACHE_HOME/wsbench`` (``~/.cache/wsbench`` when that is unset). A checksum mismatch, a file
missing from the mirror, a file with no download URL, or a failed download raises
:class:`FetchError` (:class:`ChecksumError` for mismatches) whose message names the dataset, the
file, and how to obtain it by hand.

Environment variables:
    WSBENCH_DATA: where datasets are stored (``<WSBENCH_DATA>/<name>/``). WSBENCH_DATA_MIRROR: a
    directory holding ``<name>/`` folders to copy from instead of downloading. WSBENCH_MANIFEST: an
    alternative manifest file (defaults to the repository's ``datasets/manifest.yaml``).
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "ChecksumError",
    "FetchError",
    "ManifestError",
    "data_root",
    "dataset_dir",
    "fetch",
    "list_datasets",
    "manifest",
    "verify",
]

_STAMP = ".wsbench_verified.json"
_CHUNK = 1 << 20
_README = "datasets/README.md"


class FetchError(RuntimeError):
    """A dataset could not be obtained (missing file, no network, no download URL)."""


class ChecksumError(FetchError, ValueError):
    """A file's sha256 (or size) differs from the manifest."""


class ManifestError(FetchError, ValueError):
    """``manifest.yaml`` is not valid YAML or an entry lacks a required field."""


@dataclass(frozen=True)
class _File:
    path: str
    sha256: str
    size: int | None
    url: str | None
    archive: str | None
    member: str | None


# ----------------------------------------------------------------------------------------------
# manifest


def _manifest_candidates() -> list[Path]:
    env = os.environ.get("WSBENCH_MANIFEST")
    if env:
        return [Path(env)]
    repo = Path(__file__).resolve().parents[2]
    candidates = [Path(sys.prefix) / "share" / "wsbench" / "manifest.yaml"]  # wheel (data-files)
    if (repo / "pyproject.toml").is_file():  # source checkout / editable install
        candidates.insert(0, repo / "datasets" / "manifest.yaml")
    return candidates


_FIX_MANIFEST = (
    "Fix the file (compare with the repository's datasets/manifest.yaml) or point WSBENCH_MANIFEST "
    "at a valid manifest."
)


@lru_cache(maxsize=4)
def _load_manifest(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ManifestError(f"{path} is not valid YAML{at}: {problem}. {_FIX_MANIFEST}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("datasets"), dict):
        raise ManifestError(
            f"{path} is not a wsbench manifest: expected a mapping with a 'datasets' key. "
            f"{_FIX_MANIFEST}"
        )
    for name, entry in doc["datasets"].items():
        _check_entry(path, name, entry)
    return doc["datasets"]


def _check_entry(path: str, name: Any, entry: Any) -> None:
    where = f"{path}: dataset {name!r}"
    if not isinstance(entry, dict):
        raise ManifestError(
            f"{where} must be a mapping (description, files, ...), got {type(entry).__name__}. "
            f"{_FIX_MANIFEST}"
        )
    files = entry.get("files")
    if not isinstance(files, list) or not files:
        raise ManifestError(f"{where} needs a non-empty list 'files'. {_FIX_MANIFEST}")
    for i, f in enumerate(files):
        if not isinstance(f, dict):
            raise ManifestError(
                f"{where}, files[{i}] must be a mapping with 'path' and 'sha256', got "
                f"{type(f).__name__}. {_FIX_MANIFEST}"
            )
        if not isinstance(f.get("path"), str) or not f["path"]:
            raise ManifestError(f"{where}, files[{i}] has no 'path' string. {_FIX_MANIFEST}")
        digest = f.get("sha256")
        if (
            not isinstance(digest, str)
            or len(digest) != 64
            or not all(c in "0123456789abcdefABCDEF" for c in digest)
        ):
            raise ManifestError(
                f"{where}, file {f['path']!r}: 'sha256' must be 64 hex digits, got {digest!r}. "
                f"{_FIX_MANIFEST}"
            )
        size = f.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ManifestError(
                f"{where}, file {f['path']!r}: 'size' must be a non-negative integer (bytes) or "
                f"absent, got {size!r}. {_FIX_MANIFEST}"
            )
        for key in ("url", "archive", "member"):
            if f.get(key) is not None and not isinstance(f[key], str):
                raise ManifestError(
                    f"{where}, file {f['path']!r}: {key!r} must be a string, got {f[key]!r}. "
                    f"{_FIX_MANIFEST}"
                )
    in_mirror = entry.get("in_mirror", True)
    if not isinstance(in_mirror, bool):
        raise ManifestError(
            f"{where}: 'in_mirror' must be true or false (false: the wsbench data mirror does not "
            f"hold it), got {in_mirror!r}. {_FIX_MANIFEST}"
        )


def manifest() -> dict[str, dict[str, Any]]:
    """The parsed manifest: ``{dataset name: entry}`` (see ``datasets/manifest.yaml``)."""
    candidates = _manifest_candidates()
    for path in candidates:
        if path.is_file():
            return _load_manifest(str(path))
    raise FetchError(
        "cannot find the dataset manifest; looked at "
        + ", ".join(str(p) for p in candidates)
        + ". Install wsbench from a source checkout (pip install -e .) or point "
        "WSBENCH_MANIFEST at the repository's datasets/manifest.yaml."
    )


def list_datasets() -> list[str]:
    """Names of every dataset in the manifest, sorted."""
    return sorted(manifest())


def _entry(name: str) -> dict[str, Any]:
    entries = manifest()
    if name not in entries:
        raise ValueError(f"unknown dataset {name!r}; the manifest lists {sorted(entries)}.")
    return entries[name]


def _files(name: str) -> list[_File]:
    return [
        _File(
            path=f["path"],
            sha256=str(f["sha256"]).lower(),
            size=f.get("size"),
            url=f.get("url"),
            archive=f.get("archive"),
            member=f.get("member"),
        )
        for f in _entry(name)["files"]
    ]


def _how_to(name: str, target: Path) -> str:
    entry = _entry(name)
    lines = [f"To obtain {name!r} by hand: {entry.get('manual', '').strip()}"]
    lines.append(
        f"Put the files in {target} (or set WSBENCH_DATA), or set WSBENCH_DATA_MIRROR to a"
    )
    lines.append(
        f"directory holding {name}/. Files and sha256: see datasets/manifest.yaml; "
        f"steps: {_README}."
    )
    pinned = [
        f"  {f.path}: {f.url}"
        if f.url
        else f"  {f.path}: member {f.member or f.path} of {f.archive}"
        for f in _files(name)
        if f.url or f.archive
    ]
    if pinned:
        lines.append("Pinned URLs (download each, keep the bytes unmodified):")
        lines.extend(pinned)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# paths


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The directory datasets are stored in: ``data_dir``, ``$WSBENCH_DATA`` or the user cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("WSBENCH_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "wsbench"


def dataset_dir(name: str, *, data_dir: str | os.PathLike | None = None) -> Path:
    """Where ``fetch(name)`` puts the dataset (the folder may not exist yet)."""
    _entry(name)  # unknown names fail early
    return data_root(data_dir) / name


def _mirror_root(mirror) -> Path | None:
    if mirror is None:
        mirror = os.environ.get("WSBENCH_DATA_MIRROR") or None
    return None if mirror is None else Path(mirror).expanduser()


# ----------------------------------------------------------------------------------------------
# checking


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _check(name: str, f: _File, path: Path, *, origin: str, target: Path) -> None:
    """Raise ChecksumError unless ``path`` has the manifest's size and sha256."""
    size = path.stat().st_size
    if f.size is not None and size != f.size:
        raise ChecksumError(
            f"{name}/{f.path} from {origin} has {size} bytes, expected {f.size} "
            f"(truncated or wrong file).\n{_how_to(name, target)}"
        )
    digest = _sha256(path)
    if digest != f.sha256:
        raise ChecksumError(
            f"{name}/{f.path} from {origin} has sha256 {digest}, expected {f.sha256} "
            f"(corrupted or a different version).\n{_how_to(name, target)}"
        )


def _read_stamp(folder: Path) -> dict:
    try:
        return json.loads((folder / _STAMP).read_text())
    except (OSError, ValueError):
        return {}


def _stat_key(path: Path) -> list:
    """What must be unchanged for a past sha256 check to still hold.

    Size and mtime alone are not enough: an edit followed by ``os.utime`` (or ``touch -r``)
    restores the mtime. The inode change time ``st_ctime_ns`` cannot be set from user space; every
    write, ``utime``, ``chmod`` or rename updates it, and a replaced file has a new inode. So a
    matching (device, inode, size, mtime, ctime) means the bytes were not touched since the check
    (short of changing the system clock as root); anything else triggers a full sha256.
    """
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _is_verified(f: _File, path: Path, stamp: dict) -> bool:
    """True when ``path`` was verified before and is unchanged since (see ``_stat_key``)."""
    rec = stamp.get(f.path)
    return bool(rec) and rec.get("sha256") == f.sha256 and rec.get("stat") == _stat_key(path)


def verify(name: str, *, data_dir: str | os.PathLike | None = None) -> Path:
    """Check every file of ``name`` in the data directory (full sha256); return the folder.

    Raises:
        FetchError: a file is missing. ChecksumError: a file differs from the manifest.
    """
    folder = dataset_dir(name, data_dir=data_dir)
    for f in _files(name):
        path = folder / f.path
        if not path.is_file():
            raise FetchError(f"{name}/{f.path} is missing from {folder}.\n{_how_to(name, folder)}")
        _check(name, f, path, origin=str(folder), target=folder)
    return folder


# ----------------------------------------------------------------------------------------------
# obtaining files


def _progress(total: int | None, desc: str):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        disable=None,
    )  # None: off when not a TTY


def _download(url: str, dest: Path, *, desc: str, timeout: float) -> None:
    """Stream ``url`` into ``dest`` with a progress bar."""
    req = urllib.request.Request(url, headers={"User-Agent": "wsbench-fetch"})
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
        length = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
        with _progress(int(length) if length else None, desc) as bar:
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))


def _obtain_remote(name: str, f: _File, tmp: Path, target: Path, timeout: float) -> str:
    """Download one file into ``tmp``; return a description of where it came from."""
    if f.url is None and f.archive is None:
        raise FetchError(
            f"{name}/{f.path} has no download URL (no upstream file has these exact bytes), and no "
            f"mirror is set.\n{_how_to(name, target)}"
        )
    source = f.url or f.archive
    try:
        if f.url is not None:
            _download(f.url, tmp, desc=f"{name}/{f.path}", timeout=timeout)
        else:
            archive = tmp.with_name(tmp.name + ".zip")
            try:
                _download(
                    f.archive, archive, desc=f"{name}/{Path(f.archive).name}", timeout=timeout
                )
                with zipfile.ZipFile(archive) as zf:
                    member = f.member or f.path
                    if member not in zf.namelist():
                        raise FetchError(
                            f"{name}: archive {f.archive} has no member {member!r} "
                            f"(members: {zf.namelist()[:10]}).\n{_how_to(name, target)}"
                        )
                    with zf.open(member) as src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, _CHUNK)
            finally:
                archive.unlink(missing_ok=True)
    except FetchError:
        raise
    except (urllib.error.URLError, OSError, ValueError, zipfile.BadZipFile) as err:
        raise FetchError(
            f"could not download {name}/{f.path} from {source}: {err}. The machine may be offline "
            f"or the URL may have moved.\n{_how_to(name, target)}"
        ) from err
    return source


def fetch(
    name: str,
    *,
    mirror: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    force: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Make dataset ``name`` available locally and return its folder.

    Args:
        name: a dataset of ``datasets/manifest.yaml`` (``list_datasets()``).
        mirror: a directory holding ``<name>/`` to copy from; defaults to ``$WSBENCH_DATA_MIRROR``.
            When neither is set, or the mirror has no ``<name>/`` folder, files are downloaded
            from the manifest's URLs.
        data_dir: where to store datasets; defaults to ``$WSBENCH_DATA``, else ``~/.cache/wsbench``.
        force: re-copy / re-download every file even if a verified copy exists.
        timeout: seconds before a stalled download fails.

    Returns:
        ``<data_dir>/<name>``, holding every file of the manifest entry, each sha256-checked.

    Raises:
        ValueError: unknown dataset name.
        FetchError: a file is missing from the mirror, has no URL, or cannot be downloaded; the
            message says how to obtain the dataset by hand.
        ChecksumError: a copied or downloaded file differs from the manifest (it is not kept).

    Example:
        >>> path = fetch("wrench_youtube", mirror="../shared/datasets")  # doctest: +SKIP
        >>> sorted(p.name for p in path.iterdir())  # doctest: +SKIP
        ['.wsbench_verified.json', 'label.json', 'readme.txt', 'test.json', 'train.json',
        'valid.json']
    """
    files = _files(name)
    folder = dataset_dir(name, data_dir=data_dir)
    mirror_root = _mirror_root(mirror)
    stamp = {} if force else _read_stamp(folder)
    new_stamp = {}
    for f in files:
        dest = folder / f.path
        rejected = None
        if not force and dest.is_file():
            if not _is_verified(f, dest, stamp):
                try:
                    _check(name, f, dest, origin=str(folder), target=folder)
                except ChecksumError as err:
                    rejected = str(err).split("\n", 1)[0]
                    dest.unlink()  # stale or corrupted local copy: obtain it again below
            if dest.is_file():
                new_stamp[f.path] = {"sha256": f.sha256, "stat": _stat_key(dest)}
                continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{Path(f.path).name}.", suffix=".part", dir=dest.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if mirror_root is not None and (
                (mirror_root / name).is_dir() or (f.url is None and f.archive is None)
            ):
                src = mirror_root / name / f.path
                if not src.is_file():
                    raise FetchError(
                        f"{name}/{f.path} is missing from the mirror {mirror_root} "
                        f"(expected {src}).\n"
                        f"{_how_to(name, folder)}"
                    )
                shutil.copyfile(src, tmp)
                origin = f"mirror {src}"
            else:
                origin = _obtain_remote(name, f, tmp, folder, timeout)
            _check(name, f, tmp, origin=origin, target=folder)
            os.replace(tmp, dest)
        except FetchError as err:
            if rejected is None:
                raise
            raise type(err)(
                f"the local copy failed its check and was removed ({rejected}); obtaining it "
                f"again failed too: {err}"
            ) from err
        finally:
            tmp.unlink(missing_ok=True)
        new_stamp[f.path] = {"sha256": f.sha256, "stat": _stat_key(dest)}
    if new_stamp != stamp:
        (folder / _STAMP).write_text(json.dumps(new_stamp, indent=1, sort_keys=True))
    return folder
