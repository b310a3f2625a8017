"""Which writing systems a name is written in, and how words in another script are kept.

A list's Arabic name column sometimes holds a word in Latin letters (``محمد Ahmad صالح``),
or a whole name in Cyrillic or Chinese characters (foreign victims, aid workers, a
transliteration pasted in the wrong column). The Arabic normaliser keeps only Arabic letters,
so such words used to vanish without a word. Here they are *kept*: each foreign word becomes
a name part of its own, transliterated to ASCII Latin letters with ``anyascii`` (Cyrillic
``Иван`` → ``ivan``, Chinese ``王小明`` → ``wangxiaoming``) and then put in the Latin
comparison form, so the cross-script keys of :mod:`undercount.names.keys` still compare it
with the same name written in other lists. :func:`standardise` counts the values that held
such words per column and warns.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

__all__ = ["foreign_scripts", "script_of", "to_latin_letters"]

_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF),
                  (0xFE70, 0xFEFF))


def _is_arabic_char(ch: str) -> bool:
    o = ord(ch)
    return any(lo <= o <= hi for lo, hi in _ARABIC_RANGES)


@lru_cache(maxsize=4096)
def script_of(ch: str) -> str:
    """The writing system of one letter: ``"Arabic"``, ``"Latin"``, ``"Cyrillic"``,
    ``"CJK"``, ``"Greek"``, ... (the first word of its Unicode name), or ``"other"``."""
    if _is_arabic_char(ch):
        return "Arabic"
    name = unicodedata.name(ch, "")
    if not name:
        return "other"
    first = name.split(" ")[0]
    if first in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL"):
        return "CJK"
    return first.capitalize()


# Letter-like signs that belong to no script of their own (ʿ ʾ ª º).
_NO_SCRIPT = frozenset({"other", "Modifier", "Feminine", "Masculine"})


# Letters that are not Arabic (\w less digits, underscore and the Arabic blocks).
_NOT_ARABIC_LETTER = re.compile(
    "[^\\W\\d_\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"
)


def foreign_scripts(text: str, home: str) -> set[str]:
    """Scripts other than ``home`` (``"Arabic"`` or ``"Latin"``) of the letters in ``text``."""
    # Fast paths for the common cases (lists hold tens of thousands of names).
    if home == "Latin" and text.isascii():
        return set()
    if home == "Arabic" and _NOT_ARABIC_LETTER.search(text) is None:
        return set()
    out: set[str] = set()
    for ch in text:
        if ch.isalpha():
            s = script_of(ch)
            if s != home and s not in _NO_SCRIPT:
                out.add(s)
    return out


def to_latin_letters(text: str) -> str:
    """``text`` with every non-ASCII letter transliterated to ASCII (``anyascii``).

    Accents are stripped first (``é → e``) so Latin text is unchanged but for them; other
    scripts are romanised letter by letter. Emoji and symbols become their ``:name:`` or
    punctuation, which the Latin cleaner then turns into spaces.
    """
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return anyascii(text)
