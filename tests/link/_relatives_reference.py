"""The pure-Python clustering with relative and same-list constraints that
:func:`undercount.link.relatives.relative_clusters` replaced (issue 17: compiled for speed,
same results), kept as the reference the compiled one is tested against."""

# ruff: noqa
import numpy as np
import pandas as pd

from undercount.link.relatives import (
    AGE_TOLERANCE,
    HEAPED_AGE_TOLERANCE,
    REST,
    _num,
    _script,
    bare_given,
    loose_arabic,
    rasm,
)
from undercount.names.keys import skeleton
from undercount.names.victims import parse_victim_name


def _column(std: pd.DataFrame, col: str, kind: str = "obj") -> list:
    if col not in std.columns:
        return [None] * len(std)
    if kind == "num":
        v = _num(std[col])
        out = v.astype(object)  # Python floats
        out[~np.isfinite(v)] = None
        return out.tolist()
    if kind == "bool":
        return std[col].fillna(False).astype(bool).tolist()
    values = std[col].to_numpy(dtype=object, copy=True)
    values[std[col].isna().to_numpy()] = None
    return values.tolist()


def _per_value(values: list, fn) -> list:
    """``[fn(v) for v in values]``, calling ``fn`` once per distinct value."""
    table = {v: fn(v) for v in set(values)}
    return [table[v] for v in values]


class _LazyList:
    """``fn(values[i])`` computed on first use (most records are never checked)."""

    def __init__(self, values: list, fn) -> None:
        self.values, self.fn, self.done = values, fn, {}

    def __getitem__(self, i: int):
        if i not in self.done:
            self.done[i] = self.fn(self.values[i])
        return self.done[i]


class _Forbid:
    """Pairwise constraints on records, in plain Python: clusters are small and an edge
    checks every member of one cluster against every member of the other."""

    def __init__(self, std: pd.DataFrame, valid_id, *, relatives: bool, same_list: bool):
        self.relatives = relatives and all(c in std for c in (*REST, "given_key", "given"))
        self.same_list = same_list and "list" in std
        parts = [_column(std, k) for k in REST]
        self.parts = list(zip(*parts, strict=True))  # missing parts kept as None
        self.family = parts[-1]
        self.rest = [None if None in t else t for t in self.parts]
        self.gkey = _column(std, "given_key")
        self.loose = _LazyList(_column(std, "name_ar"), loose_arabic)
        self.given = _column(std, "given")
        self.script = _per_value(self.given, _script)
        self.grasm = _per_value(self.given, rasm)
        self.gbare = _per_value(self.given, bare_given)
        # The given name in the record's other script, parsed only for the few pairs that
        # need it (:meth:`alt_key`).
        self.other_name = [None] * len(std)
        if "name_ar" in std.columns and "name_lat" in std.columns:
            self.other_name = [
                (lat if sc == "ar" else ar) if ar is not None and lat is not None else None
                for ar, lat, sc in zip(_column(std, "name_ar"), _column(std, "name_lat"),
                                       self.script, strict=True)
            ]
        self._alt: dict[int, str | None] = {}
        self.list = _column(std, "list")
        # Strong duplicate evidence: the same ID as recorded, valid or not (FEBRL's IDs
        # carry no check digit; a shared mistyped ID is still one person's).
        self.id = _column(std, "national_id")
        if valid_id is not None and "national_id" not in std:
            self.id = [None if pd.isna(x) else x for x in np.asarray(valid_id, dtype=object)]
        dob = _column(std, "dob")
        dh = _column(std, "dob_heaped", "bool")
        ah = _column(std, "age_heaped", "bool")
        self.dob_exact = [None if h else d for d, h in zip(dob, dh, strict=True)]
        self.dob_any = dob
        self.heaped = [a or b for a, b in zip(dh, ah, strict=True)]
        self.year = _column(std, "birth_year", "num")
        self.age = _column(std, "age", "num")

    def alt_same(self, x: int, y: int) -> bool:
        """The given-name key one record has in its other script is the other record's (a
        list that writes both: Airwars' منزر is its own Arabic for Munther, منذر)."""
        ax, ay = self.alt_key(x), self.alt_key(y)
        return ((ax is not None and ax in (self.gkey[y], ay))
                or (ay is not None and ay == self.gkey[x]))

    def alt_key(self, x: int) -> str | None:
        """Skeleton key of record ``x``'s given name in its other script (None: no name
        there)."""
        if x not in self._alt:
            other, key = self.other_name[x], None
            if other is not None:
                given = parse_victim_name(other).given
                key = skeleton(given) or None if given else None
            self._alt[x] = key
        return self._alt[x]

    def compatible(self, x: int, y: int) -> bool:
        """:func:`compatible_age` for one pair."""
        dx, dy = self.dob_exact[x], self.dob_exact[y]
        if dx is not None and dy is not None and dx != dy:
            return False
        tol = HEAPED_AGE_TOLERANCE if self.heaped[x] or self.heaped[y] else AGE_TOLERANCE
        for v in (self.year, self.age):
            if v[x] is not None and v[y] is not None and abs(v[x] - v[y]) > tol:
                return False
        return True

    def same_person(self, x: int, y: int) -> bool:
        """The same full name (given, father and family keys, and the grandfather's where
        both have one) and compatible ages compared on both: the two records of an edge
        name one person even where their recorded sexes differ. A list's sex is a
        clerk's entry, wrong for about one record in a hundred (1.8% of the Airwars
        records whose four name keys and age agree with a MoH record; children's most,
        their names give no sex), while two people with one four-part name, one age and
        different sexes need a given name of both sexes *and* two fathers of one name,
        father's name and family."""
        if not self.relatives:
            return False
        px, py = self.parts[x], self.parts[y]
        if (self.gkey[x] is None or self.gkey[x] != self.gkey[y] or px[0] is None
                or px[0] != py[0] or px[2] is None or px[2] != py[2]):
            return False
        if px[1] is not None and py[1] is not None and px[1] != py[1]:
            return False
        return self.compared(x, y) and self.compatible(x, y)

    def compared(self, x: int, y: int) -> bool:
        """Both records have a date of birth, a birth year or an age: agreement on them is
        evidence, not just the absence of a contradiction."""
        return any(v[x] is not None and v[y] is not None
                   for v in (self.dob_any, self.year, self.age))

    def pair(self, x: int, y: int) -> str | None:
        if self.id[x] is not None and self.id[x] == self.id[y]:
            return None
        rest = self.rest[x] is not None and self.rest[x] == self.rest[y]
        arabic = self.script[x] == "ar" and self.script[y] == "ar"
        if self.same_list and self.list[x] == self.list[y]:
            # Same name: every part's key the same or missing on both, given and family
            # present. In Arabic the spelling instead, up to spaces and doubled letters
            # (:func:`loose_arabic`): twins ليان and لينا, cousins whose fathers are محمد
            # and محمود, share the skeletons. Latin spellings of one name vary too much
            # within a list (fozai, fozaee) for that.
            if arabic:
                name = self.loose[x] is not None and self.loose[x] == self.loose[y]
            else:
                name = (self.parts[x] == self.parts[y] and self.family[x] is not None
                        and self.gkey[x] is not None and self.gkey[x] == self.gkey[y])
            if not (name and self.compared(x, y) and self.compatible(x, y)):
                return "same_list"
        if self.relatives and rest and self.gkey[x] is not None and self.gkey[y] is not None:
            if self.script[x] != self.script[y]:
                # Across scripts the skeletons of one name can differ (معاذ MT, Moaz MZ):
                # only contradicting ages or dates of birth tell relatives apart here.
                if not self.compatible(x, y):
                    return "relatives"
            elif (self.gkey[x] != self.gkey[y] and self.grasm[x] != self.grasm[y]
                  and self.gbare[x] != self.gbare[y] and not self.alt_same(x, y)):
                if self.dob_exact[x] is None or self.dob_exact[x] != self.dob_exact[y]:
                    return "relatives"
            elif self.given[x] != self.given[y] and not self.compatible(x, y):
                return "relatives"
        return None

    def check(self, a: list[int], b: list[int]) -> str | None:
        for x in a:
            for y in b:
                why = self.pair(x, y)
                if why is not None:
                    return why
        return None


def _kept_apart(apart: dict[int, set[int]], ma: list[int], mb: list[int]) -> bool:
    """Whether a reviewer's cannot-link pair has one record in ``ma`` and one in ``mb``."""
    other = set(mb)
    return any(not apart[x].isdisjoint(other) for x in ma if x in apart)


def reference_relative_clusters(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    id_code: np.ndarray,
    sex_code: np.ndarray,
    std: pd.DataFrame,
    valid_id,
    *,
    relatives: bool = True,
    same_list: bool = True,
    cannot: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy constrained single linkage over edges already in processing order.

    As :func:`undercount.link.cluster.constrained_clusters` (cluster ID and sex
    constraints), plus the pairwise constraints of the module docstring, checked between
    every member of the two clusters an edge would join. Returns ``(roots, status,
    refused_by)`` with ``status`` 0 redundant, 1 merged, 2 refused and ``refused_by`` the
    constraint (``""`` when not refused). ``cannot`` holds reviewers' cannot-link pairs
    (``(k, 2)`` uids): no merge may join clusters holding the two records of one
    (``refused_by`` ``"review"``).
    """
    forbid = _Forbid(std, valid_id, relatives=relatives, same_list=same_list)
    apart: dict[int, set[int]] = {}
    for x, y in (cannot if cannot is not None else np.empty((0, 2), np.int64)).tolist():
        apart.setdefault(x, set()).add(y)
        apart.setdefault(y, set()).add(x)
    parent = np.arange(n)
    members: dict[int, list[int]] = {}
    cid = id_code.copy()
    csex = sex_code.copy()
    status = np.zeros(len(left), dtype=np.int8)
    refused_by = np.full(len(left), "", dtype=object)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for e in range(len(left)):
        a, b = find(int(left[e])), find(int(right[e]))
        if a == b:
            continue
        if cid[a] >= 0 and cid[b] >= 0 and cid[a] != cid[b]:
            status[e], refused_by[e] = 2, "national_id"
            continue
        if (csex[a] >= 0 and csex[b] >= 0 and csex[a] != csex[b]
                and not forbid.same_person(int(left[e]), int(right[e]))):
            status[e], refused_by[e] = 2, "sex"
            continue
        ma = members.get(a, [a])
        mb = members.get(b, [b])
        if apart and _kept_apart(apart, ma, mb):
            status[e], refused_by[e] = 2, "review"
            continue
        why = forbid.check(ma, mb)
        if why is not None:
            status[e], refused_by[e] = 2, why
            continue
        if len(ma) < len(mb):
            a, b, ma, mb = b, a, mb, ma
        parent[b] = a
        members[a] = ma + mb
        members.pop(b, None)
        if cid[a] < 0:
            cid[a] = cid[b]
        if csex[a] < 0:
            csex[a] = csex[b]
        status[e] = 1
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    return roots, status, refused_by


