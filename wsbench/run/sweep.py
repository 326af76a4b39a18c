"""Sweep-level reporting: a Hydra callback that summarises a multirun when it ends.

Registered in ``conf/labelmodel.yaml`` under ``hydra.callbacks``. After the last job it reads every
complete job under the sweep folder (including jobs skipped because an earlier, interrupted run of the
same sweep finished them), prints an estimator x metric table (mean ± sem over seeds), and writes
``summary.csv`` and ``summary.png`` next to the jobs.
"""

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig
from tqdm.auto import tqdm

from . import results

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """Sweep progress and summary: a jobs-done progress bar while a multirun runs (for launchers
    that run jobs in this process, e.g. ``launcher=basic``; submitit reports its own job states),
    then a results table and a summary figure at the end."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None
        self._start = time.monotonic()
        self._done = 0

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
            return
        if self._bar is None:  # drawn on a terminal only; the log line below always appears
            self._bar = tqdm(desc="sweep", unit="job", disable=None, position=1)
        self._bar.update()
        self._done += 1
        log.info(
            "sweep: %d job(s) finished in this run, %.0f s",
            self._done,
            time.monotonic() - self._start,
        )

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._start, self._done = time.monotonic(), 0
        sweep_dir = Path(config.hydra.sweep.dir)
        done = len(list(sweep_dir.rglob(results.MARKER))) if sweep_dir.is_dir() else 0
        if done:
            log.info(
                "sweep folder %s already holds %d complete job(s); they will be skipped "
                "if their config is unchanged",
                sweep_dir,
                done,
            )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            df = results.load(sweep_dir)
        except ValueError as e:
            log.warning("no summary: %s", e)
            return
        objective = str(config.get("objective", "test/accuracy"))
        paths = write_summary(df, sweep_dir, objective)
        print(f"\n{df['job'].nunique()} complete job(s) in {sweep_dir}")
        print(results.summary_table(df))
        print(f"\nsummary table: {paths[0]}\nfigure: {paths[1]}")


def write_summary(df: pd.DataFrame, out_dir: Path, objective: str) -> tuple[Path, Path]:
    """Write ``summary.csv`` (aggregates) and ``summary.png`` (``objective`` per estimator)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = results.default_groups(df)
    table = results.aggregate(df, by)
    csv = out_dir / "summary.csv"
    results.atomic_write_bytes(csv, table.to_csv(index=False, float_format="%.6g").encode())

    if objective not in table.columns:
        objective = "test/accuracy"
    settings = [c for c in by if c != "estimator"]
    labels = (
        table[settings].astype(str).agg(", ".join, axis=1)
        if settings
        else pd.Series(["all"] * len(table))
    )
    groups = list(dict.fromkeys(labels))
    estimators = sorted(table["estimator"].unique())
    width = 0.8 / max(len(estimators), 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(groups) * max(1, len(estimators)) / 2), 3.2))
    for i, est in enumerate(estimators):
        sel = table["estimator"] == est
        xs = [groups.index(g) + (i - (len(estimators) - 1) / 2) * width for g in labels[sel]]
        ax.bar(
            xs,
            table.loc[sel, objective],
            width,
            yerr=table.loc[sel, objective + "_sem"],
            label=est,
            capsize=2,
        )
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right", fontsize=7)
    ax.set_ylabel(objective)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    png = out_dir / "summary.png"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return csv, png
