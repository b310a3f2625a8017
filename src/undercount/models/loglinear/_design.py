"""Hierarchical log-linear models over J lists: terms, specs, design matrices, enumeration.

Terms as bit masks
------------------
A term (an interaction among a set of lists) is stored as an integer bit mask in the same
convention as cell codes (:meth:`CaptureTable.full_counts`): list ``j`` (0-based, column
order) is bit ``J-1-j``, so the first list is the most significant bit. A cell with code
``c`` "contains" term ``t`` when ``c & t == t``, and the term's design column is the product
of the 0/1 indicators of its lists:

.. math:: x_{c,t} = \\prod_{j \\in t} x_{c,j} = [\\, c \\mathbin{\\&} t = t \\,].

A *model* is a hierarchical set of terms: it contains every main effect and every subset of
each of its terms. It is written by its generators (maximal terms), as in Bishop, Fienberg &
Holland (1975): ``[123,14,34]`` over four lists is the model with the three-way term
``1:2:3``, its three two-way subsets, the two-way terms ``1:4`` and ``3:4``, and all main
effects. The J-way term is never allowed: with the unobservable cell missing, it is not
identifiable, and setting it to zero is the identifying assumption of every log-linear
multiple-systems estimate.

References
----------
.. [1] Bishop, Y. M. M., Fienberg, S. E. and Holland, P. W. (1975). Discrete Multivariate
   Analysis. MIT Press. doi:10.1007/978-0-387-72806-3
.. [2] Fienberg, S. E. (1972). The multiple recapture census for closed populations and
   incomplete 2^k contingency tables. Biometrika 59:591-603. doi:10.1093/biomet/59.3.591
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import combinations

import numpy as np

from undercount.errors import ConfigError

__all__ = [
    "Model",
    "all_hierarchical_models",
    "cell_codes",
    "design_matrix",
    "format_model",
    "generators",
    "hierarchical_closure",
    "main_effects",
    "model_order",
    "parse_model",
    "term_columns",
    "term_lists",
    "term_name",
    "term_order",
]

#: A model: the sorted tuple of its term masks (main effects included, intercept excluded).
Model = tuple[int, ...]


def term_lists(term: int, n_lists: int) -> tuple[int, ...]:
    """0-based list positions in ``term``, in column order."""
    return tuple(j for j in range(n_lists) if term >> (n_lists - 1 - j) & 1)


def term_order(term: int) -> int:
    return int(term).bit_count()


def _sort_key(term: int, n_lists: int) -> tuple[int, tuple[int, ...]]:
    return (term_order(term), term_lists(term, n_lists))


def main_effects(n_lists: int) -> Model:
    return tuple(1 << (n_lists - 1 - j) for j in range(n_lists))


def sort_terms(terms: Iterable[int], n_lists: int) -> Model:
    """Column order: main effects in list order, then two-way terms, then three-way, ..."""
    return tuple(sorted(set(terms), key=lambda t: _sort_key(t, n_lists)))


def hierarchical_closure(terms: Iterable[int], n_lists: int) -> Model:
    """Every non-empty subset of every term, plus all main effects, in column order."""
    out: set[int] = set(main_effects(n_lists))
    for t in terms:
        bits = [b for b in range(n_lists) if t >> b & 1]
        for r in range(1, len(bits) + 1):
            for sub in combinations(bits, r):
                out.add(sum(1 << b for b in sub))
    return sort_terms(out, n_lists)


def generators(model: Iterable[int]) -> list[int]:
    """Maximal terms of a hierarchical model.

    In a hierarchical model a term has a proper superset in the model iff it has one with
    exactly one more list, so only one-list extensions are tested.
    """
    terms = set(model)
    out = []
    for t in terms:
        bit, maximal = 1, True
        while bit <= t or bit <= max(terms):
            if not t & bit and (t | bit) in terms:
                maximal = False
                break
            bit <<= 1
        if maximal:
            out.append(t)
    return out


def model_order(model: Iterable[int]) -> int:
    """Highest interaction order in the model (1 = main effects only)."""
    return max((term_order(t) for t in model), default=0)


def term_name(term: int, lists: Sequence[str]) -> str:
    """``"EXH:ABA"`` for the interaction of the first two lists of Kosovo."""
    return ":".join(lists[j] for j in term_lists(term, len(lists)))


def format_model(model: Iterable[int], n_lists: int, lists: Sequence[str] | None = None) -> str:
    """Canonical hierarchical notation of a model, e.g. ``"[123,14,34]"``.

    Generators are written as 1-based list positions (digits, so only for J <= 9); higher
    orders come first, then generators of equal order in lexicographic order of their lists
    (the ordering MultipleSystemsEstimation prints: ``[123,14,34]``, ``[12,3]``, ``[23,1]``).
    For J >= 10 the list names joined by ``":"`` are used instead (``lists`` required).
    """
    gens = generators(model)
    if n_lists <= 9:
        labels = _digit_labels(n_lists)
        return "[" + ",".join(sorted((labels[t] for t in gens), key=_label_key)) + "]"
    if lists is None:
        raise ConfigError(f"formatting a model over {n_lists} lists needs the list names")
    gens.sort(key=lambda t: (-term_order(t), term_lists(t, n_lists)))
    return "[" + ",".join(term_name(t, lists) for t in gens) + "]"


def _label_key(label: str) -> tuple[int, str]:
    return (-len(label), label)


@lru_cache(maxsize=16)
def _digit_labels(n_lists: int) -> dict[int, str]:
    return {
        t: "".join(str(j + 1) for j in term_lists(t, n_lists)) for t in range(1, 2**n_lists)
    }


_SPLIT_NAMES = re.compile(r"\s*[:*]\s*")


def parse_model(spec: str, lists: Sequence[str]) -> Model:
    """Parse a hierarchical model spec into its (closed, sorted) set of term masks.

    Parses are cached: the bootstrap re-selects among the same few specs in each of its
    replicates.

    Parameters
    ----------
    spec : str
        Generators in brackets, separated by commas. Each generator is either a run of
        1-based list positions (``"[12,13,23]"``; only for J <= 9) or list names joined by
        ``":"`` or ``"*"`` (``"[EXH:ABA, OSCE, HRW]"``, ``"[EXH*ABA,OSCE]"``); a single
        list name stands for its main effect. Lists missing from the spec enter as main
        effects, and every subset of a generator is included (the model is hierarchical).
    lists : sequence of str
        The table's list names, in column order.

    Raises
    ------
    ConfigError
        Naming the spec and the problem: not bracketed, empty generator, unknown list,
        position out of range, a list repeated in a generator, or the saturated J-way term.
    """
    return _parse_model(str(spec), tuple(lists))


@lru_cache(maxsize=4096)
def _parse_model(spec: str, lists: tuple[str, ...]) -> Model:
    J = len(lists)
    s = str(spec).strip()
    if not (s.startswith("[") and s.endswith("]")):
        raise ConfigError(
            f"model {spec!r}: write the generators in brackets, e.g. '[12,13,23]' or "
            f"'[{lists[0]}:{lists[-1]}]'"
        )
    body = s[1:-1].strip()
    if not body:
        indep = ",".join(str(j + 1) for j in range(J)) if J <= 9 else ",".join(lists)
        raise ConfigError(f"model {spec!r} is empty; the independence model is '[{indep}]'")
    name_pos = {name: j for j, name in enumerate(lists)}
    terms: list[int] = []
    for raw in body.split(","):
        gen = raw.strip()
        if not gen:
            raise ConfigError(f"model {spec!r}: empty generator (two commas in a row?)")
        if gen in name_pos:
            positions = [name_pos[gen]]
        elif _SPLIT_NAMES.search(gen):
            positions = []
            for name in _SPLIT_NAMES.split(gen):
                if name not in name_pos:
                    raise ConfigError(
                        f"model {spec!r}: unknown list {name!r}; the lists are "
                        f"{', '.join(lists)}"
                    )
                positions.append(name_pos[name])
        elif gen.isdigit():
            if J > 9:
                raise ConfigError(
                    f"model {spec!r}: digit notation needs J <= 9 lists (this table has {J}); "
                    "join list names with ':' instead"
                )
            positions = []
            for ch in gen:
                k = int(ch)
                if not 1 <= k <= J:
                    raise ConfigError(
                        f"model {spec!r}: list number {k} is out of range 1..{J}"
                    )
                positions.append(k - 1)
        else:
            raise ConfigError(
                f"model {spec!r}: unknown list {gen!r}; the lists are {', '.join(lists)} "
                f"(or numbers 1..{J})"
            )
        if len(set(positions)) != len(positions):
            raise ConfigError(f"model {spec!r}: generator {gen!r} names a list twice")
        if len(positions) == J and J > 1:
            raise ConfigError(
                f"model {spec!r} contains the {J}-way interaction of all lists (the saturated "
                "model), which is never identifiable: the unobserved cell is the only one "
                "that would inform it"
            )
        terms.append(sum(1 << (J - 1 - j) for j in positions))
    return hierarchical_closure(terms, J)


@lru_cache(maxsize=32)
def cell_codes(n_lists: int) -> np.ndarray:
    """Codes 1..2^J-1 of the observable cells (read-only)."""
    out = np.arange(1, 2**n_lists, dtype=np.int64)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=4096)
def _term_column(n_lists: int, term: int) -> np.ndarray:
    col = ((cell_codes(n_lists) & term) == term).astype(np.float64)
    col.flags.writeable = False
    return col


def term_columns(n_lists: int, terms: Sequence[int]) -> np.ndarray:
    """Design columns (0/1 indicators) of ``terms`` over all observable cells, no intercept."""
    m = 2**n_lists - 1
    if not terms:
        return np.zeros((m, 0))
    return np.column_stack([_term_column(n_lists, t) for t in terms])


def design_matrix(n_lists: int, model: Sequence[int]) -> np.ndarray:
    """Design over the 2^J-1 observable cells: intercept, then the model's terms in order."""
    m = 2**n_lists - 1
    return np.column_stack([np.ones(m), term_columns(n_lists, model)])


def all_hierarchical_models(n_lists: int, max_order: int | None = None) -> list[Model]:
    """Every hierarchical model containing all main effects, up to ``max_order``.

    The J-way term is always excluded, so ``max_order`` is at most J-1 (its default). The
    counts are 8 models for J = 3 and 113 for J = 4 (the numbers of simplicial complexes
    on J labelled vertices, excluding the full simplex).

    Models are built order by order: a term of order k may be added only when all of its
    (k-1)-subsets are present, which is exactly the hierarchy condition.
    """
    J = n_lists
    top = J - 1 if max_order is None else min(int(max_order), J - 1)
    if top < 1:
        raise ConfigError(f"max_order={max_order!r} must be at least 1")
    # A model is held as a bit set over term masks (bit t set = term t present), so the
    # hierarchy test "all (k-1)-subsets present" is one AND against a precomputed mask.
    levels = {
        k: [sum(1 << b for b in c) for c in combinations(range(J), k)] for k in range(2, top + 1)
    }
    need = {
        t: sum(1 << (t & ~(1 << b)) for b in range(J) if t >> b & 1)
        for k in levels for t in levels[k]
    }
    order = sorted(range(1, 2**J), key=lambda t: _sort_key(t, J))
    order = [t for t in order if term_order(t) <= top]
    out_sets: list[int] = []

    def extend(current: int, k: int) -> None:
        if k > top:
            out_sets.append(current)
            return
        cands = [t for t in levels[k] if current & need[t] == need[t]]
        for r in range(len(cands) + 1):
            for chosen in combinations(cands, r):
                add = 0
                for t in chosen:
                    add |= 1 << t
                extend(current | add, k + 1)

    extend(sum(1 << t for t in main_effects(J)), 2)
    return [tuple(t for t in order if s >> t & 1) for s in out_sets]
