"""Normalisation of Arabic-script personal names for record linkage.

The rules are written from the orthography and from the errors documented in two real
releases of the Gaza Ministry of Health list of identified killed persons (the aggregate
tables under ``linkage/arabic_names/``; see ``release_noise.md`` there):

1. Unicode NFKC (this also decomposes presentation-form ligatures such as U+FEFB ``ﻻ``).
2. Removal of tashkeel (harakat, tanween, shadda, sukun, superscript alef, Quranic marks)
   and of tatweel.
3. Letter unification for comparison: ``أ إ آ ٱ → ا``, ``ى → ي``, ``ة → ه``, ``ؤ → و``,
   ``ئ → ي``; Persian/Urdu look-alikes ``ی ک ۀ ہ`` to their Arabic letters. A standalone
   hamza ``ء`` is kept (``علاء`` and ``علا`` are different names); the cross-script
   skeleton in :mod:`undercount.names.keys` drops it.
4. Parenthesised asides (a nickname, an alternative family name) are removed; a word in
   another script (``Ahmad`` in ``محمد Ahmad صالح``, Cyrillic, CJK) is kept as a word of its
   own, romanised to lower-case ASCII letters (:mod:`undercount.names.scripts`), never
   dropped; any other non-letter (digits, punctuation) becomes a space.
5. Repair of the PDF-extraction artefacts of the lam-alef ligature: the ligature ``لا`` was
   extracted in reverse order (``ال``) and ``الله`` as ``هللا`` (:func:`repair_lam_alef`).
6. Compound names are kept as one part: ``عبد X`` (and ``عبد ال X``), ``ابو X``, and a
   standalone ``الله`` / ``الدين`` glued to the word before (``جاد الله``, ``نور الدين``).
   In the comparison form the compound is written without a space, so ``عبد الله`` and
   ``عبدالله`` compare equal (:func:`split_name`).

Nothing here guesses between two real names: where an artefact form is itself a common name
(``صالح`` Saleh is also the garbled form of ``صلاح`` Salah) the token is left alone, and
:func:`lam_alef_key` gives a comparison key that is insensitive to the reversal instead.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "COMPOUND_PREFIXES",
    "COMPOUND_SUFFIXES",
    "clean_arabic",
    "is_arabic",
    "lam_alef_key",
    "normalise_arabic",
    "normalise_arabic_token",
    "repair_lam_alef",
    "split_name",
    "strip_article",
]

# Tashkeel and Quranic annotation marks: U+0610-U+061A, U+064B-U+065F (harakat, tanween,
# shadda, sukun, hamza above/below marks), U+0670 (superscript alef), U+06D6-U+06ED.
_MARKS = (
    [chr(c) for c in range(0x0610, 0x061B)]
    + [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670"]
    + [chr(c) for c in range(0x06D6, 0x06EE)]
)
_TATWEEL = "\u0640"

_LETTER_MAP = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ى": "ي", "ی": "ي", "ې": "ي",
    "ة": "ه", "ۀ": "ه", "ہ": "ه", "ە": "ه",
    "ؤ": "و",
    "ئ": "ي",
    "ک": "ك", "ڪ": "ك",
}
_TRANSLATE = str.maketrans({**dict.fromkeys([*_MARKS, _TATWEEL], None), **_LETTER_MAP})

# The basic Arabic letters (after unification); everything else becomes a space.
_ARABIC_LETTERS = "ءابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_NON_LETTER = re.compile(f"[^{_ARABIC_LETTERS}a-z ]+")
# A run of letters of any other script (\w less digits, underscore and the Arabic blocks).
_FOREIGN_RUN = re.compile(
    "[^\\W\\d_\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]+"
)
_BRACKETED = re.compile(r"[\(\[\{][^\)\]\}]*[\)\]\}]?")
_SPACES = re.compile(r"\s+")
_ARABIC_CHAR = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")

#: Words that open a two-word compound name (after :func:`clean_arabic`).
COMPOUND_PREFIXES: tuple[str, ...] = ("عبد", "ابو")
#: Words glued to the previous word (``جاد الله``, ``نور الدين``); ``هللا`` is the artefact
#: form of ``الله``.
COMPOUND_SUFFIXES: tuple[str, ...] = ("الله", "هللا", "الدين")

# Token-level repairs of lam-alef artefacts that are NOT themselves names: the replacement
# pairs seen at least 5 times between the 2024-06-30 and 2024-08-31 releases and the tokens
# flagged ``lam_alef_corrected`` in transliterations.csv, both in comparison form, minus the
# four whose artefact form is a real name in the repaired list (صالح, سالم, مالك, and
# العال, which is real in عبد العال).
_LAM_ALEF_TOKENS: dict[str, str] = {
    "عالء": "علاء", "بالل": "بلال", "سالمه": "سلامه", "االسطل": "الاسطل", "طالل": "طلال",
    "اسالم": "اسلام", "االء": "الاء", "االغا": "الاغا", "السالم": "السلام", "حال": "حلا",
    "جالل": "جلال", "تاال": "تالا", "النا": "لانا", "االشقر": "الاشقر", "والء": "ولاء",
    "االخرس": "الاخرس", "عال": "علا", "كالب": "كلاب", "هالل": "هلال", "الطالع": "الطلاع",
    "حالوه": "حلاوه", "فالح": "فلاح", "الرمالوي": "الرملاوي", "سيال": "سيلا",
    "المجدالوي": "المجدلاوي", "روال": "رولا", "االعرج": "الاعرج", "المحالوي": "المحلاوي",
    "احالم": "احلام", "دالل": "دلال", "دحالن": "دحلان", "الرا": "لارا", "عالم": "علام",
    "هال": "هلا", "الفي": "لافي", "االطرش": "الاطرش", "حالسه": "حلاسه", "االسمر": "الاسمر",
    "الحمالوي": "الحملاوي", "االقرع": "الاقرع", "اصالن": "اصلان", "الحالق": "الحلاق",
    "سلمناالي": "سلمنالاي", "عقيالن": "عقيلان", "نجالء": "نجلاء", "الغالييني": "الغلاييني",
    "االشرم": "الاشرم", "المالحي": "الملاحي", "شاليل": "شلايل", "االستاذ": "الاستاذ",
    "ابوهالل": "ابوهلال", "جمالت": "جملات", "االدهم": "الادهم", "االسود": "الاسود",
    "اخالص": "اخلاص", "صالحالدين": "صلاحالدين", "ايال": "ايلا", "االسالم": "الاسلام",
    "االفرنجي": "الافرنجي", "االفغاني": "الافغاني", "ارميالت": "ارميلات",
    "الثالثيني": "الثلاثيني", "الكيالني": "الكيلاني", "فضالت": "فضلات", "مالحي": "ملاحي",
    "االزبط": "الازبط", "االنقر": "الانقر", "االيوبي": "الايوبي", "الرين": "لارين",
    "غالم": "غلام", "ميال": "ميلا", "االزرق": "الازرق", "االله": "الاله", "االمام": "الامام",
    "ارسالن": "ارسلان", "بوالن": "بولان", "شاللفه": "شلالفه", "عالوي": "علاوي",
    "قشالن": "قشلان", "كيالني": "كيلاني", "ايالف": "ايلاف", "االحيوي": "الاحيوي",
    "االشهب": "الاشهب", "االطبش": "الاطبش", "االعور": "الاعور", "االفندي": "الافندي",
    "االنقح": "الانقح", "االي": "الاي", "الجالد": "الجلاد", "السيالوي": "السيلاوي",
    "الطاللقه": "الطلالقه", "اليوجد": "لايوجد", "بالطه": "بلاطه", "دياال": "ديالا",
    "شالش": "شلاش", "عجالن": "عجلان", "غال": "غلا", "قبالن": "قبلان", "الشين": "لاشين",
    "فلاير": "فريال", "جالله": "جلاله",
}

# Pattern repairs, applied to each token in this order. Each is safe because the left-hand
# side does not occur in correctly extracted Arabic names.
_LAM_ALEF_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # الله extracted as هللا, anywhere (عطاهللا, جادهللا, نصرهللا).
    (re.compile("هللا"), "الله"),
    # لله extracted as هلل at the end of a word (باهلل, عطاهلل, ساقاهلل).
    (re.compile("هلل$"), "لله"),
    # The article followed by لا: الا → االـ; a word never starts with two alefs (االسطل,
    # االء; األسطل and آالء become االـ once hamza forms are unified).
    (re.compile("^اال"), "الا"),
    # The block ريال extracted as لاير (فلاير → فريال).
    (re.compile("لاير"), "ريال"),
    # Final لاء extracted as الء (عالء, والء, نجالء).
    (re.compile("(?<=.)الء$"), "لاء"),
    # Final لال extracted as الل (بالل, طالل, جالل, هالل, دالل).
    (re.compile("(?<=.)الل$"), "لال"),
)


def is_arabic(text: object) -> bool:
    """True when ``text`` is a string containing at least one Arabic-script character."""
    return isinstance(text, str) and _ARABIC_CHAR.search(text) is not None


def clean_arabic(text: str) -> str:
    """Orthographic normalisation (the data notes' *norm1*), with no artefact repair.

    NFKC; tashkeel and tatweel removed; alef, alef maqsura, ta marbuta and hamza-seat forms
    unified; parenthesised asides dropped; words in other scripts kept, romanised to
    lower-case ASCII (``محمد Ahmad`` → ``محمد ahmad``, ``Иван`` → ``ivan``); other
    non-letters replaced by spaces; spaces collapsed.

    Examples
    --------
    >>> clean_arabic("أَحْمَد")
    'احمد'
    >>> clean_arabic("فاطمة")
    'فاطمه'
    >>> clean_arabic("محمد Ahmad صالح")
    'محمد ahmad صالح'
    """
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    text = _BRACKETED.sub(" ", text)
    if not text.isascii() or _ANY_LATIN.search(text):
        text = _FOREIGN_RUN.sub(_romanise, text)
    text = _NON_LETTER.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


_ANY_LATIN = re.compile("[A-Za-z]")


def _romanise(m: re.Match[str]) -> str:
    from undercount.names.scripts import to_latin_letters

    return " " + to_latin_letters(m.group()).lower() + " "


def repair_lam_alef(token: str) -> str:
    """Undo the lam-alef PDF-extraction artefacts in one cleaned token.

    Applies the pattern rules (``هللا → الله``, final ``هلل → لله``, initial ``اال → الا``,
    ``لاير → ريال``, final ``الء → لاء``, final ``الل → لال``) and then a table of 100+
    artefact tokens observed between two real releases (``صالحالدين → صلاحالدين``,
    ``النا → لانا``). Tokens whose artefact form is also a real name (``صالح``, ``سالم``,
    ``مالك``) are left unchanged; compare them with :func:`lam_alef_key`.

    Parameters
    ----------
    token : str
        One token, already passed through :func:`clean_arabic`; a compound such as
        ``عبد الله`` may contain a space and is repaired word by word.
    """
    if " " in token:
        return " ".join(repair_lam_alef(t) for t in token.split(" "))
    fixed = _LAM_ALEF_TOKENS.get(token)
    if fixed is not None:
        return fixed
    for pattern, repl in _LAM_ALEF_RULES:
        token = pattern.sub(repl, token)
    return _LAM_ALEF_TOKENS.get(token, token)


def lam_alef_key(text: str) -> str:
    """A key that is insensitive to lam-alef reversal: every ``لا`` written as ``ال``.

    ``صالح`` and ``صلاح`` (Saleh / Salah, and the artefact of Salah) share this key, as do
    ``بالل`` and ``بلال``. Use it as a blocking or comparison level, not as a display form.
    """
    return repair_lam_alef_all(text).replace("لا", "ال")


def repair_lam_alef_all(text: str) -> str:
    """:func:`repair_lam_alef` applied to every space-separated word of ``text``."""
    return " ".join(repair_lam_alef(t) for t in text.split(" ") if t)


def split_name(text: str, *, clean: bool = True) -> list[str]:
    """Split a name into parts, keeping compound names as one part.

    Rules (those used to build the shipped token tables):

    - ``عبد`` / ``ابو`` followed by the next word, and by one more word when the next one is
      a bare ``ال`` (``عبد ال رحمن``);
    - a standalone ``الله`` (or its artefact ``هللا``) or ``الدين`` glued to the previous word.

    Compound parts keep a single space (``"عبد الله"``); :func:`normalise_arabic_token` removes
    it for comparison.
    """
    if clean:
        text = clean_arabic(text)
    words = text.split(" ") if text else []
    parts: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in COMPOUND_PREFIXES and i + 1 < len(words):
            take = 2
            if words[i + 1] == "ال" and i + 2 < len(words):
                take = 3
            parts.append(" ".join(words[i : i + take]))
            i += take
            continue
        if word in COMPOUND_SUFFIXES and parts:
            parts[-1] = parts[-1] + " " + word
        else:
            parts.append(word)
        i += 1
    return parts


@lru_cache(maxsize=200_000)
def normalise_arabic_token(token: str) -> str:
    """Comparison form of one name part: cleaned, spaces removed, lam-alef repaired.

    >>> normalise_arabic_token("عبد الله")
    'عبدالله'
    >>> normalise_arabic_token("عالء")
    'علاء'
    """
    words = clean_arabic(token).split(" ")
    return "".join(repair_lam_alef(w) for w in words if w)


def normalise_arabic(text: str) -> str:
    """Comparison form of a full Arabic name: parts in comparison form, one space apart.

    >>> normalise_arabic("عبد الله محمد أبو  عمرة")
    'عبدالله محمد ابوعمره'
    """
    return " ".join(normalise_arabic_token(p) for p in split_name(text))


def strip_article(token: str) -> str:
    """Remove the article ``ال`` from the start of a (family-name) token in comparison form.

    ``الشيخ → شيخ``; a compound ``ابوال...`` loses the article after ``ابو`` too
    (``ابوالعمرين → ابوعمرين``). At least two letters must remain.
    """
    if token.startswith("ابوال") and len(token) >= 7:
        return "ابو" + token[5:]
    if token.startswith("ال") and len(token) >= 4:
        return token[2:]
    return token
