"""Table: fit + predict time of every label model at large n, the statistics pass's throughput and
a 1,000-fit vmapped sweep, per device.

Data: ``paper_figures/data/scale_<backend>.csv`` (one row per measurement, written by the scale
benchmark with the device recorded; no JAX import here). The committed CPU run::

    WSBENCH_SCALE_N=1000000,10000000 WSBENCH_SCALE_ROUNDS=1 \\
        WSBENCH_BENCHMARK_CSV=paper_figures/data/scale_cpu.csv \\
        pytest tests/benchmarks/test_scale.py --benchmark-only -s

On a GPU, ``WSBENCH_SCALE_N=1000000,10000000,100000000`` and a CSV named for it
(``scale_gpu.csv``); each device in the CSVs gets a section of its own.

    python paper_figures/table_scale.py     # -> paper_figures/out/table_scale.md
"""

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = sorted((HERE / "data").glob("scale_*.csv"))
OUT = HERE / "out"
KINDS = ("fit_predict", "statistics", "vmapped_sweep")


def _n(n: int) -> str:
    """1000000 -> '1e6'."""
    exp = len(str(int(n))) - 1
    return f"1e{exp}" if int(n) == 10**exp else f"{int(n):,}"


def render(df: pd.DataFrame) -> str:
    """Markdown: one block per device, estimators x n (seconds), then throughput and the sweep."""
    bad = sorted(set(df["kind"]) - set(KINDS))
    if bad:
        raise ValueError(f"scale CSV has unknown kinds {bad}; expected some of {KINDS}")
    lines = []
    for (backend, device), block in df.groupby(["backend", "device_kind"], sort=True):
        m, k = int(block["m"].iloc[0]), int(block["k"].iloc[0])
        lines += [
            f"## {device} ({backend}; jax {', '.join(sorted(set(block['jax_version'])))})",
            "",
            f"fit + predict_proba, seconds (median of the timed rounds, compile excluded; "
            f"m = {m}, k = {k}, int8 L on the device):",
            "",
        ]
        fp = block[block["kind"] == "fit_predict"]
        ns = sorted(set(fp["n"]))
        lines.append("| estimator | " + " | ".join(f"n = {_n(n)}" for n in ns) + " |")
        lines.append("|---|" + "---:|" * len(ns))
        for est, rows in fp.groupby("estimator", sort=True):
            by_n = dict(zip(rows["n"], rows["median_s"], strict=True))
            cells = [f"{by_n[n]:.3g}" if n in by_n else "–" for n in ns]
            lines.append(f"| {est} | " + " | ".join(cells) + " |")
        stats = block[block["kind"] == "statistics"].sort_values("n")
        if len(stats):
            lines += ["", "MatrixCompletion statistics pass (the n-dependent work):", ""]
            lines += ["| n | seconds | GB/s of int8 L |", "|---:|---:|---:|"]
            for _, r in stats.iterrows():
                lines.append(f"| {_n(r['n'])} | {r['median_s']:.3g} | {r['stats_gb_per_s']:.3g} |")
        for _, r in block[block["kind"] == "vmapped_sweep"].iterrows():
            lines += [
                "",
                f"Vmapped sweep: {int(r['fits'])} MatrixCompletion fits (lr x l2 x seed, 100 steps) "
                f"on the statistics of n = {_n(r['n'])} rows in {r['median_s']:.3g} s "
                f"({1e3 * r['median_s'] / r['fits']:.3g} ms per fit).",
            ]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="*", default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not args.data:
        raise SystemExit("no paper_figures/data/scale_*.csv: run the scale benchmark first")
    df = pd.concat([pd.read_csv(p) for p in args.data], ignore_index=True)
    text = "# Scale benchmarks\n\n" + render(df)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table_scale.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
