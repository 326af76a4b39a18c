"""Sweep-level reporting: a Hydra callback that summarises a multirun when it ends.

Registered in ``conf/labelmodel.yaml`` under ``hydra.callbacks``. After the last job it reads every
complete job under the sweep folder (including jobs skipped because an earlier, interrupted run of the
same sweep finished them), prints an estimator x metric table (mean over seeds with the bootstrap
interval over test rows, or ± sem over seeds for a metric without one), and writes ``summary.csv``
and ``summary.png`` (the objective per estimator, same error bars) next to the jobs.

Ctrl-C: ``run_interruptible(main)`` (for entry points) and ``SweepSummary`` (for every multirun that
registers it) make an interrupt stop the sweep with one line on stderr and exit code 130, even if
the ``KeyboardInterrupt`` was raised inside a callback that swallows exceptions (a JAX/GC
finaliser): the signal handler records the interrupt, and it is re-raised at the next job boundary
and checked again when ``main`` returns. A second Ctrl-C exits at once.
"""

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig
from tqdm.auto import tqdm

from . import results

log = logging.getLogger(__name__)

INTERRUPT_EXIT_CODE = 130  # 128 + SIGINT, what shells report for a Ctrl-C'd command
INTERRUPT_MESSAGE = (
    "wsbench: interrupted (Ctrl-C); completed jobs are kept, run the same command again to resume"
)
_interrupted = threading.Event()


def _on_sigint(signum: int, frame: Any) -> None:
    if _interrupted.is_set():  # second Ctrl-C: do not wait for the current step to unwind
        os.write(2, (INTERRUPT_MESSAGE + " (second Ctrl-C: exiting now)\n").encode())
        os._exit(INTERRUPT_EXIT_CODE)
    _interrupted.set()
    raise KeyboardInterrupt


def install_interrupt_handler() -> None:
    """Record every Ctrl-C (SIGINT) so that a swallowed ``KeyboardInterrupt`` still stops the run.

    Only from the main thread (Python delivers signals there); a no-op elsewhere.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def interrupted() -> bool:
    """Whether a Ctrl-C arrived since the handler was installed (or ``reset_interrupt``)."""
    return _interrupted.is_set()


def reset_interrupt() -> None:
    """Forget a recorded Ctrl-C (tests; a long-lived process that handled it)."""
    _interrupted.clear()


def check_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C was recorded, even one something swallowed."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


def run_interruptible(main: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an entry point's ``main``; on Ctrl-C print one line and exit with code 130.

    For ``experiments/*.py``: ``if __name__ == "__main__": run_interruptible(main)``. No traceback
    is printed for the interrupt; other exceptions propagate unchanged.
    """
    install_interrupt_handler()
    try:
        out = main(*args, **kwargs)
        check_interrupted()  # a KeyboardInterrupt swallowed on the way must not end in rc 0
        return out
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPT_MESSAGE + "\n")
        sys.stderr.flush()
        sys.exit(INTERRUPT_EXIT_CODE)


class SweepSummary(Callback):
    """Sweep progress and summary: a jobs-done progress bar while a multirun runs (for launchers
    that run jobs in this process, e.g. ``launcher=basic``; submitit reports its own job states),
    then a results table and a summary figure at the end."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None
        self._start = time.monotonic()
        self._done = 0

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        install_interrupt_handler()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_interrupted()  # do not start another job after a (possibly swallowed) Ctrl-C

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        check_interrupted()
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
        install_interrupt_handler()
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
        check_interrupted()
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
    fig = summary_figure(table, by, objective, interval=_interval_name(df))
    png = out_dir / "summary.png"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return csv, png


def _interval_name(df: pd.DataFrame) -> str | None:
    """The rows' ``scoring.ci`` (``95% bootstrap over test rows, 1000 resamples``) if all agree."""
    if "scoring.ci" not in df.columns:
        return None
    names = df["scoring.ci"].dropna().unique()
    return str(names[0]) if len(names) == 1 else None


def summary_figure(
    table: pd.DataFrame, by: list[str], objective: str, *, interval: str | None = None
):
    """``objective`` per estimator and setting: mean over replicates (point) and an error bar.

    ``table`` is ``results.aggregate(df, by)``. The bar is the bootstrap interval over test rows,
    ``[<objective>_lo, <objective>_hi]`` (each the mean over seeds of the per-seed bound, as in the
    summary table's ``mean [lo, hi]`` cells), where the table has those columns for every row;
    otherwise (a metric without an interval) it is ±1 standard error over replicates. ``interval``
    names the interval in the title (default ``"95% bootstrap interval over test rows"``). The
    legend sits outside the axes; the y-axis is fitted to the points and their error bars; the
    title says what points and bars are.
    """
    import matplotlib.pyplot as plt

    settings = [c for c in by if c != "estimator"]
    labels = (
        table[settings].astype(str).agg(", ".join, axis=1)
        if settings
        else pd.Series(["all"] * len(table))
    )
    groups = list(dict.fromkeys(labels))
    estimators = sorted(table["estimator"].unique())
    width = 0.8 / max(len(estimators), 1)
    lo_col, hi_col = objective + "_lo", objective + "_hi"
    with_interval = (
        lo_col in table.columns
        and hi_col in table.columns
        and bool(np.isfinite(table[[lo_col, hi_col]].to_numpy(np.float64)).all())
    )
    if with_interval:
        lows, highs = table[lo_col], table[hi_col]
        name = interval or "95% bootstrap interval over test rows"
        bar_text = f"error bars: {name} (mean over seeds of each bound)"
    else:
        sem = table[objective + "_sem"].fillna(0.0)
        lows, highs = table[objective] - sem, table[objective] + sem
        bar_text = (
            "error bars: ±1 standard error over replicates (zero width: identical replicates)"
        )
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(groups) + 3.5), 3.8))
    # Points with error bars, not bars from 0: the differences between label models are a few
    # points of accuracy, which bars anchored at 0 would flatten; the axis is fitted to the data.
    for i, est in enumerate(estimators):
        sel = (table["estimator"] == est).to_numpy()
        xs = [groups.index(g) + (i - (len(estimators) - 1) / 2) * width for g in labels[sel]]
        lo, hi = lows[sel].to_numpy(np.float64), highs[sel].to_numpy(np.float64)
        # the bar spans exactly [lo, hi] (drawn about its midpoint: a bootstrap interval need not
        # contain the mean), the point is the mean
        color = f"C{i % 10}"
        ax.errorbar(xs, (lo + hi) / 2, yerr=(hi - lo) / 2, fmt="none", capsize=3, color=color)
        ax.plot(xs, table.loc[sel, objective], "o", markersize=5, color=color, label=est)
    lo = min(lows.min(), table[objective].min())
    hi = max(highs.max(), table[objective].max())
    if pd.notna(lo) and pd.notna(hi):
        pad = max(0.1 * (hi - lo), 0.01)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(objective)
    ax.grid(axis="y", alpha=0.3)
    n_min, n_max = int(table["n_seeds"].min()), int(table["n_seeds"].max())
    n_text = f"{n_min}" if n_min == n_max else f"{n_min}-{n_max}"
    ax.set_title(
        f"points: mean over {n_text} replicate(s) (seeds x data draws)\n"
        f"{bar_text}\n"
        "y-axis does not start at 0",
        fontsize=7,
        loc="left",
    )
    # outside the axes, so it can never cover a point or an error bar
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
