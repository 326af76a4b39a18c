"""Figure: scaling with unlabeled data — label-model and end-model accuracy vs number of unlabeled points.

Data: ``paper_figures/data/scaling.csv``, exported from ``experiments/endmodel.py experiment=scaling estimator=dawid_skene,matrix_completion``
(commands in ``conf/experiment/scaling.yaml``). Left: label-model test accuracy (on the test LF votes)
for each label model and majority vote. Right: test accuracy of the same end model (logistic
regression on class-conditional features) trained on the label model's soft labels (noise-aware), on
majority-vote labels, and on the same number of gold labels. Bands: 95% t-intervals over seeds.

python paper_figures/fig_scaling.py [--out paper_figures/out/fig_scaling.pdf]
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
DATA = HERE / "data" / "scaling.csv"
OUT = HERE / "out" / "fig_scaling.pdf"
NEEDED = (
    "test/labelmodel_accuracy",
    "test/majority_vote_accuracy",
    "test/endmodel_accuracy",
    "test/endmodel_mv_accuracy",
    "test/endmodel_gold_accuracy",
)


def load(path: str | Path = DATA) -> pd.DataFrame:
    """The aggregated scaling table (one row per estimator x end model x n_unlabeled)."""
    df = pd.read_csv(path)
    needed = {"estimator", "n_unlabeled", "n_seeds", *NEEDED, *(f"{c}_sem" for c in NEEDED)}
    missing = needed - set(df.columns)
    if missing:
        raise ValueError(
            f"{path} lacks column(s) {sorted(missing)}; re-export the scaling results."
        )
    return df.sort_values(["estimator", "n_unlabeled"]).reset_index(drop=True)


def _band(ax, n, df, col, **kw):
    mean = df[col].to_numpy()
    half = (
        stats.t.ppf(0.975, np.maximum(df["n_seeds"].to_numpy() - 1, 1))
        * df[f"{col}_sem"].to_numpy()
    )
    (line,) = ax.plot(n, mean, **kw)
    ax.fill_between(n, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)


def plot(df: pd.DataFrame) -> plt.Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 3.0), sharey=True)
    estimators = sorted(set(df["estimator"]))
    for est in estimators:
        part = df[df["estimator"] == est]
        n = part["n_unlabeled"].to_numpy()
        name, color = style.label(est), style.color(est)
        _band(left, n, part, "test/labelmodel_accuracy", marker="o", ms=3, color=color, label=name)
        _band(
            right,
            n,
            part,
            "test/endmodel_accuracy",
            marker="o",
            ms=3,
            color=color,
            label=f"end model on {name} labels",
        )
    # baselines do not depend on the label model: draw them once (from the first estimator's job)
    base = df[df["estimator"] == estimators[0]]
    n = base["n_unlabeled"].to_numpy()
    _band(
        left,
        n,
        base,
        "test/majority_vote_accuracy",
        marker="s",
        ms=3,
        color="tab:gray",
        ls="--",
        label="majority vote",
    )
    _band(
        right,
        n,
        base,
        "test/endmodel_mv_accuracy",
        marker="s",
        ms=3,
        color="tab:gray",
        ls="--",
        label="end model on majority-vote labels",
    )
    _band(
        right,
        n,
        base,
        "test/endmodel_gold_accuracy",
        marker="^",
        ms=3,
        color="black",
        ls=":",
        label="end model on n gold labels",
    )
    left.set_title("label model (test LF votes)")
    right.set_title("end model (test features)")
    left.set_ylabel("test accuracy")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("number of unlabeled points n")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6.5, loc="lower right")
    fig.tight_layout()
    return fig


def main(out: str | Path = OUT, data: str | Path = DATA) -> Path:
    fig = plot(load(data))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    print(main(args.out, args.data))
