import numpy as np
import pytest

from wsbench.data import WeakLabels
from wsbench.multitask import MultitaskDataset, MultitaskSplit, MultitaskWeakLabels, TaskGraph

G = TaskGraph.hierarchy(2, 3, 1)


def test_valid_container_and_task_view():
    L = np.array([[1, 2, -1], [0, -1, 0], [-1, -1, -1]])
    d = MultitaskWeakLabels(L, G, lf_task=(0, 1, 1))
    assert (d.n, d.m) == (3, 3) and d.lfs_of(1) == (1, 2)
    v = d.task_view(1)
    assert isinstance(v, WeakLabels) and v.n_classes == 3
    np.testing.assert_array_equal(v.L, L[:, 1:])
    d2 = MultitaskWeakLabels(L, G, lf_task=(0, 1, 1), class_balance=[0.5, 0.2, 0.2, 0.1])
    assert d2.class_balance.shape == (4,)


@pytest.mark.parametrize(
    "L, lf_task, match",
    [
        (np.array([[0, 3]]), (0, 1), r"LF 1 votes on task 1 .* voted 3 at row 0"),
        (np.array([[2, 0]]), (0, 1), r"LF 0 votes on task 0 .* voted 2"),
        (np.array([[0, 0]]), (0, 0), r"task\(s\) \[1\] .* have no LF"),
        (np.array([[0, 0]]), (0,), "lf_task has 1 entries"),
        (np.array([[0, 0]]), (0, 2), "outside 0..1"),
        (np.array([[0.0, np.nan]]), (0, 1), "NaN cannot encode an abstain"),
        (np.array([0, 1]), (0, 1), "2-D"),
        (np.zeros((0, 2), int), (0, 1), "no rows"),
        (np.array([[-2, 0]]), (0, 1), "outside"),
    ],
)
def test_bad_input_raises(L, lf_task, match):
    with pytest.raises(ValueError, match=match):
        MultitaskWeakLabels(L, G, lf_task=lf_task)


def test_bad_graph_and_class_balance():
    with pytest.raises(ValueError, match="TaskGraph"):
        MultitaskWeakLabels(np.array([[0]]), (2,), lf_task=(0,))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        MultitaskWeakLabels(np.array([[0, 0]]), G, lf_task=(0, 1), class_balance=[0.5, 0.5])


def test_split_gold_validation():
    w = MultitaskWeakLabels(np.array([[0, -1], [1, 2], [1, 0]]), G, lf_task=(0, 1))
    s = MultitaskSplit(w, Y=np.array([[0, 3], [1, 2], [-1, -1]]))
    np.testing.assert_array_equal(s.y_joint, [0, 3, -1])
    with pytest.raises(ValueError, match="not a feasible joint label"):
        MultitaskSplit(w, Y=np.array([[0, 1], [1, 2], [1, 0]]))  # fine label under "normal"
    with pytest.raises(ValueError, match="outside"):
        MultitaskSplit(w, Y=np.array([[0, 4], [1, 2], [1, 0]]))
    with pytest.raises(ValueError, match="shape"):
        MultitaskSplit(w, Y=np.array([0, 1, 1]))
    other = MultitaskWeakLabels(np.array([[0, -1]]), TaskGraph.hierarchy(2, 3, 0), lf_task=(0, 1))
    with pytest.raises(ValueError, match="disagree"):
        MultitaskDataset(train=s, valid=s, test=MultitaskSplit(other))
