"""Sweep-level behaviour: Ctrl-C stops cleanly with rc 130 (never swallowed); the summary figure."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from wsbench.run import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent(
    """
    import sys, time
    from wsbench.run.sweep import run_interruptible

    def main(swallow):
        print("ready", flush=True)
        for _ in range(100):  # a sweep: many short steps (5 s in all)
            try:
                time.sleep(0.05)
            except KeyboardInterrupt:
                if not swallow:
                    raise
                # what a finaliser / GC callback does: the interrupt is lost here
        print("finished normally", flush=True)
        return 0.0

    run_interruptible(main, sys.argv[1] == "swallow")
    """
)


def _interrupt(tmp_path, mode):
    script = tmp_path / "entry.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(
        [sys.executable, str(script), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.mark.parametrize("mode", ["raise", "swallow"])
def test_ctrl_c_exits_130_with_one_line(tmp_path, mode):
    rc, out, err = _interrupt(tmp_path, mode)
    assert rc == sweep.INTERRUPT_EXIT_CODE, (rc, out, err)
    assert err.strip().splitlines() == [sweep.INTERRUPT_MESSAGE], err  # no traceback
    if mode == "raise":
        assert "finished normally" not in out


def test_callback_refuses_to_start_a_job_after_a_swallowed_interrupt():
    cb = sweep.SweepSummary()
    sweep.reset_interrupt()
    try:
        cb.on_job_start(config=None)  # nothing recorded: no-op
        sweep._interrupted.set()  # as the SIGINT handler does before raising
        with pytest.raises(KeyboardInterrupt):
            cb.on_job_start(config=None)
        with pytest.raises(KeyboardInterrupt):
            cb.on_job_end(config=None, job_return=None)
    finally:
        sweep.reset_interrupt()


def test_handler_records_then_raises():
    sweep.reset_interrupt()
    old = signal.getsignal(signal.SIGINT)
    try:
        sweep.install_interrupt_handler()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        assert sweep.interrupted()
    finally:
        signal.signal(signal.SIGINT, old)
        sweep.reset_interrupt()


def _table():
    rows = []
    for est, base in (("majority_vote", 0.81), ("dawid_skene", 0.86), ("matrix_completion", 0.84)):
        for ds in ("synthetic_ds", "synthetic_independent"):
            for seed in range(3):
                rows.append({"estimator": est, "dataset": ds, "test/accuracy": base + 0.005 * seed})
    df = pd.DataFrame(rows)
    by = ["estimator", "dataset"]
    from wsbench.run import results

    return results.aggregate(df, by), by


def test_summary_figure_legend_outside_axis_fitted_bars_explained():
    import matplotlib
    import matplotlib.text

    matplotlib.use("Agg")
    table, by = _table()
    fig = sweep.summary_figure(table, by, "test/accuracy")
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    axes_box = ax.get_window_extent(renderer)
    assert legend.x0 >= axes_box.x1, "the legend must not overlap the plotting area"
    lo, hi = ax.get_ylim()
    assert lo > 0.7 and hi < 0.95, (lo, hi)  # fitted to 0.81..0.87, not anchored at 0
    assert (table["test/accuracy"] >= lo).all() and (table["test/accuracy"] <= hi).all()
    title = ax.get_title(loc="left")
    assert "error bars" in title and "standard error" in title and "3 replicate" in title
    fig_box = fig.bbox
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_text() and text.get_visible():
            box = text.get_window_extent(renderer)
            assert box.x0 >= fig_box.x0 - 1 and box.x1 <= fig_box.x1 + 1, text.get_text()
            assert box.y0 >= fig_box.y0 - 1 and box.y1 <= fig_box.y1 + 1, text.get_text()
    # every estimator is drawn once per dataset, with its error bar
    assert len(ax.get_legend().get_texts()) == 3
    ys = sorted(np.concatenate([line.get_ydata() for line in ax.lines if line.get_marker() == "o"]))
    np.testing.assert_allclose(ys, sorted(table["test/accuracy"]))
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_summary_figure_error_bars_are_the_bootstrap_interval_columns():
    """With ``<objective>_lo`` / ``_hi`` in the table, each bar spans exactly [lo, hi] (not ± sem),
    and the title says the bars are the bootstrap interval over test rows."""
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    table, by = _table()
    # an interval that is neither mean ± sem nor symmetric about the mean
    table["test/accuracy_lo"] = table["test/accuracy"] - 0.03 - 0.01 * np.arange(len(table))
    table["test/accuracy_hi"] = table["test/accuracy"] + 0.02
    fig = sweep.summary_figure(
        table, by, "test/accuracy", interval="95% bootstrap over test rows, 1000 resamples"
    )
    ax = fig.axes[0]
    spans = []
    for container in ax.containers:
        (vertical,) = container.lines[2]  # the error bars' LineCollection
        spans += [(seg[:, 1].min(), seg[:, 1].max()) for seg in vertical.get_segments()]
    np.testing.assert_allclose(
        sorted(spans),
        sorted(zip(table["test/accuracy_lo"], table["test/accuracy_hi"], strict=True)),
        atol=1e-12,
    )
    title = ax.get_title(loc="left")
    assert "bootstrap over test rows" in title and "standard error" not in title
    lo, hi = ax.get_ylim()
    assert lo < table["test/accuracy_lo"].min() and hi > table["test/accuracy_hi"].max()
    plt.close(fig)


def test_summary_figure_falls_back_to_sem_bars_without_interval_columns():
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    table, by = _table()
    fig = sweep.summary_figure(table, by, "test/accuracy")
    ax = fig.axes[0]
    spans = []
    for container in ax.containers:
        (vertical,) = container.lines[2]
        spans += [(seg[:, 1].min(), seg[:, 1].max()) for seg in vertical.get_segments()]
    expected = zip(
        table["test/accuracy"] - table["test/accuracy_sem"],
        table["test/accuracy"] + table["test/accuracy_sem"],
        strict=True,
    )
    np.testing.assert_allclose(sorted(spans), sorted(expected), atol=1e-12)
    assert "standard error" in ax.get_title(loc="left")
    plt.close(fig)


def test_write_summary_draws_the_intervals_of_the_rows(tmp_path, monkeypatch):
    """``write_summary`` (what a sweep calls) hands the figure the per-row interval columns and the
    rows' ``scoring.ci`` name, so summary.png shows the same intervals as the printed table."""
    rows = []
    for est, base in (("majority_vote", 0.8), ("dawid_skene", 0.85)):
        for seed in range(2):
            acc = base + 0.01 * seed
            rows.append(
                {
                    "estimator": est,
                    "dataset": "synthetic_ds",
                    "job": f"{est}-{seed}",
                    "test/accuracy": acc,
                    "test/accuracy_lo": acc - 0.04,
                    "test/accuracy_hi": acc + 0.03,
                    "scoring.ci": "95% bootstrap over test rows, 1000 resamples",
                }
            )
    seen = {}
    real = sweep.summary_figure

    def spy(table, by, objective, **kw):
        seen.update(table=table, kw=kw)
        return real(table, by, objective, **kw)

    monkeypatch.setattr(sweep, "summary_figure", spy)
    csv, png = sweep.write_summary(pd.DataFrame(rows), tmp_path, "test/accuracy")
    assert png.stat().st_size > 1000
    assert seen["kw"]["interval"] == "95% bootstrap over test rows, 1000 resamples"
    table = seen["table"].set_index("estimator")
    assert table.loc["dawid_skene", "test/accuracy_lo"] == pytest.approx(0.815)
    assert table.loc["majority_vote", "test/accuracy_hi"] == pytest.approx(0.835)
