"""paper_figures/fig_tanda.py renders from the files tanda.export writes (hand-made here: no JAX run)."""

import numpy as np
import pandas as pd
import pytest

from tests._utils import load_figure_script

POLICIES = ["lstm", "none", "basic", "heuristic", "mean_field"]  # unsorted on purpose


def _write(folder, stem, with_extras=True, metric=None):
    table = pd.DataFrame(
        {
            "task": "t",
            "policy": POLICIES,
            "endmodel": "CNN",
            "test/accuracy": [0.8, 0.6, 0.7, 0.72, 0.79],
            "test/accuracy_sem": [0.01, 0.02, 0.01, 0.01, 0.02],
            "n_seeds": 3,
        }
    )
    if metric is not None:  # a table that reports F1 (tanda.export's metric column)
        table = table.assign(**{"metric": metric, "test/f1": 0.3, "test/f1_sem": 0.02})
    table.to_csv(folder / f"{stem}.csv", index=False)
    if not with_extras:
        return
    names = ["a", "b", "c"]
    pd.DataFrame({"tf": names, "prob": [0.5, 0.3, 0.2], "prob_sem": 0.01, "n_seeds": 3}).to_csv(
        folder / f"{stem}_tf_probs.csv", index=False
    )
    rows = [
        {"from": f, "to": t, "prob": 1 / 3, "n_seeds": 3} for f in [*names, "start"] for t in names
    ]
    pd.DataFrame(rows).to_csv(folder / f"{stem}_transitions.csv", index=False)
    imgs = {k: np.full((4, 8, 8, 3), 100, np.uint8) for k in ["original", *POLICIES]}
    np.savez(folder / f"{stem}_samples.npz", **imgs)


def test_fig_tanda_renders_every_task(tmp_path):
    fig = load_figure_script("fig_tanda")
    _write(tmp_path, "tanda_one")
    _write(tmp_path, "tanda_two", with_extras=False, metric="f1")  # other panels blank
    pd.DataFrame({"policy": POLICIES}).to_csv(tmp_path / "tanda_two_seeds.csv")  # not a task
    assert fig.tasks(tmp_path) == ["tanda_one", "tanda_two"]
    assert list(fig.load("tanda_one", tmp_path)["accuracy"]["policy"]) == list(fig.POLICIES)
    fig_obj = fig.plot(tmp_path)
    assert fig_obj.axes[0].get_ylabel() == "test accuracy (%)"
    assert [a.get_ylabel() for a in fig_obj.axes if a.get_ylabel().startswith("test F1")]
    out = fig.main(out=tmp_path / "fig.png", data=tmp_path)
    assert out.is_file() and out.stat().st_size > 1000
    md = (tmp_path / "table_tanda.md").read_text().splitlines()
    assert len(md) == 2 + 2 * len(POLICIES) + 2  # header, a row per (task, policy), the note
    lstm = next(line for line in md if "| tanda_one | lstm |" in line)
    assert "| accuracy | 80.0 +- 1.0 |" in lstm
    assert any("| tanda_two | none | f1 | 30.0 +- 2.0 |" in line for line in md)


def test_fig_tanda_errors(tmp_path):
    fig = load_figure_script("fig_tanda")
    with pytest.raises(ValueError, match="no tanda_"):
        fig.main(out=tmp_path / "fig.png", data=tmp_path)
    pd.DataFrame({"task": ["t"], "policy": ["none"]}).to_csv(
        tmp_path / "tanda_bad.csv", index=False
    )
    with pytest.raises(ValueError, match="lacks column"):
        fig.load("tanda_bad", tmp_path)
