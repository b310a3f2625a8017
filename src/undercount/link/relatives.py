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
slip of one list, not two people; ``_same_person``).

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

import numba
import numpy as np
import pandas as pd
import pyarrow as pa

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


# Columns of the per-record code matrix of :func:`relative_clusters`: integer codes of each
# record's values (equal codes, equal values), -1 where the value is missing.
_ID, _FATHER, _GRAND, _FAMILY, _GKEY, _GIVEN, _SCRIPT, _GRASM, _GBARE, _LIST = range(10)
_DOB_EXACT, _DOB, _HEAPED, _LOOSE, _ALT = range(10, 15)
_N_CODES = 15
#: Code of a lazily computed value (:func:`loose_arabic`, the other script's given-name key)
#: not computed yet: on the simulated million only 22 and 4 records ever need them.
_UNKNOWN = -2
#: What :func:`_pair` returns: no constraint, a record's lazy value is needed first, or the
#: constraint that refuses (index into :data:`_REFUSED_BY`).
_OK, _NEED = 0, -1
_REFUSED_BY = ("", "national_id", "sex", "review", "same_list", "relatives")
_BY_ID, _BY_SEX, _BY_REVIEW, _BY_SAME_LIST, _BY_RELATIVES = 1, 2, 3, 4, 5


@numba.njit(cache=True)
def _root(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@numba.njit(cache=True)
def _compatible(c, f, x, y, tol, heaped_tol):
    """:func:`compatible_age` for one pair."""
    dx, dy = c[x, _DOB_EXACT], c[y, _DOB_EXACT]
    if dx >= 0 and dy >= 0 and dx != dy:
        return False
    t = heaped_tol if c[x, _HEAPED] or c[y, _HEAPED] else tol
    for k in range(2):  # birth year, age
        a, b = f[x, k], f[y, k]
        if not np.isnan(a) and not np.isnan(b) and abs(a - b) > t:
            return False
    return True


@numba.njit(cache=True)
def _compared(c, f, x, y):
    """Both records have a date of birth, a birth year or an age: agreement on them is
    evidence, not just the absence of a contradiction."""
    if c[x, _DOB] >= 0 and c[y, _DOB] >= 0:
        return True
    for k in range(2):
        if not np.isnan(f[x, k]) and not np.isnan(f[y, k]):
            return True
    return False


@numba.njit(cache=True)
def _same_person(c, f, x, y, relatives, tol, heaped_tol):
    """The same full name (given, father and family keys, and the grandfather's where
    both have one) and compatible ages compared on both: the two records of an edge
    name one person even where their recorded sexes differ. A list's sex is a
    clerk's entry, wrong for about one record in a hundred (1.8% of the Airwars
    records whose four name keys and age agree with a MoH record; children's most,
    their names give no sex), while two people with one four-part name, one age and
    different sexes need a given name of both sexes *and* two fathers of one name,
    father's name and family."""
    if not relatives:
        return False
    for k in (_GKEY, _FATHER, _FAMILY):
        if c[x, k] < 0 or c[x, k] != c[y, k]:
            return False
    if c[x, _GRAND] >= 0 and c[y, _GRAND] >= 0 and c[x, _GRAND] != c[y, _GRAND]:
        return False
    return _compared(c, f, x, y) and _compatible(c, f, x, y, tol, heaped_tol)


@numba.njit(cache=True)
def _alt_same(c, x, y, need):
    """1 when the given-name key one record has in its other script is the other record's
    (a list that writes both: Airwars' منزر is its own Arabic for Munther, منذر), 0 when
    not, :data:`_NEED` (with ``need`` set) while a record's other-script key is unknown."""
    for r in (x, y):
        if c[r, _ALT] == _UNKNOWN:
            need[0], need[1] = _ALT, r
            return _NEED
    ax, ay = c[x, _ALT], c[y, _ALT]
    if (ax >= 0 and (ax == c[y, _GKEY] or ax == ay)) or (ay >= 0 and ay == c[x, _GKEY]):
        return 1
    return 0


@numba.njit(cache=True)
def _pair(c, f, x, y, relatives, same_list, tol, heaped_tol, need):
    """The constraint that forbids records ``x`` and ``y`` in one person (module
    docstring), :data:`_OK` when none does."""
    if c[x, _ID] >= 0 and c[x, _ID] == c[y, _ID]:
        return _OK
    rest = (c[x, _FATHER] >= 0 and c[x, _GRAND] >= 0 and c[x, _FAMILY] >= 0
            and c[x, _FATHER] == c[y, _FATHER] and c[x, _GRAND] == c[y, _GRAND]
            and c[x, _FAMILY] == c[y, _FAMILY])
    if same_list and c[x, _LIST] == c[y, _LIST]:
        # Same name: every part's key the same or missing on both, given and family
        # present. In Arabic the spelling instead, up to spaces and doubled letters
        # (:func:`loose_arabic`): twins ليان and لينا, cousins whose fathers are محمد
        # and محمود, share the skeletons. Latin spellings of one name vary too much
        # within a list (fozai, fozaee) for that.
        if c[x, _SCRIPT] == 0 and c[y, _SCRIPT] == 0:
            for r in (x, y):
                if c[r, _LOOSE] == _UNKNOWN:
                    need[0], need[1] = _LOOSE, r
                    return _NEED
            name = c[x, _LOOSE] >= 0 and c[x, _LOOSE] == c[y, _LOOSE]
        else:
            name = (c[x, _FATHER] == c[y, _FATHER] and c[x, _GRAND] == c[y, _GRAND]
                    and c[x, _FAMILY] == c[y, _FAMILY] and c[x, _FAMILY] >= 0
                    and c[x, _GKEY] >= 0 and c[x, _GKEY] == c[y, _GKEY])
        if not (name and _compared(c, f, x, y) and _compatible(c, f, x, y, tol, heaped_tol)):
            return _BY_SAME_LIST
    if relatives and rest and c[x, _GKEY] >= 0 and c[y, _GKEY] >= 0:
        if c[x, _SCRIPT] != c[y, _SCRIPT]:
            # Across scripts the skeletons of one name can differ (معاذ MT, Moaz MZ):
            # only contradicting ages or dates of birth tell relatives apart here.
            if not _compatible(c, f, x, y, tol, heaped_tol):
                return _BY_RELATIVES
            return _OK
        if (c[x, _GKEY] != c[y, _GKEY] and c[x, _GRASM] != c[y, _GRASM]
                and c[x, _GBARE] != c[y, _GBARE]):
            alt = _alt_same(c, x, y, need)
            if alt == _NEED:
                return _NEED
            if alt == 0:
                if c[x, _DOB_EXACT] < 0 or c[x, _DOB_EXACT] != c[y, _DOB_EXACT]:
                    return _BY_RELATIVES
                return _OK
        if c[x, _GIVEN] != c[y, _GIVEN] and not _compatible(c, f, x, y, tol, heaped_tol):
            return _BY_RELATIVES
    return _OK


@numba.njit(cache=True)
def _greedy_from(start, left, right, c, f, relatives, same_list, tol, heaped_tol,
                 apart_ptr, apart_to, parent, size, head, nxt, tail, cid, csex, status, why,
                 need):
    """Process the edges from ``start`` on (see :func:`relative_clusters`); the state
    arrays are updated in place. Returns the number of edges, or the edge at which a
    record's lazy value is needed (``need``: its code column and record): nothing of that
    edge is done yet, so the caller fills the value in and calls again from there."""
    reviewed = apart_to.shape[0] > 0
    for e in range(start, left.shape[0]):
        a = _root(parent, left[e])
        b = _root(parent, right[e])
        if a == b:
            continue
        if cid[a] >= 0 and cid[b] >= 0 and cid[a] != cid[b]:
            status[e], why[e] = 2, _BY_ID
            continue
        if (csex[a] >= 0 and csex[b] >= 0 and csex[a] != csex[b]
                and not _same_person(c, f, left[e], right[e], relatives, tol, heaped_tol)):
            status[e], why[e] = 2, _BY_SEX
            continue
        if reviewed:
            kept_apart = False
            x = head[a]
            while x >= 0 and not kept_apart:
                for k in range(apart_ptr[x], apart_ptr[x + 1]):
                    if _root(parent, apart_to[k]) == b:
                        kept_apart = True
                        break
                x = nxt[x]
            if kept_apart:
                status[e], why[e] = 2, _BY_REVIEW
                continue
        # Every member of one cluster against every member of the other, in member order
        # (the first constraint found is the one reported).
        res = _OK
        x = head[a]
        while x >= 0 and res == _OK:
            y = head[b]
            while y >= 0:
                res = _pair(c, f, x, y, relatives, same_list, tol, heaped_tol, need)
                if res != _OK:
                    break
                y = nxt[y]
            x = nxt[x]
        if res == _NEED:
            return e
        if res != _OK:
            status[e], why[e] = 2, res
            continue
        if size[a] < size[b]:
            a, b = b, a
        parent[b] = a
        size[a] += size[b]
        nxt[tail[a]] = head[b]  # members of a, then of b
        tail[a] = tail[b]
        if cid[a] < 0:
            cid[a] = cid[b]
        if csex[a] < 0:
            csex[a] = csex[b]
        status[e] = 1
    return left.shape[0]


def _factor(values, *, many: bool = False) -> np.ndarray:
    """Integer codes of ``values`` (equal values, equal codes), -1 where missing.

    ``many`` (many distinct values): strings are dictionary-encoded by Arrow, which
    compares their UTF-8 bytes. For the 660,000 records on an edge of the simulated
    million, 0.06 s for the national IDs and 0.03 s for the dates of birth, where pandas'
    hashing of Python strings took 0.12 and 0.11 s; as fast as pandas for a few hundred
    distinct values (name keys, sex), where checking the values are strings costs more."""
    values = np.asarray(values, dtype=object)
    if many and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        try:
            encoded = pa.array(values, type=pa.string(), from_pandas=True).dictionary_encode()
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
            pass
        else:
            return encoded.indices.fill_null(-1).to_numpy().astype(np.int64)
    return pd.factorize(values, use_na_sentinel=True)[0]


def _derived(codes: np.ndarray, uniques, fn) -> np.ndarray:
    """Codes of ``fn(value)`` per record, from the codes of the values: ``fn`` is called
    once per distinct value (a few thousand given names for a million records)."""
    table = _factor([fn(v) for v in uniques] + [fn(None)])
    return table[codes]  # code -1 (missing) takes fn(None)'s, the last entry


class _Records:
    """The records an edge touches, as integer codes for :func:`_greedy_from`, and their
    lazily computed values (the Arabic name without spaces and doubled letters; the given
    name's key in the record's other script)."""

    def __init__(self, std: pd.DataFrame, valid_id, touched: np.ndarray, *, relatives: bool,
                 same_list: bool) -> None:
        self.relatives = relatives and all(c in std for c in (*REST, "given_key", "given"))
        self.same_list = same_list and "list" in std
        self.std, self.touched = std, touched
        m = len(touched)

        def col(name: str) -> np.ndarray | None:
            return std[name].to_numpy(dtype=object)[touched] if name in std else None

        c = np.full((m, _N_CODES), -1, dtype=np.int32)  # half the memory of int64
        for k, name in ((_FATHER, REST[0]), (_GRAND, REST[1]), (_FAMILY, REST[2]),
                        (_LIST, "list")):
            if name in std:
                c[:, k] = _factor(col(name))
        # Strong duplicate evidence: the same ID as recorded, valid or not (FEBRL's IDs
        # carry no check digit; a shared mistyped ID is still one person's).
        if "national_id" in std:
            c[:, _ID] = _factor(col("national_id"), many=True)
        elif valid_id is not None:
            c[:, _ID] = _factor(np.asarray(valid_id, dtype=object)[touched], many=True)
        self.gkeys: dict[str, int] | None = None
        if "given_key" in std:
            c[:, _GKEY], self._gkey_uniques = pd.factorize(col("given_key"),
                                                           use_na_sentinel=True)
        else:
            self._gkey_uniques = np.array([], dtype=object)
        if "given" in std:
            given, uniques = pd.factorize(col("given"), use_na_sentinel=True)
            c[:, _GIVEN] = given
            script = {"ar": 0, "lat": 1, None: -1}
            c[:, _SCRIPT] = np.array([script[_script(v)] for v in uniques] + [-1])[given]
            c[:, _GRASM] = _derived(given, uniques, rasm)
            c[:, _GBARE] = _derived(given, uniques, bare_given)
        else:
            # As for a missing given name on every record: script None, rasm None.
            c[:, _SCRIPT] = -1
        dh = np.zeros(m, dtype=bool)
        heaped = np.zeros(m, dtype=bool)
        if "dob_heaped" in std:
            dh = std["dob_heaped"].fillna(False).astype(bool).to_numpy()[touched]
        if "age_heaped" in std:
            heaped = std["age_heaped"].fillna(False).astype(bool).to_numpy()[touched]
        heaped = heaped | dh
        if "dob" in std:
            c[:, _DOB] = _factor(col("dob"), many=True)
            c[:, _DOB_EXACT] = np.where(dh, -1, c[:, _DOB])
        c[:, _HEAPED] = heaped
        c[:, _LOOSE] = _UNKNOWN
        c[:, _ALT] = _UNKNOWN
        self.codes = c
        f = np.full((m, 2), np.nan)
        for k, name in enumerate(("birth_year", "age")):
            if name in std:
                v = _num(std[name])[touched]
                f[:, k] = np.where(np.isfinite(v), v, np.nan)
        self.floats = f
        self._loose: dict[str, int] = {}

    def _value(self, name: str, i: int):
        if name not in self.std:
            return None
        v = self.std[name].iat[int(self.touched[i])]
        return None if pd.isna(v) else v

    def fill(self, kind: int, i: int) -> None:
        """Compute the lazy value ``kind`` of (local) record ``i``."""
        if kind == _LOOSE:
            value = loose_arabic(self._value("name_ar", i))
            table = self._loose
        else:
            value = None
            ar, lat = self._value("name_ar", i), self._value("name_lat", i)
            if "name_ar" in self.std and "name_lat" in self.std and ar is not None \
                    and lat is not None:
                other = lat if self.codes[i, _SCRIPT] == 0 else ar
                given = parse_victim_name(other).given
                value = skeleton(given) or None if given else None
            if self.gkeys is None:  # one code space with the given-name keys
                self.gkeys = {v: k for k, v in enumerate(self._gkey_uniques)}
            table = self.gkeys
        if value is None:
            self.codes[i, kind] = -1
        else:
            self.codes[i, kind] = table.setdefault(value, len(table))


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

    Compiled (numba) on integer codes of the records' values, for the records the edges
    touch only (the others stay alone). In plain Python the member-by-member checks took
    3.7 s of the profile of clustering a million simulated records (368,736 checks) and
    preparing the per-record values 1.4 s; compiled, the whole clustering stage takes
    1.0-1.3 CPU s (the loop 0.2 s, the codes most of the rest), with the same results.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    on_edge = np.zeros(n, dtype=bool)
    on_edge[left] = True
    on_edge[right] = True
    touched = np.flatnonzero(on_edge)
    local = np.full(n, -1, dtype=np.int64)
    local[touched] = np.arange(len(touched))
    recs = _Records(std, valid_id, touched, relatives=relatives, same_list=same_list)
    m = len(touched)
    # Reviewers' cannot-link pairs as adjacency lists (CSR) of local records; a partner
    # on no edge is alone for good and can never be in the other cluster.
    pairs = cannot if cannot is not None else np.empty((0, 2), np.int64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    ends = np.concatenate([pairs, pairs[:, ::-1]])
    ends = ends[on_edge[ends[:, 0]]] if len(ends) else ends
    src = local[ends[:, 0]]
    dst = local[ends[:, 1]]
    keep = dst >= 0
    src, dst = src[keep], dst[keep]
    order = np.argsort(src, kind="stable")
    apart_to = np.ascontiguousarray(dst[order])
    apart_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=m), out=apart_ptr[1:])
    parent = np.arange(m, dtype=np.int64)
    size = np.ones(m, dtype=np.int64)
    head = np.arange(m, dtype=np.int64)
    tail = np.arange(m, dtype=np.int64)
    nxt = np.full(m, -1, dtype=np.int64)
    cid = np.asarray(id_code, dtype=np.int64)[touched]
    csex = np.asarray(sex_code, dtype=np.int64)[touched]
    status = np.zeros(len(left), dtype=np.int8)
    why = np.zeros(len(left), dtype=np.int8)
    need = np.zeros(2, dtype=np.int64)
    lo, ro = local[left], local[right]
    e = 0
    while True:
        e = _greedy_from(e, lo, ro, recs.codes, recs.floats, recs.relatives, recs.same_list,
                         AGE_TOLERANCE, HEAPED_AGE_TOLERANCE, apart_ptr, apart_to, parent,
                         size, head, nxt, tail, cid, csex, status, why, need)
        if e >= len(left):
            break
        recs.fill(int(need[0]), int(need[1]))
    roots = np.arange(n, dtype=np.int64)
    roots[touched] = touched[_all_roots(parent)]
    refused_by = np.array(_REFUSED_BY, dtype=object)[why]
    return roots, status, refused_by


@numba.njit(cache=True)
def _all_roots(parent):
    out = np.empty(parent.shape[0], dtype=np.int64)
    for i in range(parent.shape[0]):
        out[i] = _root(parent, i)
    return out



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
