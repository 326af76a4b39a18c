"""paper_figures/table_real.py renders the real-data table (CSV + Markdown) without JAX."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "paper_figures" / "table_real.py"
COMMITTED = REPO / "paper_figures" / "data" / "real_table.csv"


def _module():
    spec = importlib.util.spec_from_file_location("table_real", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _toy_csv(path: Path, mod) -> Path:
    rows = []
    for est in ("majority_vote", "dawid_skene"):
        for dev in ("none", "class_balance"):
            for dataset in mod.METRICS:
                row = {"estimator": est, "dataset": dataset, "dev_labels": dev, "n_seeds": 1}
                for m in ("accuracy", "f1", "roc_auc", "log_loss"):
                    v = 0.8 if est == "majority_vote" else 0.7
                    if est == "dawid_skene" and dataset == "wrench_youtube" and m == "accuracy":
                        v = 0.4  # below chance (binary)
                    row[f"test/{m}"] = v
                    row[f"test/{m}_lo"], row[f"test/{m}_hi"] = v - 0.05, v + 0.04
                rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_renders_csv_and_markdown(tmp_path):
    mod = _module()
    data = _toy_csv(tmp_path / "real_table.csv", mod)
    none = str(tmp_path / "absent.csv")  # no peer or published rows in this test
    mod.main(["--data", str(data), "--peers", none, "--published", none,
              "--out", str(tmp_path / "out")])  # fmt: skip
    long = pd.read_csv(tmp_path / "out" / "table_real.csv")
    n_cols = sum(len(v) for v in mod.METRICS.values())
    assert len(long) == 2 * 2 * n_cols
    chest = long[long.dataset == "chest_xray"]
    assert set(chest.metric) == {"roc_auc", "accuracy"}
    assert set(long[long.dataset == "spouse"].metric) == {"f1"}
    md = (tmp_path / "out" / "table_real.md").read_text()
    assert "| dev_labels | estimator |" in md and "chest_xray (roc_auc)" in md
    assert "**80.0 [75.0, 84.0]**" in md and "70.0 [65.0, 74.0] v" in md
    assert "40.0 [35.0, 44.0] !v" in md  # below chance and below majority vote
    assert "± 0.0" not in md
    assert md.count("\n| none |") == 2 and md.count("\n| class_balance |") == 2
    flagged = long[long.below_chance]
    assert (
        list(zip(flagged.dataset, flagged.metric, strict=True))
        == [("wrench_youtube", "accuracy")] * 2
    )
    assert not long[long.estimator == "majority_vote"].below_majority_vote.any()
    assert long[long.estimator == "dawid_skene"].below_majority_vote.all()


def test_peers_and_published_cells_are_rows(tmp_path):
    mod = _module()
    data = _toy_csv(tmp_path / "real_table.csv", mod)
    peers = tmp_path / "peers.csv"
    pd.DataFrame([{"estimator": "snorkel_label_model", "dataset": "wrench_youtube",
                   "dev_labels": "none", "test/accuracy": 0.84, "test/f1": 0.81}]).to_csv(
        peers, index=False)  # fmt: skip
    published = tmp_path / "published.csv"
    pd.DataFrame([{"wrench_method": "MV", "dataset": "wrench_youtube", "metric": "accuracy",
                   "value": 84.0, "std": 0.0}]).to_csv(published, index=False)  # fmt: skip
    mod.main(["--data", str(data), "--peers", str(peers), "--published", str(published),
              "--out", str(tmp_path / "out")])  # fmt: skip
    md = (tmp_path / "out" / "table_real.md").read_text()
    assert "| none | peer: snorkel_label_model | 84.0 |" in md
    assert "| published | WRENCH MV | 84.00 |" in md


def test_missing_columns_are_named(tmp_path):
    mod = _module()
    path = tmp_path / "bad.csv"
    pd.DataFrame({"estimator": ["mv"], "dataset": ["sms"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \[.*'dev_labels'"):
        mod.load(path)
    with pytest.raises(ValueError, match="does not exist"):
        mod.load(tmp_path / "absent.csv")


def test_committed_table_renders_without_jax(tmp_path):
    if not COMMITTED.is_file():
        pytest.skip("paper_figures/data/real_table.csv not committed yet")
    code = (
        "import sys, runpy; sys.argv = ['table_real.py', '--out', sys.argv[1]]; "
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__'); "
        "assert 'jax' not in sys.modules, 'table_real.py imported JAX'"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], check=True, capture_output=True, text=True
    )
    long = pd.read_csv(tmp_path / "table_real.csv")
    mod = _module()
    assert set(long.dataset) <= set(mod.METRICS)
    assert set(long.dev_labels) <= set(mod.DEV_LABELS)
    assert (tmp_path / "table_real.md").read_text().startswith("| dev_labels | estimator |")
