"""Spouse relation extraction (Snorkel tutorial): is the candidate pair married? (spouse = 1).

Data: mirror folder ``spouse_snorkel`` — the snorkel-tutorials ``spouse`` dev set (2811 candidates,
shipped as ``valid.json``) and test set (2701, ``test.json``) with gold labels, the DBpedia
known-spouses list, and the shipped ``weak_labels`` of the tutorial's nine LFs (``lf_names.json``).
The tutorial's 22k-candidate unlabelled train split is not in the mirror.

Splits: **train = the dev candidates** (the label model sees only their L; no other unlabelled
candidates exist), **valid = the same dev candidates** (with gold, for ``dev_labels`` and LF
development), **test = the test candidates**. So the label model is fit on 2811 rows instead of the
tutorial's 22k.

LFs: the nine LFs of the tutorial, re-implemented here from the text fields (tokens, person spans,
``between_tokens``) and the known-spouses resource; they reproduce the shipped ``weak_labels``
exactly (``tests/tasks/test_tasks.py`` checks every LF on both splits). The tutorial's quirks are
kept on purpose: the left window is ``tokens[:start][-4:-1]`` (three tokens, skipping the one right
before the name), keyword matching is case-sensitive on tokens, and last names are the final
space-separated part of a multi-word name (``None`` for one-word names; the known-spouse last-name
pairs keep only pairs where both names have one, so a one-word name never matches).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Dataset
from ._common import ABSTAIN, build_dataset, dataset_dir, labeling_function, require_file

NEGATIVE, POSITIVE = 0, 1
_WINDOW = 3

SPOUSES = frozenset({"spouse", "wife", "husband", "ex-wife", "ex-husband"})
_FAMILY_BASE = {
    "father", "mother", "sister", "brother", "son", "daughter",
    "grandfather", "grandmother", "uncle", "aunt", "cousin",
}  # fmt: skip
FAMILY = frozenset(_FAMILY_BASE | {f + "-in-law" for f in _FAMILY_BASE})
OTHER = frozenset({"boyfriend", "girlfriend", "boss", "employee", "secretary", "co-worker"})


@dataclass(frozen=True)
class SpouseCandidate:
    """A person pair in a sentence, with the tutorial's preprocessor outputs precomputed."""

    id: str
    sentence: str
    tokens: tuple[str, ...]
    person1_word_idx: tuple[int, int]
    person2_word_idx: tuple[int, int]
    between_tokens: tuple[str, ...]

    @property
    def person_names(self) -> tuple[str, str]:
        """The two names, tokens joined by a space (tutorial ``get_person_text``)."""
        (a0, a1), (b0, b1) = self.person1_word_idx, self.person2_word_idx
        return " ".join(self.tokens[a0 : a1 + 1]), " ".join(self.tokens[b0 : b1 + 1])

    @property
    def person_lastnames(self) -> tuple[str | None, str | None]:
        """Last names (tutorial ``get_person_last_names``): ``None`` for one-word names."""
        return tuple(_last_name(n) for n in self.person_names)

    @property
    def left_tokens(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Left windows (tutorial ``get_left_tokens``: ``tokens[0:start][-1 - 3 : -1]``)."""
        return tuple(
            self.tokens[0 : idx[0]][-1 - _WINDOW : -1]
            for idx in (self.person1_word_idx, self.person2_word_idx)
        )


def _last_name(s: str) -> str | None:
    parts = s.split(" ")
    return parts[-1] if len(parts) > 1 else None


def read_split(path: Path) -> tuple[list[SpouseCandidate], np.ndarray, np.ndarray]:
    """Candidates, gold labels and shipped weak labels of one WRENCH-style JSON file.

    Raises:
        ValueError: naming the file and row id for invalid JSON, a missing field, a label outside
            ``label.json`` ({0, 1}), or a malformed span.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON ({e}).") from e
    if not isinstance(doc, dict) or not doc:
        raise ValueError(f"{path}: expected a non-empty JSON object keyed by example id.")
    cands, labels, weak = [], [], []
    for rid, row in doc.items():
        where = f"{path}, row {rid!r}"
        try:
            data = row["data"]
            label = row["label"]
            tokens = tuple(data["tokens"])
            p1 = tuple(int(i) for i in data["person1_word_idx"])
            p2 = tuple(int(i) for i in data["person2_word_idx"])
            cand = SpouseCandidate(
                id=str(rid), sentence=data["sentence"], tokens=tokens, person1_word_idx=p1,
                person2_word_idx=p2, between_tokens=tuple(data["between_tokens"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{where}: malformed record ({type(e).__name__}: {e}).") from e
        if label not in (0, 1):
            raise ValueError(
                f"{where}: label {label!r} is not in label.json (0 = negative, 1 = positive)."
            )
        for span in (p1, p2):
            if len(span) != 2 or not 0 <= span[0] <= span[1] < len(tokens):
                raise ValueError(
                    f"{where}: person span {list(span)} is outside the {len(tokens)} tokens."
                )
        cands.append(cand)
        labels.append(label)
        weak.append(row.get("weak_labels", []))
    return cands, np.asarray(labels, dtype=np.int32), np.asarray(weak, dtype=np.int32)


def load_known_spouses(folder: Path) -> frozenset[tuple[str, str]]:
    pairs = json.loads(
        require_file(folder, "known_spouses_dbpedia.json").read_text(encoding="utf-8")
    )
    return frozenset(tuple(p) for p in pairs)


# ---------------------------------------------------------------------------------------- LFs


@labeling_function(resources=dict(spouses=SPOUSES))
def lf_husband_wife(x, spouses):
    return POSITIVE if spouses.intersection(x.between_tokens) else ABSTAIN


@labeling_function(resources=dict(spouses=SPOUSES))
def lf_husband_wife_left_window(x, spouses):
    left1, left2 = x.left_tokens
    return POSITIVE if spouses.intersection(left1) or spouses.intersection(left2) else ABSTAIN


@labeling_function()
def lf_same_last_name(x):
    p1_ln, p2_ln = x.person_lastnames
    return POSITIVE if p1_ln and p2_ln and p1_ln == p2_ln else ABSTAIN


@labeling_function()
def lf_married(x):
    return POSITIVE if "married" in x.between_tokens else ABSTAIN


@labeling_function(resources=dict(family=FAMILY))
def lf_familial_relationship(x, family):
    return NEGATIVE if family.intersection(x.between_tokens) else ABSTAIN


@labeling_function(resources=dict(family=FAMILY))
def lf_family_left_window(x, family):
    left1, left2 = x.left_tokens
    return NEGATIVE if family.intersection(left1) or family.intersection(left2) else ABSTAIN


@labeling_function(resources=dict(other=OTHER))
def lf_other_relationship(x, other):
    return NEGATIVE if other.intersection(x.between_tokens) else ABSTAIN


def make_distant_supervision_lfs(known_spouses: frozenset[tuple[str, str]]) -> tuple:
    """The two DBpedia LFs, closed over the known-spouses list (a distant-supervision resource)."""
    # As in the tutorial: pairs of last names of known spouses where both names have a last name.
    last_pairs = frozenset(
        (_last_name(a), _last_name(b)) for a, b in known_spouses if _last_name(a) and _last_name(b)
    )

    @labeling_function(resources=dict(known_spouses=known_spouses))
    def lf_distant_supervision(x, known_spouses):
        p1, p2 = x.person_names
        return POSITIVE if (p1, p2) in known_spouses or (p2, p1) in known_spouses else ABSTAIN

    @labeling_function(resources=dict(last_names=last_pairs))
    def lf_distant_supervision_last_names(x, last_names):
        p1_ln, p2_ln = x.person_lastnames
        hit = (p1_ln, p2_ln) in last_names or (p2_ln, p1_ln) in last_names
        return POSITIVE if p1_ln != p2_ln and hit else ABSTAIN

    return lf_distant_supervision, lf_distant_supervision_last_names


def make_lfs(known_spouses: frozenset[tuple[str, str]]) -> tuple:
    """The nine tutorial LFs in the order of ``lf_names.json``."""
    return (
        lf_husband_wife,
        lf_husband_wife_left_window,
        lf_same_last_name,
        lf_married,
        lf_familial_relationship,
        lf_family_left_window,
        lf_other_relationship,
        *make_distant_supervision_lfs(known_spouses),
    )


def load(folder: Path) -> dict:
    """Records, gold labels, shipped weak labels and the LFs of the spouse folder."""
    out = {"records": {}, "y": {}, "shipped": {}}
    for split, fname in (("valid", "valid.json"), ("test", "test.json")):
        cands, y, weak = read_split(require_file(folder, fname))
        out["records"][split], out["y"][split], out["shipped"][split] = cands, y, weak
    out["lfs"] = make_lfs(load_known_spouses(folder))
    out["lf_names"] = json.loads(require_file(folder, "lf_names.json").read_text(encoding="utf-8"))
    return out


def _sentence(record) -> str:
    """The candidate's sentence (what the featuriser reads)."""
    return record.sentence


def make_spouse(
    *,
    key=None,
    features="default",
    name: str = "spouse",
    mirror: str | None = None,
    data_dir: str | None = None,
) -> Dataset:
    """The spouse task (train = valid = dev 2811, test 2701; 9 LFs; spouse = 1; ~7-8% positive).

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
    d = load(dataset_dir("spouse_snorkel", mirror=mirror, data_dir=data_dir))
    records = {"train": d["records"]["valid"], **d["records"]}
    y = {"train": d["y"]["valid"], **d["y"]}
    return build_dataset(name, d["lfs"], records, y, features=features, text=_sentence)
