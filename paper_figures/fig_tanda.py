"""Figure: TANDA — end-model accuracy by augmentation policy, sampled augmentations, learned policies.

Data: ``paper_figures/data/tanda_<task>.csv`` (+ ``_tf_probs.csv``, ``_transitions.csv``,
``_samples.npz``), written by ``wsbench.run.tanda.export`` from ``experiments/tanda.py
experiment=tanda_<task>`` (commands in the experiment files' headers). One row of panels per task:
(a) the task's reported metric per policy (``metric`` column: accuracy, or F1 for an imbalanced task
such as spouse), mean over seeds with 95% t-interval error bars over the seeds; (b) a grid of the
first labelled images (top row: originals) and their augmented copies under each policy (seed 0);
(c) the mean-field generator's learned TF frequencies (dashed: uniform = the heuristic policy);
(d) the LSTM generator's transition matrix P(next TF | previous TF), last row the first step.

python paper_figures/fig_tanda.py [--out paper_figures/out/fig_tanda.png] [--data paper_figures/data]
(also writes ``table_tanda.md`` beside the figure: the metric per policy with the paired
difference to ``heuristic`` and the published cells)
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import style  # paper_figures/style.py: the script's own folder is on sys.path
from scipy import stats

style.apply()
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE / "out" / "fig_tanda.png"
POLICIES = ("none", "basic", "heuristic", "mean_field", "lstm")
POLICY_COLORS = {
    "none": "tab:gray",
    "basic": "tab:olive",
    "heuristic": "tab:orange",
    "mean_field": "tab:blue",
    "lstm": "tab:purple",
}
SUFFIXES = ("_tf_probs", "_transitions", "_seeds")
NEEDED = {"task", "policy", "test/accuracy", "test/accuracy_sem", "n_seeds"}


def tasks(data: str | Path = DATA) -> list[str]:
    """The ``<task>`` of every ``tanda_<task>.csv`` accuracy table under ``data``."""
    names = [p.stem for p in sorted(Path(data).glob("tanda_*.csv"))]
    return [n for n in names if not n.endswith(SUFFIXES)]


def load(stem: str, data: str | Path = DATA) -> dict:
    """One task's tables: ``accuracy`` and, when present, ``tf_probs``, ``transitions``, ``samples``."""
    data = Path(data)
    acc = pd.read_csv(data / f"{stem}.csv")
    missing = NEEDED - set(acc.columns)
    if missing:
        raise ValueError(f"{data / stem}.csv lacks column(s) {sorted(missing)}; re-export it.")
    order = {p: i for i, p in enumerate(POLICIES)}
    out = {"accuracy": acc.sort_values("policy", key=lambda c: c.map(order)).reset_index(drop=True)}
    for kind in ("tf_probs", "transitions"):
        path = data / f"{stem}_{kind}.csv"
        if path.is_file():
            out[kind] = pd.read_csv(path)
    path = data / f"{stem}_samples.npz"
    if path.is_file():
        with np.load(path) as z:
            out["samples"] = {k: z[k] for k in z.files}
    return out


def _accuracy(ax, acc: pd.DataFrame, title: str) -> None:
    metric = str(acc["metric"].iloc[0]) if "metric" in acc.columns else "accuracy"
    col = f"test/{metric}"
    half = stats.t.ppf(0.975, np.maximum(acc["n_seeds"] - 1, 1)) * acc[f"{col}_sem"]
    x = np.arange(len(acc))
    ax.bar(
        x,
        100 * acc[col],
        yerr=100 * half,
        color=[POLICY_COLORS.get(p, "tab:gray") for p in acc["policy"]],
        capsize=2,
    )
    if "paired_vs_heuristic" in acc.columns:  # the same seeds' difference: less seed noise
        for xi, (_, r) in zip(x, acc.iterrows(), strict=True):
            if r["policy"] != "heuristic" and pd.notna(r["paired_vs_heuristic"]):
                d, e = 100 * r["paired_vs_heuristic"], 100 * r.get("paired_vs_heuristic_sem", 0)
                ax.annotate(
                    f"{d:+.1f}\n±{e:.1f}", (xi, 100 * r[col]), xytext=(0, 2),
                    textcoords="offset points", ha="center", va="bottom", fontsize=5.5,
                )  # fmt: skip
    ax.set_xticks(x, [style.label(p) for p in acc["policy"]], rotation=30, ha="right")
    lo = 100 * float((acc[col] - half).min())
    hi = 100 * float((acc[col] + half).max())
    ax.set_ylim(max(0.0, lo - 5), min(100.0, hi + 3))
    ax.set_ylabel(f"test {'F1' if metric == 'f1' else metric} (%)")
    ax.set_title(
        f"{title} (n={int(acc['n_seeds'].min())} seeds)\nbars: 95% t-interval over seeds; "
        "labels: paired diff. vs heuristic ± sem",
        fontsize=6.5,
    )


def _grid(ax, samples: dict) -> None:
    rows = [k for k in ("original", *POLICIES) if k in samples]
    tiles = [np.concatenate(list(samples[k]), axis=1) for k in rows]  # (H, n W, C) per row
    img = np.concatenate(tiles, axis=0)
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=255)
    h = samples[rows[0]].shape[1]
    ax.set_yticks(h * np.arange(len(rows)) + h / 2, [style.label(r) for r in rows])
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title("augmented samples (seed 0)")


def _probs(ax, probs: pd.DataFrame) -> None:
    x = np.arange(len(probs))
    ax.bar(x, probs["prob"], yerr=probs["prob_sem"], color="tab:blue", capsize=1)
    ax.axhline(1 / len(probs), color="gray", ls="--", lw=0.8)
    ax.set_xticks(x, probs["tf"], rotation=90, fontsize=4.5)
    ax.set_ylabel("P(TF)")
    ax.set_title("mean-field TF frequencies")


def _transitions(ax, trans: pd.DataFrame) -> None:
    rows = list(dict.fromkeys(trans["from"]))
    cols = list(dict.fromkeys(trans["to"]))
    m = trans.pivot(index="from", columns="to", values="prob").loc[rows, cols].to_numpy()
    im = ax.imshow(m, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=4.5)
    ax.set_yticks(range(len(rows)), rows, fontsize=4.5)
    ax.set_xlabel("next TF")
    ax.grid(False)
    ax.set_title("LSTM transitions")
    plt.colorbar(im, ax=ax, fraction=0.046)


def plot(data: str | Path = DATA) -> plt.Figure:
    stems = tasks(data)
    if not stems:
        raise ValueError(f"no tanda_<task>.csv under {data}; export a TANDA sweep first.")
    fig, axes = plt.subplots(len(stems), 4, figsize=(11.0, 3.2 * len(stems)), squeeze=False)
    for row, stem in zip(axes, stems, strict=True):
        d = load(stem, data)
        _accuracy(row[0], d["accuracy"], stem.removeprefix("tanda_"))
        for ax, key, draw in ((row[1], "samples", _grid), (row[2], "tf_probs", _probs)):
            if key in d:
                draw(ax, d[key])
            else:
                ax.set_axis_off()
        if "transitions" in d:
            _transitions(row[3], d["transitions"])
        else:
            row[3].set_axis_off()
    fig.tight_layout()
    return fig


# The authors' table 1 (end-model test accuracy / F1, generator trained on the unlabeled set), for
# orientation only: their CIFAR-10 used 5,000 labelled images and ResNet-56, their text task was ACE
# (not spouse). The CPU cuts here are far smaller (see each experiment file).
PUBLISHED = {
    "cifar10": {"none": 66.0, "basic": 73.1, "heuristic": 77.5, "mean_field": 79.8, "lstm": 81.5},
    "spouse_text": {"none": 62.7, "heuristic": 62.8, "lstm": 64.2},  # ACE relation extraction F1
}


def table(data: str | Path = DATA) -> str:
    """Markdown: per task and policy, the reported metric (mean +- sem over seeds), the paired
    difference to ``heuristic`` on the same seeds (mean +- sem), and the published cell."""
    lines = [
        "| experiment | policy | metric | mean +- sem (%) | vs heuristic, paired (pts) | seeds "
        "| published (%) |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for stem in tasks(data):
        acc = load(stem, data)["accuracy"]
        metric = str(acc["metric"].iloc[0]) if "metric" in acc.columns else "accuracy"
        col = f"test/{metric}"
        for _, r in acc.iterrows():
            paired = "" if r["policy"] == "heuristic" else _pm(r, "paired_vs_heuristic")
            pub = PUBLISHED.get(str(r["task"]), {}).get(str(r["policy"]))
            lines.append(
                f"| {stem} | {r['policy']} | {metric} | {_pm(r, col)} | {paired} "
                f"| {int(r['n_seeds'])} | {'' if pub is None else f'{pub:.1f}'} |"
            )
    lines += [
        "",
        "mean +- sem over seeds; paired: the policy minus heuristic on the same seed (same "
        "initialisation and minibatches), mean +- sem. published: the authors' table 1, for "
        "orientation only (CIFAR-10 with 5,000 labels and ResNet-56; the text row is ACE relation "
        "extraction F1, not spouse); the CPU cuts here are far smaller (experiment files).",
    ]
    return "\n".join(lines) + "\n"


def _pm(row, col: str) -> str:
    if col not in row or pd.isna(row[col]):
        return ""
    sem = row.get(f"{col}_sem", np.nan)
    return f"{100 * row[col]:.1f} +- {100 * sem:.1f}" if pd.notna(sem) else f"{100 * row[col]:.1f}"


def main(out: str | Path = OUT, data: str | Path = DATA) -> Path:
    fig = plot(data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    out.with_name("table_tanda.md").write_text(table(data))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    print(main(args.out, args.data))
