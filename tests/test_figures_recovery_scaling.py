"""The recovery and scaling figures render from their committed CSVs (Agg backend, no JAX needed)."""

import numpy as np
import pytest

from tests._utils import load_figure_script

FIGURES = ("fig_recovery", "fig_scaling")


def _load(name):
    return load_figure_script(name)


@pytest.mark.parametrize("name", FIGURES)
def test_figure_renders_from_committed_csv(name, tmp_path):
    fig = _load(name)
    out = fig.main(out=tmp_path / f"{name}.png")
    assert out.is_file() and out.stat().st_size > 1000


def test_recovery_slope_fit_matches_power_law():
    fig = _load("fig_recovery")
    n = np.logspace(2, 6, 9)
    slope, _ = fig.loglog_slope(n, 0.7 * n**-0.5)
    assert slope == pytest.approx(-0.5, abs=1e-9)


def test_committed_recovery_slope_of_matrix_completion_is_minus_one_half():
    """The acceptance bar on the committed data: MatrixCompletion's slope is -0.5 +- 0.1."""
    fig = _load("fig_recovery")
    table = fig.slopes(fig.load())
    mc = table[table["estimator"] == "matrix_completion"]
    assert len(mc) >= 1
    assert np.all(np.abs(mc["slope"].to_numpy() + 0.5) <= 0.1), table
