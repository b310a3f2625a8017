"""Cross-script consonant skeletons: one key for an Arabic name and its transliterations.

Arabic script writes consonants and long vowels; transliterations add short vowels and
spell consonants in several ways. The skeleton keeps only what both agree on:

1. Each Arabic letter and each Latin letter or digraph is mapped to a consonant class
   (table below). Letters that transliterations render inconsistently share a class:
   ``ح ه h → H``, ``س ص s → S``, ``ت ط ث ذ t th → T``, ``د ض d dh → D``, ``ز ظ z → Z``,
   ``ق ك q k c → K``, ``خ kh → X``, ``غ gh → G``, ``ش sh ch → C``, ``ج j g dj → J``.
2. ``ع``, ``ء`` and apostrophes are dropped (Latin renders ayn as a vowel, an apostrophe or
   nothing), as are vowels: Latin ``a e i o u`` and the Arabic long-vowel letters ``ا``.
3. ``و``/``w`` and ``ي``/``y`` count as consonants (``W``, ``Y``) only at the start of a part
   (``وليد`` Waleed, ``يوسف`` Yousef). Elsewhere they are dropped in both scripts, because
   Arabic writes the long vowels ū/ī with the same letters (``محمود`` Mahmoud, ``سعيد``
   Saeed) and Latin writes a consonantal w/y inside a word inconsistently.
4. Runs of one class are collapsed (shadda is unwritten in Arabic and doubled in Latin:
   ``حسن``/``Hassan``), and a final ``H`` is dropped (ta marbuta written ``ه``; ``Fatma``/
   ``فاطمه``, ``Hamza``/``حمزه``).
5. A consonant followed by ``H`` is read as the Latin digraph in both scripts
   (``DH → D``, ``TH → T``, ``KH → X``, ``SH → C``), so a letter-by-letter transliteration
   (``Madhoun`` for ``مدهون``, ``Abuishaq`` for ``ابواسحق``) still agrees.

``ذ`` is put with ``T`` because the transliterations observed write it ``th`` (``Thiab``,
``Munther``, ``Nafeth``) far more often than ``z`` or ``dh``.

The result is a short upper-case string such as ``MHMD`` for ``محمد``, ``Muhammad`` and
``Mohamed``. Agreement on the 3,427 Arabic–Latin token pairs of the Gaza MoH / TFP
transliteration table is reported in ``tests/names/test_keys.py``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from undercount.names.arabic import clean_arabic, is_arabic, repair_lam_alef_all, split_name
from undercount.names.latin import clean_latin, split_latin_name

__all__ = ["family_skeleton", "name_skeleton", "skeleton", "skeleton_arabic", "skeleton_latin"]

_ARABIC_CLASS = {
    "ب": "B", "ت": "T", "ث": "T", "ج": "J", "ح": "H", "خ": "X", "د": "D", "ذ": "T",
    "ر": "R", "ز": "Z", "س": "S", "ش": "C", "ص": "S", "ض": "D", "ط": "T", "ظ": "Z",
    "ع": "", "غ": "G", "ف": "F", "ق": "K", "ك": "K", "ل": "L", "م": "M", "ن": "N",
    "ه": "H", "و": "W", "ي": "Y", "ء": "", "ا": "",
}
# Longest match first; a digraph wins over its letters.
_LATIN_UNITS = (
    ("sch", "C"), ("dj", "J"), ("kh", "X"), ("gh", "G"), ("sh", "C"), ("ch", "C"),
    ("th", "T"), ("dh", "D"), ("ph", "F"), ("ce", "S"), ("ci", "S"),
    ("a", ""), ("e", ""), ("i", ""), ("o", ""), ("u", ""),
    ("b", "B"), ("c", "K"), ("d", "D"), ("f", "F"), ("g", "J"), ("h", "H"), ("j", "J"),
    ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("p", "B"), ("q", "K"), ("r", "R"),
    ("s", "S"), ("t", "T"), ("v", "F"), ("w", "W"), ("x", "KS"), ("y", "Y"), ("z", "Z"),
)
_LATIN_RE = re.compile("|".join(re.escape(u) for u, _ in _LATIN_UNITS))
_LATIN_CLASS = dict(_LATIN_UNITS)
_RUNS = re.compile(r"(.)\1+")
# A consonant followed by H reads as the Latin digraph in both scripts: TFP's letter-by-letter
# "Madhoun" for مدهون and "Tharir" for تحرير, and "Abuishaq" for ابواسحق.
_PAIRS = re.compile("DH|TH|KH|SH")
_PAIR_CLASS = {"DH": "D", "TH": "T", "KH": "X", "SH": "C"}


def _finish(classes: list[str]) -> str:
    # Semivowels count only as the first letter of the part.
    out = [c for i, c in enumerate(classes) if c and (i == 0 or c not in ("W", "Y"))]
    key = _RUNS.sub(r"\1", "".join(out))
    if len(key) > 1 and key.endswith("H"):
        key = key[:-1]
    return _RUNS.sub(r"\1", _PAIRS.sub(lambda m: _PAIR_CLASS[m.group()], key))


@lru_cache(maxsize=200_000)
def skeleton_arabic(part: str) -> str:
    """Skeleton of one Arabic part (any spaces inside a compound are ignored).

    >>> skeleton_arabic("محمد")
    'MHMD'
    >>> skeleton_arabic("عبد الرحمن")
    'BDLRHMN'
    """
    text = clean_arabic(part).replace(" ", "")
    # A leading ع or ء must not hide the semivowel after it from rule 3: "عوض" is not W.
    return _finish([_ARABIC_CLASS.get(ch, "") for ch in text])


@lru_cache(maxsize=200_000)
def skeleton_latin(part: str) -> str:
    """Skeleton of one Latin part.

    >>> skeleton_latin("Mohammed")
    'MHMD'
    >>> skeleton_latin("Abdel-Rahman")
    'BDLRHMN'
    """
    text = clean_latin(part).replace(" ", "").replace("-", "")
    return _finish([_LATIN_CLASS[u] for u in _LATIN_RE.findall(text)])


def skeleton(part: str) -> str:
    """Skeleton of one name part in either script (chosen by the characters present)."""
    if not isinstance(part, str) or not part:
        return ""
    return skeleton_arabic(part) if is_arabic(part) else skeleton_latin(part)


def family_skeleton(part: str) -> str:
    """Skeleton of a family name without the article, robust to how the article is written.

    A leading ``L`` class is removed (after ``B`` for an ``ابو``/``abu`` compound): it is the
    article ``ال`` / ``al-`` / ``el-`` / glued ``Al`` in most family names, and dropping it in
    both scripts also makes ``Alsadodi`` agree with ``السدودي`` and with ``سدودي``. Names that
    genuinely start with ``L`` or ``عل`` (``Alwan`` / ``علوان``) lose it in both scripts alike.
    A one-letter skeleton is kept whole.

    >>> family_skeleton("الشيخ") == family_skeleton("Shaikh") == family_skeleton("Alshaikh")
    True
    """
    key = skeleton(part)
    flat = part.replace(" ", "").replace("-", "").lower()
    abu = flat.startswith(("ابو", "أبو", "abu", "abou", "abo"))
    if abu and key.startswith("BL") and len(key) > 2:
        return "B" + key[2:]
    if key.startswith("L") and len(key) > 1:
        return key[1:]
    return key


def name_skeleton(name: str) -> str:
    """Skeletons of every part of a full name, one space apart.

    Arabic names are split with :func:`undercount.names.arabic.split_name` after lam-alef
    repair, Latin names with :func:`undercount.names.latin.split_latin_name`, so compounds
    give one skeleton each in both scripts.

    >>> name_skeleton("عبد الله أبو عمرة") == name_skeleton("Abdullah Abu Amra")
    True
    """
    if not isinstance(name, str) or not name.strip():
        return ""
    if is_arabic(name):
        parts = [repair_lam_alef_all(p) for p in split_name(name)]
        keys = [skeleton_arabic(p) for p in parts]
    else:
        keys = [skeleton_latin(p) for p in split_latin_name(name)]
    return " ".join(k for k in keys if k)
