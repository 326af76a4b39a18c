"""Logging sinks for runs: local JSON lines by default, Weights & Biases (offline) on request.

Results on disk (``wsbench.run.results``) are the source of truth; loggers only mirror them. A logger
is built from ``conf/logger/<name>.yaml`` and then ``start``-ed by the runner with the job's folder
and resolved config.
"""

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Logger(Protocol):
    """What the runner calls, in this order: ``start``, ``log_*`` (any number), ``finish``."""

    def start(
        self, *, out_dir: str | os.PathLike, config: Mapping[str, Any], group: str, job_type: str
    ) -> None: ...

    def log_rows(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def log_traces(self, traces: Mapping[str, np.ndarray]) -> None: ...

    def log_summary(self, summary: Mapping[str, float]) -> None: ...

    def finish(self) -> None: ...


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class JsonlLogger:
    """Appends one JSON object per line to ``<job dir>/<filename>``.

    Lines carry an ``event`` field: ``start`` (with the config), ``row``, ``trace`` (mean over grid
    points and seeds, per iteration), ``summary``, ``finish``.
    """

    def __init__(self, filename: str = "log.jsonl"):
        if not filename or os.sep in filename:
            raise ValueError(f"JsonlLogger.filename must be a plain file name, got {filename!r}.")
        self.filename = filename
        self.path: Path | None = None

    def _write(self, event: str, **fields: Any) -> None:
        if self.path is None:
            raise ValueError("JsonlLogger: call start(...) before logging.")
        line = json.dumps({"event": event, **fields}, default=_jsonable)
        with self.path.open("a") as f:
            f.write(line + "\n")

    def start(self, *, out_dir, config, group, job_type) -> None:
        self.path = Path(out_dir) / self.filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write("start", group=group, job_type=job_type, config=dict(config))

    def log_rows(self, rows) -> None:
        for row in rows:
            self._write("row", **{k: _jsonable(v) for k, v in row.items()})

    def log_traces(self, traces) -> None:
        for name, values in traces.items():
            arr = np.asarray(values, dtype=np.float64)
            mean = arr.reshape(-1, arr.shape[-1]).mean(0) if arr.ndim >= 1 else arr
            self._write("trace", name=name, mean=np.atleast_1d(mean))

    def log_summary(self, summary) -> None:
        self._write("summary", **{k: _jsonable(v) for k, v in summary.items()})

    def finish(self) -> None:
        if self.path is not None:
            self._write("finish")


# wandb settings that keep an offline run off the network entirely: with the defaults, wandb-core's
# system monitor probes cloud metadata services (a DNS query for metadata.google.internal, ...).
OFFLINE_SETTINGS = {
    "x_disable_stats": True,
    "x_disable_machine_info": True,
    "disable_git": True,
    "disable_code": True,
    "disable_job_creation": True,
}


class WandbLogger:
    """Weights & Biases sink; ``wandb`` is imported only when a run starts.

    The default ``mode="offline"`` never touches the network and never prompts (``wandb sync``
    uploads later): besides ``mode="offline"`` it turns off what would still resolve host names
    (the system monitor's cloud-metadata probes, machine info, git metadata, error reporting to
    Sentry), see ``OFFLINE_SETTINGS``. ``WANDB_MODE`` in the environment takes precedence; ``WANDB_MODE=disabled``
    (what CI sets) makes this logger a no-op without importing ``wandb``.

    Args:
        project: wandb project; entity: team or user (None: wandb's default).
        mode: ``offline`` | ``online`` | ``disabled``.
        tags: extra run tags.
    """

    def __init__(
        self,
        project: str = "wsbench",
        entity: str | None = None,
        mode: str = "offline",
        tags: Sequence[str] = (),
    ):
        if mode not in ("offline", "online", "disabled"):
            raise ValueError(f"WandbLogger.mode must be offline, online or disabled, got {mode!r}.")
        self.project, self.entity, self.mode, self.tags = project, entity, mode, tuple(tags)
        self.run = None

    def start(self, *, out_dir, config, group, job_type) -> None:
        mode = os.environ.get("WANDB_MODE", self.mode)
        if mode == "disabled":
            return
        if mode == "offline":
            # read by wandb and its wandb-core service process when they start
            os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
        import wandb  # lazy: importing wandb costs seconds

        settings = {"silent": True, "console": "off"}
        if mode == "offline":
            settings |= OFFLINE_SETTINGS
        self.run = wandb.init(
            project=self.project,
            entity=self.entity,
            group=group,
            job_type=job_type,
            config=dict(config),
            dir=str(out_dir),
            mode=mode,
            tags=list(self.tags),
            reinit="finish_previous",
            settings=wandb.Settings(**settings),
        )

    def log_rows(self, rows) -> None:
        if self.run is None or not rows:
            return
        import wandb

        columns = list(rows[0])
        data = [[_jsonable(r.get(c)) for c in columns] for r in rows]
        self.run.log({"rows": wandb.Table(columns=columns, data=data)})

    def log_traces(self, traces) -> None:
        if self.run is None:
            return
        for name, values in traces.items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.ndim < 1:
                continue
            mean = arr.reshape(-1, arr.shape[-1]).mean(0)
            for step, value in enumerate(mean):
                self.run.log({f"trace/{name}": float(value), "iteration": step})

    def log_summary(self, summary) -> None:
        if self.run is not None:
            self.run.summary.update({k: _jsonable(v) for k, v in summary.items()})

    def finish(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None


class MultiLogger:
    """Fans every call out to several loggers; with none, it is the null logger."""

    def __init__(self, loggers: Sequence[Logger] = ()):
        for lg in loggers:
            if not isinstance(lg, Logger):
                raise ValueError(f"MultiLogger: {lg!r} does not implement the Logger protocol.")
        self.loggers = tuple(loggers)

    def start(self, **kwargs) -> None:
        for lg in self.loggers:
            lg.start(**kwargs)

    def log_rows(self, rows) -> None:
        for lg in self.loggers:
            lg.log_rows(rows)

    def log_traces(self, traces) -> None:
        for lg in self.loggers:
            lg.log_traces(traces)

    def log_summary(self, summary) -> None:
        for lg in self.loggers:
            lg.log_summary(summary)

    def finish(self) -> None:
        for lg in self.loggers:
            lg.finish()
