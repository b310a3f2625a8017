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
    # Each record as one 64-bit hash of its fields (missing as one marker): sets of hashes
    # stay quick and small at a million records, and a false "same" or "inside" would need
    # every record of a list to collide with one of the other's.
    keys: dict[str, np.ndarray] = {}
    if records is not None and fields:
        values = records[fields].astype(object)
        values = values.where(values.notna(), "\x00").astype(str)
        hashes = pd.util.hash_pandas_object(values, index=False).to_numpy()
        owner = records["list"].to_numpy()
        for name in lists:
            keys[name] = np.unique(hashes[owner == name])
    names = list(lists)
    empty = np.array([], dtype=np.uint64)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            sa, sb = keys.get(a, empty), keys.get(b, empty)
            if not len(sa) or not len(sb):
                continue
            a_in_b = bool(np.isin(sa, sb).all())
            b_in_a = bool(np.isin(sb, sa).all())
            if a_in_b and b_in_a:
                out.append(f"lists {a!r} and {b!r} hold the same {len(sa):,} records (after "
                           "standardising names, dates, places and IDs): is one list entered "
                           "twice? Two copies of a source make the estimate too low")
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
