"""Sweep-level reporting: a Hydra callback that summarises a multirun when it ends.

Registered in ``conf/labelmodel.yaml`` under ``hydra.callbacks``. After the last job it reads every
complete job under the sweep folder (including jobs skipped because an earlier, interrupted run of the
same sweep finished them), prints an estimator x metric table (mean ± sem over seeds), and writes
``summary.csv`` and ``summary.png`` next to the jobs.
"""

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from . import results

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """Print a results table and write a summary figure at the end of every multirun."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        done = len(list(sweep_dir.rglob(results.MARKER))) if sweep_dir.is_dir() else 0
        if done:
            log.info("sweep folder %s already holds %d complete job(s); they will be skipped "
                     "if their config is unchanged", sweep_dir, done)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
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
    labels = table[settings].astype(str).agg(", ".join, axis=1) if settings else pd.Series(
        ["all"] * len(table))
    groups = list(dict.fromkeys(labels))
    estimators = sorted(table["estimator"].unique())
    width = 0.8 / max(len(estimators), 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(groups) * max(1, len(estimators)) / 2), 3.2))
    for i, est in enumerate(estimators):
        sel = table["estimator"] == est
        xs = [groups.index(g) + (i - (len(estimators) - 1) / 2) * width for g in labels[sel]]
        ax.bar(xs, table.loc[sel, objective], width, yerr=table.loc[sel, objective + "_sem"],
               label=est, capsize=2)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right", fontsize=7)
    ax.set_ylabel(objective)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    png = out_dir / "summary.png"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return csv, png
