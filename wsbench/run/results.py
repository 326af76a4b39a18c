"""Per-job results on disk: written atomically, found again by sweeps, aggregated for figures.

A finished job folder holds::

    results.parquet   one row per (grid point, seed): names, hyperparameters, metrics, config values
    traces.npz        per-iteration diagnostics with leading (grid point, seed) axes
    config.yaml       the resolved config
    results.json      aggregates + config hash; written last, so it marks the job as complete

Every file is written to a temporary file in the same folder and then ``os.replace``-d, so a job
killed at any moment leaves either the complete previous file or nothing, never a torn one.
``write`` first removes the old marker (a job being rewritten is never complete, whatever files of
an earlier run remain) and leftover temporary files of interrupted writes; the marker records the
sha256 of every file it vouches for, so a job is complete only if ``results.json`` matches the
config *and* the files on disk (a corrupted or foreign ``results.parquet`` is not accepted).
Files get the permissions of an ordinary file under the process umask (0644 under umask 022), so
collaborators on a shared filesystem can read them.
"""

import hashlib
import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

MARKER = "results.json"
ROWS = "results.parquet"
TRACES = "traces.npz"
CONFIG = "config.yaml"
RESULTS_ROOT = "results"
TABLE_METRICS = ("test/accuracy", "test/f1", "test/log_loss", "test/brier", "test/ece")

log = logging.getLogger(__name__)
STALE_AFTER_S = 600.0  # a temporary file this old belongs to no running write
_FILES = (ROWS, TRACES, CONFIG)  # vouched for by the marker (by sha256), written before it

# Config keys that do not change the numbers (where results go, how they are logged).
from .keys import NOT_RESULT_KEYS as _NOT_RESULT_KEYS  # noqa: E402


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it; restored at once
    os.umask(mask)
    return mask


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def remove_stale_temporaries(out_dir: str | os.PathLike, *, older_than: float = 0.0) -> list[Path]:
    """Delete temporary files left in ``out_dir`` by interrupted atomic writes; return them.

    ``older_than``: seconds since the last modification; younger files are kept (a writer that is
    still running may own them).
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        return []
    now = time.time()
    stale = []
    for p in (p for name in (*_FILES, MARKER) for p in folder.glob(f".{name}.*.tmp")):
        try:
            if now - p.stat().st_mtime >= older_than:
                p.unlink(missing_ok=True)
                stale.append(p)
        except OSError:
            continue
    return stale


def config_hash(config: Mapping[str, Any]) -> str:
    """A stable hash of the parts of a resolved config that determine the results."""
    kept = {k: v for k, v in config.items() if k not in _NOT_RESULT_KEYS}
    blob = json.dumps(kept, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _verified_marker(out_dir: Path) -> dict[str, Any] | None:
    """The marker of ``out_dir`` if it is readable and every file it vouches for matches its digest."""
    try:
        stored = json.loads((out_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    digests = stored.get("files") if isinstance(stored, dict) else None
    if not isinstance(digests, dict) or set(digests) != set(_FILES):
        return None  # torn, foreign or pre-digest marker: not trusted, the job is recomputed
    for name, digest in digests.items():
        try:
            if _sha256(out_dir / name) != digest:
                return None
        except OSError:
            return None
    return stored


def is_complete(out_dir: str | os.PathLike, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored summary if ``out_dir`` holds complete results for ``config``, else None.

    Complete means: ``results.json`` exists, its config hash equals ``config_hash(config)``, and
    ``results.parquet``, ``traces.npz`` and ``config.yaml`` are byte-for-byte the files it was
    written with (sha256), so rows of another config or a corrupted file never pass.
    """
    stored = _verified_marker(Path(out_dir))
    if stored is None or stored.get("config_hash") != config_hash(config):
        return None
    # a job skipped as complete still loses the leftovers of an earlier interrupted write
    remove_stale_temporaries(out_dir, older_than=STALE_AFTER_S)
    return stored


def write(
    rows: Sequence[Mapping[str, Any]],
    out_dir: str | os.PathLike,
    config: Mapping[str, Any],
    *,
    summary: Mapping[str, float] | None = None,
    traces: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write one job's results atomically; ``results.json`` (the completion marker) goes last.

    Args:
        rows: one mapping per (grid point, seed).
        out_dir: the job folder (created if needed).
        config: the resolved config as plain containers.
        summary: aggregates to store in ``results.json`` (returned to sweeps that skip the job).
        traces: arrays to store in ``traces.npz``.

    Returns:
        The path of ``results.parquet``.
    """
    if not rows:
        raise ValueError("results.write needs at least one row.")
    out = Path(out_dir)
    # Invalidate first: from here until the new marker lands the folder is not a complete job,
    # even if a kill leaves files of this run next to files of an earlier one.
    (out / MARKER).unlink(missing_ok=True)
    remove_stale_temporaries(out)
    buf = io.BytesIO()
    pd.DataFrame(list(rows)).to_parquet(buf, index=False)
    blobs = {ROWS: buf.getvalue()}
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in (traces or {}).items()})
    blobs[TRACES] = buf.getvalue()
    blobs[CONFIG] = yaml.safe_dump(dict(config), sort_keys=False).encode()
    for name in _FILES:
        atomic_write_bytes(out / name, blobs[name])
    marker = {
        "config_hash": config_hash(config),
        "files": {name: hashlib.sha256(blobs[name]).hexdigest() for name in _FILES},
        "summary": dict(summary or {}),
        "config": config,
    }
    atomic_write_bytes(out / MARKER, json.dumps(marker, indent=1, default=str).encode())
    return out / ROWS


def _resolve(name_or_dir: str | os.PathLike) -> Path:
    path = Path(name_or_dir)
    if path.is_dir():
        return path
    candidate = Path(RESULTS_ROOT) / str(name_or_dir)
    if candidate.is_dir():
        return candidate
    raise ValueError(
        f"no results found for {str(name_or_dir)!r}: neither a folder nor {candidate}/ exists; "
        "run the experiment first (see experiments/README.md)."
    )


def load(name_or_dir: str | os.PathLike) -> pd.DataFrame:
    """Every complete job under a folder (or ``results/<name>``) as one DataFrame.

    A job counts only if its marker verifies (see ``is_complete``) and its hash matches the stored
    ``config.yaml``; other job folders (interrupted, mixed, corrupted) are skipped with a warning.
    """
    root = _resolve(name_or_dir)
    frames = []
    for p in sorted(root.rglob(ROWS)):
        job = p.parent
        stored = _verified_marker(job)
        try:
            ok = stored is not None and stored.get("config_hash") == config_hash(
                yaml.safe_load((job / CONFIG).read_text())
            )
        except (OSError, yaml.YAMLError, AttributeError):
            ok = False
        if not ok:
            log.warning(
                "skipping %s: not a complete job (no results.json, or it does not match the "
                "files or config.yaml there); re-run the sweep to recompute it",
                job,
            )
            continue
        frames.append(pd.read_parquet(p))
    if not frames:
        raise ValueError(f"no complete job results under {root}/.")
    return pd.concat(frames, ignore_index=True)


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The ``<split>/<metric>`` columns of a results frame."""
    return [c for c in df.columns if c.startswith(("test/", "valid/"))]


def aggregate(
    df: pd.DataFrame, by: Sequence[str], metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Mean, standard error and count over seeds, per group ``by``.

    Rows of label-model jobs carry ``selected`` (the grid point the job reports); unless ``by``
    groups by a grid hyperparameter (``hp.*``), only those rows are aggregated.

    Columns of the result: ``by``, then ``<metric>`` (mean), ``<metric>_sem``, and ``n_seeds``.
    """
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise ValueError(f"aggregate: unknown column(s) {missing}; available: {sorted(df.columns)}")
    if "selected" in df.columns and not any(str(c).startswith("hp.") for c in by):
        # a job's rows cover its whole grid; its result is the selected point's (run/labelmodel.py)
        df = df[df["selected"].astype(bool)]
    metrics = list(metrics) if metrics is not None else metric_columns(df)
    grouped = df.groupby(list(by), sort=True, dropna=False)
    out = grouped[metrics].mean()
    sem = grouped[metrics].sem(ddof=1).fillna(0.0).add_suffix("_sem")
    count = grouped.size().rename("n_seeds")
    return pd.concat([out, sem, count], axis=1).reset_index()


def export(
    name_or_dir: str | os.PathLike,
    csv: str | os.PathLike,
    *,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Aggregate a sweep over seeds and write the small CSV that ``paper_figures/`` reads.

    Args:
        name_or_dir: experiment name (``results/<name>``) or a folder.
        csv: output path (committed under ``paper_figures/data/``).
        by: grouping columns; default: estimator, dataset, grid hyperparameters and the
            overrides the sweep varied (e.g. ``override.dataset.m``); see ``default_groups``.
        metrics: metric columns; default: every ``test/*`` and ``valid/*`` column.
    """
    df = load(name_or_dir)
    by = list(by) if by is not None else default_groups(df)
    table = aggregate(df, by, metrics)
    path = Path(csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, table.to_csv(index=False, float_format="%.6g").encode())
    return table


# Swept keys that are replicates, not settings: aggregated over, never grouped by.
REPLICATE_KEYS = ("override.seed", "override.data_seed")


def default_groups(df: pd.DataFrame) -> list[str]:
    """estimator, dataset, grid hyperparameters (``hp.*``) and swept overrides (``override.*``).

    Swept ``seed`` / ``data_seed`` are replicates: aggregates run over them (with the vmapped
    ``seeds`` axis), so a sweep over ``data_seed`` gives error bars over data draws.
    """
    # label-model jobs mark the grid point they report (``selected``): one line per job then
    hps = [] if "selected" in df.columns else sorted(c for c in df.columns if c.startswith("hp."))
    swept = sorted(c for c in df.columns if c.startswith("override.") and c not in REPLICATE_KEYS)
    return ["estimator", "dataset", *hps, *swept]


def summary_table(
    df: pd.DataFrame, metrics: Sequence[str] | None = None, by: Sequence[str] | None = None
) -> str:
    """A plain-text table: one line per group, per metric ``mean [lo, hi]`` (the bootstrap
    interval over test rows, ``<metric>_lo`` / ``_hi``, averaged over seeds) where the rows have
    one, else ``mean ± sem`` over seeds."""
    metrics = (
        list(metrics) if metrics is not None else [c for c in TABLE_METRICS if c in df.columns]
    )
    by = list(by) if by is not None else default_groups(df)
    bounds = [f"{mt}{e}" for mt in metrics for e in ("_lo", "_hi") if f"{mt}{e}" in df.columns]
    table = aggregate(df, by, metrics + bounds)

    def cell(i: int, mt: str) -> str:
        mean = table[mt].iloc[i]
        if f"{mt}_lo" in table.columns and f"{mt}_hi" in table.columns:
            return f"{mean:.3f} [{table[mt + '_lo'].iloc[i]:.3f}, {table[mt + '_hi'].iloc[i]:.3f}]"
        return f"{mean:.3f} ± {table[mt + '_sem'].iloc[i]:.3f}"

    cells = [
        [str(table[c].iloc[i]) for c in by] + [cell(i, mt) for mt in metrics]
        for i in range(len(table))
    ]
    header = [c.removeprefix("override.") for c in by] + metrics
    widths = [max(len(h), *(len(r[j]) for r in cells)) for j, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    note = []
    if bounds:
        note = [
            "mean over seeds [95% bootstrap interval over test rows]; a test metric without an interval: ± sem over seeds"
        ]
    return "\n".join([line, "-" * len(line), *body, *note])
