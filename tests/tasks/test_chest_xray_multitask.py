"""The hierarchical IU chest X-ray task: gold derivation, LFs at both levels, per-task LF summary."""

import jax.random as jr
import numpy as np
import pandas as pd
import pytest

from tests._utils import MIRROR, needs_mirror
from wsbench.lf import apply_lfs
from wsbench.multitask import (
    MultitaskMajorityVote,
    MultitaskSplit,
    MultitaskWeakLabels,
    task_lf_summaries,
)
from wsbench.tasks import chest_xray
from wsbench.tasks import chest_xray_multitask as cxm

needs_reports = needs_mirror("iu_chest_xray_reports")


def test_finding_family_priority():
    assert cxm.finding_family("normal") == cxm.NOT_APPLICABLE
    assert cxm.finding_family("Cardiomegaly;Pleural Effusion") == cxm.FAMILIES.index("effusion")
    assert cxm.finding_family("Opacity;Cardiomegaly") == cxm.FAMILIES.index("cardiomegaly")
    assert cxm.finding_family("Calcified Granuloma;Opacity") == cxm.FAMILIES.index("opacity")
    assert cxm.finding_family("Nodule;Spine") == cxm.FAMILIES.index("nodule")
    assert cxm.finding_family("Thoracic Vertebrae; Aorta") == cxm.FAMILIES.index("other")
    with pytest.raises(ValueError, match="empty"):
        cxm.finding_family(" ; ")


def test_fine_lfs_respect_negation_and_section():
    r = chest_xray.Report(
        uid="1",
        indication="",
        comparison="",
        findings="No pleural effusion. Heart is enlarged.",
        impression="Cardiomegaly.",
    )
    L = apply_lfs(cxm.FINDING_LFS, [r], n_classes=len(cxm.FAMILIES), progress=False)[0]
    votes = dict(zip((lf.name for lf in cxm.FINDING_LFS), L.tolist(), strict=True))
    card = cxm.FAMILIES.index("cardiomegaly")
    assert votes["effusion_in_findings"] == -1  # negated
    assert votes["cardiomegaly_in_impression"] == card
    assert votes["cardiomegaly_in_findings"] == card  # "heart is enlarged"
    assert votes["finding_priority"] == card and votes["finding_other_only"] == -1
    assert len(cxm.LF_TASK) == len(cxm.LFS) == 25


@needs_reports
def test_valid_split_lf_summary_per_task():
    """Builds the valid split only; prints the per-task LF summary (coverage / accuracy)."""
    folder = MIRROR / "iu_chest_xray_reports"
    records, y = chest_xray.load(folder)
    problems = cxm.read_problems(folder / "indiana_reports.csv")
    fine = np.array([cxm.finding_family(problems[r.uid]) for r in records["valid"]])
    Y = np.stack([y["valid"], fine], axis=1)
    assert np.all((Y[:, 1] == cxm.NOT_APPLICABLE) == (Y[:, 0] == 0))  # the hierarchy holds
    L = np.concatenate(
        [
            apply_lfs(cxm.CHEST_XRAY_LFS, records["valid"], n_classes=2, progress=False),
            apply_lfs(cxm.FINDING_LFS, records["valid"], n_classes=5, progress=False),
        ],
        axis=1,
    )
    split = MultitaskSplit(MultitaskWeakLabels(L, cxm.GRAPH, cxm.LF_TASK), Y=Y)
    assert split.n == 730 and np.bincount(fine, minlength=6).tolist() == [28, 67, 93, 82, 203, 257]
    summaries = task_lf_summaries(split.weak, split.Y, [lf.name for lf in cxm.LFS])
    with pd.option_context("display.width", 200):
        for task, df in summaries.items():
            print(f"\n{task}\n{df[['coverage', 'emp_acc']].round(3)}")
    fine_df = summaries["finding"]
    assert (fine_df["coverage"] > 0.01).all()
    assert (fine_df["emp_acc"] > 0.4).all()  # chance on 5 families is ~0.2-0.3
    assert fine_df.loc["finding_priority", "emp_acc"] > 0.85
    # feasible-set majority vote, per task (fine task scored where it applies)
    mv = MultitaskMajorityVote().fit(split.weak, key=jr.key(0))
    coarse, fine_q = (np.asarray(p) for p in mv.predict_proba(split.weak.L))
    on = Y[:, 0] == 1
    acc_c = float((coarse.argmax(1) == Y[:, 0]).mean())
    acc_f = float((fine_q[on, :5].argmax(1) == Y[on, 1]).mean())
    print(
        f"\nmajority vote (valid): abnormal acc {acc_c:.3f}, finding acc (abnormal rows) {acc_f:.3f}"
    )
    assert acc_c > 0.75 and acc_f > 0.6


@pytest.mark.slow
@needs_reports
def test_full_dataset(tmp_path):
    ds = cxm.make_chest_xray_multitask(mirror=str(MIRROR), data_dir=str(tmp_path))
    assert (ds.train.n, ds.valid.n, ds.test.n) == (2321, 730, 800)
    assert ds.graph == cxm.GRAPH and ds.train.weak.lf_task == cxm.LF_TASK
    single = chest_xray.make_chest_xray(mirror=str(MIRROR), data_dir=str(tmp_path))
    for s in ("train", "valid", "test"):
        mt, st = getattr(ds, s), getattr(single, s)
        np.testing.assert_array_equal(np.asarray(mt.Y)[:, 0], st.y)  # same split, same coarse gold
        np.testing.assert_array_equal(np.asarray(mt.weak.L)[:, :15], st.weak.L)
        L = np.asarray(mt.weak.L)
        assert (L != -1).any(axis=0).all()
    counts = sum(
        np.bincount(np.asarray(getattr(ds, s).Y)[:, 1], minlength=6)
        for s in ("train", "valid", "test")
    )
    assert counts.tolist() == [149, 303, 484, 388, 1148, 1379]
