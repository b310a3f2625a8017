"""Decomposable (chordal) graphs on J lists, with their cliques and separators.

The vertices are the lists. A graph is *decomposable* when it is chordal (every cycle of four
or more vertices has a chord); its maximal cliques can then be ordered as a junction tree, and
the separators (intersections along the tree's edges) form a multiset that does not depend on
which junction tree is chosen. Madigan & York (1997) average over all such graphs.

Subsets of lists are encoded as bitmasks in :meth:`CaptureTable.full_counts`'s convention:
list ``j`` (0-based, column order) is bit ``J - 1 - j``, so the first list is the most
significant bit and a subset mask picks cells with ``code & mask``.

The numbers of labelled decomposable graphs on 1, 2, ..., 7 vertices are 1, 2, 8, 61, 822,
18154, 617675 (OEIS A058862); :func:`decomposable_graphs` enumerates them exhaustively for
``J <= 6`` by testing every one of the ``2^(J(J-1)/2)`` edge sets for chordality.

References
----------
.. [1] Madigan, D. and York, J. C. (1997). Bayesian methods for estimation of the size of a
   closed population. *Biometrika* 84:19-31. https://doi.org/10.1093/biomet/84.1.19
.. [2] Lauritzen, S. L. (1996). *Graphical Models*. Oxford University Press (chapter 2:
   decomposability, perfect sequences of cliques, separators).
.. [3] OEIS Foundation. Sequence A058862, number of labeled chordal graphs on n nodes.
   https://oeis.org/A058862
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

from undercount.errors import ConfigError

__all__ = [
    "MAX_ENUMERATED_LISTS",
    "DecomposableGraph",
    "coefficient_matrix",
    "decomposable_graphs",
    "subset_mask",
    "subset_members",
]

#: Largest number of lists whose decomposable graphs are enumerated (18,154 graphs for 6).
MAX_ENUMERATED_LISTS = 6


def subset_mask(members: tuple[int, ...], n_lists: int) -> int:
    """Bitmask of a set of 0-based list indices (first list = most significant bit)."""
    mask = 0
    for j in members:
        mask |= 1 << (n_lists - 1 - j)
    return mask


def subset_members(mask: int, n_lists: int) -> tuple[int, ...]:
    """0-based list indices in a bitmask, ascending."""
    return tuple(j for j in range(n_lists) if mask >> (n_lists - 1 - j) & 1)


@dataclass(frozen=True)
class DecomposableGraph:
    """One decomposable graph on ``n_lists`` vertices.

    Attributes
    ----------
    n_lists : int
    edges : tuple of (int, int)
        0-based list pairs ``(i, j)`` with ``i < j``, sorted.
    cliques : tuple of int
        Bitmasks of the maximal cliques (isolated vertices are cliques of size one).
    separators : tuple of int
        Bitmasks of the non-empty separators of a junction tree, with multiplicity.
        Disconnected graphs also have ``n_components - 1`` empty separators, which are not
        listed: their marginal-likelihood term is identically zero.
    n_components : int
        Number of connected components (``len(cliques) - len(separators)``).
    """

    n_lists: int
    edges: tuple[tuple[int, int], ...]
    cliques: tuple[int, ...]
    separators: tuple[int, ...]

    @property
    def n_components(self) -> int:
        return len(self.cliques) - len(self.separators)

    @property
    def name(self) -> str:
        """dga's notation: cliques over 1-based list numbers, e.g. ``[12][13][24][45]``."""
        parts = ["".join(str(j + 1) for j in subset_members(c, self.n_lists)) for c in self.cliques]
        return "".join(f"[{p}]" for p in sorted(parts))

    def __str__(self) -> str:
        return self.name


def _elimination_cliques(adj: list[int], n: int) -> list[int] | None:
    """Maximal cliques (bit v = vertex v) of a chordal graph, or None if it is not chordal.

    A graph is chordal iff its vertices can be removed one by one, each simplicial (its
    remaining neighbours form a clique) when removed; every maximal clique is then some
    removed vertex together with its remaining neighbours (Fulkerson & Gross 1965).
    """
    alive = (1 << n) - 1
    candidates = []
    while alive:
        for v in range(n):
            if not alive >> v & 1:
                continue
            nb = adj[v] & alive
            u_bits = nb
            ok = True
            while u_bits:
                u = (u_bits & -u_bits).bit_length() - 1
                u_bits &= u_bits - 1
                if (adj[u] | (1 << u)) & nb != nb:
                    ok = False
                    break
            if ok:
                candidates.append(nb | (1 << v))
                alive &= ~(1 << v)
                break
        else:
            return None
    return [c for c in candidates if not any(d != c and d & c == c for d in candidates)]


def _junction_separators(cliques: list[int]) -> list[int]:
    """Non-empty separators: edges of a maximum-weight spanning forest of the clique graph.

    For a chordal graph every maximum-weight spanning tree of the clique intersection
    graph (weight = size of the intersection) is a junction tree (Lauritzen 1996, ch. 2),
    so Kruskal's algorithm gives the separators.
    """
    k = len(cliques)
    parent = list(range(k))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = sorted(
        ((i, j) for i in range(k) for j in range(i + 1, k) if cliques[i] & cliques[j]),
        key=lambda p: -(cliques[p[0]] & cliques[p[1]]).bit_count(),
    )
    seps = []
    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[ri] = rj
            seps.append(cliques[i] & cliques[j])
    return seps


def _to_list_mask(vertex_mask: int, n: int) -> int:
    """Vertex bitmask (bit v = vertex v) -> list bitmask (list j = bit n-1-j)."""
    return subset_mask(tuple(v for v in range(n) if vertex_mask >> v & 1), n)


@lru_cache(maxsize=8)
def decomposable_graphs(n_lists: int) -> tuple[DecomposableGraph, ...]:
    """Every labelled decomposable graph on ``n_lists`` vertices.

    Parameters
    ----------
    n_lists : int
        Number of lists, 1 to :data:`MAX_ENUMERATED_LISTS`.

    Returns
    -------
    tuple of DecomposableGraph
        Ordered by edge set (the edge subsets in binary order); 8, 61, 822 and 18,154 graphs
        for 3, 4, 5 and 6 lists.

    Raises
    ------
    ConfigError
        For more than :data:`MAX_ENUMERATED_LISTS` lists (617,675 graphs on 7 vertices).
    """
    n = int(n_lists)
    if n < 1 or n > MAX_ENUMERATED_LISTS:
        raise ConfigError(
            f"decomposable graphs are enumerated for 1 to {MAX_ENUMERATED_LISTS} lists, "
            f"got {n_lists}"
        )
    all_edges = list(combinations(range(n), 2))
    out = []
    for bits in range(1 << len(all_edges)):
        edges = tuple(e for k, e in enumerate(all_edges) if bits >> k & 1)
        adj = [0] * n
        for i, j in edges:
            adj[i] |= 1 << j
            adj[j] |= 1 << i
        cl = _elimination_cliques(adj, n)
        if cl is None:
            continue
        seps = _junction_separators(cl)
        out.append(
            DecomposableGraph(
                n_lists=n,
                edges=edges,
                cliques=tuple(sorted(_to_list_mask(c, n) for c in cl)),
                separators=tuple(sorted(_to_list_mask(s, n) for s in seps)),
            )
        )
    return tuple(out)


@lru_cache(maxsize=8)
def coefficient_matrix(n_lists: int) -> np.ndarray:
    """Signed clique/separator incidence, shape ``(n_graphs, 2^J)``, read-only float64.

    Row g has +1 in the columns of graph g's cliques and -1 in those of its non-empty
    separators (a separator shared twice gets -2), so a graph's log marginal likelihood is
    this row times the vector of per-subset marginal terms.
    """
    graphs = decomposable_graphs(n_lists)
    w = np.zeros((len(graphs), 1 << n_lists))
    for g, graph in enumerate(graphs):
        for c in graph.cliques:
            w[g, c] += 1.0
        for s in graph.separators:
            w[g, s] -= 1.0
    w.setflags(write=False)
    return w
