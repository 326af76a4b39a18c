"""The MeTaL table renders from a small aggregated CSV: cells, measured deltas beside published."""

import subprocess
import sys

import pandas as pd
import pytest

from tests._utils import REPO_ROOT, load_figure_script

MODELS = ("majority_vote", "independent", "metal", "endmodel_majority_vote",
          "endmodel_independent", "endmodel_metal", "endmodel_dev")  # fmt: skip


def _csv(tmp_path):
    row = {"dataset": "chest_xray_multitask", "tasks": "abnormal,finding", "n_seeds": 3}
    for i, m in enumerate(MODELS):
        for t, base in (("abnormal", 0.9), ("finding", 0.6)):
            for metric in ("accuracy", "f1"):
                col = f"test/{m}_{t}_{metric}"
                row[col], row[f"{col}_sem"] = base + 0.01 * i, 0.004
                row[f"{col}_lo"], row[f"{col}_hi"] = base + 0.01 * i - 0.03, base + 0.01 * i + 0.03
    path = tmp_path / "metal.csv"
    pd.DataFrame([row]).to_csv(path, index=False)
    return path


def test_table_metal_cells_and_deltas(tmp_path):
    table = load_figure_script("table_metal")
    text = table.main(["--data", str(_csv(tmp_path)), "--out", str(tmp_path)])
    assert text == (tmp_path / "table_metal.md").read_text()
    # EM on MeTaL is model 5: 60 + 5 = 65.0 on the fine task, with its bootstrap interval
    assert "| chest_xray_multitask | finding (macro-F1) | 60.0 ± 0.4 [57.0, 63.0] |" in text
    assert "65.0 ± 0.4 [62.0, 68.0]" in text
    # measured gains (fine macro-F1, mean over tasks) beside the published ones
    assert "| vs majority vote (EM on MV) | +2.0 | +2.0 | +6.8 |" in text
    assert "| vs data programming per task (EM on per-task MC) | +1.0 | +1.0 | +4.1 |" in text
    assert "| vs supervised on the dev set (EM on dev gold only) | -1.0 | -1.0 | +20.2 |" in text
    assert "| vs MatrixCompletion per task | +1.0 | +1.0 |" in text  # label models alone
    assert (tmp_path / "fig_metal.png").stat().st_size > 1000


def test_table_metal_rejects_incomplete_csv(tmp_path):
    table = load_figure_script("table_metal")
    with pytest.raises(ValueError, match="does not exist"):
        table.load(tmp_path / "missing.csv")
    df = pd.read_csv(_csv(tmp_path)).drop(columns=["test/endmodel_dev_finding_f1"])
    df.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="endmodel_dev_finding_f1"):
        table.load(tmp_path / "bad.csv")


@pytest.mark.slow  # a subprocess importing matplotlib: ~6 s on a shared CPU
def test_table_metal_imports_no_jax(tmp_path):
    code = (
        "import runpy, sys; sys.path.insert(0, 'paper_figures'); "
        "runpy.run_path('paper_figures/table_metal.py', run_name='not_main'); "
        "print('jax' in sys.modules, 'wsbench' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]
