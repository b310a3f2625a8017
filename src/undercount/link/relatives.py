r"""Relatives: keep siblings, cousins, parents and children apart.

Whole families are killed together and listed together. Brothers share the father's,
grandfather's and family names; cousins share the grandfather's and family names; a son is
often named after his grandfather. The Fellegi--Sunter model assumes the comparisons
independent given match status, and for relatives that fails badly: among *non-matches*,
agreement on father, grandfather and family names comes almost only from siblings, whose
given names differ. This module holds everything issue 19 adds against it:

**Comparison levels** (:class:`undercount.link.relatives_levels.GivenNameComparison`, used
for ``name:given``). Two levels are checked before the ordinary ones, when father,
grandfather and family keys all agree:

- ``similar given name, rest agrees``: the given names are spelled differently in the same
  script but share the skeleton key (a spelling variant, or محمد / محمود);
- ``different given name, rest agrees``: the given-name keys differ (brothers, sisters;
  also release noise such as a dropped letter).

Their m is learned by EM in a session blocked on father, grandfather and family keys
(:data:`EM_RULE`), where the given name is what separates a person from his siblings.
Their u cannot come from random pairs (they almost never agree on three name parts); it is
set by :func:`set_relative_u` so that the *whole* pattern has the probability it has among
non-matches:

.. math:: u_{R} = \frac{N_R / T}{\prod_{k \in \{f, g, F\}} u_{k,\text{agree}}},

with :math:`N_R` the record pairs of the lists in pattern :math:`R` (counted exactly, by
grouping on the three keys; nearly all are non-matches), :math:`T = n(n-1)/2` and
:math:`u_{k,\text{agree}}` the random-pair u of agreeing on part :math:`k`. The weight of
the pattern is then :math:`\log_2 m_R \prod m_{k} / (N_R/T)` however strongly the three
agreements are correlated among non-matches (family clustering). When :math:`u_R > 1`
(relatives make the pattern more common than independence predicts) the level's u is
set to 1 and its m divided by :math:`u_R`, which leaves the weight :math:`\log_2 m/u`
unchanged.

**Cluster constraints** (:func:`relative_clusters`, behind
:func:`undercount.link.cluster.constrained_clusters`). Besides different valid IDs and
different sexes, a merge is refused when it would put in one person

- ``relatives``: two records whose father, grandfather and family keys agree while the
  given-name keys differ (in one script) and are not one name but for an article, al-Din or
  Abd al- (:func:`bare_given`), unless they share an ID (as recorded) or an
  exact, not heaped, date of birth; or whose given names share the key but are spelled
  differently in one script, or are written in different scripts (where the skeletons of
  one name can differ), while ages or dates of birth contradict (:func:`compatible_age`);
- ``same_list``: two records of the same list, unless they share an ID or the same
  name (in Arabic the same spelling up to spaces and doubled letters, :func:`loose_arabic`;
  else all four keys the same, or missing on both, given and family present) and an age,
  birth year or date of birth on both, compatible (:func:`compatible_age`).

The sex cannot-link skips records flagged ``sex_unreliable`` (:func:`reliable_sex`), and
does not refuse an edge whose two records have one full name and compatible ages (a sex
slip of one list, not two people; ``_Forbid.same_person``).

Refused edges carry the constraint in ``refused_by``; the clusters they touch are reported
as ``relative_split`` / ``same_list_split`` in ``suspicious_clusters.csv``.

**Evaluation** (:func:`false_merge_pairs`): false merges by kind.

References
----------
Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage. *JASA* 64(328),
1183–1210. https://doi.org/10.1080/01621459.1969.10501049

Winkler, W. E. (1988). Using the EM algorithm for weight computation in the Fellegi–Sunter
model of record linkage. *Proceedings of the Section on Survey Research Methods, ASA*,
667–671.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from undercount.link.evaluate import same_label_pairs
from undercount.names.keys import skeleton
from undercount.names.victims import parse_victim_name

__all__ = [
    "DIFFERENT_GIVEN_M",
    "EM_RULE",
    "FALSE_MERGE_KINDS",
    "NAME_VARIANTS",
    "RELATIVE_LEVELS",
    "add_rasm_columns",
    "add_relative_columns",
    "bare_given",
    "compatible_age",
    "false_merge_kinds",
    "false_merge_pairs",
    "given_name_weights",
    "has_relative_levels",
    "loose_arabic",
    "rasm",
    "relative_clusters",
    "reliable_sex",
    "set_relative_u",
    "undo_false_merges",
]

#: Name keys that agree among siblings (and among a person's records).
REST = ("father_key", "grandfather_key", "family_key")
#: EM session in which the given name separates a person from his siblings.
EM_RULE = REST
#: How a name part is written longer or shorter in another list, as ``(prefix, suffix)``
#: added to the short form (standardised spellings: compounds are one part, glued): the
#: article (``الحارث`` / ``حارث``, ``البراء`` / ``براء``, al-Yaman / Yaman), a compound with
#: al-Din shortened to its first word (``علاءالدين`` / ``علاء``, ``nouraldin`` / ``nour``)
#: and one with Abd al- to its second (``عبدالناصر`` / ``ناصر``).
NAME_VARIANTS: tuple[tuple[str, str], ...] = (
    ("ال", ""), ("al-", ""), ("el-", ""),
    ("", "الدين"), ("", "aldin"),
    ("عبدال", ""), ("abdal", ""),
)
# Longest first, so that عبدال is tried before ال.
_VARIANTS = sorted(NAME_VARIANTS, key=lambda v: -len(v[0]) - len(v[1]))
#: Labels of the two relative levels of the given-name comparison.
RELATIVE_LEVELS = ("Similar given name, rest agrees", "Different given name, rest agrees")
#: m of "different given name, rest agrees": the share of one person's record pairs whose
#: given-name keys differ while father, grandfather and family agree. Fixed (EM learns it from
#: siblings); 3.7% of the true pairs between the MoH releases of January and March 2024
#: (mostly a given name garbled by the PDF extraction), rounded up to the 0.05 the other
#: fixed disagreement levels use.
DIFFERENT_GIVEN_M = 0.05
#: Kinds of false merges (pairs of records of different people put in one cluster).
FALSE_MERGE_KINDS = ("given_differs", "namesake", "other")
#: Age tolerance (years) between two records of one person: reported ages and birth years
#: drift by one (age at death vs at listing); heaped ages (multiples of 5) by five.
AGE_TOLERANCE = 1.0
HEAPED_AGE_TOLERANCE = 5.0


#: Arabic letters that differ only in their dots, and the one letter each is read as in the
#: dotless form (*rasm*) of a word: PDF text extraction and OCR confuse them (``جبر`` read
#: ``جير``, ``لافي`` ``لاقي``, ``شراب`` ``سراب``). On names in comparison form (hamza
#: forms, ى and ة already normalised).
RASM_FROM = "تثنيجخذزشضظغق"
RASM_TO = "ببببححدرسصطعف"
_RASM = str.maketrans(RASM_FROM, RASM_TO)


def rasm(value: object) -> str | None:
    """The dotless form of an Arabic name part (Latin text is returned unchanged)."""
    if not isinstance(value, str) or not value:
        return None
    return value.translate(_RASM)


def bare_given(value: object) -> str | None:
    """A given name without a leading article or Abd al- or a trailing al-Din
    (:data:`NAME_VARIANTS`: ``الحارث`` → ``حارث``,
    ``علاءالدين`` → ``علاء``); unchanged where none is written or where fewer than three
    letters would be left (``الاء``, ``عبدالله``)."""
    if not isinstance(value, str) or not value:
        return None
    for pre, suf in _VARIANTS:
        if (value.startswith(pre) and value.endswith(suf)
                and len(value) - len(pre) - len(suf) >= 3):
            return value[len(pre):len(value) - len(suf)]
    return value


def _script(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return "ar" if any("\u0600" <= ch <= "\u06ff" for ch in value) else "lat"


#: Name parts that get a dotless (``<part>_rasm``) column.
RASM_PARTS = ("given", "father", "grandfather", "family")


def add_rasm_columns(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` plus ``<part>_rasm`` (:func:`rasm`) for each name part it has, computed
    once per distinct spelling: comparing precomputed columns costs an equality per pair,
    where SQL ``translate`` on both sides cost four Jaro--Winkler similarities."""
    add = {}
    for part in RASM_PARTS:
        if part in records.columns and f"{part}_rasm" not in records.columns:
            # Codes and a lookup array: ``Series.map(dict)`` cost 0.5 s a part on a million
            # records. A missing value maps to NaN, as ``map`` left it.
            codes, uniq = pd.factorize(records[part], use_na_sentinel=True)
            table = np.array([rasm(v) for v in uniq] + [np.nan], dtype=object)
            add[f"{part}_rasm"] = pd.Series(table[codes], index=records.index, dtype=object)
    return records.assign(**add) if add else records


def add_relative_columns(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` plus the columns the relative levels read: ``given_script`` (``"ar"``,
    ``"lat"`` or None; a cross-script pair always differs in spelling), ``rest_key``
    (father, grandfather and family keys joined; None when one is missing) and the dotless
    ``<part>_rasm`` columns (:func:`add_rasm_columns`)."""
    records = add_rasm_columns(records)
    if "given" not in records.columns or "given_script" in records.columns:
        return records
    given = records["given"]
    codes, uniq = pd.factorize(given, use_na_sentinel=True)  # _script once per spelling
    table = np.array([_script(v) for v in uniq] + [_script(None)], dtype=object)
    script = pd.Series(table[codes], index=records.index, dtype=object)
    if all(k in records.columns for k in REST):
        cols = [records[k].to_numpy(dtype=object) for k in REST]
        present = np.logical_and.reduce([pd.notna(c) for c in cols])
        joined = np.full(len(records), None, dtype=object)
        if present.any():
            joined[present] = [
                "|".join(t) for t in zip(*(c[present] for c in cols), strict=True)]
        rest = pd.Series(joined, index=records.index, dtype=object)
    else:
        rest = pd.Series([None] * len(records), index=records.index)
    return records.assign(given_script=script, rest_key=rest.astype(object))


# ---------------------------------------------------------------------- u of the relatives
def _pairs(codes: list[np.ndarray]) -> float:
    """Record pairs that agree on every column, a column given by its codes (missing is a
    value of its own, as in ``groupby(dropna=False)``): :math:`\\sum_g \\binom{n_g}{2}`."""
    key = _dense(codes)
    if key.size == 0:
        return 0.0
    s = np.bincount(key).astype(np.float64)
    return float((s * (s - 1) / 2).sum())


def _dense(codes: list[np.ndarray]) -> np.ndarray:
    """One code per row for the combination of the columns' codes (all >= 0), small
    enough for ``bincount``."""
    key = codes[0]
    size = int(key.max()) + 1 if key.size else 0
    for col in codes[1:]:
        k = int(col.max()) + 1 if col.size else 0
        if size * k >= 2**62:  # renumber the groups so far: no overflow
            key, uniques = pd.factorize(key)
            size = len(uniques)
        key = key * k + col
        size *= k
    if size > 4 * key.size:
        key = pd.factorize(key)[0]
    return key


def relative_pattern_counts(records: pd.DataFrame) -> dict[str, float]:
    """Record pairs in each relative pattern, counted exactly by grouping on the keys.

    Each column is factorised once (missing as a code of its own) and the groups counted
    from combined integer codes: a pandas ``groupby`` on five string columns, once per
    pattern, took 2.7 s on a million records.
    """
    need = [*REST, "given", "given_key"]
    if any(c not in records.columns for c in need):
        return {"similar": 0.0, "different": 0.0, "rest_agree": 0.0}
    r = add_relative_columns(records)
    keep = r[need].notna().all(axis=1).to_numpy()
    cols = [*REST, "given", "given_key", "given_rasm", "given_script"]
    # Codes from 0, missing the last (groupby's dropna=False keeps missing as a group).
    codes = {}
    for c in cols:
        col, uniques = pd.factorize(r[c].to_numpy(dtype=object)[keep], use_na_sentinel=True)
        codes[c] = np.where(col < 0, len(uniques), col).astype(np.int64)
    rest_codes = [codes[k] for k in REST]
    rest = _pairs(rest_codes)
    group = _dense(rest_codes)  # the father, grandfather and family keys as one code

    def pairs(*cols: str) -> float:
        return _pairs([group, *(codes[c] for c in cols)])

    same_key = pairs("given_key")
    # "similar": same script, the same key or the same dotless spelling, not the same text
    # (pairs with both counted once); "different": the keys and the dotless spellings
    # differ (a same-key pair across scripts is neither).
    key_s, rasm_s, both_s = (pairs("given_key", "given_script"),
                             pairs("given_rasm", "given_script"),
                             pairs("given_key", "given_rasm", "given_script"))
    same_text = pairs("given")
    rasm_only = rasm_s - both_s
    return {"similar": key_s + rasm_only - same_text, "different": rest - same_key - rasm_only,
            "rest_agree": rest}


def _agree_u(comparison) -> float | None:
    """u of agreeing on a name part: its first (strongest) non-null level's u."""
    levels = comparison._comparison_levels_excluding_null
    return levels[0].u_probability if levels else None


def _relative_levels(linker) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """The linker's comparisons and the given name's levels by label, or why the relative
    levels are not there."""
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    if "given" not in comparisons or any(k.removesuffix("_key") not in comparisons
                                         for k in REST):
        return "no given-name or no father/grandfather/family comparison"
    levels = {lv.label_for_charts: lv for lv in
              comparisons["given"]._comparison_levels_excluding_null}
    if not all(label in levels for label in RELATIVE_LEVELS):
        return "the given-name comparison has no relative levels"
    return comparisons, levels


def has_relative_levels(linker) -> bool:
    """Whether :func:`set_relative_u` has levels to set (it needs the pattern counts)."""
    return not isinstance(_relative_levels(linker), str)


def set_relative_u(linker, records: pd.DataFrame,
                   counts: dict[str, float] | None = None) -> dict[str, Any]:
    """Set the u of the relative levels from the exact pattern counts (module docstring).

    Call after Splink's random-sampling u, before EM. ``counts``: the records'
    :func:`relative_pattern_counts` when already counted (training counts them while the
    u are sampled). Returns the figures, with ``m_scale`` per level for
    :func:`scale_relative_m` (> 1 where u was capped at 1).
    """
    found = _relative_levels(linker)
    if isinstance(found, str):
        return {"skipped": found}
    comparisons, levels = found
    agree = [_agree_u(comparisons[k.removesuffix("_key")]) for k in REST]
    if any(u is None or not u > 0 for u in agree):
        return {"skipped": f"u of agreeing name parts not estimated: {agree}"}
    n = len(records)
    total = n * (n - 1) / 2
    counts = relative_pattern_counts(records) if counts is None else counts
    product = math.prod(agree)
    out: dict[str, Any] = {"pattern_pairs": counts, "total_pairs": total,
                           "u_rest_agree": dict(zip(REST, agree, strict=True)),
                           "levels": {}}
    for label, kind in zip(RELATIVE_LEVELS, ("similar", "different"), strict=True):
        # Half a pair keeps an unseen pattern finite (weight bounded, never +inf).
        ratio = max(counts[kind], 0.5) / total / product
        level = levels[label]
        level.u_probability = min(ratio, 1.0)
        level._fix_u_probability = True
        out["levels"][label] = {"u_pattern": ratio, "u": min(ratio, 1.0),
                                "m_scale": max(ratio, 1.0)}
    return out


def scale_relative_m(linker, info: dict[str, Any]) -> None:
    """After training: divide a relative level's m by its ``m_scale`` (u capped at 1)."""
    if "levels" not in info:
        return
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    for level in comparisons["given"]._comparison_levels_excluding_null:
        spec = info["levels"].get(level.label_for_charts)
        if spec and spec["m_scale"] > 1 and level.m_probability is not None:
            level.m_probability = level.m_probability / spec["m_scale"]
            spec["m_trained"] = level.m_probability * spec["m_scale"]
        if spec and level.m_probability is not None and level.u_probability:
            spec["m"] = level.m_probability
            spec["weight"] = math.log2(level.m_probability / level.u_probability)


# ---------------------------------------------------------------------- cluster constraints
#: Values of a ``sex_unreliable`` column (a list covariate role) that flag a record's sex.
_TRUE = {"1", "true", "yes", "y", "t", "x"}


def reliable_sex(std: pd.DataFrame) -> pd.Series:
    """Recorded sex for the sex cannot-link: missing where the record's ``sex_unreliable``
    column (map a list column to the covariate role ``sex_unreliable``) is set, e.g. a
    list whose sex was guessed from the name. Such a record still compares on sex in the
    model; it only stops forbidding merges."""
    sex = std["sex"]
    if "sex_unreliable" not in std.columns:
        return sex
    flag = std["sex_unreliable"].map(lambda v: str(v).strip().lower() in _TRUE
                                     if pd.notna(v) else False).astype(bool)
    return sex.where(~flag, None)



def _num(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)


def compatible_age(std: pd.DataFrame, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Whether records ``i`` and ``j`` may be one person by age and date of birth.

    Incompatible when both have a DOB, neither heaped, and they differ; or birth years or
    reported ages differ by more than :data:`AGE_TOLERANCE` (:data:`HEAPED_AGE_TOLERANCE`
    when either side is heaped). Missing values are compatible with anything.
    """
    ok = np.ones(len(i), dtype=bool)
    heaped = np.zeros(len(i), dtype=bool)
    for col in ("age_heaped", "dob_heaped"):
        if col in std.columns:
            h = std[col].fillna(False).to_numpy(dtype=bool)
            heaped |= h[i] | h[j]
    tol = np.where(heaped, HEAPED_AGE_TOLERANCE, AGE_TOLERANCE)
    if "dob" in std.columns:
        dob = std["dob"].to_numpy(dtype=object)
        dh = (std["dob_heaped"].fillna(False).to_numpy(dtype=bool) if "dob_heaped" in std
              else np.zeros(len(std), dtype=bool))
        both = pd.notna(dob[i]) & pd.notna(dob[j]) & ~dh[i] & ~dh[j]
        ok &= ~(both & (dob[i] != dob[j]))
    for col in ("birth_year", "age"):
        if col in std.columns:
            v = _num(std[col])
            d = np.abs(v[i] - v[j])
            ok &= ~(np.isfinite(d) & (d > tol))
    return ok


def _same(values: np.ndarray, i, j) -> np.ndarray:
    """Element-wise equality of ``values[i]`` and ``values[j]``, False where missing."""
    a, b = values[i], values[j]
    out = np.zeros(len(i), dtype=bool)
    present = pd.notna(a) & pd.notna(b)
    out[present] = a[present] == b[present]
    return out


_RUN = re.compile(r"(.)\1+")


def loose_arabic(name: object) -> str | None:
    """An Arabic full name without spaces and with runs of one letter collapsed: the
    spelling up to the two commonest slips of a list's own duplicates (a split or joined
    compound, a doubled letter such as عليي for علي)."""
    if not isinstance(name, str) or not name.strip():
        return None
    return _RUN.sub(r"\1", name.replace(" ", ""))


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


def relative_clusters(
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


# ---------------------------------------------------------------------- evaluation
def false_merge_pairs(
    cluster: np.ndarray, truth: np.ndarray, standardised: pd.DataFrame
) -> pd.DataFrame:
    """Record pairs in one predicted cluster that belong to different people, with a kind.

    Kinds (:data:`FALSE_MERGE_KINDS`), on the standardised name parts:

    - ``namesake``: the full names are the same (``name_ar``, else ``name_lat``);
    - ``given_differs``: otherwise, father, grandfather and family names are present and
      the same, the given names differ -- brothers, sisters, a father and a son named
      after the grandfather;
    - ``other``: everything else.

    ``standardised`` rows are aligned with ``cluster`` and ``truth``.
    """
    left, right = same_label_pairs(np.asarray(cluster))
    truth = np.asarray(truth, dtype=object)
    false = truth[left] != truth[right]
    left, right = left[false], right[false]

    def agree(col: str) -> np.ndarray:
        if col not in standardised:
            return np.zeros(len(left), dtype=bool)
        return _same(standardised[col].to_numpy(dtype=object), left, right)

    full = "name_ar" if "name_ar" in standardised else "name_lat"
    if "name_ar" in standardised and "name_lat" in standardised:
        v = standardised["name_ar"].fillna(standardised["name_lat"]).to_numpy(dtype=object)
        namesake = _same(v, left, right)
    else:
        namesake = agree(full)
    rest = agree("father") & agree("grandfather") & agree("family")
    kind = np.where(namesake, "namesake", np.where(rest, "given_differs", "other"))
    return pd.DataFrame({"uid_l": left, "uid_r": right, "kind": kind})


def false_merge_kinds(
    cluster: np.ndarray, truth: np.ndarray, standardised: pd.DataFrame
) -> dict[str, int]:
    """Number of false-merge pairs of each kind (see :func:`false_merge_pairs`)."""
    pairs = false_merge_pairs(cluster, truth, standardised)
    counts = pairs["kind"].value_counts()
    return {k: int(counts.get(k, 0)) for k in FALSE_MERGE_KINDS}


def undo_false_merges(
    cluster: np.ndarray, truth: np.ndarray, pairs: pd.DataFrame, kinds: tuple[str, ...]
) -> np.ndarray:
    """Cluster labels with the clusters that hold a false-merge pair of ``kinds`` split by
    ``truth`` (``pairs`` from :func:`false_merge_pairs`): what the linkage would have
    given without those merges. Used to show each kind's effect on N-hat."""
    cluster = np.asarray(cluster)
    hit = pairs.loc[pairs["kind"].isin(kinds), "uid_l"].to_numpy(dtype=np.int64)
    bad = np.isin(cluster, np.unique(cluster[hit]))
    labels = np.array([f"c{c}" for c in cluster], dtype=object)
    labels[bad] = [f"t{t}" for t in np.asarray(truth, dtype=object)[bad]]
    return labels


def given_name_weights(model: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The trained given-name levels of a Splink model: label, m, u and the match weight
    :math:`\\log_2(m/u)` (the relative levels show how strongly a different given name
    with the rest agreeing counts against a match)."""
    out: list[dict[str, Any]] = []
    for comparison in (model or {}).get("comparisons", []):
        if comparison.get("output_column_name") != "given":
            continue
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            out.append({"level": level.get("label_for_charts"), "m": m, "u": u,
                        "weight": weight})
    return out
