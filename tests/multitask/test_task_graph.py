import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wsbench.multitask import TaskGraph


def test_single_task_is_the_identity_layout():
    g = TaskGraph.single(3)
    assert g.Y_feasible.tolist() == [[0], [1], [2]]
    np.testing.assert_array_equal(g.indicator(0), np.eye(3))
    assert g.n_labels == (3,) and g.not_applicable(0) is None


def test_hierarchy_feasible_set_and_maps():
    g = TaskGraph(cardinalities=(3, 2), parents=(None, (0, 2)))
    # fine task (2 classes) defined only under coarse class 2; 2 = not applicable
    assert g.Y_feasible.tolist() == [[0, 2], [1, 2], [2, 0], [2, 1]]
    assert g.n_joint == 4 and g.n_labels == (3, 3) and g.not_applicable(1) == 2
    np.testing.assert_array_equal(g.task_labels(1), [2, 2, 0, 1])
    np.testing.assert_array_equal(g.applicable(1), [False, False, True, True])
    A = g.indicator(1)
    assert A.shape == (3, 4)
    np.testing.assert_array_equal(A.sum(axis=0), np.ones(4))  # one task label per joint label
    q = np.array([[0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_allclose(q @ A.T, [[0.3, 0.4, 0.3]])
    np.testing.assert_array_equal(g.joint_index([[2, 1], [0, 2], [0, 0]]), [3, 0, -1])


def test_two_level_hierarchy_and_exclusion():
    g = TaskGraph(
        cardinalities=(2, 2, 2),
        parents=(None, (0, 1), (1, 0)),  # a grandchild: defined only when task 1 = 0
        exclusive=(((0, 0), (2, 0)),),  # never binding here (task 2 needs task 0 = 1)
    )
    Y = g.Y_feasible
    for row in Y.tolist():
        assert (row[1] == 2) == (row[0] != 1)
        assert (row[2] == 2) == (row[1] != 0)
    assert g.n_joint == 4
    flat = TaskGraph(cardinalities=(2, 2), exclusive=(((0, 1), (1, 1)),))
    assert flat.Y_feasible.tolist() == [[0, 0], [0, 1], [1, 0]]


def test_hashable_static_and_jit_cache_key():
    g1 = TaskGraph.hierarchy(2, 3, 1)
    g2 = TaskGraph(cardinalities=[2, 3], parents=[None, [0, 1]])  # lists are normalised to tuples
    assert g1 == g2 and hash(g1) == hash(g2)
    assert TaskGraph.hierarchy(2, 3, 0) != g1

    class Holder(eqx.Module):
        x: jax.Array
        graph: TaskGraph = eqx.field(static=True)

    traces = []

    @eqx.filter_jit
    def f(h):
        traces.append(1)
        return h.x @ jnp.asarray(h.graph.indicator(1)).T

    out = f(Holder(jnp.ones((1, 4)), g1))
    f(Holder(jnp.zeros((1, 4)), g2))
    assert len(traces) == 1  # equal graphs hit the compile cache
    f(Holder(jnp.ones((1, 3)), TaskGraph.hierarchy(2, 2, 1)))
    assert len(traces) == 2
    np.testing.assert_allclose(out, [[1, 1, 1, 1]])
    with pytest.raises(ValueError, match="read-only"):
        g1.Y_feasible[0, 0] = 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(cardinalities=()), "at least one task"),
        (dict(cardinalities=(2, 1)), "cardinality 1"),
        (dict(cardinalities=(2, 2), parents=(None,)), "one entry per task"),
        (dict(cardinalities=(2, 2), parents=(None, (1, 0))), "another task"),
        (dict(cardinalities=(2, 2), parents=(None, (5, 0))), "another task"),
        (dict(cardinalities=(2, 2), parents=(None, (0, 2))), "classes 0..1, not 2"),
        (dict(cardinalities=(2, 2), parents=((1, 0), (0, 0))), "cycle"),
        (dict(cardinalities=(2, 2), exclusive=(((0, 0), (0, 1)),)), "itself"),
        (dict(cardinalities=(2, 2), exclusive=(((0, 0), (1, 3)),)), "does not exist"),
        (
            dict(cardinalities=(2, 2), exclusive=(((0, 0), (1, 0)), ((0, 0), (1, 1)))),
            r"class\(es\) \[0\]",
        ),
        (dict(cardinalities=(2, 2), names=("a", "a")), "distinct"),
        (dict(cardinalities=(2.0, 2)), "must be an int"),
    ],
)
def test_ill_formed_graphs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TaskGraph(**kwargs)


def test_infeasible_graph_raises():
    # every label of task 0 excluded with every label of task 1: no joint label is feasible
    ex = tuple(((0, a), (1, b)) for a in range(2) for b in range(2))
    with pytest.raises(ValueError, match="no feasible joint label"):
        TaskGraph(cardinalities=(2, 2), exclusive=ex)


def test_components_and_subgraphs():
    flat = TaskGraph.flat((2, 3), names=("a", "b"))
    assert flat.components() == ((0,), (1,))
    sub = flat.subgraph((1,))
    assert sub == TaskGraph.single(3, name="b")
    np.testing.assert_array_equal(flat.subgraph_index((1,)), [0, 1, 2, 0, 1, 2])
    np.testing.assert_array_equal(flat.subgraph_index((0,)), [0, 0, 0, 1, 1, 1])
    assert TaskGraph.hierarchy(2, 3, under=1).components() == ((0, 1),)
    g = TaskGraph(cardinalities=(2, 2, 3, 2), parents=(None, None, (0, 1), None),
                  exclusive=(((1, 1), (3, 0)),))  # fmt: skip
    assert g.components() == ((0, 2), (1, 3))
    h = g.subgraph((0, 2))
    assert h.parents == (None, (0, 1)) and h.cardinalities == (2, 3)
    assert g.subgraph((1, 3)).exclusive == (((0, 1), (1, 0)),)
    with pytest.raises(ValueError, match="components"):
        g.subgraph((0, 1))  # cuts the links 0 -> 2 and 1 -- 3
