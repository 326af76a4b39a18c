r"""``TaskGraph``: related tasks, their cardinalities and the feasible joint label set.

A multi-task weak-supervision problem (Ratner et al., AAAI 2019) has ``t`` tasks; task ``s`` has
``k_s`` real classes ``0..k_s-1``. Tasks are related by logical constraints:

- **hierarchy**: ``parents[s] = (p, c)`` makes task ``s`` *defined only when task p has class c*
  (e.g. "finding family" defined only under "abnormal"). Its label is then one of its ``k_s`` classes;
  otherwise it is *not applicable*, encoded as the extra value ``k_s`` (so a child task takes
  ``n_labels[s] = k_s + 1`` values, a root task ``k_s``).
- **mutual exclusion**: ``exclusive`` lists pairs ``((s, a), (u, b))``: task s = a and task u = b never
  hold together.

The feasible joint labels are the label tuples that satisfy every constraint; they are enumerated once
(static NumPy) as ``Y_feasible`` (``(K, t)``), and each task's label is a function of the joint label,
``Y_feasible[:, s]``, with 0/1 indicator matrices ``indicator(s)[a, y] = 1[Y_feasible[y, s] == a]``, so
per-task marginals of a joint posterior ``q`` (``(n, K)``) are ``q @ indicator(s).T``.

A ``TaskGraph`` is a frozen dataclass of tuples: hashable and comparable by value, so it can be an
``eqx.field(static=True)`` and part of ``jit``'s cache key. The arrays it exposes are read-only NumPy
arrays (compile-time constants under ``jit``).
"""

import dataclasses
import functools
import itertools

import numpy as np

MAX_JOINT = 1_000_000
"""Largest product of per-task label counts enumerated when building the feasible set."""


def _as_int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{what} must be an int, got {v!r} of type {type(v).__name__}.")
    return int(v)


@dataclasses.dataclass(frozen=True)
class TaskGraph:
    """Tasks with cardinalities and logical relations; see the module docstring.

    Attributes:
        cardinalities: ``(k_0, ..., k_{t-1})`` real classes per task (each >= 2).
        parents: per task, ``None`` (always defined) or ``(parent_task, parent_class)``: the task is
            defined only when the parent task has that class, else it is not applicable (value k_s).
        exclusive: pairs ``((s, a), (u, b))`` of task labels that cannot hold together.
        names: optional task names (default ``task_0``, ...).

    Raises:
        ValueError: a cardinality < 2, a parent that is out of range, itself, or part of a cycle, a
            parent class out of range, an exclusion naming a bad task/label or a task with itself, a
            graph with no feasible joint label, or a task class that no feasible joint label has.

    Example:
        >>> g = TaskGraph.hierarchy(coarse=2, fine=3, under=1)   # fine task defined under class 1
        >>> g.Y_feasible.tolist()
        [[0, 3], [1, 0], [1, 1], [1, 2]]
        >>> g.indicator(1).shape   # (k_1 + 1 labels, K joint labels)
        (4, 4)
    """

    cardinalities: tuple[int, ...]
    parents: tuple[tuple[int, int] | None, ...] = ()
    exclusive: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()
    names: tuple[str, ...] = ()

    def __post_init__(self):
        card = tuple(
            _as_int(k, "each cardinality") for k in _as_tuple(self.cardinalities, "cardinalities")
        )
        if not card:
            raise ValueError("a TaskGraph needs at least one task (cardinalities is empty).")
        for s, k in enumerate(card):
            if k < 2:
                raise ValueError(
                    f"task {s} has cardinality {k}; every task needs >= 2 classes (a one-class "
                    "child task is the same as its parent class: drop it)."
                )
        t = len(card)
        parents = _as_tuple(self.parents, "parents") or (None,) * t
        if len(parents) != t:
            raise ValueError(
                f"parents must have one entry per task ({t}), got {len(parents)}; use None for a "
                "task that is always defined."
            )
        parents = tuple(self._check_parent(s, p, card) for s, p in enumerate(parents))
        _check_acyclic(parents)
        exclusive = tuple(
            sorted({self._check_exclusion(e, card) for e in _as_tuple(self.exclusive, "exclusive")})
        )
        names = tuple(str(n) for n in _as_tuple(self.names, "names")) or tuple(
            f"task_{s}" for s in range(t)
        )
        if len(names) != t or len(set(names)) != t:
            raise ValueError(f"names must be {t} distinct strings, got {names!r}.")
        object.__setattr__(self, "cardinalities", card)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "exclusive", exclusive)
        object.__setattr__(self, "names", names)
        _feasible(card, parents, exclusive)  # raises on an infeasible graph

    @staticmethod
    def _check_parent(s, p, card):
        if p is None:
            return None
        p = _as_tuple(p, f"parents[{s}]")
        if len(p) != 2:
            raise ValueError(
                f"parents[{s}] must be None or (parent_task, parent_class), got {p!r}."
            )
        pt, pc = _as_int(p[0], f"parents[{s}][0]"), _as_int(p[1], f"parents[{s}][1]")
        if not 0 <= pt < len(card) or pt == s:
            raise ValueError(
                f"parents[{s}] names task {pt}; it must be another task in 0..{len(card) - 1}."
            )
        if not 0 <= pc < card[pt]:
            raise ValueError(
                f"parents[{s}] = {(pt, pc)}: task {pt} has classes 0..{card[pt] - 1}, not {pc}."
            )
        return (pt, pc)

    @staticmethod
    def _check_exclusion(e, card):
        e = _as_tuple(e, "an exclusion")
        if len(e) != 2:
            raise ValueError(f"an exclusion must be ((task, label), (task, label)), got {e!r}.")
        pair = []
        for side in e:
            side = _as_tuple(side, "an exclusion side")
            if len(side) != 2:
                raise ValueError(f"an exclusion side must be (task, label), got {side!r}.")
            s, a = _as_int(side[0], "exclusion task"), _as_int(side[1], "exclusion label")
            if not 0 <= s < len(card) or not 0 <= a < card[s]:
                raise ValueError(
                    f"exclusion {e!r} names task {s} label {a}, which does not exist "
                    f"(cardinalities {card})."
                )
            pair.append((s, a))
        if pair[0][0] == pair[1][0]:
            raise ValueError(
                f"exclusion {e!r} relates a task to itself; labels of one task exclude each "
                "other already."
            )
        return tuple(sorted(pair))

    # ------------------------------------------------------------------ constructors

    @classmethod
    def single(cls, k: int, name: str = "task_0") -> "TaskGraph":
        """One task with k classes (the single-task case: ``Y_feasible = arange(k)[:, None]``)."""
        return cls(cardinalities=(k,), names=(name,))

    @classmethod
    def flat(cls, cardinalities, names=()) -> "TaskGraph":
        """Unrelated tasks: every combination of labels is feasible."""
        return cls(cardinalities=tuple(cardinalities), names=tuple(names))

    @classmethod
    def hierarchy(cls, coarse: int, fine: int, under: int, names=()) -> "TaskGraph":
        """A coarse task and a fine task defined only under coarse class ``under``."""
        return cls(cardinalities=(coarse, fine), parents=(None, (0, under)), names=tuple(names))

    # ------------------------------------------------------------------ structure

    @property
    def n_tasks(self) -> int:
        return len(self.cardinalities)

    @property
    def n_labels(self) -> tuple[int, ...]:
        """Values each task's label takes in a joint label: ``k_s``, plus one (not applicable) for children."""
        return tuple(
            k + (p is not None) for k, p in zip(self.cardinalities, self.parents, strict=True)
        )

    def not_applicable(self, s: int) -> int | None:
        """The label value meaning "task s does not apply" (``k_s``), or None for a root task."""
        return None if self.parents[self._task(s)] is None else self.cardinalities[s]

    @property
    def Y_feasible(self) -> np.ndarray:
        """``(K, t)`` int32: the feasible joint labels (lexicographic order), one row per joint label."""
        return _feasible(self.cardinalities, self.parents, self.exclusive)

    @property
    def n_joint(self) -> int:
        """K, the number of feasible joint labels."""
        return int(self.Y_feasible.shape[0])

    def task_labels(self, s: int) -> np.ndarray:
        """``(K,)``: task s's label at each joint label (``k_s`` = not applicable)."""
        return self.Y_feasible[:, self._task(s)]

    def indicator(self, s: int) -> np.ndarray:
        """``(n_labels[s], K)`` float32: ``[a, y] = 1`` iff joint label y has task-s label a."""
        return _indicator(self.cardinalities, self.parents, self.exclusive, self._task(s))

    def applicable(self, s: int) -> np.ndarray:
        """``(K,)`` bool: where task s has one of its real classes."""
        return self.task_labels(s) < self.cardinalities[s]

    def joint_index(self, Y) -> np.ndarray:
        """Map task-label rows ``(n, t)`` to joint-label indices ``(n,)``; -1 for infeasible or unknown rows."""
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != self.n_tasks:
            raise ValueError(f"Y must have shape (n, {self.n_tasks}), got {Y.shape}.")
        lookup = {tuple(r): i for i, r in enumerate(self.Y_feasible.tolist())}
        return np.array([lookup.get(tuple(r), -1) for r in Y.tolist()], dtype=np.int32)

    def components(self) -> tuple[tuple[int, ...], ...]:
        """Groups of tasks linked by a parent or an exclusion (sorted; each sorted by task index).

        Tasks in different groups are unrelated: the feasible set is the product of the groups'.
        """
        t = self.n_tasks
        root = list(range(t))

        def find(a):
            while root[a] != a:
                a = root[a]
            return a

        links = [(s, p[0]) for s, p in enumerate(self.parents) if p is not None]
        links += [(a[0], b[0]) for a, b in self.exclusive]
        for a, b in links:
            root[find(a)] = find(b)
        groups: dict[int, list[int]] = {}
        for s in range(t):
            groups.setdefault(find(s), []).append(s)
        return tuple(sorted(tuple(g) for g in groups.values()))

    def subgraph(self, tasks) -> "TaskGraph":
        """The graph of ``tasks`` (a union of :meth:`components`), tasks renumbered in order."""
        tasks = tuple(self._task(s) for s in tasks)
        new = {s: i for i, s in enumerate(tasks)}
        outside = [
            (s, p[0])
            for s, p in enumerate(self.parents)
            if p is not None and ((s in new) != (p[0] in new))
        ] + [(a[0], b[0]) for a, b in self.exclusive if (a[0] in new) != (b[0] in new)]
        if outside or len(new) != len(tasks):
            raise ValueError(
                f"tasks {tasks} are not a union of distinct whole components (links {outside} "
                "leave the set); take groups from TaskGraph.components()."
            )
        return TaskGraph(
            cardinalities=tuple(self.cardinalities[s] for s in tasks),
            parents=tuple(
                None if self.parents[s] is None else (new[self.parents[s][0]], self.parents[s][1])
                for s in tasks
            ),
            exclusive=tuple(
                ((new[a[0]], a[1]), (new[b[0]], b[1])) for a, b in self.exclusive if a[0] in new
            ),
            names=tuple(self.names[s] for s in tasks),
        )

    def subgraph_index(self, tasks) -> np.ndarray:
        """``(K,)`` int32: each joint label's index in ``subgraph(tasks).Y_feasible``."""
        sub = self.subgraph(tasks)
        return sub.joint_index(self.Y_feasible[:, list(tasks)])

    def _task(self, s) -> int:
        s = _as_int(s, "task index")
        if not 0 <= s < self.n_tasks:
            raise ValueError(f"task index {s} out of range 0..{self.n_tasks - 1}.")
        return s


def _as_tuple(v, what):
    if v is None:
        return ()
    if isinstance(v, (str, bytes)) and what == "names":
        raise ValueError(f"names must be a sequence of strings, got the string {v!r}.")
    try:
        return tuple(v)
    except TypeError:
        raise ValueError(f"{what} must be a sequence, got {v!r}.") from None


def _check_acyclic(parents):
    for s in range(len(parents)):
        seen, u = {s}, s
        while parents[u] is not None:
            u = parents[u][0]
            if u in seen:
                raise ValueError(
                    f"the task hierarchy has a cycle through task {s}; parents must form a forest."
                )
            seen.add(u)


@functools.lru_cache(maxsize=256)
def _feasible(card, parents, exclusive) -> np.ndarray:
    n_labels = [k + (p is not None) for k, p in zip(card, parents, strict=True)]
    total = int(np.prod(n_labels, dtype=np.float64))
    if total > MAX_JOINT:
        raise ValueError(
            f"the task graph spans {total} label combinations (> {MAX_JOINT}); enumerating its "
            "feasible set is too expensive. Use fewer or smaller tasks."
        )
    rows = []
    for y in itertools.product(*(range(v) for v in n_labels)):
        ok = all(
            (y[s] == card[s]) == (y[p[0]] != p[1]) for s, p in enumerate(parents) if p is not None
        )
        ok = ok and not any(y[a[0]] == a[1] and y[b[0]] == b[1] for a, b in exclusive)
        if ok:
            rows.append(y)
    if not rows:
        raise ValueError(
            f"the task graph (cardinalities {card}, parents {parents}, exclusive {exclusive}) has "
            "no feasible joint label; drop or relax some exclusions."
        )
    Y = np.asarray(rows, dtype=np.int32).reshape(len(rows), len(card))
    for s, k in enumerate(card):
        missing = sorted(set(range(k)) - set(Y[:, s].tolist()))
        if missing:
            raise ValueError(
                f"task {s} class(es) {missing} occur in no feasible joint label (the exclusions "
                f"{exclusive} and parents {parents} rule them out); drop those classes or relax "
                "the constraints."
            )
    Y.setflags(write=False)
    return Y


@functools.lru_cache(maxsize=256)
def _indicator(card, parents, exclusive, s) -> np.ndarray:
    Y = _feasible(card, parents, exclusive)
    n_lab = card[s] + (parents[s] is not None)
    A = (Y[None, :, s] == np.arange(n_lab)[:, None]).astype(np.float32)
    A.setflags(write=False)
    return A
