"""Figure: scaling with unlabeled data on real tasks — test metric vs number of unlabeled rows.

Data: ``paper_figures/data/scaling_real.csv``, exported from ``experiments/endmodel.py
experiment=scaling_real`` (commands in ``conf/experiment/scaling_real.yaml``). One panel per
dataset, in the metric it is known by (``METRICS``): the end model (logistic regression on the
task's text features, selected on valid) trained on the label model's soft labels, on
majority-vote labels and on the same n gold labels, and the label model itself (on the test LF
votes). Bands: 95% t-intervals over seeds. Printed beside the figure (``slopes``): each curve's
least-squares slope of the test metric per decade of n (over the log grid), with its standard
error from the per-size sems (sizes treated as independent, which the nested subsamples are not:
read it as a rough noise scale), and slope / SE.

python paper_figures/fig_scaling_real.py [--export] [--out paper_figures/out/fig_scaling_real.pdf]
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
DATA = HERE / "data" / "scaling_real.csv"
OUT = HERE / "out" / "fig_scaling_real.pdf"
METRICS = {"youtube": "accuracy", "wrench_youtube": "accuracy", "sms": "f1", "wrench_sms": "f1"}
CURVES = (  # (model column, legend, style)
    ("endmodel", "end model on label-model soft labels", {"marker": "o", "color": "tab:blue"}),
    ("endmodel_mv", "end model on majority-vote labels", {"marker": "s", "color": "tab:gray"}),
    ("endmodel_gold", "end model on n gold labels", {"marker": "^", "color": "black", "ls": ":"}),
    (
        "labelmodel",
        "label model (test LF votes)",
        {"marker": "d", "color": "tab:orange", "ls": "--"},
    ),
)


def export(csv: str | Path = DATA) -> None:
    """Aggregate ``results/scaling_real`` over seeds into ``csv`` (imports wsbench)."""
    from wsbench.run import results

    df = results.load("scaling_real")
    cols = [c for c in df.columns if c.split("/")[0] in ("test", "train", "advantage")]
    results.export("scaling_real", csv, by=["estimator", "dataset", "n_unlabeled"], metrics=cols)


def load(path: str | Path = DATA) -> pd.DataFrame:
    """The aggregated table (one row per estimator x dataset x n_unlabeled)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"{path} does not exist; run and export conf/experiment/scaling_real.yaml."
        )
    df = pd.read_csv(path)
    needed = {"dataset", "n_unlabeled", "n_seeds"}
    for d in set(df.get("dataset", [])) & set(METRICS):
        needed |= {f"test/{m}_{METRICS[d]}{s}" for m, _, _ in CURVES for s in ("", "_sem")}
    missing = needed - set(df.columns)
    if missing:
        raise ValueError(f"{path} lacks column(s) {sorted(missing)}; re-export scaling_real.")
    return df.sort_values(["dataset", "n_unlabeled"]).reset_index(drop=True)


def slopes(df: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, curve): weighted least-squares slope of the metric vs log10(n), its SE, z."""
    out = []
    for d in [d for d in METRICS if d in set(df["dataset"])]:
        part = df[df["dataset"] == d]
        t = np.log10(part["n_unlabeled"].to_numpy(np.float64))
        for model, label, _ in CURVES:
            col = f"test/{model}_{METRICS[d]}"
            y, sem = part[col].to_numpy(np.float64), part[f"{col}_sem"].to_numpy(np.float64)
            ok = ~np.isnan(y)
            if ok.sum() < 3:
                continue
            w = 1.0 / np.maximum(sem[ok], 1e-4) ** 2  # a zero sem (one test set) would dominate
            tc = t[ok] - np.average(t[ok], weights=w)
            slope = float(np.sum(w * tc * y[ok]) / np.sum(w * tc**2))
            se = float(1.0 / np.sqrt(np.sum(w * tc**2)))
            out.append(
                {"dataset": d, "curve": label, "metric": METRICS[d], "slope_per_decade": slope,
                 "se": se, "z": slope / se}
            )  # fmt: skip
    return pd.DataFrame(out)


def plot(df: pd.DataFrame) -> plt.Figure:
    datasets = [d for d in METRICS if d in set(df["dataset"])]
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.5 * len(datasets), 3.0), squeeze=False)
    for ax, d in zip(axes[0], datasets, strict=True):
        part = df[df["dataset"] == d]
        n = part["n_unlabeled"].to_numpy()
        dof = np.maximum(part["n_seeds"].to_numpy() - 1, 1)
        for model, label, kw in CURVES:
            col = f"test/{model}_{METRICS[d]}"
            mean = part[col].to_numpy()
            half = stats.t.ppf(0.975, dof) * part[f"{col}_sem"].to_numpy()
            (line,) = ax.plot(n, mean, ms=3, label=label, **kw)
            ax.fill_between(n, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_xscale("log")
        ax.set_title(d)
        ax.set_xlabel("unlabeled train rows n (LFs fixed)")
        ax.set_ylabel(f"test {METRICS[d]}")
        ax.grid(True, alpha=0.3)
    axes[0][-1].legend(fontsize=6.5, loc="lower right")
    fig.tight_layout()
    return fig


def main(out: str | Path = OUT, data: str | Path = DATA) -> Path:
    df = load(data)
    print(slopes(df).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    fig = plot(df)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--export", action="store_true", help="write the CSV from results/")
    args = parser.parse_args()
    if args.export:
        export(args.data)
    print(main(args.out, args.data))
