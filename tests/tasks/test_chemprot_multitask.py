"""The hierarchical ChemProt task: gold and LF mapping to (relation, type), splits, counts."""

import jax.random as jr
import numpy as np
import pytest

from tests._utils import MIRROR, needs_mirror
from wsbench.multitask import MultitaskMatrixCompletion
from wsbench.tasks import chemprot_multitask as cpm

needs_chemprot = needs_mirror("wrench_chemprot")


def test_gold_maps_not_to_no_relation_and_types_under_relation():
    Y = cpm.task_labels(np.array([0, 8, 9, -1, 3]))
    assert Y.tolist() == [[1, 0], [1, 8], [0, 9], [-1, -1], [1, 3]]
    # every gold row is a feasible joint label, and the ten joint labels are WRENCH's ten classes
    assert (cpm.GRAPH.joint_index(Y[[0, 1, 2, 4]]) >= 0).all() and cpm.GRAPH.n_joint == 10
    with pytest.raises(ValueError, match="-1..9"):
        cpm.task_labels(np.array([10]))


def test_lf_votes_go_to_the_task_they_vote_on():
    L = np.array([[9, 2, -1], [-1, -1, 0], [-1, 5, -1]])
    out, lf_task = cpm.task_votes(L)
    assert lf_task == (0, 1, 1)  # the NOT LF votes relation; type LFs (one never votes NOT) type
    assert out.tolist() == [[0, 2, -1], [-1, -1, 0], [-1, 5, -1]]  # NOT -> relation = 0 (none)
    # a fixed map is applied as given; a vote off the LF's task is an error
    assert cpm.task_votes(L[1:], lf_task)[0].tolist() == [[-1, -1, 0], [-1, 5, -1]]
    with pytest.raises(ValueError, match="LF 0 .*votes \\[2\\]"):
        cpm.task_votes(np.array([[2, 1, 1]]), lf_task)
    with pytest.raises(ValueError, match="LF 1 .*votes \\[9\\]"):
        cpm.task_votes(np.array([[9, 9, 1]]), lf_task)


@needs_chemprot
def test_chemprot_splits_counts_and_lf_map():
    data = cpm.make_chemprot_multitask(mirror=str(MIRROR))
    sizes = {s: getattr(data, s).n for s in ("train", "valid", "test")}
    assert sizes == {"train": 1193, "valid": 414, "test": 1607}  # WRENCH valid 1607 = 1193 + 414
    assert data.train.weak.lf_task == (1,) * 25 + (0,)  # lf_not alone on the relation task
    assert len(data.lf_names) == 26 and data.lf_names[-1] == "not"
    Y = np.asarray(data.test.Y)
    assert np.bincount(Y[:, 1], minlength=10).tolist() == [
        65, 438, 202, 519, 53, 59, 9, 2, 192, 68,
    ]  # fmt: skip  # SOURCE.md's test counts, NOT last
    assert ((Y[:, 0] == 0) == (Y[:, 1] == cpm.NOT)).all()
    # the multi-task label model fits (one LF on the relation task is fine jointly)
    fitted = MultitaskMatrixCompletion(n_iter=20).fit(data.train.weak, key=jr.key(0))
    assert fitted.predict_proba_joint(data.test.weak.L).shape == (1607, 10)
