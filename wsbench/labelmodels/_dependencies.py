"""The dependency forest of a label model with known LF dependencies (plain NumPy, static).

A forest of dependency edges between LFs (cliques of two LFs, single-LF separators) fixes which
indicator variables exist, which overlaps are modelled (variables in different components) and how
the junction-tree posterior is rooted. Used by ``MatrixCompletion`` and its sufficient statistics.
"""

import functools

import numpy as np

from ._class_balance import choose_triples


class _Structure:
    """Variables, components and the rooted forest implied by ``(m, k, edges)`` (plain NumPy, static).

    Attributes:
        comp: ``(m,)`` dependency component of each LF; n_components: their number.
        parent, parent_edge, child_is_second: the forest rooted at each tree's lowest-index LF.
        n_vars: the number of indicator variables, ``m * k`` one-hot LF votes plus ``k * k`` per edge.
        var_comp: ``(n_vars,)`` component of each indicator variable; mask: ``(n_vars, n_vars)`` 1
            where two variables are in different components (their overlap is modelled).
        triples: LF triples in three different components (``choose_triples``).
    """

    def __init__(self, m: int, k: int, edges: tuple[tuple[int, int], ...]):
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
        self.m, self.k, self.edges = m, k, edges
        self.n_vars = m * k + len(edges) * k * k
        var_comp = [np.repeat(self.comp, k)]
        var_comp += [np.full(k * k, self.comp[i]) for i, _ in edges]
        self.var_comp = np.concatenate(var_comp)
        self.mask = (self.var_comp[:, None] != self.var_comp[None, :]).astype(np.float32)
        self.triples = choose_triples(self.comp, k)


@functools.lru_cache(maxsize=64)
def _structure(m: int, k: int, edges: tuple[tuple[int, int], ...]) -> _Structure:
    return _Structure(m, k, edges)


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
