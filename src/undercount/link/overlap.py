"""Lists that repeat one another: the same records, or the same people after linkage."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["list_overlaps"]


#: Standardised fields compared when asking whether two lists hold the same records.
_RECORD_FIELDS = (
    "name_ar", "name_lat", "given", "father", "grandfather", "family", "sex", "age", "dob",
    "dod", "place", "national_id",
)


#: Records of one list looked up in the other before every record is hashed.
_PROBES = 8
_MISSING = "\x00"


def _could_match(values, value) -> np.ndarray:
    """Which of ``values`` could have the same string as ``value`` (missing as
    :data:`_MISSING`), as the record hashes compare them; never False for one that does."""
    if pd.isna(value) or value == _MISSING:
        mask = np.asarray(pd.isna(values), dtype=bool)
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            mask |= _equal(values, _MISSING)  # a string that reads as the marker
        return mask
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) != "string":
        # 1 and "1" print alike but differ: no shortcut for a column of mixed types.
        return np.ones(len(values), dtype=bool)
    return _equal(values, value)


def _equal(values, value) -> np.ndarray:
    eq = values == value
    if hasattr(eq, "to_numpy"):
        return eq.to_numpy(dtype=bool, na_value=False)
    return np.asarray(eq, dtype=bool)


class _RecordSets:
    """Each list's records as a set, for "are all of one list's records in the other?".

    A few records of the one list are looked up in the other first, field by field on the
    rows still matching (:func:`_could_match`): one with no copy there settles it (nearly
    always; milliseconds). Only otherwise is every record hashed, as one 64-bit hash of its
    fields, and the sets compared: that took 3.6 s of the 8.6 s of making the tables of a
    million records, for lists that shared no record."""

    def __init__(self, records: pd.DataFrame | None, fields: list[str],
                 rows: dict[str, np.ndarray]) -> None:
        self.records, self.fields, self.rows = records, fields, rows
        self.columns = [
            records[c].to_numpy() if isinstance(records[c].dtype, np.dtype) else records[c].array
            for c in (fields if records is not None else ())
        ]
        self._keys: dict[str, np.ndarray] | None = None

    def inside(self, a: str, b: str) -> bool:
        """Whether every record of list ``a`` is a record of list ``b``."""
        ra, rb = self.rows[a], self.rows[b]
        probes = np.unique(ra[np.linspace(0, len(ra) - 1, min(_PROBES, len(ra))).astype(int)])
        for r in probes:
            left = rb
            for col in self.columns:
                left = left[_could_match(col[left], col[r])]
                if not len(left):
                    return False
        return bool(np.isin(self.keys(a), self.keys(b)).all())

    def keys(self, name: str) -> np.ndarray:
        """The distinct record hashes of list ``name``."""
        if self._keys is None:
            # Each record as one 64-bit hash of its fields (missing as one marker): sets of
            # hashes stay quick and small at a million records, and a false "same" or
            # "inside" would need every record of a list to collide with one of the other's.
            values = self.records[self.fields].astype(object)
            values = values.where(values.notna(), _MISSING).astype(str)
            hashes = pd.util.hash_pandas_object(values, index=False).to_numpy()
            self._keys = {n: np.unique(hashes[r]) for n, r in self.rows.items()}
        return self._keys[name]


def list_overlaps(
    records: pd.DataFrame | None, histories: pd.DataFrame | None, lists: Sequence[str]
) -> list[str]:
    """Warnings for lists that duplicate one another, each naming both lists.

    Before linkage, a list's records are compared as sets of their standardised fields
    (names, sex, age, dates, place, ID; record ids and row numbers left out): two lists with
    the same set, or one whose set lies inside the other's, are almost certainly one source
    entered twice. After linkage (``histories``: one row per person with 0/1 list columns),
    two capture columns that are identical, or one inside the other (everyone on one list is
    on the other), are reported too, unless the record check already named that pair.

    Capture-recapture needs distinct sources: a list that repeats another is perfectly
    dependent on it, and the estimate moves towards the observed count without any sign in
    the fit.
    """
    out: list[str] = []
    named: set[frozenset[str]] = set()
    fields = [c for c in _RECORD_FIELDS if records is not None and c in records.columns]
    names = list(lists)
    rows: dict[str, np.ndarray] = {}
    if records is not None and fields:
        owner = records["list"].to_numpy()
        rows = {name: np.flatnonzero(owner == name) for name in names}
    sets = _RecordSets(records, fields, rows)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if not len(rows.get(a, ())) or not len(rows.get(b, ())):
                continue
            a_in_b = sets.inside(a, b)
            b_in_a = sets.inside(b, a)
            if a_in_b and b_in_a:
                out.append(f"lists {a!r} and {b!r} hold the same {len(sets.keys(a)):,} records "
                           "(after standardising names, dates, places and IDs): is one list "
                           "entered twice? Two copies of a source make the estimate too low")
            elif a_in_b or b_in_a:
                small, big = (a, b) if a_in_b else (b, a)
                out.append(f"every record of list {small!r} is also a record of list {big!r} "
                           "(after standardising names, dates, places and IDs): is one drawn "
                           "from the other? A list copied from another is not a separate "
                           "source, and the estimate is too low")
            else:
                continue
            named.add(frozenset((a, b)))
    if histories is None:
        return out
    on = {n: pd.to_numeric(histories[n]).to_numpy() > 0 for n in names if n in histories.columns}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if a not in on or b not in on or frozenset((a, b)) in named:
                continue
            ca, cb = on[a], on[b]
            if not ca.any() or not cb.any():
                continue
            if np.array_equal(ca, cb):
                out.append(f"lists {a!r} and {b!r} name exactly the same {int(ca.sum()):,} "
                           "people after linkage: two lists that capture the same people are "
                           "not separate sources, and the estimate is too low")
            elif not (ca & ~cb).any() or not (cb & ~ca).any():
                small, big = (a, b) if not (ca & ~cb).any() else (b, a)
                out.append(f"every person on list {small!r} ({int(on[small].sum()):,}) is also "
                           f"on list {big!r} after linkage: if one list was drawn from the "
                           "other they are not separate sources, and the estimate is too low")
    return out
