"""Table and figure: MeTaL multi-task weak supervision vs its baselines, measured beside published.

Data: ``paper_figures/data/metal.csv`` -- one row per dataset with the mean and standard error over
seeds of every metric the MeTaL runner writes (``wsbench.run.metal``): per task
``test/<model>_<task>_<metric>`` with the per-seed 95% bootstrap interval over test rows
(``_lo`` / ``_hi``, averaged over seeds). The run and its export:

    export WSBENCH_DATA_MIRROR=../shared/datasets
    python experiments/metal.py experiment=metal_chest_xray
    python experiments/metal.py experiment=metal_chemprot
    python paper_figures/table_metal.py --export   # results/metal_{chest_xray,chemprot} -> the CSV
    python paper_figures/table_metal.py            # -> paper_figures/out/table_metal.md, fig_metal.png

Models: the label models alone on the test LF votes (majority vote, one MatrixCompletion per task
with the hierarchy applied afterwards, the multi-task MatrixCompletion) and the multi-task end model
(shared trunk, a head per task) trained on each one's marginals or on the dev (valid) gold labels
only, every end model selected on the dev (valid) split. A child task (the finding family, the
relation type) is scored on the test rows where it applies.

The second table puts the measured differences of the MeTaL pipeline (multi-task label model +
multi-task end model) beside the published ones (Ratner et al., AAAI 2019: averages over their three
applications, each in its own metric; not the same tasks, so a comparison of direction and size,
not a reproduction). No JAX and no wsbench import (except ``--export``); labels and colours from
``style.py``.
"""

import argparse
from pathlib import Path

import pandas as pd
import style

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "metal.csv"
OUT = HERE / "out"
RESULTS = ("metal_chest_xray", "metal_chemprot")
"""The experiments (``results/<name>``) whose jobs ``--export`` aggregates, one row per dataset."""

LABEL_MODELS = ("majority_vote", "independent", "metal")
END_MODELS = ("endmodel_majority_vote", "endmodel_independent", "endmodel_metal", "endmodel_dev")
MODELS = LABEL_MODELS + END_MODELS
METRICS = ("accuracy", "f1")
PIPELINE = "endmodel_metal"
PUBLISHED = (
    ("endmodel_majority_vote", "vs majority vote", 6.8),
    ("endmodel_independent", "vs data programming per task", 4.1),
    ("endmodel_dev", "vs supervised on the dev set", 20.2),
)
"""(baseline column, what the paper calls it, published MeTaL gain in points: Ratner et al. 2019)."""


def export(csv: str | Path = DATA, results_dirs=RESULTS) -> None:
    """Aggregate the MeTaL results of ``results_dirs`` over seeds into ``csv`` (imports wsbench)."""
    from wsbench.run import results

    if isinstance(results_dirs, (str, Path)):
        results_dirs = (results_dirs,)
    frames = []
    for d in results_dirs:
        df = results.load(d)
        cols = [c for c in df.columns if c.split("/")[0] in ("test", "train")]
        frames.append(results.aggregate(df, ["dataset", "tasks"], cols))
    merged = pd.concat(frames, ignore_index=True).sort_values("dataset")
    Path(csv).parent.mkdir(parents=True, exist_ok=True)
    merged.to_csv(csv, index=False, float_format="%.6g")


def load(path: str | Path = DATA) -> pd.DataFrame:
    """The aggregated CSV; checks it has the columns the tables need."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"{path} does not exist; run conf/experiment/metal_*.yaml and export it "
            "(python paper_figures/table_metal.py --export)."
        )
    df = pd.read_csv(path)
    missing = sorted({"dataset", "tasks", "n_seeds"} - set(df.columns))
    if missing:
        raise ValueError(f"{path} lacks column(s) {missing}; re-export the MeTaL results.")
    for _, r in df.iterrows():
        need = [f"test/{m}_{t}_{x}" for m in MODELS for t in _tasks(r) for x in METRICS]
        lacking = [c for c in need if c not in df.columns]
        if lacking:
            raise ValueError(f"{path} lacks {lacking[:3]}...; re-export the MeTaL results.")
    return df


def _tasks(r: pd.Series) -> list[str]:
    return str(r["tasks"]).split(",")


def _cell(r: pd.Series, col: str) -> str:
    if col not in r or pd.isna(r[col]):
        return "–"
    text = f"{100 * r[col]:.1f} ± {100 * r.get(col + '_sem', float('nan')):.1f}"
    if f"{col}_lo" in r and not pd.isna(r[f"{col}_lo"]):
        text += f" [{100 * r[col + '_lo']:.1f}, {100 * r[col + '_hi']:.1f}]"
    return text


def _metric_name(task_index: int, metric: str) -> str:
    return "macro-F1" if metric == "f1" and task_index > 0 else metric


def markdown(df: pd.DataFrame) -> str:
    """Per (dataset, task, metric) a row, a column per model; then measured vs published deltas."""
    header = (
        "| dataset | task (metric) | " + " | ".join(style.label(m) for m in MODELS) + " | seeds |"
    )
    lines = [header, "|---|---|" + "---:|" * (len(MODELS) + 1)]
    for _, r in df.sort_values("dataset").iterrows():
        for i, task in enumerate(_tasks(r)):
            for metric in METRICS:
                cells = [_cell(r, f"test/{m}_{task}_{metric}") for m in MODELS]
                lines.append(
                    f"| {r['dataset']} | {task} ({_metric_name(i, metric)}) | "
                    + " | ".join(cells) + f" | {int(r['n_seeds'])} |"
                )  # fmt: skip
    lines += [
        "",
        "Test split, percent, mean ± sem over seeds; [lo, hi]: mean per-seed 95% bootstrap "
        "interval over test rows. Child tasks are scored on the test rows where they apply.",
        "",
        f"Gain of {style.label(PIPELINE)} (points; measured: fine-task macro-F1 and the mean over "
        "tasks of each task's F1) beside the published average gain:",
        "",
        "| dataset | comparison | measured, fine macro-F1 | measured, mean over tasks | "
        "published (avg of 3 tasks) |",
        "|---|---|---:|---:|---:|",
    ]
    for _, r in df.sort_values("dataset").iterrows():
        tasks = _tasks(r)
        for base, name, published in PUBLISHED:
            fine = _delta(r, base, tasks[-1])
            mean = sum(_delta(r, base, t) for t in tasks) / len(tasks)
            lines.append(
                f"| {r['dataset']} | {name} ({style.label(base)}) | {fine:+.1f} | {mean:+.1f} "
                f"| {published:+.1f} |"
            )
    lines += [
        "",
        f"Label models alone ({style.label('metal')} minus the baseline, points, same columns; "
        "no published counterpart):",
        "",
        "| dataset | comparison | measured, fine macro-F1 | measured, mean over tasks |",
        "|---|---|---:|---:|",
    ]
    for _, r in df.sort_values("dataset").iterrows():
        tasks = _tasks(r)
        for base in ("majority_vote", "independent"):
            fine = _delta(r, base, tasks[-1], model="metal")
            mean = sum(_delta(r, base, t, model="metal") for t in tasks) / len(tasks)
            lines.append(f"| {r['dataset']} | vs {style.label(base)} | {fine:+.1f} | {mean:+.1f} |")
    return "\n".join(lines) + "\n"


def _delta(r: pd.Series, base: str, task: str, model: str = PIPELINE) -> float:
    return 100 * (r[f"test/{model}_{task}_f1"] - r[f"test/{base}_{task}_f1"])


def figure(df: pd.DataFrame, out: Path) -> Path:
    """Bars per task (F1; fine task macro-F1) for every model, error bars = sem over seeds."""
    style.apply()
    import matplotlib.pyplot as plt
    import numpy as np

    rows = list(df.sort_values("dataset").iterrows())
    n_panels = sum(len(_tasks(r)) for _, r in rows)
    fig, axes = plt.subplots(1, n_panels, figsize=(style.FULL, 2.2), squeeze=False)
    axes = axes[0]
    p = 0
    for _, r in rows:
        for i, task in enumerate(_tasks(r)):
            ax = axes[p]
            p += 1
            x = np.arange(len(MODELS))
            for j, m in enumerate(MODELS):
                col = f"test/{m}_{task}_f1"
                ax.bar(
                    x[j],
                    100 * r[col],
                    yerr=100 * r.get(col + "_sem", 0.0),
                    color=style.color(m),
                    label=style.label(m),
                    capsize=2,
                )
            ax.set_title(f"{r['dataset']}: {task} ({_metric_name(i, 'f1')})")
            ax.set_xticks([])
            ax.set_ylabel("test score (%)")
    axes[0].legend(loc="lower left", fontsize=5, ncol=2)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA), help="aggregated CSV (default: %(default)s)")
    parser.add_argument("--out", default=str(OUT), help="output folder (default: %(default)s)")
    parser.add_argument("--export", action="store_true", help="write the CSV from results/")
    parser.add_argument(
        "--results", nargs="+", default=list(RESULTS), help="results folders for --export"
    )
    args = parser.parse_args(argv)
    if args.export:
        export(args.data, args.results)
    df = load(args.data)
    text = markdown(df)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table_metal.md").write_text(text, encoding="utf-8")
    figure(df, out / "fig_metal.png")
    print(text)
    return text


if __name__ == "__main__":
    main()
