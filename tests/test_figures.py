"""fig_lm_vary_m renders from its committed CSV (Agg, no JAX); every figure script is tested.

fig_recovery and fig_scaling are rendered by tests/test_figures_recovery_scaling.py; this file covers
fig_lm_vary_m and the shared style, and checks that no ``paper_figures/fig*.py`` is left untested.
"""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests._utils import REPO_ROOT, load_figure_script

FIGURES = REPO_ROOT / "paper_figures"
TESTED_HERE = ("fig_lm_vary_m",)


def _load(name):
    return load_figure_script(name)


@pytest.mark.parametrize("name", TESTED_HERE)
def test_figure_renders_from_committed_csv(name, tmp_path):
    fig = _load(name)
    out = fig.main(out=tmp_path / f"{name}.png")
    assert out.is_file() and out.stat().st_size > 1000


def test_lm_vary_m_data_covers_every_estimator_and_m():
    fig = _load("fig_lm_vary_m")
    df = fig.load()
    estimators = {p.stem for p in (REPO_ROOT / "conf" / "estimator").glob("*.yaml")}
    # every estimator in the committed data still exists (new ones join at the next re-run)
    assert {"majority_vote", "dawid_skene", "matrix_completion"} <= set(df["estimator"])
    assert set(df["estimator"]) <= estimators
    assert sorted(df["m"].unique()) == [5, 10, 20, 40, 80]
    assert (df["n_seeds"] >= 5).all() and (df["test/accuracy_sem"] > 0).all()
    assert df["test/accuracy"].between(0.5, 1.0).all()
    # more LFs help every label model on conditionally independent LFs
    for _, curve in df.groupby("estimator"):
        assert curve.sort_values("m")["test/accuracy"].is_monotonic_increasing


def test_lm_vary_m_load_rejects_unaggregated_or_incomplete_csv(tmp_path):
    fig = _load("fig_lm_vary_m")
    df = pd.read_csv(fig.DATA)
    df.drop(columns=["n_seeds"]).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(ValueError, match="n_seeds"):
        fig.load(tmp_path / "a.csv")
    pd.concat([df, df]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(ValueError, match="more than one row"):
        fig.load(tmp_path / "b.csv")


def test_every_figure_script_is_tested():
    this = Path(__file__).resolve()
    other = "\n".join(
        p.read_text() for p in sorted((REPO_ROOT / "tests").rglob("test_*.py")) if p != this
    )
    for path in sorted(FIGURES.glob("fig*.py")):
        assert path.stem in TESTED_HERE or f'"{path.stem}"' in other, (
            f"{path.name} is rendered by no test; add it to TESTED_HERE or load it by name in a test"
        )


def test_style_colours_are_fixed_and_figures_do_not_import_jax():
    style = _load("style")
    assert style.color("dawid_skene") == style.COLORS["dawid_skene"]
    assert style.color("some_new_model") == style.color("some_new_model")  # stable fallback
    assert len(set(style.COLORS.values())) == len(style.COLORS)
    code = (
        # as `python paper_figures/fig_lm_vary_m.py` runs it: its folder first on sys.path
        "import runpy, sys; sys.path.insert(0, 'paper_figures'); "
        "runpy.run_path('paper_figures/fig_lm_vary_m.py'); "
        "print('jax' in sys.modules, 'wsbench' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.split() == ["False", "False"]
