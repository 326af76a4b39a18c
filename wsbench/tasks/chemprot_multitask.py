"""A hierarchical ChemProt task from WRENCH's chemprot: relation vs none, then the relation type.

Tasks (``TaskGraph``): ``relation`` (0 = none, 1 = a chemical-protein relation) and ``type`` (the
nine WRENCH relation classes 0 Part of, 1 Regulator, 2 Upregulator, 3 Downregulator, 4 Agonist,
5 Antagonist, 6 Modulator, 7 Cofactor, 8 Substrate/Product), defined only under ``relation = 1``
(9 = not applicable). **Gold**: WRENCH's label; its class 9 ``NOT`` is ``relation = 0`` (type not
applicable), class c < 9 is ``relation = 1, type = c``. The ten joint labels are WRENCH's ten
classes, so the feasible joint space is the flat task's.

**LFs**: WRENCH's 26 (COSINE's keyword LFs), unchanged, each mapped to the one task it votes on:
``lf_not`` (WRENCH column 25, votes ``NOT``) votes ``relation = 0``; the other 25 vote ``type`` with
their WRENCH class. A ``type`` vote is *not* copied into the ``relation`` column (that would be a
second, perfectly dependent LF): the multi-task label matrix keeps one column per LF, on its own
task, and the hierarchy enters through the label model's joint space -- a ``type`` LF's table
``P(vote | Y)`` spans all ten joint labels, including "none" (type not applicable), so how often
keyword LFs fire on "none" rows is learned from the overlaps, and the joint posterior puts no mass
on "type = c without a relation". Task ``relation`` has this single LF, which is why the per-task
baseline (``wsbench.run.metal``) can fit no ``MatrixCompletion`` for it (it needs three
conditionally independent LFs) and uses that task's majority vote.

**Splits**: the mirror ships no WRENCH ``train.json`` (``wsbench.data._wrench``), only valid and
test (1607 rows each). Here WRENCH's valid rows are split by a fixed hash of their id (CRC-32,
``wsbench.tasks._common.hash_unit``): ``1 - dev_fraction`` of them are the unlabeled train split
(the label models fit on their LF votes only; their gold is kept for diagnostics), the rest the
dev (``valid``) split that dev priors, model selection and the dev-only baseline read; WRENCH's
test is the test split. So train and valid are disjoint, unlike ``conf/dataset/wrench_chemprot``
(train = valid), because the dev-only baseline trains on valid.

Features: the text featuriser spec ``features`` fitted on the train split's sentences only.
"""

import numpy as np

from ..data import load_wrench
from ..features import featurize_splits
from ..multitask import MultitaskDataset, MultitaskSplit, MultitaskWeakLabels, TaskGraph
from ._common import SPLITS, dataset_dir, hash_unit

RELATION_TYPES = (
    "Part of",
    "Regulator",
    "Upregulator",
    "Downregulator",
    "Agonist",
    "Antagonist",
    "Modulator",
    "Cofactor",
    "Substrate/Product",
)
NOT = len(RELATION_TYPES)
"""WRENCH's class id of ``NOT`` (no relation); also the ``type`` task's not-applicable value."""
GRAPH = TaskGraph(
    cardinalities=(2, len(RELATION_TYPES)), parents=(None, (0, 1)), names=("relation", "type")
)

LF_NAMES = (
    *("amino_acid", "replace", "mutant"),  # Part of
    *("bind", "interact", "affinity"),  # Regulator
    *("activate", "increase", "induce", "stimulate", "upregulate"),  # Upregulator
    *("downregulate", "reduce", "inhibit", "decrease"),  # Downregulator
    *("agonist", "antagonist", "modulate", "allosteric", "cofactor"),
    *("substrate", "transport", "catalyze", "product", "convert"),  # Substrate/Product
    "not",  # NOT: the only LF on the relation task
)
"""WRENCH chemprot's LF columns in order (``lf_<name>`` in its readme, COSINE's keyword LFs)."""


def task_labels(y) -> np.ndarray:
    """WRENCH labels ``(n,)`` (0..9, -1 unknown) -> task gold ``Y (n, 2)`` (-1 where unknown)."""
    y = np.asarray(y)
    if y.ndim != 1 or ((y < -1) | (y > NOT)).any():
        raise ValueError(f"chemprot labels must be a 1-D array in -1..{NOT}, got {y!r:.80}.")
    relation = np.where(y < 0, -1, (y != NOT).astype(np.int64))
    return np.stack([relation, y], axis=1).astype(np.int32)


def task_votes(L, lf_task=None) -> tuple[np.ndarray, tuple[int, ...]]:
    """WRENCH votes ``(n, m)`` (each LF one-sided) -> the multi-task matrix and ``lf_task``.

    An LF that votes ``NOT`` votes ``relation = 0``; an LF that votes a relation type votes ``type``
    with that class (module docstring). ``lf_task``: the map to apply (default: read from ``L``, an
    LF that never votes going to ``type``); an LF voting both kinds, or off its task, is rejected.
    """
    L = np.asarray(L)
    if lf_task is None:
        lf_task = tuple(int(bool((L[:, j] == NOT).any())) ^ 1 for j in range(L.shape[1]))
    lf_task = tuple(int(t) for t in lf_task)
    if len(lf_task) != L.shape[1]:
        raise ValueError(f"lf_task has {len(lf_task)} entries for {L.shape[1]} LFs.")
    out = np.full(L.shape, -1, np.int32)
    for j, t in enumerate(lf_task):
        v = L[:, j]
        wrong = (v >= 0) & ((v != NOT) if t == 0 else (v == NOT))
        if wrong.any():
            raise ValueError(
                f"LF {j} ({'relation' if t == 0 else 'type'} task) votes "
                f"{sorted(set(v[wrong].tolist()))}; each LF of the multi-task matrix votes on one "
                "task (NOT on 'relation', relation types on 'type'): map it by hand."
            )
        out[:, j] = np.where(v >= 0, 0, -1) if t == 0 else v
    return out, lf_task


def make_chemprot_multitask(
    *,
    key=None,
    name: str = "chemprot_multitask",
    mirror: str | None = None,
    data_dir: str | None = None,
    features=None,
    dev_fraction: float = 0.25,
) -> MultitaskDataset:
    """The hierarchical ChemProt task (module docstring): ``L``, ``lf_task``, gold ``Y (n, 2)``.

    Args:
        key: ignored (fixed data and split); accepted for API uniformity.
        name: the dataset name; mirror, data_dir: passed to :func:`wsbench.data.fetch.fetch`.
        features: a featuriser spec for ``MultitaskSplit.x`` fitted on the train split's sentences
            only (``"default"``: ``wsbench.features.DEFAULT_TEXT_FEATURES``); ``None``: no ``x``.
        dev_fraction: the share of WRENCH's valid rows kept as the dev (``valid``) split.
    """
    del key
    if not 0.0 < float(dev_fraction) < 1.0:
        raise ValueError(f"dev_fraction must be in (0, 1), got {dev_fraction!r}.")
    folder = dataset_dir("wrench_chemprot", mirror=mirror, data_dir=data_dir)
    ds, records = load_wrench(folder, missing_train="valid", name=name, return_records=True)
    if len(records["label_names"]) != NOT + 1 or records["label_names"][NOT] != "NOT":
        raise ValueError(
            f"{folder}/label.json: expected 10 classes with 9 = NOT, got {records['label_names']}."
        )
    ids = records["valid"]["ids"]
    dev = np.array([hash_unit(str(i)) < dev_fraction for i in ids])
    rows = {"train": np.flatnonzero(~dev), "valid": np.flatnonzero(dev)}
    source = {"train": ("valid", rows["train"]), "valid": ("valid", rows["valid"])}
    source["test"] = ("test", np.arange(ds.test.n))
    texts, parts = {}, {}
    for s in SPLITS:
        split, ix = source[s]
        part = getattr(ds, split)
        texts[s] = [str(records[split]["data"][i]["text"]) for i in ix]
        parts[s] = (np.asarray(part.weak.L)[ix], np.asarray(part.y)[ix])
    xs = featurize_splits(features, texts)
    _, lf_task = task_votes(np.concatenate([parts[s][0] for s in SPLITS]))  # one map for all
    if len(lf_task) != len(LF_NAMES):
        raise ValueError(f"expected WRENCH chemprot's {len(LF_NAMES)} LFs, got {len(lf_task)}.")
    splits = {}
    for s in SPLITS:
        L, y = parts[s]
        x = None if xs is None else xs[s]
        weak = MultitaskWeakLabels(task_votes(L, lf_task)[0], GRAPH, lf_task)
        splits[s] = MultitaskSplit(weak, Y=task_labels(y), x=x)
    return MultitaskDataset(name=name, lf_names=LF_NAMES, **splits)
