"""Normalisation of Latin-script transliterations of Arabic names.

Transliterated lists spell one Arabic name many ways: ``Abd al-Rahman``, ``Abdel Rahman``,
``Abdulrahman``, ``Abdurrahman``; ``Abu``/``Abou``/``Abo``; ``al-``/``el-``/``an-`` or no
article; ``Mahmoud``/``Mahmud``. The comparison form (:func:`normalise_latin`) removes the
differences that carry no information about the person:

1. NFKD and removal of combining marks (``ḥ → h``, ``é → e``), lower case; apostrophes and
   the ayn/hamza signs (``' ’ ʿ ʾ ` ``) removed; parenthesised asides dropped; other
   non-letters become spaces (hyphens are used for the article, below).
2. The article: ``al-``, ``el-``, ``ul-``, ``il-``, ``al ``, ``el `` and the sun-letter
   assimilations ``an-N``, ``ash-Sh``, ``ad-D`` … become ``al-`` (``el-Najjar`` →
   ``al-najjar``; ``ash-Shaikh`` → ``al-shaikh``).
3. Compound names are one part, written without spaces: ``abd``/``abdel``/``abdul``/
   ``abdal``/``abd al`` + X → ``abdal`` + X (``Abdullah``, ``Abd Allah``, ``Abdallah`` →
   ``abdallah``; ``Abdurrahman`` → ``abdalrahman``); ``abu``/``abou``/``abo`` + X →
   ``abu`` + X; a following ``Allah``/``ullah`` or ``ed-Din``/``eddine`` is glued to the
   word before (``Nour Eddine`` → ``nouraldin``).

Vowel variants and doubled letters are *not* removed from the comparison form; they are
folded in :func:`latin_key` and in the cross-script skeleton (:mod:`undercount.names.keys`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from undercount.names.scripts import to_latin_letters

__all__ = [
    "clean_latin",
    "latin_key",
    "normalise_latin",
    "normalise_latin_token",
    "split_latin_name",
    "split_latin_words",
    "strip_latin_article",
]

_APOSTROPHES = str.maketrans(dict.fromkeys("'’‘`ʿʾʼ´\"", None))
_BRACKETED = re.compile(r"[\(\[\{][^\)\]\}]*[\)\]\}]?")
_NON_LETTER = re.compile(r"[^a-z\- ]+")
_SPACES = re.compile(r"\s+")

_ARTICLE_WORDS = frozenset({"al", "el", "ul", "il", "ol", "l"})
# Sun-letter assimilation of the article: an-Najjar, ash-Shaikh, ad-Dahdouh, ar-Rantisi.
_SUN_ASSIMILATED = re.compile(r"^[ae](sh|th|dh|ts|[tdrzsnl])-(?=\1)")
_ARTICLE_HYPHEN = re.compile(r"^(?:al|el|ul|il|ol)-(?=[a-z])")

# "Abdo", "Abdu", "Abed" (عبدو, عابد) are names in their own right, not compound heads.
_ABD_WORDS = frozenset({"abd", "abdel", "abdul", "abdal", "abdil", "abdol"})
_ABU_WORDS = frozenset({"abu", "abou", "abo", "aboo", "abw"})
_COMPOUND_HEAD = re.compile(r"^(?:abd|abu|abou|abo|abw)")
_ALLAH_WORDS = frozenset({"allah", "ullah", "illah", "alla", "allh", "lah", "ulla", "hlla",
                          "al-lah", "al-lh", "al-la", "ellah", "alah"})
_DIN_WORDS = frozenset({"eddin", "eddine", "uddin", "addin", "iddin", "aldin", "eldin", "din",
                        "deen", "aldeen", "eldeen", "uddeen", "eddeen", "addeen", "al-din",
                        "al-deen", "al-dine"})
# abd + an article (al, el, ul, il, ol, oul, or the vowel of an assimilated sun letter).
_ABD_CANON = re.compile(
    r"^abd(?:(?:a|e|u|i|o|ou)l-?|(?:a|e|u|o)(?P<sun>sh|th|dh|[tdrzsn])(?=(?P=sun)))"
    r"(?P<rest>.*)$"
)


def clean_latin(text: str) -> str:
    """Lower-case, accents stripped, apostrophes unified, letters of other scripts
    transliterated (:func:`undercount.names.scripts.to_latin_letters`), bracketed asides
    dropped, other non-letters replaced by spaces, spaces collapsed."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        # Apostrophes and the ayn/hamza signs go before transliteration, which would turn
        # them into other punctuation; then letters of other scripts (Cyrillic, CJK, a
        # stray Arabic word) are romanised rather than dropped.
        text = text.translate(_APOSTROPHES)
        if not text.isascii():
            text = "".join(
                ch if ch.isascii() or not ch.isalpha() else to_latin_letters(ch)
                for ch in text
            )
    text = text.lower().translate(_APOSTROPHES)
    text = _BRACKETED.sub(" ", text)
    text = _NON_LETTER.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _article(word: str) -> str:
    word = _SUN_ASSIMILATED.sub("al-", word)
    return _ARTICLE_HYPHEN.sub("al-", word)


def _canon_abd(word: str) -> str:
    """``abd`` + article + rest → ``abdal`` + rest (rest of three letters or more).

    Without an article the compound is left as written (``عبد ربه`` is ``abdrabbo``, not
    ``abd al-rabbo``).
    """
    flat = word.replace("-", "")
    m = _ABD_CANON.match(flat)
    if m is None:
        return flat
    rest = m.group("rest")
    if len(rest) < 3:
        return flat
    return "abdal" + rest


def _canon_suffix(word: str) -> str:
    if word in _ALLAH_WORDS:
        return "allah"
    return "aldin"


#: Words that the compound loop of :func:`split_latin_words` acts on (besides words that
#: start with ``ab``, which it may respell).
_JOINING = _ARTICLE_WORDS | _ABD_WORDS | _ABU_WORDS | _ALLAH_WORDS | _DIN_WORDS


def split_latin_name(text: str) -> list[str]:
    """Split a Latin-script name into parts, keeping compounds (``abd X``, ``abu X``) together.

    Returns the parts in comparison form (see :func:`normalise_latin_token`).
    """
    return split_latin_words(clean_latin(text).split(" "))


@lru_cache(maxsize=1 << 18)
def _word_pieces(raw: str) -> tuple[str, ...]:
    """One cleaned word with its article written ``al-`` and split at the hyphens that
    separate words (a compound such as ``abd-al-rahman`` stays one piece)."""
    word = _article(raw)
    if word.startswith("al-") or raw in _ARTICLE_WORDS:
        return (word,)
    if "-" in word and _COMPOUND_HEAD.match(word):
        # abu-ali, abual-kass, abdel-rahman, abd-al-rahman: one compound part.
        pieces = [w for w in word.split("-") if w]
        if pieces[0] in _ABD_WORDS | _ABU_WORDS and len(pieces) == 1:
            return (pieces[0],)
        return ("".join(pieces),)
    # Other hyphens separate words (abu-ali, abdel-rahman, nour-eddine).
    return tuple(w for w in word.split("-") if w)


def split_latin_words(cleaned: list[str]) -> list[str]:
    """:func:`split_latin_name` of a name already split into :func:`clean_latin`'s words.

    Each word is read on its own first (:func:`_word_pieces`, remembered: names repeat by
    the word, not whole), then the compounds are joined across words.
    """
    words = [w for raw in cleaned if raw for w in _word_pieces(raw)]
    if _JOINING.isdisjoint(words) and not any(w.startswith("ab") for w in words):
        # No word that the loop below joins, moves an article to, or respells: each word
        # is a part as it is (most names).
        return words
    parts: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if word in _ARTICLE_WORDS and nxt is not None:
            # A separated article: "al najjar" -> "al-najjar".
            words[i + 1] = "al-" + nxt
            i += 1
            continue
        if word in _ABD_WORDS and nxt is not None:
            take = 2
            if nxt in _ARTICLE_WORDS and i + 2 < len(words):
                take = 3
            joined = "".join(words[i : i + take])
            parts.append(_canon_abd(joined.replace("al-", "al")))
            i += take
            continue
        if word in _ABU_WORDS and nxt is not None:
            take = 2
            if nxt in _ARTICLE_WORDS and i + 2 < len(words):
                take = 3
            rest = "".join(words[i + 1 : i + take]).replace("-", "")
            parts.append("abu" + rest)
            i += take
            continue
        if (word in _ALLAH_WORDS or word in _DIN_WORDS) and parts:
            parts[-1] = parts[-1].replace("-", "") + _canon_suffix(word)
            i += 1
            continue
        if word.startswith("abd"):
            word = _canon_abd(word)
        elif word.startswith(("abou", "abw")) and len(word) > 6:
            word = "abu" + word[4 if word.startswith("abou") else 3 :]
        elif word.startswith("abo") and len(word) > 6 and not word.startswith("abou"):
            word = "abu" + word[3:]
        parts.append(word)
        i += 1
    return parts


@lru_cache(maxsize=200_000)
def normalise_latin_token(token: str) -> str:
    """Comparison form of one Latin name part (a compound part comes back without spaces).

    >>> normalise_latin_token("Abdel Rahman")
    'abdalrahman'
    >>> normalise_latin_token("El-Masri")
    'al-masri'
    """
    return "".join(split_latin_name(token))


def normalise_latin(text: str) -> str:
    """Comparison form of a full Latin-script name: parts one space apart.

    >>> normalise_latin("Abd al-Rahman Abou Shaaban")
    'abdalrahman abushaaban'
    """
    return " ".join(split_latin_name(text))


def strip_latin_article(token: str) -> str:
    """Remove a leading ``al-`` (and ``al`` after ``abu``) from a part in comparison form."""
    if token.startswith("al-") and len(token) > 4:
        return token[3:]
    if token.startswith("abual") and len(token) >= 8:
        return "abu" + token[5:]
    return token


_VOWEL_FOLD = (
    (re.compile(r"ou|oo|uu|o"), "u"),
    (re.compile(r"ee|ii|ie|ei|ey|ay|ai"), "i"),
    (re.compile(r"aa|e"), "a"),
)
_DOUBLE = re.compile(r"([a-z])\1+")


def latin_key(token: str) -> str:
    """A spelling-variant key for a Latin part: hyphens removed, vowels folded, doubles collapsed.

    ``ou/oo/o → u``, ``ee/ie/ei/ay/ai → i``, ``aa/e → a``; repeated letters once.
    ``Mahmoud`` and ``Mahmud`` share ``mahmud``; ``Hassan`` and ``Hasan`` share ``hasan``.
    """
    key = token.replace("-", "")
    for pattern, repl in _VOWEL_FOLD:
        # Repeat: a replacement can create a new match ("saeed" -> "said" -> "sid").
        for _ in range(4):
            new = pattern.sub(repl, key)
            if new == key:
                break
            key = new
    return _DOUBLE.sub(r"\1", key)
