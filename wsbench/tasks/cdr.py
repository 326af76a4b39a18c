"""Chemical-induced disease (CID) relation extraction from the BioCreative V CDR corpus (CID = 1).

Data: mirror folder ``bc5cdr_pubtator`` — the three PubTator files of BC5CDR (500 PubMed abstracts
each) with gold chemical/disease mentions (MeSH ids) and document-level CID relations. Splits are
the corpus's own: train = ``CDR_TrainingSet``, valid = ``CDR_DevelopmentSet``, test =
``CDR_TestSet``.

Candidates (our construction, in the spirit of the Snorkel CDR tutorial / WRENCH ``cdr``, which
build sentence-level candidates but whose candidate files are not available):

1. The text ``title + " " + abstract`` is cut into sentences: the title is one sentence, and the
   abstract is split after ``.``, ``?`` or ``!`` followed by whitespace and an upper-case letter,
   digit or bracket; a boundary inside a gold mention is dropped (the two sentences are merged).
2. Gold mentions with MeSH id ``-1`` are dropped; a mention with several ids (``D1|D2``) counts for
   each.
3. One candidate per (document, sentence, chemical id, disease id) that co-occur in the sentence;
   its text context is the closest (chemical mention, disease mention) pair of that sentence
   (fewest characters apart).
4. Label 1 iff (chemical id, disease id) is a CID relation of the document (document-level gold, so
   a candidate is positive even when its sentence does not state the relation; cross-sentence
   relations yield no candidate).

LFs read only the sentence, the two mention strings and spans, and the other mentions' spans (never
the relations). There is no distant supervision: the tutorial's CTD knowledge-base LFs cannot be
built from the mirror, so every LF is a text pattern or a distance rule. LFs were developed on the
valid split (the development set).
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Dataset
from ._common import ABSTAIN, build_dataset, dataset_dir, labeling_function, require_file

NEGATIVE, POSITIVE = 0, 1
FILES = {
    "train": "CDR_TrainingSet.PubTator.txt",
    "valid": "CDR_DevelopmentSet.PubTator.txt",
    "test": "CDR_TestSet.PubTator.txt",
}
_SENT_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9(\[])")


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str
    type: str  # "Chemical" or "Disease"
    ids: tuple[str, ...]


@dataclass
class Document:
    pmid: str
    title: str
    abstract: str
    mentions: list[Mention]
    relations: set[tuple[str, str]]

    @property
    def text(self) -> str:
        return self.title + " " + self.abstract


@dataclass(frozen=True)
class CDRCandidate:
    """A (chemical, disease) pair in one sentence, with the closest mention pair as context.

    Spans are character offsets into ``sentence``; ``other_chemicals`` / ``other_diseases`` are the
    spans of the sentence's other mentions (of other ids).
    """

    pmid: str
    sentence_index: int
    sentence: str
    chemical_id: str
    disease_id: str
    chemical: str
    disease: str
    chemical_span: tuple[int, int]
    disease_span: tuple[int, int]
    other_chemicals: tuple[tuple[int, int], ...]
    other_diseases: tuple[tuple[int, int], ...]

    @property
    def chemical_first(self) -> bool:
        return self.chemical_span[0] < self.disease_span[0]

    @property
    def between(self) -> str:
        """The text strictly between the two mentions."""
        a, b = sorted((self.chemical_span, self.disease_span))
        return self.sentence[a[1] : b[0]]

    @property
    def left(self) -> str:
        """The sentence text before the first of the two mentions."""
        return self.sentence[: min(self.chemical_span[0], self.disease_span[0])]

    @property
    def n_between(self) -> int:
        """Number of whitespace tokens between the mentions."""
        return len(self.between.split())


# ------------------------------------------------------------------------------------ parsing


def parse_pubtator(text: str, *, source: str = "<string>") -> list[Document]:
    """Parse PubTator text (title/abstract lines, mention lines, CID relation lines).

    Raises:
        ValueError: naming ``source`` and the line number for a malformed line, a mention whose
            offsets do not match its text, a relation before the document's title, or an unknown
            entity type.
    """
    docs: list[Document] = []
    cur: Document | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        where = f"{source}, line {lineno}"
        if not line.strip():
            cur = None
            continue
        if "|t|" in line[:20] or "|a|" in line[:20]:
            pmid, kind, body = line.split("|", 2)
            if kind == "t":
                cur = Document(pmid=pmid, title=body, abstract="", mentions=[], relations=set())
                docs.append(cur)
            elif cur is None or cur.pmid != pmid:
                raise ValueError(f"{where}: abstract of {pmid} without a preceding title line.")
            else:
                cur.abstract = body
            continue
        fields = line.split("\t")
        if cur is None or fields[0] != cur.pmid:
            raise ValueError(f"{where}: annotation for {fields[0]!r} outside its document block.")
        if len(fields) == 4 and fields[1] == "CID":
            cur.relations.add((fields[2], fields[3]))
            continue
        if len(fields) < 6:
            raise ValueError(
                f"{where}: expected '<pmid>\\t<start>\\t<end>\\t<text>\\t<type>\\t<ids>' or "
                f"'<pmid>\\tCID\\t<chemical>\\t<disease>', got {len(fields)} tab-separated fields."
            )
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise ValueError(
                f"{where}: mention offsets {fields[1]!r}, {fields[2]!r} are not integers."
            ) from None
        if fields[4] not in ("Chemical", "Disease"):
            raise ValueError(
                f"{where}: entity type must be Chemical or Disease, got {fields[4]!r}."
            )
        if cur.text[start:end] != fields[3]:
            raise ValueError(
                f"{where}: mention text {fields[3]!r} does not match the document text at "
                f"[{start}, {end}) ({cur.text[start:end]!r})."
            )
        ids = tuple(i for i in fields[5].split("|") if i and i != "-1")
        cur.mentions.append(Mention(start=start, end=end, text=fields[3], type=fields[4], ids=ids))
    return docs


def sentence_spans(doc: Document) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``doc.text`` (see the module docstring)."""
    text = doc.text
    cuts = {len(doc.title) + 1} if doc.abstract else set()
    base = len(doc.title) + 1
    cuts |= {base + m.end() for m in _SENT_END.finditer(doc.abstract)}
    cuts = {c for c in cuts if not any(m.start < c < m.end for m in doc.mentions)}
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(text)), len(text)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if text[a:b].strip()]


def candidates(doc: Document) -> tuple[list[CDRCandidate], list[int]]:
    """Sentence-level candidates of one document and their gold labels."""
    text = doc.text
    out, labels = [], []
    for s_idx, (a, b) in enumerate(sentence_spans(doc)):
        inside = [m for m in doc.mentions if a <= m.start and m.end <= b and m.ids]
        chems = defaultdict(list)
        dises = defaultdict(list)
        for m in inside:
            for i in m.ids:
                (chems if m.type == "Chemical" else dises)[i].append(m)
        sentence = text[a:b]
        for c_id in sorted(chems):
            for d_id in sorted(dises):
                c, d = min(
                    ((c, d) for c in chems[c_id] for d in dises[d_id]),
                    key=lambda p: (
                        max(p[0].start, p[1].start) - min(p[0].end, p[1].end),
                        p[0].start,
                        p[1].start,
                    ),
                )
                out.append(
                    CDRCandidate(
                        pmid=doc.pmid,
                        sentence_index=s_idx,
                        sentence=sentence,
                        chemical_id=c_id,
                        disease_id=d_id,
                        chemical=c.text,
                        disease=d.text,
                        chemical_span=(c.start - a, c.end - a),
                        disease_span=(d.start - a, d.end - a),
                        other_chemicals=tuple(
                            sorted(
                                {
                                    (m.start - a, m.end - a)
                                    for m in inside
                                    if m.type == "Chemical" and c_id not in m.ids
                                }
                            )
                        ),
                        other_diseases=tuple(
                            sorted(
                                {
                                    (m.start - a, m.end - a)
                                    for m in inside
                                    if m.type == "Disease" and d_id not in m.ids
                                }
                            )
                        ),
                    )  # fmt: skip
                )
                labels.append(int((c_id, d_id) in doc.relations))
    return out, labels


def read_split(path: Path) -> tuple[list[CDRCandidate], np.ndarray]:
    docs = parse_pubtator(Path(path).read_text(encoding="utf-8"), source=str(path))
    if not docs:
        raise ValueError(f"{path}: no documents.")
    cands, labels = [], []
    for doc in docs:
        c, y = candidates(doc)
        cands += c
        labels += y
    return cands, np.asarray(labels, dtype=np.int32)


# ---------------------------------------------------------------------------------------- LFs

_NEG_WORDS = r"\b(no|not|without|neither|nor|absence|lack|failed to|did not|does not|unlikely)\b"


def _re(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


def _interposed(x: CDRCandidate, spans: tuple[tuple[int, int], ...]) -> bool:
    """Whether one of ``spans`` lies between the candidate's two mentions."""
    a, b = sorted((x.chemical_span, x.disease_span))
    return any(a[1] <= s and e <= b[0] for s, e in spans)


@labeling_function(
    resources=dict(p=_re(r"^\s*-?\s*(induced|associated|related|evoked|provoked|dependent)\b"))
)
def lf_chemical_induced(x, p):
    """Positive for "<chemical>-induced <disease>" (nothing interposed)."""
    ok = x.chemical_first and p.search(x.between) and x.n_between <= 4
    return POSITIVE if ok and not _interposed(x, x.other_diseases + x.other_chemicals) else ABSTAIN


@labeling_function(
    resources=dict(
        p=_re(r"\b(induced|caused|produced|provoked|precipitated|triggered|elicited) by\b")
    )
)
def lf_disease_induced_by(x, p):
    """Positive for "<disease> induced/caused by <chemical>"."""
    return (
        POSITIVE if not x.chemical_first and p.search(x.between) and x.n_between <= 12 else ABSTAIN
    )


_CAUSE = _re(
    r"\b(caus\w*|induc\w*|produc\w*|lead\w* to|led to|result\w* in|provok\w*|elicit\w*|"
    r"precipitat\w*|trigger\w*|develop\w*|associated with|contribut\w* to)\b"
)


@labeling_function(resources=dict(p=_CAUSE, neg=_re(_NEG_WORDS)))
def lf_chemical_causes(x, p, neg):
    """Positive for "<chemical> causes/induces/leads to ... <disease>".

    Within 10 tokens, with no negation and no other chemical in between.
    """
    ok = (
        x.chemical_first and x.n_between <= 10 and p.search(x.between) and not neg.search(x.between)
    )
    return POSITIVE if ok and not _interposed(x, x.other_chemicals) else ABSTAIN


@labeling_function(resources=dict(p=_re(r"\b(following|after|due to|secondary to|from)\b.{0,40}$")))
def lf_disease_after_chemical(x, p):
    """Positive for "<disease> following/after/due to (... of) <chemical>" within 8 tokens."""
    ok = not x.chemical_first and x.n_between <= 8 and p.search(x.between)
    return POSITIVE if ok and not _interposed(x, x.other_chemicals) else ABSTAIN


@labeling_function(
    resources=dict(p=_re(r"\b(risk|incidence|occurrence|development|onset|cases?) of\b"))
)
def lf_risk_of(x, p):
    """ "risk/incidence/development of <disease>" with the chemical nearby."""
    return POSITIVE if x.n_between <= 15 and p.search(x.between + " " + x.left[-40:]) else ABSTAIN


_TREAT = _re(
    r"\b(treat\w*|therap\w*|prevent\w*|protect\w*|revers\w*|attenuat\w*|inhibit\w*|improv\w*|"
    r"alleviat\w*|ameliorat\w*|manag\w*|antagoniz\w*|block\w*|suppress\w*|relie\w*|efficac\w*|"
    r"effective|benefi\w*|used for|against|control of)\b"
)


@labeling_function(resources=dict(p=_TREAT, cause=_CAUSE))
def lf_treats(x, p, cause):
    """Treatment/prevention vocabulary between the mentions (and no causal cue): not CID."""
    return NEGATIVE if p.search(x.between) and not cause.search(x.between) else ABSTAIN


@labeling_function(
    resources=dict(p=_re(r"\b(patients|subjects|children|women|men|cases|rats|mice) (with|of)\s*$"))
)
def lf_patients_with_disease(x, p):
    """Negative for "patients with <disease> ... <chemical>" (the condition, not an effect)."""
    if x.chemical_first:
        return ABSTAIN
    return NEGATIVE if p.search(x.left) else ABSTAIN


@labeling_function(resources=dict(neg=_re(_NEG_WORDS)))
def lf_negated(x, neg):
    """A negation between the mentions: not CID."""
    return NEGATIVE if neg.search(x.between) else ABSTAIN


@labeling_function()
def lf_far_apart(x):
    """More than 20 tokens between the mentions: not CID."""
    return NEGATIVE if x.n_between > 20 else ABSTAIN


@labeling_function()
def lf_closer_chemical(x):
    """Another chemical lies between the pair (the disease is closer to another chemical)."""
    return NEGATIVE if _interposed(x, x.other_chemicals) else ABSTAIN


@labeling_function(
    resources=dict(
        p=_re(
            r"\b(level|levels|concentration|concentrations|measured|plasma|serum|dose-response)\b"
        )
    )
)
def lf_measurement(x, p):
    """Measurement language (levels, concentrations) between the mentions: not CID."""
    return NEGATIVE if p.search(x.between) else ABSTAIN


@labeling_function(
    resources=dict(
        p=_re(
            r"\b(may|might|whether|investigat\w*|evaluat\w*|examin\w*|assess\w*|compar\w*|stud(y|ied))\b"
        )
    )
)
def lf_hypothesis(x, p):
    """Study-design or hedged language before/between the pair: not a stated relation."""
    return NEGATIVE if p.search(x.left + x.between) and not _CAUSE.search(x.between) else ABSTAIN


CDR_LFS = (
    lf_chemical_induced,
    lf_disease_induced_by,
    lf_chemical_causes,
    lf_disease_after_chemical,
    lf_risk_of,
    lf_treats,
    lf_patients_with_disease,
    lf_negated,
    lf_far_apart,
    lf_closer_chemical,
    lf_measurement,
    lf_hypothesis,
)


def load(folder: Path) -> tuple[dict[str, list], dict[str, np.ndarray]]:
    records, y = {}, {}
    for split, fname in FILES.items():
        records[split], y[split] = read_split(require_file(folder, fname))
    return records, y


def _sentence(record) -> str:
    """The candidate's sentence (what the featuriser reads)."""
    return record.sentence


def make_cdr(
    *,
    key=None,
    features="default",
    name: str = "cdr",
    mirror: str | None = None,
    data_dir: str | None = None,
) -> Dataset:
    """The CDR chemical-induced-disease task (corpus train/dev/test; 12 LFs; CID = 1).

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
    records, y = load(dataset_dir("bc5cdr_pubtator", mirror=mirror, data_dir=data_dir))
    return build_dataset(name, CDR_LFS, records, y, features=features, text=_sentence)
