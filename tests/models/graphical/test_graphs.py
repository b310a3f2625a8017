"""Enumeration of decomposable graphs: counts (OEIS A058862), cliques and separators."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from undercount.errors import ConfigError
from undercount.models.graphical.graphs import (
    coefficient_matrix,
    decomposable_graphs,
    subset_mask,
    subset_members,
)


@pytest.mark.parametrize(("j", "count"), [(1, 1), (2, 2), (3, 8), (4, 61), (5, 822), (6, 18154)])
def test_counts_match_oeis_a058862(j, count):
    # Labelled chordal graphs: 1, 2, 8, 61, 822, 18154 (OEIS A058862); dga ships 8/61/822.
    assert len(decomposable_graphs(j)) == count


def test_three_list_names_are_dgas():
    names = {g.name for g in decomposable_graphs(3)}
    assert names == {
        "[1][2][3]",
        "[12][3]",
        "[13][2]",
        "[1][23]",
        "[12][13]",
        "[12][23]",
        "[13][23]",
        "[123]",
    }


def test_four_cycle_is_not_decomposable_but_chorded_is():
    names = {g.name for g in decomposable_graphs(4)}
    # The 4-cycle 1-2-3-4-1 has no chord; adding 1-3 makes [123][134].
    assert "[12][14][23][34]" not in names
    assert "[123][134]" in names


@pytest.mark.parametrize("j", [3, 4, 5, 6])
def test_junction_tree_identities(j):
    for g in decomposable_graphs(j):
        # Running intersection: sum of clique sizes minus separator sizes counts each vertex once.
        size = sum(c.bit_count() for c in g.cliques) - sum(s.bit_count() for s in g.separators)
        assert size == j
        # Cliques cover every vertex and are maximal and complete in the graph's edges.
        covered = 0
        edges = set(g.edges)
        for c in g.cliques:
            covered |= c
            members = subset_members(c, j)
            assert all(e in edges for e in combinations(members, 2))
        assert covered == (1 << j) - 1
        # Number of connected components from the edges.
        parent = list(range(j))

        def find(x, parent=parent):
            while parent[x] != x:
                x = parent[x]
            return x

        for a, b in g.edges:
            parent[find(a)] = find(b)
        assert g.n_components == len({find(v) for v in range(j)})


def test_coefficient_matrix_rows_sum_to_components():
    w = coefficient_matrix(5)
    comps = np.array([g.n_components for g in decomposable_graphs(5)])
    np.testing.assert_array_equal(w.sum(axis=1), comps)
    assert not w.flags.writeable


def test_subset_mask_first_list_is_most_significant():
    assert subset_mask((0,), 3) == 0b100
    assert subset_members(0b101, 3) == (0, 2)


def test_seven_lists_refused():
    with pytest.raises(ConfigError, match="1 to 6 lists"):
        decomposable_graphs(7)
