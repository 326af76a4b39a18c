"""A hierarchical chest X-ray task from the IU / Open-i reports: normal vs abnormal, then the finding.

Tasks (``TaskGraph``): ``abnormal`` (0 = normal, 1 = abnormal) and ``finding`` (0 effusion,
1 cardiomegaly, 2 opacity, 3 nodule, 4 other), defined only under abnormal (5 = not applicable).

**Gold** (never read by the LFs): the annotators' ``Problems`` column. ``abnormal`` is exactly
``wsbench.tasks.chest_xray`` (normal iff ``Problems == "normal"``). ``finding`` is the family of the
report's highest-priority problem term, in the order effusion > cardiomegaly > opacity > nodule >
other (acute pleural/cardiac findings first, then parenchymal, then incidental nodules; a report
coded "Cardiomegaly; Opacity" is cardiomegaly):

- effusion: ``Pleural Effusion``;
- cardiomegaly: ``Cardiomegaly``;
- opacity / consolidation: ``Opacity``, ``Airspace Disease``, ``Infiltrate``, ``Consolidation``,
  ``Pneumonia``, ``Pulmonary Atelectasis``, ``Pulmonary Edema``, ``Pulmonary Congestion``;
- nodule / mass: ``Nodule``, ``Mass``, ``Calcified Granuloma``, ``Granuloma``, ``Granulomatous Disease``;
- other: every other abnormal report (degenerative spine, scarring, devices, aorta, COPD,
  "Technical Quality of Image Unsatisfactory", ...).

Counts over the 3851 reports: effusion 149, cardiomegaly 303, opacity 484, nodule 388, other 1148,
normal (not applicable) 1379 (checked in ``tests/tasks/test_chest_xray_multitask.py``).

Split: the fixed hash split of ``wsbench.tasks.chest_xray`` (``split_of(uid)``, ~60/20/20).

LFs: the 15 report LFs of ``wsbench.tasks.chest_xray`` vote on ``abnormal``; on ``finding``, per
family, one LF reads the impression and one the findings section (a non-negated family term, with the
NegEx-style ``affirmed`` of ``chest_xray``), plus ``finding_priority`` (the priority rule over every
affirmed family term in the whole text) and ``finding_other_only`` (an affirmed non-family finding
and no family term).
"""

import csv
import re
from pathlib import Path

import numpy as np

from ..features import featurize_splits
from ..lf import ABSTAIN, apply_lfs, labeling_function
from ..multitask import MultitaskDataset, MultitaskSplit, MultitaskWeakLabels, TaskGraph
from ._common import SPLITS, dataset_dir, require_file
from .chest_xray import CHEST_XRAY_LFS, FINDINGS, affirmed, load, report_text

FAMILIES = ("effusion", "cardiomegaly", "opacity", "nodule", "other")
NOT_APPLICABLE = len(FAMILIES)
GRAPH = TaskGraph(
    cardinalities=(2, len(FAMILIES)), parents=(None, (0, 1)), names=("abnormal", "finding")
)
GOLD_TERMS = {
    "effusion": {"Pleural Effusion"},
    "cardiomegaly": {"Cardiomegaly"},
    "opacity": {
        "Opacity",
        "Airspace Disease",
        "Infiltrate",
        "Consolidation",
        "Pneumonia",
        "Pulmonary Atelectasis",
        "Pulmonary Edema",
        "Pulmonary Congestion",
    },
    "nodule": {"Nodule", "Mass", "Calcified Granuloma", "Granuloma", "Granulomatous Disease"},
}


def finding_family(problems: str) -> int:
    """Gold ``finding`` label from a ``Problems`` field (``NOT_APPLICABLE`` for ``normal``)."""
    terms = {t.strip() for t in problems.split(";") if t.strip()}
    if not terms:
        raise ValueError("empty Problems field: cannot derive the finding family.")
    if terms == {"normal"}:
        return NOT_APPLICABLE
    for f, fam in enumerate(FAMILIES[:-1]):
        if terms & GOLD_TERMS[fam]:
            return f
    return FAMILIES.index("other")


def read_problems(path: Path) -> dict[str, str]:
    """``uid -> Problems`` (the gold annotation; LFs never see it)."""
    with open(path, encoding="utf-8", newline="") as f:
        return {row["uid"].strip(): row["Problems"].strip() for row in csv.DictReader(f)}


# --------------------------------------------------------------------------------- fine LFs


def _p(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


PATTERNS = {
    "effusion": FINDINGS["effusion"],
    "cardiomegaly": FINDINGS["cardiomegaly"],
    "opacity": _p(f"(?:{FINDINGS['opacity'].pattern})|(?:{FINDINGS['atelectasis'].pattern})|edema"),
    "nodule": _p(r"nodul(e|es|ar)|granulomas?|granulomatous|\bmass\b"),
}
_OTHER = _p(
    "|".join(
        f"(?:{FINDINGS[g].pattern})"
        for g in ("degenerative", "copd", "scarring", "device", "aorta", "other", "pneumothorax")
    )
)


def _section_lf(family: str, section: str):
    f = FAMILIES.index(family)

    @labeling_function(name=f"{family}_in_{section}", resources=dict(p=PATTERNS[family]))
    def lf(x, p):
        return f if affirmed(p, getattr(x, section)) else ABSTAIN

    lf.__doc__ = f"{family} if a non-negated {family} term occurs in the {section} section."
    return lf


def _priority(text: str) -> int:
    for f, fam in enumerate(FAMILIES[:-1]):
        if affirmed(PATTERNS[fam], text):
            return f
    return ABSTAIN


@labeling_function()
def finding_priority(x):
    """The highest-priority family with an affirmed term anywhere in the report."""
    return _priority(x.text)


@labeling_function()
def finding_other_only(x):
    """``other`` if a non-family finding is affirmed and no family term is."""
    if _priority(x.text) != ABSTAIN:
        return ABSTAIN
    return FAMILIES.index("other") if affirmed(_OTHER, x.text) else ABSTAIN


FINDING_LFS = (
    *(_section_lf(fam, sec) for fam in FAMILIES[:-1] for sec in ("impression", "findings")),
    finding_priority,
    finding_other_only,
)
LFS = (*CHEST_XRAY_LFS, *FINDING_LFS)
LF_TASK = (0,) * len(CHEST_XRAY_LFS) + (1,) * len(FINDING_LFS)


def make_chest_xray_multitask(
    *,
    key=None,
    name: str = "chest_xray_multitask",
    mirror: str | None = None,
    data_dir: str | None = None,
    features=None,
) -> MultitaskDataset:
    """The hierarchical IU chest X-ray task (see the module docstring): L, lf_task, gold ``Y (n, 2)``.

    Args:
        key: ignored (fixed data and split); accepted for API uniformity.
        name: the dataset name; mirror, data_dir: passed to :func:`wsbench.data.fetch.fetch`.
        features: a featuriser spec for ``MultitaskSplit.x`` fitted on the train split's report
            text only (``"default"``: the word 1-2-gram TF-IDF of ``wsbench.tasks.chest_xray``);
            ``None``: no ``x``.
    """
    del key
    folder = dataset_dir("iu_chest_xray_reports", mirror=mirror, data_dir=data_dir)
    records, y = load(folder)
    problems = read_problems(require_file(folder, "indiana_reports.csv"))
    xs = featurize_splits(features, {s: [report_text(r) for r in records[s]] for s in SPLITS})
    splits = {}
    for s in SPLITS:
        fine = np.array([finding_family(problems[r.uid]) for r in records[s]], dtype=np.int32)
        Y = np.stack([y[s], fine], axis=1)
        L_coarse = apply_lfs(CHEST_XRAY_LFS, records[s], n_classes=2, progress=False)
        L_fine = apply_lfs(FINDING_LFS, records[s], n_classes=len(FAMILIES), progress=False)
        L = np.concatenate([L_coarse, L_fine], axis=1).astype(np.int32)
        x = None if xs is None else xs[s]
        splits[s] = MultitaskSplit(MultitaskWeakLabels(L, GRAPH, LF_TASK), Y=Y, x=x)
    return MultitaskDataset(name=name, lf_names=tuple(lf.name for lf in LFS), **splits)
