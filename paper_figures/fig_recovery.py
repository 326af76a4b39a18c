"""Figure: parameter recovery rate — LF-parameter error vs number of unlabeled points (log-log).

Data: ``paper_figures/data/recovery.csv``, exported from ``experiments/recovery.py experiment=recovery estimator=dawid_skene,matrix_completion``
(see ``conf/experiment/recovery.yaml`` for the commands). Error = mean absolute error of the estimated
LF confusion tables after Hungarian class alignment; bands are 95% t-intervals over seeds; the legend
gives each curve's least-squares log-log slope, next to the reference slope -1/2 of a consistent
(sqrt(n)-rate) estimator.

python paper_figures/fig_recovery.py [--out paper_figures/out/fig_recovery.pdf]
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
DATA = HERE / "data" / "recovery.csv"
OUT = HERE / "out" / "fig_recovery.pdf"
METRIC = "param/confusion_error"
PANELS = ("independent", "dependent")


def load(path: str | Path = DATA) -> pd.DataFrame:
    """The aggregated recovery table (one row per estimator x generator x n)."""
    df = pd.read_csv(path)
    needed = {"estimator", "generator", "n", METRIC, f"{METRIC}_sem", "n_seeds"}
    missing = needed - set(df.columns)
    if missing:
        raise ValueError(
            f"{path} lacks column(s) {sorted(missing)}; re-export the recovery results."
        )
    return df.sort_values(["generator", "estimator", "n"]).reset_index(drop=True)


def loglog_slope(n, error) -> tuple[float, float]:
    """Least-squares ``log error = intercept + slope * log n``; returns ``(slope, intercept)``.

    (Same fit as ``wsbench.run.recovery.loglog_slope``; repeated here so figures never import JAX.)
    """
    n, error = np.asarray(n, dtype=np.float64), np.asarray(error, dtype=np.float64)
    if n.size < 2 or np.any(n <= 0) or np.any(error <= 0):
        raise ValueError("loglog_slope needs >= 2 points with positive n and error.")
    slope, intercept = np.polyfit(np.log(n), np.log(error), 1)
    return float(slope), float(intercept)


def ci95(sem, n_seeds):
    """Half-width of the 95% t-interval of a mean."""
    dof = np.maximum(np.asarray(n_seeds, dtype=np.float64) - 1, 1)
    return stats.t.ppf(0.975, dof) * np.asarray(sem, dtype=np.float64)


def slopes(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (generator, estimator): the fitted log-log slope of the mean error."""
    rows = [
        {"generator": g, "estimator": e, "slope": loglog_slope(part["n"], part[METRIC])[0]}
        for (g, e), part in df.groupby(["generator", "estimator"], sort=True)
    ]
    return pd.DataFrame(rows)


def plot(df: pd.DataFrame) -> plt.Figure:
    panels = [p for p in PANELS if p in set(df["generator"])] + sorted(
        set(df["generator"]) - set(PANELS)
    )
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.4 * len(panels), 3.0), sharey=True, squeeze=False
    )
    for ax, gen in zip(axes[0], panels, strict=True):
        part = df[df["generator"] == gen]
        for est, curve in part.groupby("estimator", sort=True):
            n, mean = curve["n"].to_numpy(), curve[METRIC].to_numpy()
            half = ci95(curve[f"{METRIC}_sem"], curve["n_seeds"])
            slope, _ = loglog_slope(n, mean)
            color = style.color(est)
            ax.plot(
                n,
                mean,
                "o-",
                ms=3,
                color=color,
                label=f"{style.label(est)} (slope {slope:+.2f})",
            )
            ax.fill_between(
                n, np.maximum(mean - half, mean * 1e-3), mean + half, color=color, alpha=0.25, lw=0
            )
        n_ref = np.array([part["n"].min(), part["n"].max()], dtype=np.float64)
        anchor = part[part["n"] == n_ref[0]][METRIC].max()
        ax.plot(
            n_ref, anchor * (n_ref / n_ref[0]) ** -0.5, "k--", lw=1, label="reference slope -1/2"
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{gen} LFs")
        ax.set_xlabel("number of unlabeled points n")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    axes[0, 0].set_ylabel("LF confusion error (MAE)")
    fig.tight_layout()
    return fig


def main(out: str | Path = OUT, data: str | Path = DATA) -> Path:
    df = load(data)
    fig = plot(df)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    print(slopes(df).to_string(index=False))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    print(main(args.out, args.data))
