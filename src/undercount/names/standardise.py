"""The standardisation stage: one source list → records in the shape linkage expects.

:func:`standardise` reads the columns a list publishes (mapped to *roles*), normalises names
in both scripts, builds cross-script keys, parses dates and ages, checks national IDs, and
returns one row per source record with the columns listed in :data:`OUTPUT_COLUMNS`.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from undercount.errors import ConfigError, DataWarning, InputError
from undercount.names.arabic import (
    clean_arabic,
    is_arabic,
    normalise_arabic,
    normalise_arabic_token,
)
from undercount.names.dates import (
    age_heaped,
    completed_years,
    parse_ages,
    parse_dates,
)
from undercount.names.ids import clean_ids, ids_valid
from undercount.names.keys import family_skeleton, skeleton
from undercount.names.latin import (
    normalise_latin,
    normalise_latin_token,
)
from undercount.names.nicknames import given_variants
from undercount.names.scripts import foreign_scripts
from undercount.names.victims import (
    PLAIN_ARABIC_NAME,
    PLAIN_LATIN_NAME,
    is_latin_title,
    joins_as_piece,
    plain_arabic_token,
    plain_latin_items,
    victim_name_fields,
)

__all__ = ["NAME_ROLES", "OUTPUT_COLUMNS", "ROLES", "standardise"]

PARTS = ("given", "father", "grandfather", "family")
#: Roles that hold names (full names or parts, in each script).
NAME_ROLES: tuple[str, ...] = (
    "name_ar", "name_lat",
    *(f"{p}_ar" for p in PARTS), *(f"{p}_lat" for p in PARTS),
)
#: Every role :func:`standardise` interprets; any other role is a pass-through covariate.
ROLES: tuple[str, ...] = (
    *NAME_ROLES, "sex", "age", "dob", "dod", "place", "national_id", "postcode", "occupation",
)
#: The output contract (covariate columns follow these, in the order given).
OUTPUT_COLUMNS: tuple[str, ...] = (
    "list", "record_id", "row",
    "name_ar", "name_lat",
    "given", "father", "grandfather", "family",
    "given_key", "father_key", "grandfather_key", "family_key", "name_key", "last_key",
    "given_variants", "name_tokens", "name_unplaced",
    "sex", "age", "age_heaped", "dob", "dob_text", "dob_heaped", "birth_year", "dod",
    "place", "national_id", "id_valid", "postcode", "postcode_district", "occupation",
)

_SEX = {
    **dict.fromkeys(["m", "male", "man", "boy", "h", "homme", "ذكر", "ذ", "رجل"], "m"),
    **dict.fromkeys(["f", "female", "woman", "girl", "femme", "انثى", "انثي", "أنثى", "أنثي",
                     "ا", "أ", "ث", "امراه", "امرأة", "مراه"], "f"),
}
_MAX_SHOWN_PER_COLUMN = 1000
#: Examples (row, value) kept per column of the values made missing with errors="coerce".
_EXAMPLES = 5
#: How to get past bad values; the last line of the error.
COERCE_HINT = (
    'To read such values as missing instead, set on_bad_value = "coerce" in this list\'s '
    "[[lists]] table (the count and examples per column are then reported by `undercount "
    "link` and kept in the output's provenance.json)."
)


def _bad_values_error(source: str, count: int, problems: list[str]) -> InputError:
    """The error for bad values: the problems, then :data:`COERCE_HINT` as the last line."""
    shown = problems[:20]
    text = f"{source}: {count} bad value(s)\n" + "\n".join(f"  - {p}" for p in shown)
    if count > len(shown):
        text += f"\n  ... and {count - len(shown)} more"
    exc = InputError(text + "\n" + COERCE_HINT)
    exc.problems = list(problems)
    return exc


def _victim_fields(raw: object) -> tuple[str | None, ...]:
    """Full name in comparison form (the person's own parts), the four placed parts,
    unplaced tokens (:func:`undercount.names.victims.parse_victim_name`; titles,
    descriptors, kunyas, nicknames and alternatives are not the person's parts), and the
    name's tokens (:func:`_name_tokens`)."""
    if not isinstance(raw, str) or not raw.strip():
        return (None,) * 7
    fields = victim_name_fields(raw)
    full = fields[0]
    if full is None:
        return (*fields, None)
    # _name_tokens(full, ()), for the million names of a large list.
    keys = set(map(_token_key, full.split(" ")))
    keys.discard("")
    return (*fields, " ".join(sorted(keys)) or None)


def _foreign(home: str):
    def scripts(raw: object) -> frozenset[str]:
        if not isinstance(raw, str):
            return frozenset()
        return frozenset(foreign_scripts(raw, home))
    return scripts


#: Text with a character that is neither ASCII nor in the home script's blocks (for Arabic
#: also an ASCII letter): the only text in which :func:`foreign_scripts` can find a letter
#: of another script (ASCII text is Latin; Arabic's blocks are those of
#: :func:`undercount.names.scripts.script_of`). Code-point ranges only, which Python's and
#: Arrow's regular expressions read alike.
_MAYBE_FOREIGN = {
    "Latin": "[^\\x00-\\x7f]",
    "Arabic": ("[^\\x00-\\x40\\x5b-\\x60\\x7b-\\x7f\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff"
               "\ufb50-\ufdff\ufe70-\ufeff]"),
}


def _warn_foreign_scripts(
    data: pd.DataFrame, columns: Mapping[str, str], source: str, rows: np.ndarray
) -> None:
    """One warning per name column whose values hold words in another script.

    Such words are kept (romanised by :func:`~undercount.names.arabic.clean_arabic` and
    :func:`~undercount.names.latin.clean_latin`), but a reader must know: an Arabic column
    with Latin or Cyrillic names may be a column mapped to the wrong role.
    """
    for role in NAME_ROLES:
        if role not in columns:
            continue
        home = "Arabic" if role.endswith("_ar") else "Latin"
        values = data[columns[role]].reset_index(drop=True)
        # Only a value with a character outside the home script's blocks and ASCII can hold
        # a letter of another script: the rest are found for the whole column at once.
        try:
            maybe = values.str.contains(_MAYBE_FOREIGN[home], na=False).to_numpy(dtype=bool)
        except AttributeError:  # not a column of text (all missing): every value is read
            maybe = np.ones(len(values), dtype=bool)
        found = _map_unique(values[maybe], _foreign(home)).to_numpy()
        has = np.zeros(len(values), dtype=bool)
        has[np.flatnonzero(maybe)[found.astype(bool)]] = True
        hit = np.flatnonzero(has)
        if not len(hit):
            continue
        scripts = sorted(set().union(*found[found.astype(bool)]))
        what = ("kept as name parts of their own in Latin letters" if home == "Arabic"
                else "transliterated to Latin letters")
        shown = ", ".join(f"row {rows[i]} {values.iloc[i]!r}" for i in hit[:3])
        warnings.warn(
            f"{source}, column {columns[role]!r}: {len(hit)} value(s) of this {home} name "
            f"column hold words in another script ({', '.join(scripts)}); {what}, not "
            f"dropped (e.g. {shown}{', ...' if len(hit) > 3 else ''})",
            DataWarning,
            stacklevel=3,
        )


@lru_cache(maxsize=200_000)
def _token_key(part: str) -> str:
    return family_skeleton(part)


def _name_tokens(full: object, placed: tuple) -> str | None:
    """Sorted distinct skeleton keys (article dropped) of every own name part and placed part:
    the order-insensitive token set compared by ``name_tokens``."""
    parts = (full.split(" ") if isinstance(full, str) else []) + [
        p for p in placed if isinstance(p, str)
    ]
    keys = {_token_key(p) for p in parts if p}
    keys.discard("")
    return " ".join(sorted(keys)) or None


def _map_unique(values: pd.Series, func) -> pd.Series:
    """Apply ``func`` once per distinct value (names repeat a lot across large lists).

    Returns an object Series; missing values are passed to ``func`` as None.
    """
    obj = values.astype(object).reset_index(drop=True)
    codes, uniq = pd.factorize(obj, use_na_sentinel=True)
    table = np.empty(len(uniq) + 1, dtype=object)
    for i, v in enumerate(uniq):
        table[i] = func(v)
    table[-1] = func(None)  # code -1 (missing) indexes the last slot
    return pd.Series(table[codes], dtype=object)


def _name_fields(values: pd.Series) -> list[np.ndarray]:
    """:func:`_victim_fields` of every value, as seven object arrays: once per distinct
    value, the plain names together (:func:`_plain_fields`), the others one
    by one. Text columns are factorised as they are stored (Arrow strings hash without a
    Python object per value)."""
    values = values.reset_index(drop=True)
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype(object)
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    uniq = np.asarray(uniq, dtype=object)
    fields = [np.full(len(uniq) + 1, None, dtype=object) for _ in range(7)]
    done = _plain_fields(uniq, fields)
    rest = np.flatnonzero(~done)
    rows = [_victim_fields(v) for v in uniq[rest]]
    for k, field in enumerate(zip(*rows, strict=True)):
        column = np.empty(len(rest), dtype=object)
        column[:] = field
        fields[k][rest] = column
    # The last slot (code -1, missing) stays _victim_fields(None): all None.
    return [f[codes] for f in fields]


def _plain_arabic_items(word: str) -> tuple[str, ...] | None:
    token = plain_arabic_token(word)
    return None if token is None else (token,)


def _plain_fields(names: np.ndarray, fields: list[np.ndarray]) -> np.ndarray:
    """The :func:`_victim_fields` of the names (distinct, object array) that are plain
    (:data:`~undercount.names.victims.PLAIN_ARABIC_NAME` of words the parse keeps whole,
    :func:`~undercount.names.victims.plain_arabic_token`; or the same in Latin letters,
    :func:`~undercount.names.victims.plain_latin_items`), written into ``fields``; a mask of
    those names.

    Such a name's parts are its words' parts, placed by their number, its full name the
    parts one space apart, and its name_tokens their sorted distinct skeletons: all made for
    every name at once from the distinct words (5.8 us a name one by one was most of the
    standardiser's time at a million records, where most names are plain).
    """
    done = np.zeros(len(names), dtype=bool)
    try:
        text = pa.array(names, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: one by one
        return done
    for pattern, word_items, pieces in ((PLAIN_ARABIC_NAME, _plain_arabic_items, True),
                                        (PLAIN_LATIN_NAME, plain_latin_items, False)):
        match = pc.fill_null(pc.match_substring_regex(text, pattern), False)
        idx = np.flatnonzero(match.to_numpy(zero_copy_only=False) & ~done)
        if len(idx):
            _plain_fields_of(text, idx, word_items, pieces, fields, done)
    return done


def _plain_fields_of(text, idx, word_items, pieces, fields, done) -> None:
    """:func:`_plain_fields` for the names ``text[idx]``, all of one pattern."""
    lists = pc.split_pattern(text.take(idx), " ")
    starts = lists.offsets.to_numpy()[:-1]
    encoded = pc.dictionary_encode(lists.flatten())
    word = encoded.indices.to_numpy()
    items = [word_items(w) for w in encoded.dictionary.to_pylist()]
    ok = np.array([i is not None for i in items], dtype=bool)
    n_items = np.array([len(i) if i is not None else 0 for i in items], dtype=np.int64)
    good = np.logical_and.reduceat(ok[word], starts)
    per_name = np.add.reduceat(n_items[word], starts)
    if pieces:
        # More than four parts with a two-letter piece among them: _rejoin_pairs decides.
        piece = np.array([i is not None and any(map(joins_as_piece, i)) for i in items])
        good &= ~((per_name > 4) & np.logical_or.reduceat(piece[word], starts))
    if not good.any():
        return
    word = word[np.repeat(good, np.diff(lists.offsets.to_numpy()))]
    count = per_name[good]
    # Every part of every good name: the parts of each of its words, in order.
    item_start = np.concatenate([[0], np.cumsum(n_items)])
    all_items = np.empty(int(item_start[-1]), dtype=object)
    all_items[:] = [t for i in items if i is not None for t in i]
    per_word = n_items[word]
    first = np.repeat(item_start[word], per_word)
    within = np.arange(int(per_word.sum())) - np.repeat(np.cumsum(per_word) - per_word, per_word)
    part = first + within
    flat = all_items[part]
    offsets = np.concatenate([[0], np.cumsum(count)])
    starts, m, last = offsets[:-1], len(count), len(flat) - 1
    placed = (
        flat[starts],
        np.where(count >= 3, flat[np.minimum(starts + 1, last)], None),
        np.where(count >= 4, flat[np.minimum(starts + 2, last)], None),
        np.where(count >= 2, flat[offsets[1:] - 1], None),
    )
    full = pc.binary_join(
        pa.ListArray.from_arrays(offsets.astype(np.int32), pa.array(flat, pa.string())), " ")
    # name_tokens: the distinct skeletons of the parts in Python's string order, "" dropped.
    keys = [_token_key(t) for t in all_items]
    order = sorted(set(keys))
    rank_of = {k: r for r, k in enumerate(order)}
    rank = np.array([rank_of[k] for k in keys], dtype=np.int64)[part]
    owner = np.repeat(np.arange(m), count)
    sort = np.lexsort((rank, owner))
    rank, owner = rank[sort], owner[sort]
    keep = np.ones(len(rank), dtype=bool)
    keep[1:] = (owner[1:] != owner[:-1]) | (rank[1:] != rank[:-1])
    if "" in rank_of:
        keep &= rank != rank_of[""]
    rank, owner = rank[keep], owner[keep]
    n_keys = np.bincount(owner, minlength=m)
    key_text = np.empty(len(order), dtype=object)
    key_text[:] = order
    joined = pc.binary_join(pa.ListArray.from_arrays(
        np.concatenate([[0], np.cumsum(n_keys)]).astype(np.int32),
        pa.array(key_text[rank], pa.string())), " ")
    rows = idx[good]
    fields[0][rows] = full.to_numpy(zero_copy_only=False)
    for k in range(4):
        fields[1 + k][rows] = placed[k]
    fields[5][rows] = None
    fields[6][rows] = np.where(n_keys > 0, joined.to_numpy(zero_copy_only=False), None)
    done[rows] = True


#: Every character Python's str.strip() strips (str.isspace), for a regular expression.
_SPACE_CLASS = "".join(
    f"\\x{c:02x}" if c < 0x100 else chr(c) for c in range(0x110000) if chr(c).isspace())
_EDGE_SPACE = f"^[{_SPACE_CLASS}]|[{_SPACE_CLASS}]$"


def _plain_ids(ids: pd.Series) -> bool:
    """Whether a record-ID column is Arrow text with no missing value and no value that
    str.strip() would change: its IDs are then its values, read without a Python call each
    (the characters are listed one by one, which Arrow's regular expressions read as
    Python's do)."""
    if not isinstance(ids.dtype, pd.StringDtype) or ids.dtype.storage != "pyarrow":
        return False
    if ids.isna().any():
        return False
    return not ids.str.contains(_EDGE_SPACE, na=False).any()


def _nones(n: int) -> pd.Series:
    """An object column of ``n`` missing values (an unmapped field)."""
    return pd.Series(np.full(n, None, dtype=object), dtype=object)


def _objects(values: list) -> pd.Series:
    out = pd.Series([None] * len(values), dtype=object)
    out[:] = values
    return out


def _norm_part_ar(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    return normalise_arabic_token(raw) or None


def _norm_part_lat(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    return normalise_latin_token(raw) or None


_YMD = re.compile(r"^\s*(\d{4})[-/.]?(\d{2})[-/.]?(\d{2})\s*$")


def _slipped_dates(raw: pd.Series, bad: np.ndarray) -> pd.Series:
    """``YYYY-MM-DD`` text of the dates that are not dates but are written year, month, day
    (``1857-14-12``, ``19450493``), None elsewhere: most are a valid date with one digit
    mistyped, which a typo-tolerant comparison can still use (the date itself is missing).
    """
    out = pd.Series([None] * len(raw), dtype=object)
    for i in np.flatnonzero(bad):
        m = _YMD.match(str(raw.iloc[i]))
        if m:
            out.iloc[i] = "-".join(m.groups())
    return out


def _place_lone_names(parts: list[pd.Series]) -> None:
    """A record with only a given name whose word the list uses more often as a family name
    becomes a family name (in place).

    Lists with given- and family-name columns that know one name of a person put it in the
    first column whether it is the given or the family name: Splink's historical_50k
    writes "varley" for Fleetwood Varley and "edith" for Edith Arendrup, both as first
    names. The list itself says which a word is: "varley" is a family name 20 times in it
    and a given name once.
    """
    given, family = parts[0], parts[3]
    lone = (given.notna() & family.isna()
            & parts[1].isna() & parts[2].isna()).to_numpy(dtype=bool)
    if not lone.any():
        return
    as_given = given.value_counts()
    as_family = family.value_counts()
    words = given[lone]
    move = (words.map(as_family).fillna(0).to_numpy()
            > words.map(as_given).fillna(0).to_numpy())
    idx = words.index[move]
    family[idx] = given[idx]
    given[idx] = None


def _norm_place(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    if is_arabic(raw):
        return normalise_arabic(raw) or None
    return normalise_latin(raw) or None


_POSTCODE_SPLIT = re.compile(r"[\s\-]+")
#: The last part of a postcode written without its space: a UK inward code (``8DF``) or a
#: Canadian local delivery unit (``0B1``).
_POSTCODE_INWARD = re.compile(r"^(.{2,})(\d[A-Z]{2}|\d[A-Z]\d)$")


def _norm_postcode(raw: object) -> tuple[str | None, str | None]:
    """A postal code and its district: ``("TQ138DF", "TQ13")`` for ``"tq13 8df"``.

    The code is its letters and digits, upper case (spaces and hyphens dropped, so
    ``TQ13 8DF`` and ``tq138df`` are one code). The district is the part written before a
    space or hyphen (UK ``TQ13``, Canadian ``K1A``, Dutch ``1234``, the ZIP of a ZIP+4);
    for a code written in one piece that ends like a UK inward code or a Canadian unit
    (digit, letter, letter / digit, letter, digit), the code less those three characters;
    otherwise the whole code (a five-digit ZIP is its own district).
    """
    if not isinstance(raw, str):
        return None, None
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    pieces = [re.sub(r"[^0-9A-Z]", "", p) for p in _POSTCODE_SPLIT.split(text)]
    pieces = [p for p in pieces if p]
    if not pieces:
        return None, None
    code = "".join(pieces)
    if len(pieces) > 1:
        return code, pieces[0]
    m = _POSTCODE_INWARD.match(code)
    return code, (m.group(1) if m else code)


def _key(part: object, *, family: bool = False) -> str | None:
    if not isinstance(part, str) or not part:
        return None
    if family:
        return family_skeleton(part) or None
    return skeleton(part) or None


def _norm_sex(raw: object) -> str | Literal[False] | None:
    """'m', 'f', None (blank) or False (not understood)."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip().lower().rstrip(".")
    if not text:
        return None
    if text in _SEX:
        return _SEX[text]
    cleaned = clean_arabic(text) if is_arabic(text) else re.sub(r"[^a-z]", "", text)
    return _SEX.get(cleaned, False)


def _warn_ambiguous_dates(
    values: pd.Series, parsed, source: str, column: str, rows: np.ndarray, dayfirst: bool,
    *, explicit: bool = False,
) -> None:
    """Warn when a column's day/month order is a guess (see ``standardise``'s ``dayfirst``)."""
    amb = np.flatnonzero(parsed.ambiguous) if parsed.ambiguous is not None else []
    if not len(amb):
        return
    day_only, month_only = parsed.order_evidence
    used, other = ("day-first", "month-first") if dayfirst else ("month-first", "day-first")
    for_used, against = (day_only, month_only) if dayfirst else (month_only, day_only)
    if (for_used or explicit) and not against:
        return  # the column's unambiguous dates, or the user, say which order it is
    shown = ", ".join(f"row {rows[i]} {values.iloc[i]!r}" for i in amb[:3])
    first = parsed.dates.iloc[amb[0]]
    why = (
        f"{against} other date(s) in the column can only be {other}"
        if against else "no date in the column shows which order it uses"
    )
    warnings.warn(
        f"{source}, column {column!r}: {len(amb)} date(s) read {used} are a real date in "
        f"either order (e.g. {shown}{', ...' if len(amb) > 3 else ''}; the first read as "
        f"{first:%d %B %Y}), and {why}. Set the order for this list: "
        f"date_order = \"{other}\" (or \"{used}\") in its table of the project file.",
        DataWarning,
        stacklevel=4,
    )


def standardise(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    list_name: str,
    id_column: str | None = None,
    source: str | None = None,
    errors: Literal["raise", "coerce"] = "raise",
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Standardise one list's records for linkage.

    Parameters
    ----------
    frame : DataFrame
        The list as read (one row per record; the header is spreadsheet row 1, so the first
        record is row 2). Not modified.
    columns : mapping of role to source column
        Roles: ``name_ar``, ``name_lat`` (full names); ``given_ar``, ``father_ar``,
        ``grandfather_ar``, ``family_ar`` and the same with ``_lat`` (name parts); ``sex``,
        ``age``, ``dob``, ``dod``, ``place``, ``national_id``, ``postcode``, ``occupation``.
        Any other role is a covariate,
        copied unchanged into an output column named after the role.
    list_name : str
        The list's name, written in the ``list`` column.
    id_column : str, optional
        Column holding the source's record identifier (copied as a string into
        ``record_id``; must be unique and present). Default: the row number.
    source : str, optional
        Name used in error messages (the file path); default ``list_name``.
    errors : {"raise", "coerce"}
        ``"raise"`` (default): collect every bad value (unparseable date, an age such as
        ``"twelve"``, an unknown sex code, a death before the birth) and raise one
        :class:`~undercount.errors.InputError` naming the source, row and column of each.
        ``"coerce"``: set those values to missing and emit one
        :class:`~undercount.errors.DataWarning` listing them; the count and the first
        examples ``[row, value]`` per column are in ``result.attrs["coerced"]``. The error
        of ``"raise"`` ends with :data:`COERCE_HINT`. Structural problems (missing
        columns, duplicate or missing record IDs) always raise.
    dayfirst : bool, optional
        Read ``05/06/1990`` as 5 June (True, and the default, the convention in the region)
        or 6 May (False; a project file's ``date_order = "month-first"``). Left unset, a date
        column with values that are a real date in both orders (``03/11/2023``) gets a
        :class:`~undercount.errors.DataWarning` with their count and examples, unless other
        values of the column (``25/03/2023``) show the order used is the column's; set, the
        warning comes only when other values contradict it.

    Returns
    -------
    DataFrame
        The columns of :data:`OUTPUT_COLUMNS`, then the covariates:

        - ``list``, ``record_id`` (str), ``row`` (int, spreadsheet row number);
        - ``name_ar`` / ``name_lat``: full names in comparison form (compounds joined,
          lam-alef artefacts repaired; see :mod:`undercount.names.arabic` and
          :mod:`undercount.names.latin`), None if absent;
        - ``given``, ``father``, ``grandfather``, ``family``: parts in comparison form,
          Arabic where the record has an Arabic name, else Latin;
        - ``*_key``: cross-script consonant skeletons (:mod:`undercount.names.keys`); the
          family key is built without the article; ``name_key`` joins the given, father and
          family keys; ``last_key`` is the key of the name's last part: the family key, or
          for a one-part name the key of its only part (a list that writes one name of a
          person may write either the given or the family name, and blocking on
          ``last_key`` pairs a lone family name with the full name that ends in it);
          ``given_variants``: the nicknames and canonical forms of a Latin given name
          (:mod:`undercount.names.nicknames`; "william" for "bill"), space-separated;
        - ``name_tokens``: the distinct skeletons (article dropped) of every own name part,
          sorted and space-separated (the name as a set); ``name_unplaced``: ``kind:token``
          for each title, relative, kunya, nickname or alternative that is not one of the
          person's parts (:mod:`undercount.names.victims`); a record with names in both
          scripts uses the script with more placed parts;
        - ``sex`` ("m", "f" or None); ``age`` (float years: the reported age, else
          completed years from ``dob`` to ``dod``); ``age_heaped`` (a reported age ≥ 20 that
          is a multiple of 5); ``dob``, ``dod`` (ISO dates or None); ``dob_heaped``
          (1 January or year only); ``birth_year`` (Int64, from ``dob``); ``dob_text``:
          a date of birth that is no date but is written year, month, day (``1857-14-12``,
          a slipped digit), as ``YYYY-MM-DD`` text, for the typo-tolerant comparison only;
        - ``place`` (normalised text); ``national_id`` (digits or None) and ``id_valid``
          (the Luhn check: True, False, or None when there is no ID);
        - ``postcode`` (letters and digits, upper case) and ``postcode_district`` (its
          first part: ``TQ13`` of ``TQ13 8DF``); ``occupation`` (normalised text).

    Raises
    ------
    ConfigError
        A covariate role that clashes with an output column.
    InputError
        A mapped column missing from ``frame``; bad record IDs; bad values (unless
        ``errors="coerce"``).
    """
    source = source or list_name
    order_given = dayfirst is not None
    dayfirst = True if dayfirst is None else bool(dayfirst)
    if errors not in ("raise", "coerce"):
        raise ConfigError(f"errors={errors!r}; allowed: 'raise', 'coerce'")
    missing = [f"{role} -> {col!r}" for role, col in columns.items() if col not in frame.columns]
    if id_column is not None and id_column not in frame.columns:
        missing.append(f"id_column -> {id_column!r}")
    if missing:
        raise InputError(
            f"{source}: column(s) not found: {', '.join(missing)}; the file has "
            f"{[str(c) for c in frame.columns]}"
        )
    covariate_roles = [r for r in columns if r not in ROLES]
    clash = [r for r in covariate_roles if r in OUTPUT_COLUMNS]
    if clash:
        raise ConfigError(
            f"{source}: covariate role(s) {clash} clash with standardised output columns; "
            "rename them"
        )
    data = frame.reset_index(drop=True)
    n = len(data)
    rows = np.arange(2, n + 2, dtype=np.int64)
    out = pd.DataFrame({"list": pd.Series([list_name] * n, dtype=object)})

    # Record IDs: structural, always raise.
    if id_column is None:
        record_id = pd.Series(rows.astype(str), dtype=object)
    elif _plain_ids(data[id_column]):
        # Text with no missing value and nothing to strip: the IDs are the text as it is.
        record_id = pd.Series(data[id_column].to_numpy(dtype=object), dtype=object)
        blank = record_id.eq("")
    else:
        raw = data[id_column].astype(object)
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        record_id = raw.map(lambda v: None if v is None else str(v).strip()).astype(object)
    if id_column is not None:
        id_problems = [
            f"row {r}, column {id_column!r}: the record ID is missing"
            for r in rows[blank.to_numpy()]
        ]
        dup = record_id.duplicated(keep=False) & ~blank
        id_problems += [
            f"row {r}, column {id_column!r}: record ID {v!r} is not unique"
            for r, v in zip(rows[dup.to_numpy()], record_id[dup], strict=True)
        ]
        if id_problems:
            raise InputError(f"{source}: {len(id_problems)} bad record ID(s)", id_problems)
    out["record_id"] = record_id
    out["row"] = rows
    _warn_foreign_scripts(data, columns, source, rows)

    problems: list[str] = []
    problem_count = 0

    coerced: dict[str, dict] = {}

    def report(mask: np.ndarray, column: str, what: str, values: pd.Series) -> None:
        nonlocal problem_count
        idx = np.flatnonzero(mask)
        problem_count += len(idx)
        if len(idx):
            entry = coerced.setdefault(column, {"count": 0, "examples": []})
            entry["count"] += len(idx)
            entry["examples"] += [
                [int(rows[i]), str(values.iloc[i])]
                for i in idx[: max(0, _EXAMPLES - len(entry["examples"]))]
            ]
        for i in idx[:_MAX_SHOWN_PER_COLUMN]:
            problems.append(
                f"{source}, row {rows[i]}, column {column!r}: {values.iloc[i]!r} {what}"
            )

    # Names.
    def col(role: str) -> pd.Series | None:
        return data[columns[role]] if role in columns else None

    name_ar = pd.Series([None] * n, dtype=object)
    name_lat = pd.Series([None] * n, dtype=object)
    unplaced = {"ar": pd.Series([None] * n, dtype=object),
                "lat": pd.Series([None] * n, dtype=object)}
    parts_ar = [pd.Series([None] * n, dtype=object) for _ in PARTS]
    parts_lat = [pd.Series([None] * n, dtype=object) for _ in PARTS]
    # name_tokens of each script's full name, where the name is the parsed full name.
    name_tokens: dict[str, np.ndarray | None] = {"ar": None, "lat": None}
    for script, full_role, part_func, name_out, parts_out in (
        ("ar", "name_ar", _norm_part_ar, name_ar, parts_ar),
        ("lat", "name_lat", _norm_part_lat, name_lat, parts_lat),
    ):
        full = col(full_role)
        if full is not None:
            fields = _name_fields(full)
            name_out[:] = fields[0]
            for k in range(4):
                parts_out[k][:] = fields[1 + k]
            unplaced[script][:] = fields[5]
            name_tokens[script] = fields[6]
        explicit = [col(f"{p}_{script}") for p in PARTS]
        if any(e is not None for e in explicit):
            for k, e in enumerate(explicit):
                parts_out[k][:] = (
                    _map_unique(e, part_func) if e is not None else [None] * n
                )
            if script == "lat" and explicit[0] is not None:
                # A title in the given-name column ("sir", "miss") is no given name.
                title = parts_out[0].map(is_latin_title).to_numpy(dtype=bool)
                parts_out[0][title] = None
                if explicit[3] is not None:
                    _place_lone_names(parts_out)
            if full is None:
                joined = [
                    " ".join(p for p in ps if p) or None
                    for ps in zip(*parts_out, strict=True)
                ]
                name_out[:] = _objects(joined)
    out["name_ar"] = name_ar
    out["name_lat"] = name_lat
    # The script whose name has more placed parts (Arabic on a tie): a list that writes a
    # descriptor ("زوجة أحمد") or one word in Arabic and the full name in Latin is read in Latin.
    n_ar = sum(p.notna().to_numpy(dtype=np.int64) for p in parts_ar)
    n_lat = sum(p.notna().to_numpy(dtype=np.int64) for p in parts_lat)
    has_ar = np.asarray((n_ar > 0) & (n_ar >= n_lat), dtype=bool)
    for k, part in enumerate(PARTS):
        chosen = parts_ar[k].where(has_ar, parts_lat[k])
        out[part] = chosen.astype(object)
    full = name_ar.where(has_ar, name_lat)
    # Tokens of the full name, once per distinct name (with the parse where the name is
    # parsed: the tokens of the chosen script's name); a name with no own parts (a
    # descriptor such as "daughter of X Y") takes the parts it placed.
    tokens_ar, tokens_lat = (
        name_tokens[s] if name_tokens[s] is not None
        else _map_unique(names, lambda f: _name_tokens(f, ())).to_numpy()
        for s, names in (("ar", name_ar), ("lat", name_lat)))
    tokens = np.where(has_ar, tokens_ar, tokens_lat)
    empty = np.flatnonzero(full.isna().to_numpy())
    for i in empty:
        tokens[i] = _name_tokens(None, tuple(out[p].iloc[i] for p in PARTS))
    out["name_tokens"] = tokens
    ua, ul = unplaced["ar"], unplaced["lat"]
    both = ua.notna().to_numpy() & ul.notna().to_numpy()
    merged = ua.where(ua.notna(), ul)
    if both.any():
        merged[both] = ua[both] + " " + ul[both]
    out["name_unplaced"] = merged.to_numpy()
    for part in PARTS:
        family = part == "family"
        out[f"{part}_key"] = _map_unique(out[part], lambda v, f=family: _key(v, family=f))
    one_part = (out["father_key"].isna() & out["grandfather_key"].isna()
                & out["family_key"].isna()).to_numpy(dtype=bool)
    out["last_key"] = out["family_key"].where(~one_part, out["given_key"]).astype(object)
    out["given_variants"] = _map_unique(out["given"], given_variants)
    # A Python join, not Arrow's binary_join_element_wise(null_handling="skip"): pyarrow
    # 26 drops the rows whose keys are all missing from that function's result, which
    # shifted every later name_key of a list by a row.
    out["name_key"] = _objects([
        " ".join(k for k in ks if isinstance(k, str)) or None
        for ks in zip(out["given_key"], out["father_key"], out["family_key"], strict=True)
    ])

    # Sex.
    sex = pd.Series([None] * n, dtype=object)
    if "sex" in columns:
        raw = col("sex")
        mapped = pd.Series(_map_unique(raw, _norm_sex), dtype=object)
        bad = mapped.map(lambda v: v is False).to_numpy(dtype=bool)
        report(bad, columns["sex"], "is not a sex code (expected m/f, male/female, ذكر/انثى)", raw)
        sex = mapped.where(~bad, None)
    out["sex"] = sex

    # Dates.
    def dates(role: str):
        if role not in columns:
            return None
        parsed = parse_dates(col(role), dayfirst=dayfirst)
        report(parsed.bad, columns[role], "is not a date in a recognised format", col(role))
        _warn_ambiguous_dates(col(role), parsed, source, columns[role], rows, dayfirst,
                              explicit=order_given)
        return parsed

    dob = dates("dob")
    dod = dates("dod")
    if dob is not None and dod is not None:
        after = (dob.dates > dod.dates).to_numpy(dtype=bool)
        what = f"is after the date of death ({columns['dod']!r})"
        report(after, columns["dob"], what, col("dob"))
        if after.any():
            dob.dates[after] = pd.NaT
    out["dob"] = dob.iso() if dob is not None else pd.Series([None] * n, dtype=object)
    out["dob_text"] = (
        _slipped_dates(col("dob"), dob.bad) if dob is not None
        else pd.Series([None] * n, dtype=object)
    )
    out["dob_heaped"] = (
        (dob.heaped & dob.dates.notna().to_numpy()) if dob is not None else np.zeros(n, bool)
    )
    out["birth_year"] = (
        dob.dates.dt.year.astype("Int64") if dob is not None else pd.array([pd.NA] * n, "Int64")
    )
    out["dod"] = dod.iso() if dod is not None else pd.Series([None] * n, dtype=object)

    # Ages.
    age = np.full(n, np.nan)
    heaped = np.zeros(n, dtype=bool)
    if "age" in columns:
        age, bad = parse_ages(col("age"))
        report(bad, columns["age"], "is not an age in years (0-125)", col("age"))
        heaped = age_heaped(age)
    if dob is not None and dod is not None:
        derived = completed_years(dob.dates, dod.dates)
        fill = np.isnan(age) & ~np.isnan(derived)
        age[fill] = derived[fill]
    out["age"] = age
    out["age_heaped"] = heaped

    out["place"] = (
        _map_unique(col("place"), _norm_place) if "place" in columns else _objects([None] * n)
    )
    if "national_id" in columns:
        digits = clean_ids(col("national_id"))
        out["national_id"] = digits.reset_index(drop=True)
        out["id_valid"] = ids_valid(digits)
    else:
        out["national_id"] = pd.Series([None] * n, dtype=object)
        out["id_valid"] = pd.Series([None] * n, dtype=object)

    if "postcode" in columns:
        postcodes = _map_unique(col("postcode"), _norm_postcode)
        out["postcode"] = _objects([p[0] for p in postcodes])
        out["postcode_district"] = _objects([p[1] for p in postcodes])
    else:
        out["postcode"] = _nones(n)
        out["postcode_district"] = _nones(n)
    out["occupation"] = (
        _map_unique(col("occupation"), _norm_place) if "occupation" in columns else _nones(n)
    )

    for role in covariate_roles:
        out[role] = data[columns[role]].to_numpy()

    out.attrs["coerced"] = coerced
    if problem_count:
        shown = problems[:20]
        if errors == "raise":
            raise _bad_values_error(source, problem_count, problems)
        msg = (
            f"{source}: {problem_count} bad value(s) set to missing:\n"
            + "\n".join(f"  - {p}" for p in shown)
            + (f"\n  ... and {problem_count - len(shown)} more" if problem_count > 20 else "")
        )
        warnings.warn(msg, DataWarning, stacklevel=2)
    for c in ("name_ar", "name_lat", *PARTS, *(f"{p}_key" for p in PARTS), "name_key",
              "last_key", "given_variants", "name_tokens", "name_unplaced", "place", "national_id",
              "dob_text", "postcode", "postcode_district", "occupation"):
        out[c] = out[c].astype(object)
    out["dob_heaped"] = out["dob_heaped"].astype(bool)
    out["age_heaped"] = out["age_heaped"].astype(bool)
    result = out[[*OUTPUT_COLUMNS, *covariate_roles]]
    result.attrs["coerced"] = coerced
    return result
