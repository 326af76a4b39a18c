"""Figure: label-model test accuracy vs the number of LFs m (synthetic, independent LFs).

Data: ``paper_figures/data/lm_vary_m.csv``, exported from the sweep of
``conf/experiment/lm_vary_m.yaml``
(every ``conf/estimator`` x m in 5..80 x 5 data draws, ``dataset=synthetic_independent``: 2000
train / 500 valid / 1000 test points, LF accuracies evenly spaced over [0.55, 0.85],
propensity 0.3)::

    python experiments/labelmodel.py experiment=lm_vary_m estimator=dawid_skene,majority_vote,matrix_completion launcher=basic
    python -c "from wsbench.run import results; results.export('lm_vary_m', \
'paper_figures/data/lm_vary_m.csv', by=['estimator', 'dataset', 'override.dataset.m'])"
    python paper_figures/fig_lm_vary_m.py [--out paper_figures/out/fig_lm_vary_m.png]

Left: test accuracy (mean over data draws, band = 95% t-interval). Right: accuracy gain over
majority vote at the same m (error bar: the estimator's own 95% interval; the CSV holds no paired
differences).
No JAX import.
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

DATA = HERE / "data" / "lm_vary_m.csv"
OUT = HERE / "out" / "fig_lm_vary_m.png"
M = "override.dataset.m"
METRIC = "test/accuracy"
BASELINE = "majority_vote"


def load(path: str | Path = DATA) -> pd.DataFrame:
    """The aggregated table: one row per (estimator, m), mean and sem over data draws."""
    df = pd.read_csv(path)
    needed = {"estimator", M, METRIC, f"{METRIC}_sem", "n_seeds"}
    missing = needed - set(df.columns)
    if missing:
        raise ValueError(
            f"{path} lacks column(s) {sorted(missing)}; re-export lm_vary_m "
            "(command in this script's docstring)."
        )
    if df.duplicated(["estimator", M]).any():
        raise ValueError(
            f"{path}: more than one row per (estimator, m); export with "
            f"by=['estimator', 'dataset', '{M}']."
        )
    return df.rename(columns={M: "m"}).sort_values(["estimator", "m"]).reset_index(drop=True)


def ci95(sem, n_seeds):
    """Half-width of the 95% t-interval of a mean."""
    dof = np.maximum(np.asarray(n_seeds, dtype=np.float64) - 1, 1)
    return stats.t.ppf(0.975, dof) * np.asarray(sem, dtype=np.float64)


def plot(df: pd.DataFrame) -> plt.Figure:
    """Accuracy vs m per estimator (left) and its gain over majority vote (right)."""
    fig, (ax, gain_ax) = plt.subplots(1, 2, figsize=(style.FULL, 2.6))
    base = df[df["estimator"] == BASELINE].set_index("m")[METRIC]
    for est, curve in df.groupby("estimator", sort=True):
        m, mean = curve["m"].to_numpy(), curve[METRIC].to_numpy()
        half = ci95(curve[f"{METRIC}_sem"], curve["n_seeds"])
        kw = dict(color=style.color(est), marker=style.marker(est), label=style.label(est))
        ax.plot(m, mean, **kw)
        ax.fill_between(m, mean - half, mean + half, color=kw["color"], alpha=0.2, lw=0)
        if len(base) and est != BASELINE:
            common = [v for v in m if v in base.index]
            sel = curve.set_index("m").loc[common]
            gain_ax.errorbar(
                common,
                sel[METRIC] - base.loc[common],
                yerr=ci95(sel[f"{METRIC}_sem"], sel["n_seeds"]),
                capsize=2,
                **kw,
            )
    for a in (ax, gain_ax):
        a.set_xscale("log", base=2)
        ticks = sorted(df["m"].unique())
        a.set_xticks(ticks, [str(t) for t in ticks])
        a.set_xlabel("number of labeling functions m")
    ax.set_ylabel("test accuracy")
    ax.legend(loc="lower right")
    gain_ax.axhline(0.0, color=style.color(BASELINE), lw=1, ls="--")
    gain_ax.set_ylabel(f"accuracy - {style.label(BASELINE).lower()}")
    n = int(df["n_seeds"].min())
    fig.suptitle(f"Synthetic independent LFs ({n} data draws; bands: 95% CI)", fontsize=8)
    fig.tight_layout()
    return fig


def main(out: str | Path = OUT, data: str | Path = DATA) -> Path:
    fig = plot(load(data))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    print(main(args.out, args.data))
