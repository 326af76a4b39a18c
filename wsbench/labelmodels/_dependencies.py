"""The dependency forest of a label model with known LF dependencies (plain NumPy, static).

A forest of dependency edges between LFs (cliques of two LFs, single-LF separators) fixes which
indicator variables exist, which overlaps are modelled (variables in different components) and how
the junction-tree posterior is rooted. Used by ``MatrixCompletion`` and its sufficient statistics.
"""

import dataclasses
import functools

import numpy as np

from ._class_balance import choose_triples


@dataclasses.dataclass(frozen=True)
class Layout:
    """Static, hashable shape of a moment model: per-LF output cardinalities and their latent meaning.

    The latent variable takes ``k`` values. LF ``j`` votes one of ``out_cards[j]`` values (or abstains);
    ``label_of[j][y]`` is the vote that would be correct under latent value ``y``, or ``-1`` when no vote
    of LF ``j`` is correct there (a fine-task LF where the fine task does not apply). Single-task models
    have ``out_cards = (k,) * m`` and ``label_of[j] = (0, ..., k-1)`` (:meth:`single`); multi-task models
    have one latent value per feasible joint label (:meth:`from_graph`).

    Attributes:
        out_cards: ``(m,)`` output cardinality of each LF (each >= 2).
        label_of: ``(m, k)`` correct vote of each LF under each latent value, or -1.
        edges: dependency edges ``(i, j)``, ``i < j`` (a forest).
    """

    out_cards: tuple[int, ...]
    label_of: tuple[tuple[int, ...], ...]
    edges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self):
        m = len(self.out_cards)
        if len(self.label_of) != m or m == 0:
            raise ValueError(
                f"a Layout needs one label_of row per LF ({m}), got {len(self.label_of)}."
            )
        k = len(self.label_of[0])
        for j, (c, row) in enumerate(zip(self.out_cards, self.label_of, strict=True)):
            if c < 2 or len(row) != k or any(not -1 <= a < c for a in row):
                raise ValueError(
                    f"LF {j}: output cardinality {c} must be >= 2 and label_of[{j}] must have {k} "
                    f"entries in -1..{c - 1}, got {row}."
                )
        object.__setattr__(self, "edges", _as_edges(self.edges))

    @property
    def m(self) -> int:
        return len(self.out_cards)

    @property
    def k(self) -> int:
        """The latent cardinality."""
        return len(self.label_of[0])

    @property
    def is_single(self) -> bool:
        """Every LF votes on the latent variable itself (the single-task matrix-completion case)."""
        ident = tuple(range(self.k))
        return all(c == self.k for c in self.out_cards) and all(r == ident for r in self.label_of)

    @classmethod
    def single(cls, m: int, k: int, edges=()) -> "Layout":
        return cls((k,) * m, (tuple(range(k)),) * m, _as_edges(edges))

    @classmethod
    def from_graph(cls, graph, lf_task, edges=()) -> "Layout":
        """Latent = the feasible joint labels of a ``TaskGraph``; LF j votes on task ``lf_task[j]``."""
        Y = graph.Y_feasible
        out = tuple(int(graph.cardinalities[s]) for s in lf_task)
        lab = tuple(
            tuple(int(v) if v < c else -1 for v in Y[:, s])
            for s, c in zip(lf_task, out, strict=True)
        )
        return cls(out, lab, _as_edges(edges))


class _Structure:
    """Variables, components and the rooted forest implied by a ``Layout`` (plain NumPy, static).

    Attributes:
        comp: ``(m,)`` dependency component of each LF; n_components: their number.
        parent, parent_edge, child_is_second: the forest rooted at each tree's lowest-index LF.
        n_vars: the number of indicator variables, ``m * k`` one-hot LF votes plus ``k * k`` per edge.
        var_comp: ``(n_vars,)`` component of each indicator variable; mask: ``(n_vars, n_vars)`` 1
            where two variables are in different components (their overlap is modelled).
        triples: LF triples in three different components (``choose_triples``).
    """

    def __init__(self, layout: Layout):
        m, k, edges = layout.m, layout.k, layout.edges
        for i, j in edges:
            if j >= m:
                raise ValueError(
                    f"dependency edge {(i, j)} names LF {j}, but there are only {m} LFs."
                )
        # union-find, rejecting cycles (only forests, i.e. edge cliques, are supported)
        root = list(range(m))

        def find(a):
            while root[a] != a:
                root[a] = root[root[a]]
                a = root[a]
            return a

        for i, j in edges:
            ri, rj = find(i), find(j)
            if ri == rj:
                raise ValueError(
                    f"the dependency edges contain a cycle through {(i, j)}; MatrixCompletion supports "
                    "dependency graphs that are forests (cliques of two LFs, single-LF separators). "
                    "Drop edges to make the graph a forest, or merge strongly dependent LFs."
                )
            root[ri] = rj
        comp_ids = np.array([find(j) for j in range(m)])
        _, self.comp = np.unique(comp_ids, return_inverse=True)  # (m,) component per LF
        self.n_components = int(self.comp.max()) + 1
        # root each tree at its lowest-index LF; orient edges parent -> child by BFS
        adj = {j: [] for j in range(m)}
        for e, (i, j) in enumerate(edges):
            adj[i].append((j, e))
            adj[j].append((i, e))
        self.parent = np.arange(m)
        self.parent_edge = np.full(m, -1)
        self.child_is_second = np.zeros(m, dtype=bool)  # the child is edges[e][1]
        seen = np.zeros(m, dtype=bool)
        for r in range(m):
            if seen[r]:
                continue
            seen[r], queue = True, [r]
            while queue:
                a = queue.pop(0)
                for b, e in adj[a]:
                    if not seen[b]:
                        seen[b] = True
                        self.parent[b], self.parent_edge[b] = a, e
                        self.child_is_second[b] = edges[e][1] == b
                        queue.append(b)
        self.m, self.k, self.edges, self.layout = m, k, edges, layout
        self.out = np.asarray(layout.out_cards, dtype=np.int64)  # (m,)
        self.kmax = int(self.out.max())
        self.label_of = np.asarray(layout.label_of, dtype=np.int64)  # (m, k)
        self.offsets = np.concatenate([[0], np.cumsum(self.out)]).astype(np.int64)  # LF blocks
        self.n_single = int(self.offsets[-1])  # sum of output cardinalities (m * k single-task)
        pair_sizes = [int(self.out[i] * self.out[j]) for i, j in edges]
        self.pair_offsets = self.n_single + np.concatenate([[0], np.cumsum(pair_sizes)]).astype(
            np.int64
        )
        self.n_vars = int(self.pair_offsets[-1])
        var_comp = [np.repeat(self.comp, self.out)]
        var_comp += [
            np.full(sz, self.comp[i]) for (i, _), sz in zip(edges, pair_sizes, strict=True)
        ]
        self.var_comp = np.concatenate(var_comp)
        self.mask = (self.var_comp[:, None] != self.var_comp[None, :]).astype(np.float32)
        self.triples = choose_triples(self.comp, k)


@functools.lru_cache(maxsize=64)
def _structure_of(layout: Layout) -> _Structure:
    return _Structure(layout)


def _structure(m: int, k: int, edges: tuple[tuple[int, int], ...]) -> _Structure:
    return _structure_of(Layout.single(m, k, edges))


def _as_edges(edges) -> tuple[tuple[int, int], ...]:
    out = set()
    for e in edges:
        i, j = (int(v) for v in e)
        if i == j or i < 0 or j < 0:
            raise ValueError(
                f"dependency edges must join two different LFs (indices >= 0), got {e!r}."
            )
        out.add((min(i, j), max(i, j)))
    return tuple(sorted(out))
