"""Chest X-ray triage from radiology reports (IU / Open-i): abnormal = 1, normal = 0.

Data: mirror folder ``iu_chest_xray_reports`` (``indiana_reports.csv``, 3851 reports). **Gold
label:** the Open-i annotators' ``Problems`` column — ``0`` (normal) when it is exactly ``normal``,
else ``1`` (abnormal; 84 of these include "Technical Quality of Image Unsatisfactory").
``Problems`` and ``MeSH`` are the annotation, so **the LFs never read them**: a :class:`Report`
record carries only the free-text ``findings`` and ``impression`` (``indication`` and
``comparison`` are kept but unused by the LFs).

Split (fixed, key-independent): ``u = crc32(str(uid)) / 2**32``; train if ``u < 0.6``, valid if ``u
< 0.8``, else test (held out). LFs were developed on the valid split only.

LFs: a normality-phrase impression ("no acute cardiopulmonary ...", "normal chest"), the absence of
any non-negated finding, and one LF per group of finding terms (cardiomegaly, effusion,
pneumothorax, opacity/consolidation, atelectasis, nodules/granulomas/calcification, degenerative
spine, COPD/ hyperinflation, scarring/fibrosis, devices and surgery, aortic changes, other
findings, stable/chronic findings). Finding terms use a NegEx-style rule (:func:`is_negated`): a
term is negated when a negation cue ("no", "without", "negative for", "free of", ...) occurs before
it in the same clause, or a post-negation ("is not seen", "has resolved", ...) follows it in that
clause. A second normality LF ("normal chest" / "within normal limits" anywhere in the impression)
was dropped during development: it duplicates ``normal_impression`` and is noisy (62% accurate on
valid), and with it the Dawid-Skene valid ROC-AUC was 0.860 with it and 0.935 without it (double
counting of correlated LFs).
"""

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Dataset
from ._common import ABSTAIN, build_dataset, dataset_dir, hash_unit, labeling_function, require_file

NORMAL, ABNORMAL = 0, 1
_COLUMNS = ("uid", "Problems", "indication", "comparison", "findings", "impression")


@dataclass(frozen=True)
class Report:
    """The text of one report (what an LF may read)."""

    uid: str
    indication: str
    comparison: str
    findings: str
    impression: str

    @property
    def text(self) -> str:
        return (self.findings + " " + self.impression).strip()


# ---------------------------------------------------------------------------- negation (NegEx)

_PRE_NEG = re.compile(
    r"\b(no|not|without|negative for|free of|clear of|absence of|absent|resolved|resolution of|"
    r"removed|ruled out|rule out|exclude[sd]?|nor|neither|no evidence of|no signs? of|"
    r"no definite|no visible|no acute|no focal|no large|no significant)\b",
    re.I,
)
_POST_NEG = re.compile(
    r"\b(is|are|was|were)? ?(not (seen|identified|present|visualized|demonstrated|noted|evident|"
    r"appreciated)|absent|resolved|has resolved|have resolved|ruled out)\b",
    re.I,
)
_CLAUSE_SPLIT = re.compile(r"[.;:?!]|\bbut\b|\bhowever\b|\balthough\b|\bexcept\b|\bwhich\b", re.I)


@functools.lru_cache(maxsize=8192)
def clauses(text: str) -> tuple[str, ...]:
    """Split report text into clauses (sentences, cut again at ``;``, "but", "however", ...)."""
    return tuple(c for c in _CLAUSE_SPLIT.split(text) if c and c.strip())


def is_negated(clause: str, start: int, end: int) -> bool:
    """Whether the term at ``clause[start:end]`` is negated (NegEx-style, clause-scoped)."""
    return bool(_PRE_NEG.search(clause[:start]) or _POST_NEG.search(clause[end:]))


def affirmed(pattern: re.Pattern, text: str) -> bool:
    """Whether ``pattern`` occurs at least once in ``text`` without being negated."""
    if not pattern.search(text):
        return False
    for clause in clauses(text):
        for m in pattern.finditer(clause):
            if not is_negated(clause, m.start(), m.end()):
                return True
    return False


# ------------------------------------------------------------------------------------ parsing


def read_reports(path: Path) -> tuple[list[Report], np.ndarray]:
    """Parse ``indiana_reports.csv`` into reports and gold labels (abnormal = 1).

    Raises:
        ValueError: naming the file and line for a missing column, a duplicate or empty uid, or an
            empty ``Problems`` field.
    """
    reports, labels, seen = [], [], set()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path}: header lacks column(s) {missing}; expected at least {list(_COLUMNS)}."
            )
        for row in reader:
            where = f"{path}, line {reader.line_num}"
            if None in row or any(row[c] is None for c in _COLUMNS):
                raise ValueError(f"{where}: wrong number of fields (malformed CSV row).")
            uid = row["uid"].strip()
            if not uid or uid in seen:
                raise ValueError(f"{where}: uid {uid!r} is empty or repeated.")
            seen.add(uid)
            problems = row["Problems"].strip()
            if not problems:
                raise ValueError(
                    f"{where}: empty Problems field (cannot derive the normal/abnormal label)."
                )
            reports.append(Report(uid=uid, **{c: row[c].strip() for c in _COLUMNS[2:]}))
            labels.append(NORMAL if problems.lower() == "normal" else ABNORMAL)
    if not reports:
        raise ValueError(f"{path}: no reports.")
    return reports, np.asarray(labels, dtype=np.int32)


def split_of(uid: str) -> str:
    u = hash_unit(str(uid))
    return "train" if u < 0.6 else "valid" if u < 0.8 else "test"


def load(folder: Path) -> tuple[dict[str, list], dict[str, np.ndarray]]:
    reports, y = read_reports(require_file(folder, "indiana_reports.csv"))
    which = np.array([split_of(r.uid) for r in reports])
    idx = {s: np.flatnonzero(which == s) for s in ("train", "valid", "test")}
    return {s: [reports[i] for i in ix] for s, ix in idx.items()}, {
        s: y[ix] for s, ix in idx.items()
    }


# ---------------------------------------------------------------------------------------- LFs


def _p(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


FINDINGS = {
    "cardiomegaly": _p(
        r"cardiomegaly|enlarged (heart|cardiac)|heart (size )?(is )?(mildly |moderately )?enlarged|"
        r"enlargement of the (heart|cardiac)"
    ),
    "effusion": _p(r"effusions?\b"),
    "pneumothorax": _p(r"pneumothora(x|ces)"),
    "opacity": _p(r"opacit(y|ies)|infiltrates?|consolidation|airspace disease|pneumonia"),
    "atelectasis": _p(r"atelecta(sis|tic)"),
    "nodule": _p(r"nodul(e|es|ar)|granulomas?|calcifi(ed|cation|cations)|\bmass\b"),
    "degenerative": _p(
        r"degenerative|spondylosis|osteophytes?|arthritis|scoliosis|kyphosis|osteopenia"
    ),
    "copd": _p(
        r"emphysema|hyperinflat\w*|hyperexpan\w*|hyperaerat\w*|\bcopd\b|chronic obstructive|"
        r"flatten\w* (of the )?(hemi)?diaphragm"
    ),
    "scarring": _p(
        r"scar(ring)?|fibrosis|fibrotic|thickening|interstitial (markings|prominence|disease)"
    ),
    "device": _p(
        r"sternotomy|surgical|clips?\b|catheter|pacemaker|pacer|stent|\btube\b|hardware|"
        r"prosthe\w*|post ?operative|cabg|wires?\b"
    ),
    "aorta": _p(r"tortuous|tortuosity|ectatic|ectasia|atherosclero\w*|unfolding|aneurysm"),
    "other": _p(
        r"edema|hernia|fracture|deformity|elevat(ed|ion) of the (right|left) hemidiaphragm|"
        r"(right|left) hemidiaphragm is elevated|adenopathy|lymphadenopathy|hilar prominence|"
        r"congestion|cardiomediastinal (silhouette|contour) is (enlarged|widened)|"
        r"widened mediastinum|"
        r"eventration|lesions?\b|suture|foreign body|nipple|low lung volumes|lung volumes are low|"
        r"(decreased|low) lung volumes|hypoinflat\w*|technically limited|limited (study|exam)|"
        r"bronchovascular crowding|crowding|markings|density|densities|lucenc(y|ies)"
    ),
}
_ANY_FINDING = _p("|".join(f"(?:{p.pattern})" for p in FINDINGS.values()))


def _finding_lf(group: str):
    @labeling_function(name=f"finding_{group}", resources=dict(pattern=FINDINGS[group]))
    def lf(x, pattern):
        return ABNORMAL if affirmed(pattern, x.text) else ABSTAIN

    lf.__doc__ = f"Abnormal if a non-negated {group} term occurs in the findings or impression."
    return lf


_NORMAL_IMPRESSION = _p(
    r"^\W*(\d\.\s*)?("
    r"no (acute|active) (cardiopulmonary|pulmonary|cardiac|chest|osseous|radiographic)?\s*"
    r"(disease|abnormality|abnormalities|findings?|process|pathology|issue)|"
    r"normal chest|negative chest|"
    r"no acute (cardiopulmonary|pulmonary) (disease|abnormality|findings?|process)|"
    r"normal (study|exam|examination)|no active disease|clear lungs"
    r")\W*\w*\W*$"
)


@labeling_function()
def normal_impression(x):
    """Normal if the impression is only a normality phrase ("No acute cardiopulmonary disease.")."""
    return NORMAL if _NORMAL_IMPRESSION.match(x.impression) else ABSTAIN


@labeling_function()
def no_affirmed_finding(x):
    """Normal if the report has text and no finding term that is not negated."""
    if not x.text:
        return ABSTAIN
    return NORMAL if not affirmed(_ANY_FINDING, x.text) else ABSTAIN


@labeling_function(
    resources=dict(
        p=_p(
            r"\b(stable|unchanged|again (seen|noted)|redemonstrat\w*|chronic|old|healed|"
            r"mild|small|minimal|borderline|prominent)\b"
        )
    )
)
def stable_or_mild(x, p):
    """Abnormal if the report describes a (stable, chronic, mild...) finding that is not negated."""
    return ABNORMAL if affirmed(p, x.text) else ABSTAIN


CHEST_XRAY_LFS = (
    normal_impression,
    no_affirmed_finding,
    *(_finding_lf(g) for g in FINDINGS),
    stable_or_mild,
)


def report_text(record) -> str:
    """FINDINGS and IMPRESSION of a report joined by a space (what the featuriser reads)."""
    return " ".join(t for t in (record.findings, record.impression) if t)


def make_chest_xray(
    *,
    key=None,
    features="default",
    name: str = "chest_xray",
    mirror: str | None = None,
    data_dir: str | None = None,
) -> Dataset:
    """The IU chest X-ray report triage task (hash split ~60/20/20; 15 LFs; abnormal = 1).

    Args:
        key: ignored (fixed data and split); accepted for API uniformity.
        features: the featuriser for ``Split.x``, fitted on the train split's text only:
            ``"default"`` (word 1-2-gram TF-IDF, ``wsbench.features.DEFAULT_TEXT_FEATURES``), a
            name (``"tfidf"``, ``"hashed"``), a mapping ``{"name": ..., **params}``, a
            ``wsbench.features.TextFeaturizer``, or ``None`` (``x`` stays ``None``).
        name: the dataset name recorded with results.
        mirror, data_dir: passed to :func:`wsbench.data.fetch.fetch`.
    """
    del key
    records, y = load(dataset_dir("iu_chest_xray_reports", mirror=mirror, data_dir=data_dir))
    return build_dataset(name, CHEST_XRAY_LFS, records, y, features=features, text=report_text)
