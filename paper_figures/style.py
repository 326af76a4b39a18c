"""Shared figure style: rcParams, one fixed colour and label per estimator, column widths.

The only holder of estimator labels, colours and markers: every ``paper_figures/fig_*.py`` script
does ``import style`` (a script's own folder is on ``sys.path`` when it runs, from any folder) and
asks ``color(name)`` / ``label(name)`` / ``marker(name)``. An estimator not listed here gets a
deterministic fallback (a colour from the default cycle chosen by a hash of its name, its config
name as label), so a new estimator appears in every figure with no edit. No JAX and no wsbench
import: figures read only the committed CSVs under ``paper_figures/data/``.
"""

import matplotlib

# Widths in inches of a one-column and a two-column figure (NeurIPS / ICML text widths).
COLUMN = 3.25
FULL = 6.75

# One colour per estimator, the same in every figure (names are conf/estimator/<name>.yaml stems).
COLORS = {
    "majority_vote": "tab:gray",
    "dawid_skene": "tab:orange",
    "matrix_completion": "tab:blue",
    "metal": "tab:green",
    "flying_squid": "tab:purple",
    "snorkel": "tab:red",
    "independent": "tab:cyan",
    "endmodel_majority_vote": "silver",
    "endmodel_independent": "lightblue",
    "endmodel_metal": "darkgreen",
    "endmodel_dev": "tab:brown",
}
LABELS = {
    "majority_vote": "Majority vote",
    "dawid_skene": "Dawid-Skene",
    "matrix_completion": "MatrixCompletion",
    # the MeTaL runner's models (wsbench.run.metal; paper_figures/table_metal.py)
    "independent": "MatrixCompletion per task",
    "metal": "MeTaL (multi-task MC)",
    "endmodel_majority_vote": "EM on MV",
    "endmodel_independent": "EM on per-task MC",
    "endmodel_metal": "EM on MeTaL",
    "endmodel_dev": "EM on dev gold only",
}
MARKERS = {"majority_vote": "s", "dawid_skene": "^", "matrix_completion": "o"}

RC = {
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
}


def color(name: str) -> str:
    """The estimator's fixed colour; unknown names get a stable one from the default cycle."""
    if name in COLORS:
        return COLORS[name]
    import zlib

    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    return cycle[zlib.crc32(name.encode()) % len(cycle)]


def label(name: str) -> str:
    """The estimator's display name (the config name when none is set)."""
    return LABELS.get(name, name)


def marker(name: str) -> str:
    """The estimator's marker (``"o"`` when none is set)."""
    return MARKERS.get(name, "o")


def apply() -> None:
    """Use the Agg backend (no display needed) and the shared rcParams."""
    matplotlib.use("Agg")
    matplotlib.rcParams.update(RC)
