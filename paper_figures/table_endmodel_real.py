"""Table: end models on the real tasks, from label-model labels vs the baselines (issue 9).

Data: ``paper_figures/data/real_endmodel.csv`` — one row per (estimator, endmodel, dataset) with
the mean and standard error over seeds of every metric the end-model runner writes
(``wsbench.run.endmodel``, with ``select``). The sweep and its export are the experiment's
(``conf/experiment/real_endmodel.yaml``); this script reads only that CSV:

    export WSBENCH_DATA_MIRROR=../shared/datasets
    python experiments/endmodel.py experiment=real_endmodel launcher=basic
    python paper_figures/table_endmodel_real.py --export   # results/real_endmodel -> the CSV
    python paper_figures/table_endmodel_real.py            # -> paper_figures/out/table_endmodel_real.md

Columns (test split, each dataset in its usual metric, ``METRICS``): the label model alone, majority
vote alone, the end model (logistic regression on word 1-2-gram beside character 2-5-gram TF-IDF,
the ``word_char`` features) trained on the label model's soft labels (noise-aware), on hard
majority-vote labels, on the train gold labels (upper bound) and on half the valid split's gold
labels (dev only); every end model is selected on valid. Cells are ``mean ± sem`` over seeds;
the noise-aware end model's cell also gives the mean over seeds of its per-seed 95% bootstrap
interval over test rows. The last columns are the
modelling-advantage estimate from the train ``L`` alone (``wsbench.lf.expected_advantage``) and the
measured label-model minus majority-vote test accuracy. No JAX and no wsbench import (except
``--export``).
"""

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "real_endmodel.csv"
OUT = HERE / "out"

METRICS: dict[str, str] = {
    "youtube": "accuracy",
    "wrench_youtube": "accuracy",
    "sms": "f1",
    "wrench_sms": "f1",
    "spouse": "f1",
    "cdr": "f1",
    "chest_xray": "accuracy",
}
"""dataset -> the metric it is reported in (F1 of the positive class where classes are imbalanced)."""
MODELS = (
    ("labelmodel", "label model"),
    ("majority_vote", "MV"),
    ("endmodel", "EM on LM soft labels"),
    ("endmodel_mv", "EM on MV labels"),
    ("endmodel_gold", "EM on train gold"),
    ("endmodel_dev", "EM on dev gold only"),
)
THRESHOLD = 0.01
"""The estimate predicts "a label model is worth it" above this (Snorkel's optimizer threshold)."""
NOTES = (
    "Anchor: the Snorkel spam tutorial's end model (logistic regression on n-grams, trained on "
    "the label model's labels) reaches 94.4% test accuracy on YouTube (its 250-row test split; one "
    "standard error there is about 1.5 points).",
    "All models are deterministic given the data except minibatch order and the label model's "
    "seed, so the sem over seeds is small; the bootstrap interval is the test-sampling error.",
)


def export(csv: str | Path = DATA) -> None:
    """Aggregate ``results/real_endmodel`` over seeds into ``csv`` (imports wsbench)."""
    from wsbench.run import results

    df = results.load("real_endmodel")
    prefixes = ("test", "train", "advantage", "slice", "select")
    cols = [c for c in df.columns if c.split("/")[0] in prefixes]
    results.export("real_endmodel", csv, by=["estimator", "endmodel", "dataset"], metrics=cols)


def load(path: str | Path = DATA) -> pd.DataFrame:
    """The aggregated table; checks the columns the table needs."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"{path} does not exist; run conf/experiment/real_endmodel.yaml and export it "
            "(python paper_figures/table_endmodel_real.py --export)."
        )
    df = pd.read_csv(path)
    needed = {"estimator", "dataset", "n_seeds", "advantage/estimate", "advantage/lm_minus_mv"}
    missing = sorted(needed - set(df.columns))
    if missing:
        raise ValueError(f"{path} lacks column(s) {missing}; re-export the real_endmodel results.")
    return df


def _cell(r: pd.Series, col: str, ci: bool = False) -> str:
    if col not in r or pd.isna(r[col]):
        return "–"
    text = f"{100 * r[col]:.1f} ± {100 * r.get(col + '_sem', float('nan')):.1f}"
    if ci and f"{col}_lo" in r and not pd.isna(r[f"{col}_lo"]):
        text += f" [{100 * r[col + '_lo']:.1f}, {100 * r[col + '_hi']:.1f}]"
    return text


def markdown(df: pd.DataFrame) -> str:
    """A row per (dataset, estimator); the columns of the module docstring."""
    header = (
        "| dataset (metric) | estimator | "
        + " | ".join(name for _, name in MODELS)
        + " | adv. estimate | LM − MV acc. | sign agrees | seeds |"
    )
    lines = [header, "|---|---|" + "---:|" * (len(MODELS) + 4)]
    agree = []
    for dataset, metric in METRICS.items():
        for _, r in df[df.dataset == dataset].sort_values("estimator").iterrows():
            cells = [_cell(r, f"test/{m}_{metric}", ci=m == "endmodel") for m, _ in MODELS]
            est, diff = float(r["advantage/estimate"]), float(r["advantage/lm_minus_mv"])
            ok = (est > THRESHOLD) == (diff > 0)
            agree.append(ok)
            lines.append(
                f"| {dataset} ({metric}) | {r['estimator']} | " + " | ".join(cells)
                + f" | {100 * est:.1f} | {100 * diff:+.1f} | {'yes' if ok else 'no'} "
                f"| {int(r['n_seeds'])} |"
            )  # fmt: skip
    notes = [
        "",
        "Test split, percent, mean ± sem over seeds; [lo, hi]: mean per-seed 95% bootstrap "
        "interval over test rows. EM = logistic regression on word + char n-gram TF-IDF, "
        "selected on valid. Advantage estimate from the train L alone; sign agrees: estimate > "
        f"{100 * THRESHOLD:.0f} points iff the label model beats MV on test accuracy "
        f"({sum(agree)}/{len(agree)} rows).",
        *(f"Note: {n}" for n in NOTES),
    ]
    return "\n".join(lines + notes) + "\n"


def slice_markdown(df: pd.DataFrame) -> str:
    """Per-slice test accuracy (spam tasks): a row per (dataset, model), a column per slice."""
    names = sorted({c.split("/")[1] for c in df.columns if c.startswith("slice/")})
    if not names:
        return ""
    lines = [
        "| dataset | model | " + " | ".join(names) + " |",
        "|---|---|" + "---:|" * len(names),
    ]
    for _, r in df.iterrows():
        if pd.isna(r.get(f"slice/{names[0]}/n", float("nan"))):
            continue
        counts = " | ".join(f"n = {int(r[f'slice/{s}/n'])}" for s in names)
        lines.append(f"| {r['dataset']} | (rows) | {counts} |")
        for m, label in MODELS:
            cells = [_cell(r, f"slice/{s}/{m}_accuracy") for s in names]
            lines.append(f"| {r['dataset']} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(["", "Per-slice test accuracy (percent, mean ± sem over seeds):", "", *lines])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA), help="aggregated CSV (default: %(default)s)")
    parser.add_argument("--out", default=str(OUT), help="output folder (default: %(default)s)")
    parser.add_argument("--export", action="store_true", help="write the CSV from results/")
    args = parser.parse_args(argv)
    if args.export:
        export(args.data)
    df = load(args.data)
    text = markdown(df) + slice_markdown(df) + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table_endmodel_real.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
