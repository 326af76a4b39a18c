r"""Multi-task containers: ``MultitaskWeakLabels`` (what a multi-task label model sees), splits, datasets.

Layout. ``L`` is one ``(n, m)`` matrix, as in the single-task ``WeakLabels``, plus a static
``lf_task`` tuple giving the one task each LF votes on. LF j votes ``-1`` (abstain) or one of the
``k_{lf_task[j]}`` real classes of its task (never "not applicable": an LF that means "no finding"
votes on the parent task). We prefer this to a ``(t, n, m)`` stack (ARCHITECTURE.md's sketch) because
an LF votes on exactly one task: the stack would be ``t`` times larger and mostly ``-1``, and it can
represent an LF voting on two tasks, which is not a valid input. One column per LF also keeps
``apply_lfs`` output, ``lf_summary`` and ``WeakLabels`` (``task_view``) unchanged, and with one task the
container is exactly a ``WeakLabels``.

Gold labels ``Y`` are ``(n, t)`` task labels (``k_s`` = not applicable, ``-1`` = unknown).
"""

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float, Int

from ..data import WeakLabels
from ..data.validate import as_class_balance, as_features, as_label_matrix, is_traced
from ._task_graph import TaskGraph


def _check_graph(graph) -> TaskGraph:
    if not isinstance(graph, TaskGraph):
        raise ValueError(
            f"graph must be a wsbench.multitask.TaskGraph, got {type(graph).__name__}; build one "
            "with TaskGraph(cardinalities=..., parents=...) or TaskGraph.hierarchy(...)."
        )
    return graph


def _check_lf_task(lf_task, graph: TaskGraph, m: int) -> tuple[int, ...]:
    try:
        lf_task = tuple(int(s) if not isinstance(s, bool) else None for s in lf_task)
    except (TypeError, ValueError):
        raise ValueError(f"lf_task must be a sequence of task indices, got {lf_task!r}.") from None
    if len(lf_task) != m:
        raise ValueError(
            f"lf_task has {len(lf_task)} entries but L has {m} LFs (columns); give the task of "
            "every LF, in column order."
        )
    bad = [j for j, s in enumerate(lf_task) if s is None or not 0 <= s < graph.n_tasks]
    if bad:
        raise ValueError(
            f"lf_task names tasks outside 0..{graph.n_tasks - 1} for LF(s) {bad[:5]}: "
            f"{[lf_task[j] for j in bad[:5]]}."
        )
    empty = [s for s in range(graph.n_tasks) if s not in lf_task]
    if empty:
        names = [graph.names[s] for s in empty]
        raise ValueError(
            f"task(s) {empty} ({names}) have no LF; every task needs at least one LF voting on "
            "it (or drop the task from the TaskGraph)."
        )
    return lf_task


def check_multitask_L(L, graph: TaskGraph, lf_task: tuple[int, ...], *, name: str = "L"):
    """``L`` as int32 ``(n, m)`` with each column inside its task's range (concrete values only)."""
    # dtype / rank / emptiness / width checks; the per-task range check follows
    L = as_label_matrix(L, np.iinfo(np.int32).max, name=name, n_lfs=len(lf_task))
    if not is_traced(L):
        L_np = np.asarray(L)
        hi = np.array([graph.cardinalities[s] - 1 for s in lf_task])
        bad = (L_np > hi[None, :]) | (L_np < -1)
        if bad.any():
            r, j = np.argwhere(bad)[0]
            s = lf_task[j]
            raise ValueError(
                f"{name}: LF {j} votes on task {s} ({graph.names[s]!r}, classes "
                f"0..{graph.cardinalities[s] - 1}) but voted {int(L_np[r, j])} at row {r}; an LF "
                "votes -1 (abstain) or a real class of its own task."
            )
    return L


class MultitaskWeakLabels(eqx.Module):
    """Votes of m LFs on n items, each LF voting on one task of ``graph``.

    Attributes:
        L: ``(n, m)`` int votes, ``-1`` = abstain, else a class ``0..k_s-1`` of the LF's task s.
        graph: the ``TaskGraph`` (static).
        lf_task: ``(m,)`` static tuple, the task of each LF.
        class_balance: optional ``(K,)`` prior over the feasible joint labels ``graph.Y_feasible``.

    Raises:
        ValueError: a non-integer (e.g. float/NaN) or non-2-D ``L``, an empty matrix, ``lf_task`` of
            the wrong length or naming a missing task, a task with no LF, an LF voting outside its
            task's classes, or a ``class_balance`` that is not a distribution over the K joint labels.

    Example:
        >>> import numpy as np
        >>> g = TaskGraph.hierarchy(coarse=2, fine=3, under=1)
        >>> data = MultitaskWeakLabels(np.array([[1, 2], [0, -1]]), g, lf_task=(0, 1))
        >>> data.task_view(1).n_classes
        3
    """

    L: Int[Array, "n m"]
    graph: TaskGraph = eqx.field(static=True)
    lf_task: tuple[int, ...] = eqx.field(static=True)
    class_balance: Float[Array, " K"] | None = None

    def __init__(self, L, graph: TaskGraph, lf_task, class_balance=None):
        self.graph = _check_graph(graph)
        if L is None or (not is_traced(L) and np.ndim(L) != 2):
            as_label_matrix(L, 2)  # the standard error for None / wrong rank
        self.lf_task = _check_lf_task(lf_task, self.graph, np.shape(L)[1])
        self.L = check_multitask_L(L, self.graph, self.lf_task)
        self.class_balance = as_class_balance(class_balance, self.graph.n_joint)

    @property
    def n(self) -> int:
        return self.L.shape[0]

    @property
    def m(self) -> int:
        return self.L.shape[1]

    def lfs_of(self, s: int) -> tuple[int, ...]:
        """Column indices of the LFs voting on task s."""
        return tuple(j for j, u in enumerate(self.lf_task) if u == s)

    def task_view(self, s: int) -> WeakLabels:
        """Task s's LFs as a single-task ``WeakLabels`` (``n_classes = k_s``), for per-task baselines."""
        cols = np.asarray(self.lfs_of(s))
        return WeakLabels(L=self.L[:, cols], n_classes=self.graph.cardinalities[s])


def as_task_gold(Y, n: int, graph: TaskGraph, *, name: str = "Y"):
    """Gold task labels ``(n, t)``: values in ``-1..n_labels[s]-1``; fully known rows must be feasible."""
    if Y is None:
        return None
    Y_np = np.asarray(Y)
    if Y_np.dtype == bool or not np.issubdtype(Y_np.dtype, np.integer):
        raise ValueError(
            f"{name} must be an integer (n, t) array of task labels, got {Y_np.dtype}."
        )
    if Y_np.shape != (n, graph.n_tasks):
        raise ValueError(
            f"{name} must have shape ({n}, {graph.n_tasks}) (one label per task), got {Y_np.shape}."
        )
    hi = np.array(graph.n_labels)[None, :] - 1
    if np.any(Y_np < -1) or np.any(Y_np > hi):
        r, s = np.argwhere((Y_np < -1) | (Y_np > hi))[0]
        raise ValueError(
            f"{name}[{r}, {s}] = {Y_np[r, s]} is outside -1..{hi[0, s]} for task {s} "
            f"({graph.names[s]!r}; {graph.cardinalities[s]} = not applicable for child tasks)."
        )
    known = (Y_np >= 0).all(axis=1)
    joint = graph.joint_index(np.where(known[:, None], Y_np, 0))
    bad = np.flatnonzero(known & (joint < 0))
    if bad.size:
        raise ValueError(
            f"{name} row {bad[0]} = {Y_np[bad[0]].tolist()} is not a feasible joint label of the "
            f"task graph (feasible: {graph.Y_feasible.tolist()[:8]}...)."
        )
    return np.asarray(Y_np, dtype=np.int32)


class MultitaskSplit(eqx.Module):
    """One split: multi-task weak labels, optional gold ``Y`` ``(n, t)`` and features ``x``."""

    weak: MultitaskWeakLabels
    Y: Int[Array, "n t"] | None = None
    x: Float[Array, "n ..."] | None = None

    def __init__(self, weak: MultitaskWeakLabels, Y=None, x=None):
        if not isinstance(weak, MultitaskWeakLabels):
            raise ValueError(
                f"MultitaskSplit.weak must be MultitaskWeakLabels, got {type(weak).__name__}."
            )
        self.weak = weak
        self.Y = as_task_gold(Y, weak.n, weak.graph)
        self.x = as_features(x, weak.n)

    @property
    def n(self) -> int:
        return self.weak.n

    @property
    def y_joint(self) -> np.ndarray:
        """Gold joint-label index per row (-1 where any task label is unknown)."""
        if self.Y is None:
            raise ValueError("this split has no gold labels Y.")
        return self.weak.graph.joint_index(np.asarray(self.Y))


class MultitaskDataset(eqx.Module):
    """Train/valid/test multi-task splits over the same task graph and LFs."""

    train: MultitaskSplit
    valid: MultitaskSplit
    test: MultitaskSplit
    name: str = eqx.field(static=True, default="multitask")
    lf_names: tuple[str, ...] = eqx.field(static=True, default=())

    def __check_init__(self):
        splits = {"train": self.train, "valid": self.valid, "test": self.test}
        for s, sp in splits.items():
            if not isinstance(sp, MultitaskSplit):
                raise ValueError(
                    f"MultitaskDataset.{s} must be a MultitaskSplit, got {type(sp).__name__}."
                )
        layouts = {s: (sp.weak.graph, sp.weak.lf_task) for s, sp in splits.items()}
        if len(set(layouts.values())) != 1:
            raise ValueError(
                f"MultitaskDataset {self.name!r}: splits disagree on the task graph or lf_task."
            )
        if self.lf_names and len(self.lf_names) != self.train.weak.m:
            raise ValueError(
                f"lf_names has {len(self.lf_names)} names for {self.train.weak.m} LFs."
            )

    @property
    def graph(self) -> TaskGraph:
        return self.train.weak.graph
