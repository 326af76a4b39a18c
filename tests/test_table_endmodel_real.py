"""The real end-model table, the real scaling figure and the scale table render from small CSVs."""

import pandas as pd
import pytest

from tests._utils import load_figure_script

MODELS = ("labelmodel", "majority_vote", "endmodel", "endmodel_mv", "endmodel_gold", "endmodel_dev")


def _row(dataset, n, value):
    row = {"estimator": "snorkel_label_model", "endmodel": "logreg", "dataset": dataset,
           "n_unlabeled": n, "n_seeds": 3, "advantage/estimate": 0.05,
           "advantage/lm_minus_mv": 0.02}  # fmt: skip
    for i, m in enumerate(MODELS):
        for metric in ("accuracy", "f1"):
            row[f"test/{m}_{metric}"] = value + 0.01 * i
            row[f"test/{m}_{metric}_sem"] = 0.005
    row["test/endmodel_accuracy_lo"], row["test/endmodel_accuracy_hi"] = value - 0.03, value + 0.03
    row["slice/short_text/n"] = 10
    row["slice/short_text/endmodel_accuracy"] = 0.5
    return row


def test_table_endmodel_real(tmp_path):
    csv = tmp_path / "t.csv"
    pd.DataFrame([_row("youtube", 1586, 0.9), _row("sms", 4574, 0.8)]).to_csv(csv, index=False)
    table = load_figure_script("table_endmodel_real")
    table.main(["--data", str(csv), "--out", str(tmp_path)])
    text = (tmp_path / "table_endmodel_real.md").read_text()
    assert "| youtube (accuracy) | snorkel_label_model | 90.0 ± 0.5 | 91.0 ± 0.5 | " in text
    assert "92.0 ± 0.5 [87.0, 93.0]" in text  # the soft-label end model with its bootstrap CI
    assert "| 5.0 | +2.0 | yes | 3 |" in text
    assert "(2/2 rows)" in text and "n = 10" in text


def test_fig_scaling_real(tmp_path):
    csv = tmp_path / "s.csv"
    rows = [
        _row(d, n, 0.7 + 0.02 * i)
        for d in ("youtube", "sms")
        for i, n in enumerate((16, 100, 1586))
    ]
    pd.DataFrame(rows).to_csv(csv, index=False)
    fig = load_figure_script("fig_scaling_real")
    out = fig.main(out=tmp_path / "f.png", data=csv)
    assert out.is_file() and out.stat().st_size > 1000


def test_table_cross_modal_states_the_construction(tmp_path):
    row = _row("chest_xray_constructed", 4708, 0.85)
    for i, m in enumerate(MODELS):
        row[f"test/{m}_roc_auc"], row[f"test/{m}_roc_auc_sem"] = 0.9 + 0.01 * i, 0.01
    row["test/endmodel_gold_roc_auc"] = 0.98  # 6 points above the soft-label CNN
    csv = tmp_path / "c.csv"
    pd.DataFrame([row]).to_csv(csv, index=False)
    table = load_figure_script("table_cross_modal")
    table.main(["--data", str(csv), "--out", str(tmp_path)])
    text = (tmp_path / "table_cross_modal.md").read_text()
    assert text.startswith("**CONSTRUCTED PAIRING, NOT REAL**")
    assert "| image CNN on label-model soft labels | 92.0 ± 1.0 |" in text
    assert "+6.0 points (NOT within 5)" in text


def test_fig_scaling_real_slopes_recover_a_known_slope():
    fig = load_figure_script("fig_scaling_real")
    ns = (16, 160, 1600)  # one decade apart
    rows = [_row("youtube", n, 0.7 + 0.05 * i) for i, n in enumerate(ns)]
    rows[1]["test/endmodel_accuracy_sem"] = 0.05  # a noisy point does not change an exact line
    s = fig.slopes(pd.DataFrame(rows))
    em = s[s.curve.str.startswith("end model on label-model")].iloc[0]
    assert em.slope_per_decade == pytest.approx(0.05)
    assert em.se > 0 and em.z == pytest.approx(em.slope_per_decade / em.se)
    flat = [_row("sms", n, 0.8) for n in ns]
    assert fig.slopes(pd.DataFrame(flat)).slope_per_decade.abs().max() < 1e-12


def test_table_scale_renders_one_block_per_device(tmp_path):
    rows = [
        dict(kind="fit_predict", estimator=e, n=n, m=50, k=2, fits=1, median_s=t * n / 1e6,
             stats_gb_per_s=float("nan"), backend=b, device_kind=d, jax_version="0.10.2")
        for b, d in (("cpu", "cpu"), ("gpu", "NVIDIA H200"))
        for e, t in (("majority_vote", 0.04), ("dawid_skene", 12.5))
        for n in (1_000_000, 10_000_000)
    ]  # fmt: skip
    rows.append(dict(kind="statistics", estimator="matrix_completion", n=1_000_000, m=50, k=2,
                     fits=0, median_s=0.5, stats_gb_per_s=0.1, backend="cpu", device_kind="cpu",
                     jax_version="0.10.2"))  # fmt: skip
    rows.append(dict(rows[-1], kind="vmapped_sweep", fits=1000, median_s=2.0, stats_gb_per_s=None))
    csv = tmp_path / "scale.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    table = load_figure_script("table_scale")
    table.main(["--data", str(csv), "--out", str(tmp_path)])
    text = (tmp_path / "table_scale.md").read_text()
    assert "## cpu (cpu; jax 0.10.2)" in text and "## NVIDIA H200 (gpu; jax 0.10.2)" in text
    assert "| estimator | n = 1e6 | n = 1e7 |" in text
    assert "| dawid_skene | 12.5 | 125 |" in text and "| majority_vote | 0.04 | 0.4 |" in text
    assert "| 1e6 | 0.5 | 0.1 |" in text
    assert "1000 MatrixCompletion fits" in text and "(2 ms per fit)" in text
    pd.DataFrame([dict(rows[0], kind="nonsense")]).to_csv(csv, index=False)
    with pytest.raises(ValueError, match="unknown kinds"):
        table.main(["--data", str(csv), "--out", str(tmp_path)])


def test_table_scale_without_data_says_how_to_make_it(tmp_path):
    table = load_figure_script("table_scale")
    with pytest.raises(SystemExit, match="run the scale benchmark first"):
        table.main(["--data", "--out", str(tmp_path)])
