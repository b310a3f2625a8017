"""Names as victim lists write them: titles, descriptors, kunyas, nicknames, alternatives.

Lists compiled by journalists and NGOs (Airwars' incident reports, for instance) write a
person's name the way it reached them, not in the four-part civil-registry form of a
ministry list:

- honorifics and titles before the name: ``Dr.``, ``Sheikh``, ``Hajj``, ``Eng.``, ``Mrs.``,
  ``الشهيد`` (the martyr), ``الحاج``, ``الطفل`` (the child), ``السيدة``;
- a *descriptor* instead of a given name: ``Daughter of Ahmed Al-Dada``, ``Wife of …``,
  ``بنت …``, ``ابن …``, ``زوجة …`` — the name that follows is a relative's, not the person's;
- a *kunya* (teknonym), ``Abu Ahmad`` / ``ابو احمد`` (father of Ahmad), ``Umm Zaki`` /
  ``ام زكي`` (mother of Zaki): it names the person's child, and must not be compared as the
  person's given name;
- nicknames after a backtick or in quotes (``Hamdan Al-Najjar `Abu Zaki```), alternative
  spellings or names in parentheses (``As'ad (Asaad) …``, ``Islam Halasa (Mushtaha)``) or
  after ``..`` (``Abu al-Ela.. al-Raqab``).

:func:`parse_victim_name` separates what identifies the person — the *placed* parts given,
father, grandfather, family (positions as in :func:`undercount.names.standardise`) — from the
tokens it could not place, each with its kind (``title``, ``relative``, ``kunya``,
``nickname``, ``alternative``). A descriptor ``daughter/son/child of X [Z …] Y`` gives the
person's father (X), grandfather (Z) and family name (Y), since children carry their
father's names (the MoH list writes unnamed infants so: ``ابن خالد حسين كراجه``); ``wife
of`` / ``mother of`` give nothing about the person's own names.

Only markers that are not names are removed. ``Sheikh``/``الشيخ`` and ``Abu X`` are also
family names (``Al-Sheikh``, ``Abu Shamala``): a leading ``Sheikh`` is a title only when two
or more words follow, and ``Abu X`` is a kunya only where the writing marks it (a backtick,
quotes, parentheses, ``..``, or after an ``Al-`` family name), or at the start of a name when
X is one of the common men's given names (the names a kunya is formed from).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

from undercount.names.arabic import (
    _ARABIC_CHAR,
    COMPOUND_PREFIXES,
    COMPOUND_SUFFIXES,
    clean_arabic,
    is_arabic,
    normalise_arabic_token,
    split_name,
)
from undercount.names.keys import skeleton
from undercount.names.latin import (
    _JOINING,
    _word_pieces,
    clean_latin,
    normalise_latin_token,
    split_latin_words,
)

__all__ = [
    "PLAIN_ARABIC_NAME", "PLAIN_LATIN_NAME", "UNPLACED_KINDS", "VictimName", "is_latin_title",
    "joins_as_piece", "parse_victim_name", "plain_arabic_token", "plain_latin_items",
    "victim_name_fields",
]

#: Kinds of unplaced tokens, in the order they are reported.
UNPLACED_KINDS: tuple[str, ...] = ("title", "relative", "kunya", "nickname", "alternative")

# Titles and honorifics, in comparison form (after clean_arabic / clean_latin).
_TITLES_AR = frozenset({
    "الشهيد", "الشهيده", "شهيد", "شهيده", "الحاج", "الحاجه", "الحج", "الحجه", "حاج", "حاجه",
    "السيده", "الطفل", "الطفله", "طفل", "طفله", "الرضيع", "الرضيعه", "الدكتور",
    "الدكتوره", "د", "دكتور", "المهندس", "المهندسه", "م", "الاستاذ", "الاستاذه", "الصحفي",
    "الصحفيه", "المسن", "المسنه", "الشاب", "الشابه", "الفتي", "الفتاه", "المسعف", "الممرض",
    "الممرضه", "الامام", "الشيخه", "الطبيب", "الطبيبه", "المعلم", "المعلمه", "الاعلامي",
    "الاعلاميه", "المصور", "الام", "الاب", "الجد", "الجده", "المحامي", "المحاميه",
})
_TITLES_LAT = frozenset({
    "dr", "doctor", "mr", "mrs", "ms", "miss", "hajj", "haj", "hajja", "hajjah", "hajji",
    "haja", "eng", "engineer", "prof", "professor", "martyr", "shahid", "child", "baby",
    "infant", "journalist", "imam", "ustaz", "ustadh", "paramedic", "nurse", "teacher",
    "sheikha", "shaikha", "elderly", "young", "little", "toddler",
    # English forms of address: Splink's historical_50k writes "sir" as 1,262 first names.
    "sir", "lady", "lord", "dame", "rev", "reverend", "hon", "capt", "captain",
})


def is_latin_title(word: object) -> bool:
    """Whether a Latin word (comparison form) is a title or form of address (Dr, Mrs, Sir,
    Hajj, ...), which names no one: a list that puts it in the given-name column has no
    given name for the record."""
    return isinstance(word, str) and word.strip(". ").lower() in _TITLES_LAT


# The second word of a compound (عبد الله, نور الدين), never a family name.
_GLUED = frozenset({"الله", "هللا", "الدين"})
# A title only when at least two words follow: also a family name.
_SHEIKH_AR = frozenset({"الشيخ", "شيخ"})
_SHEIKH_LAT = frozenset({"sheikh", "shaikh", "sheik", "shaykh", "cheikh"})

# Descriptors: the words that follow name a relative. Children carry their father's names.
_CHILD_OF_AR = frozenset({"بنت", "ابنه", "ابن", "نجل", "نجله", "طفل", "طفله"})
_OTHER_OF_AR = frozenset({"زوجه", "زوج", "ام", "والده", "والد", "اخت", "شقيقه", "شقيق", "اخ",
                          "حفيد", "حفيده", "ارمله"})
_CHILD_OF_LAT = frozenset({"daughter", "son", "child", "baby", "infant", "children", "sons",
                           "daughters", "toddler", "newborn", "twin", "twins"})
_OTHER_OF_LAT = frozenset({"wife", "husband", "mother", "father", "sister", "brother",
                           "grandson", "granddaughter", "grandchild", "widow", "niece",
                           "nephew", "cousin", "relative", "aunt", "uncle", "mother-in-law",
                           "daughter-in-law", "son-in-law"})
_UMM_AR = frozenset({"ام"})
_UMM_LAT = frozenset({"umm", "um", "om", "oum", "omm", "em", "im"})
_ABU_AR = frozenset({"ابو"})
_ABU_LAT = frozenset({"abu", "abou", "abo", "aboo", "abw"})

# The commonest men's given names of the Gaza MoH list (the shipped token table's given
# position, share female < 0.2): the names a kunya is formed from. Used only to read a
# *leading* "Abu X" as a kunya; ابوبكر (Abu Bakr) is a given name and is not in the list.
_KUNYA_HEADS_AR = (
    "محمد احمد محمود عبدالله ابراهيم يوسف عبدالرحمن خالد عمر علي حسن اسماعيل مصطفي اسامه حمزه "
    "بلال انس يحيي خليل علاء جهاد عماد سعيد اياد ياسر حسام ايمن جمال براء موسي صالح سامي امير "
    "مهند عبدالكريم كرم هاني زياد حسين شادي ادم رايد مومن طارق رامي مصعب فادي عدي سليمان يزن "
    "وايل كريم اشرف كمال ادهم سمير نضال وليد معاذ حازم اكرم ماجد ماهر هيثم عادل زكريا صهيب "
    "بسام صلاح عصام ايهاب معتز هشام سالم سليم مالك فتحي مجد جميل باسل عيسي رمضان تامر عمرو "
    "وسيم امين حاتم عبيده نبيل ناصر فواد فارس مازن معتصم زين فايز رياض حمدي عدنان امجد عمار "
    "فراس اسعد مروان رمزي منير خميس باسم حامد صبحي نعيم عاطف يونس عامر عوض بهاء غسان سلامه "
    "رزق سامر انور سهيل حماده كامل سامح بدر ياسين رامز طلال توفيق مراد شريف بشير سعد خضر ناجي "
    "نصر زكي"
).split()


@lru_cache(maxsize=1)
def _kunya_head_keys() -> frozenset[str]:
    return frozenset(skeleton(n) for n in _KUNYA_HEADS_AR)


_MARKERS = re.compile(r"[`´‘’\"“”«»\(\)\[\]\{\}…،;,]|\.\.|\s[-–—/|]\s")
_SPECIAL_AR = (_TITLES_AR | _SHEIKH_AR | _CHILD_OF_AR | _OTHER_OF_AR | _UMM_AR | _ABU_AR)
_SPECIAL_LAT = (_TITLES_LAT | _SHEIKH_LAT | _CHILD_OF_LAT | _OTHER_OF_LAT | _UMM_LAT
                | _ABU_LAT)


@dataclass(frozen=True)
class VictimName:
    """A name split into what identifies the person and what does not.

    Attributes
    ----------
    parts : tuple of str
        The person's own name parts in order, in comparison form (compounds joined).
    given, father, grandfather, family : str or None
        The placed parts (1 part: given; 2: given, family; 3: given, father, family; 4+:
        given, father, grandfather, …, family = the last part). A ``daughter/son of X … Y``
        descriptor places X as father and Y as family, with no given name.
    unplaced : tuple of (kind, token)
        Tokens that are not the person's name parts, in comparison form, with their kind
        (:data:`UNPLACED_KINDS`).
    """

    parts: tuple[str, ...] = ()
    given: str | None = None
    father: str | None = None
    grandfather: str | None = None
    family: str | None = None
    unplaced: tuple[tuple[str, str], ...] = ()

    @property
    def placed(self) -> tuple[str | None, str | None, str | None, str | None]:
        return (self.given, self.father, self.grandfather, self.family)

    def unplaced_text(self) -> str | None:
        """``kind:token`` pairs, space-separated (None when there are none)."""
        if not self.unplaced:
            return None
        return " ".join(f"{k}:{t}" for k, t in self.unplaced) or None


def _assign(parts: list[str]) -> tuple[str | None, str | None, str | None, str | None]:
    """Positions as in the shipped token tables: 1 → given; 2 → given, family; 3 → given,
    father, family; 4+ → given, father, grandfather, …, family (the last part)."""
    n = len(parts)
    if n == 0:
        return (None, None, None, None)
    if n == 1:
        return (parts[0], None, None, None)
    if n == 2:
        return (parts[0], None, None, parts[1])
    if n == 3:
        return (parts[0], parts[1], None, parts[2])
    return (parts[0], parts[1], parts[2], parts[-1])


_BACKTICK = re.compile(r"[`´‘’]\s*([^`´‘’]*?)\s*(?:[`´‘’]|$)")
_QUOTED = re.compile(r"[\"“”«»]\s*([^\"“”«»]*?)\s*(?:[\"“”«»]|$)")
_PAREN = re.compile(r"[\(\[\{]([^\)\]\}]*)[\)\]\}]?")
_DOTS = re.compile(r"\.{2,}|…|\s[-–—/|]\s|،|;|,")


def _asides(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Take nicknames (backticks, quotes), parenthesised alternatives and the text after a
    ``..`` separator out of ``text``."""
    asides: list[tuple[str, str]] = []
    for pattern, kind in ((_PAREN, "alternative"), (_QUOTED, "nickname")):
        for m in pattern.finditer(text):
            if m.group(1).strip():
                asides.append((kind, m.group(1)))
        text = pattern.sub(" ", text)
    if not is_arabic(text):
        # In Latin text a single apostrophe is an ayn or hamza (As'ad, Abu 'Anzah): only a
        # backtick opens a nickname.
        pattern = re.compile(r"`\s*([^`]*?)\s*(?:`|$)")
    else:
        pattern = _BACKTICK
    for m in pattern.finditer(text):
        if m.group(1).strip():
            asides.append(("nickname", m.group(1)))
    text = pattern.sub(" ", text)
    pieces = [p for p in _DOTS.split(text) if p.strip()]
    if not pieces:
        return "", asides
    asides.extend(("alternative", piece) for piece in pieces[1:])
    return pieces[0], asides


def _words_plain(text: str, arabic: bool) -> list[str]:
    """The words of ``text`` in comparison form, cleaned as one string (the definition
    :func:`_words` is tested against)."""
    if arabic:
        return _rejoin_letters([w for w in clean_arabic(text).split(" ") if w])
    return [w for w in clean_latin(text.replace(".", " ")).split(" ") if w]


@lru_cache(maxsize=1 << 18)
def _arabic_piece(piece: str) -> tuple[str, ...]:
    """The words :func:`clean_arabic` makes of one whitespace-free piece of a name."""
    return tuple(w for w in clean_arabic(piece).split(" ") if w)


@lru_cache(maxsize=1 << 18)
def _latin_piece(piece: str) -> tuple[str, ...]:
    """The words :func:`clean_latin` makes of one whitespace-free piece of a name."""
    return tuple(w for w in clean_latin(piece).split(" ") if w)


_OPENING = re.compile(r"[\(\[\{]")


def _words(text: str, arabic: bool) -> list[str]:
    """:func:`_words_plain`, cleaned word by word with the words remembered.

    Full names hardly repeat in a large list (1,018,363 distinct of 1,022,358 in the 1M
    benchmark lists) but their words do, and cleaning the whole string cost about 3 us a
    name. Both cleaners work character by character (normalisation, mapping, a run of
    letters of another script, non-letters to spaces) and a whitespace character never
    joins the text on either side of it, so the words of the whole are the words of its
    whitespace-separated pieces. The one step that spans pieces is the removal of a
    bracketed aside, so text with an opening bracket is cleaned whole; and text that is not
    in NFKC form (which the callers give) is too, since normalising could make a bracket.
    ``tests/names/test_word_cache.py`` compares the two on every name of the shipped and
    real data sets and the simulated lists.
    """
    if _OPENING.search(text) is not None or not (
        text.isascii() or unicodedata.is_normalized("NFKC", text)
    ):
        return _words_plain(text, arabic)
    if not arabic:
        return list(chain.from_iterable(map(_latin_piece, text.replace(".", " ").split())))
    words = list(chain.from_iterable(map(_arabic_piece, text.split())))
    # Only a one-letter word is joined to another: most names have none.
    return _rejoin_letters(words) if words and min(map(len, words)) == 1 else words


def _rejoin_letters(words: list[str]) -> list[str]:
    """Arabic words with every lone letter joined to the word before it (to the next one at
    the start): no Arabic name part is one letter, but text extracted from a PDF splits
    words after a final-form glyph (``حسي ن`` for حسين, ``ياسمي ن``, ``ا يه``), which
    shifts every later part. ``و`` alone is the conjunction and is left as it is."""
    out: list[str] = []
    pending = ""
    for w in words:
        if len(w) == 1 and w != "و":
            if out:
                out[-1] += w
            else:
                pending += w
        else:
            out.append(pending + w)
            pending = ""
    if pending:
        out.append(pending)
    return out


#: Two-letter words that are names (Taha, May) or a name's link (bin), not pieces of a
#: split word.
_TWO_LETTER_NAMES = frozenset({"طه", "مي", "بن", "عز", "ود"})


def _rejoin_pairs(parts: list[str]) -> list[str]:
    """Parts of an Arabic name with more than four, every two-letter piece joined to the
    part before it (at the start, and the article ``ال``, to the next one). The same PDF
    extraction that leaves a lone letter splits words in two (``ري هام`` for ريهام,
    ``سري يف``, ``الير اء``), and a fifth part shifts the father, grandfather and family
    names; two-letter words that are names (:data:`_TWO_LETTER_NAMES`) are kept."""
    out: list[str] = []
    glue_next = False
    for p in parts:
        piece = len(p) == 2 and p not in _TWO_LETTER_NAMES
        if glue_next:
            out[-1] += p
            glue_next = False
        elif piece and out and p != "ال":
            out[-1] += p
        else:
            out.append(p)
            glue_next = piece
    return out


_COMPOUND_WORDS = frozenset(COMPOUND_PREFIXES + COMPOUND_SUFFIXES)


def _join(words: list[str], arabic: bool) -> list[str]:
    """Words (of :func:`_words`) → name parts in comparison form (compounds joined)."""
    if not words:
        return []
    if arabic:
        if _COMPOUND_WORDS.isdisjoint(words):
            # split_name makes every word a part of its own when none opens or closes a
            # compound: the same parts without joining and splitting the text again.
            parts = list(map(normalise_arabic_token, words))
        else:
            parts = [normalise_arabic_token(p)
                     for p in split_name(" ".join(words), clean=False)]
        if len(parts) > 4:
            parts = _rejoin_pairs([p for p in parts if p])
    else:
        # The words are clean_latin's output, which clean_latin leaves as it is: what
        # split_latin_name(" ".join(words)) gives, without cleaning them again.
        parts = split_latin_words(words)
    return list(filter(None, parts))


def _token(words: list[str], arabic: bool) -> str:
    text = " ".join(words)
    return normalise_arabic_token(text) if arabic else normalise_latin_token(text)


def _is_kunya_marker(words: list[str], i: int, arabic: bool) -> bool:
    """``Umm X`` anywhere; ``Abu X`` after an ``Al-`` family name (``النجار ابو زكي``)."""
    w = words[i]
    umm, abu = (_UMM_AR, _ABU_AR) if arabic else (_UMM_LAT, _ABU_LAT)
    if i + 1 >= len(words):
        return False
    if w in umm:
        return True
    if w in abu and i == 2:
        # "Given Al-Family Abu X": two words before, the second a family name with the
        # article (not the الله / الدين of a compound such as عبد الله). With more words
        # before, "Abu X" is the family name of a four-part name ("… الشيخ ابوجزر").
        prev = words[i - 1]
        if arabic:
            return prev.startswith("ال") and prev not in _GLUED and words[0] not in _ABU_AR
        return prev.startswith(("al-", "el-"))
    return False


def _kunya_span(words: list[str], i: int, arabic: bool) -> int:
    """Words taken by the kunya starting at ``i`` (its head, an article, the child's name)."""
    take = 2
    if i + 2 < len(words) and words[i + 1] in (("ال",) if arabic else ("al", "el")):
        take = 3
    return take


def parse_victim_name(raw: str) -> VictimName:
    """Split a name as a victim list writes it (either script) into the person's placed
    parts and the unplaced tokens.

    >>> v = parse_victim_name("Hajj Hamdan Al-Najjar `Abu Zaki`")
    >>> v.given, v.family, v.unplaced
    ('hamdan', 'al-najjar', (('title', 'hajj'), ('nickname', 'abuzaki')))
    >>> parse_victim_name("Daughter of Ahmed Al-Dada").placed
    (None, 'ahmed', None, 'al-dada')
    >>> parse_victim_name("زوجة أحمد").parts
    ()
    """
    own, placed, unplaced = _parse(raw)
    return VictimName(own, *placed, unplaced)


#: A name written in these Arabic letters (U+0621-U+063A, U+0641-U+064A: no marks, no
#: tatweel, no other script) one space apart. NFKC leaves such text as it is (no two of the
#: letters compose), it has no marker, no bracket and no space to strip, and each word is
#: one word of :func:`~undercount.names.arabic.clean_arabic`.
PLAIN_ARABIC_NAME = "^[\u0621-\u063a\u0641-\u064a]+(?: [\u0621-\u063a\u0641-\u064a]+)*$"


@lru_cache(maxsize=1 << 18)
def plain_arabic_token(word: str) -> str | None:
    """The comparison form of one word of a :data:`PLAIN_ARABIC_NAME`, when the parse keeps
    the word as a part of its own whatever its neighbours; None when it may not.

    It may not when the word cleans to more or less than one word, to one letter
    (:func:`_rejoin_letters` joins it to a neighbour), to a title, descriptor or kunya head
    (the slow path), or to a word that opens or closes a compound (``split_name``); or when
    its comparison form is empty or holds a space. A name of such words is parsed as
    ``(tokens, _assign(tokens), ())``, except that a name of more than four words whose
    tokens include a two-letter piece goes through :func:`_rejoin_pairs`
    (:func:`joins_as_piece`). ``tests/names/test_word_cache.py`` compares the two on every
    name of the shipped, real and simulated data.
    """
    cleaned = _arabic_piece(word)
    if len(cleaned) != 1:
        return None
    word = cleaned[0]
    if len(word) < 2 or word in _SPECIAL_AR or word in _COMPOUND_WORDS:
        return None
    token = normalise_arabic_token(word)
    return token if token and " " not in token else None


#: A name written in ASCII letters, words one space apart, a hyphen only between letters
#: (``al-Louh``): no marker (a hyphen counts as one only between spaces), nothing to strip,
#: and each word one word of :func:`~undercount.names.latin.clean_latin`.
PLAIN_LATIN_NAME = "^[A-Za-z]+(?:-[A-Za-z]+)*(?: [A-Za-z]+(?:-[A-Za-z]+)*)*$"


@lru_cache(maxsize=1 << 18)
def plain_latin_items(word: str) -> tuple[str, ...] | None:
    """The parts one word of a :data:`PLAIN_LATIN_NAME` gives when the parse keeps them as
    they are whatever the word's neighbours (split_latin_words' pieces of the word); None
    when it may not: the word is a title, descriptor or kunya head (the slow path), cleans
    to more or less than one word, or has a piece that the compound loop of
    :func:`~undercount.names.latin.split_latin_words` joins or respells (an article, abd,
    abu, allah, din, or a piece that starts with ``ab``). A name of such words is parsed as
    ``(parts, _assign(parts), ())``; ``tests/names/test_word_cache.py`` compares the two.
    """
    if word.lower() in _SPECIAL_LAT:
        return None
    cleaned = _latin_piece(word)
    if len(cleaned) != 1:
        return None
    items = _word_pieces(cleaned[0])
    if not items or any(not i or " " in i or i in _JOINING or i.startswith("ab")
                        for i in items):
        return None
    return items


def joins_as_piece(token: str) -> bool:
    """Whether :func:`_rejoin_pairs` may join ``token`` to a neighbour."""
    return len(token) == 2 and token not in _TWO_LETTER_NAMES


def victim_name_fields(raw: object) -> tuple[str | None, ...]:
    """What the standardiser keeps of :func:`parse_victim_name`: the person's own parts one
    space apart, the placed parts (given, father, grandfather, family) and
    :meth:`VictimName.unplaced_text`, six values, None for what is empty. The same values,
    without building a :class:`VictimName` for each of a million names."""
    own, placed, unplaced = _parse(raw)
    text = " ".join([f"{k}:{t}" for k, t in unplaced]) or None if unplaced else None
    return (" ".join(own) or None, *placed, text)


_NO_NAME: tuple[tuple[str, ...], tuple[None, None, None, None], tuple[tuple[str, str], ...]] = (
    (), (None, None, None, None), ())


def _parse(
    raw: object,
) -> tuple[tuple[str, ...], tuple[str | None, str | None, str | None, str | None],
           tuple[tuple[str, str], ...]]:
    """:func:`parse_victim_name` as (own parts, placed parts, unplaced tokens)."""
    if not isinstance(raw, str):
        return _NO_NAME
    # clean_arabic / clean_latin normalise Unicode themselves; NFKC here only where the
    # name is not plain ASCII (presentation forms, full-width punctuation).
    text = raw.strip() if raw.isascii() else unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return _NO_NAME
    arabic = _ARABIC_CHAR.search(text) is not None  # is_arabic(text)
    if _MARKERS.search(text) is None:
        # Fast path (most registry names): no asides, and no word that is a title,
        # descriptor or kunya head.
        if arabic:
            words = _words(text, arabic)
            plain = _SPECIAL_AR.isdisjoint(words)
        else:
            # A rough split finds the special words (the markers excluded above are the
            # only punctuation that could hide one).
            words = text.lower().replace(".", " ").split()
            plain = _SPECIAL_LAT.isdisjoint(words)
        if not arabic:
            # split_latin_name(text) is split_latin_words of clean_latin's words of text,
            # which are _words(text): clean_latin makes "." a space as _words does first.
            words = _words(text, arabic)
        if plain:
            own = _join(words, arabic) if arabic else [p for p in split_latin_words(words) if p]
            return tuple(own), _assign(own), ()
        # Without markers _asides leaves the text whole and finds none: the words are these.
        unplaced: list[tuple[str, str]] = []
    else:
        head, asides = _asides(text)
        unplaced = []
        for kind, aside in asides:
            aside_ar = is_arabic(aside)
            aside_words = _words(aside, aside_ar)
            tok = _token(aside_words, aside_ar)
            if tok:
                heads = (_UMM_AR | _ABU_AR) if aside_ar else (_UMM_LAT | _ABU_LAT)
                if len(aside_words) >= 2 and aside_words[0] in heads:
                    kind = "kunya"  # "(Abu Yasser)", "`Umm Zaki`"
                unplaced.append((kind, tok))
        words = _words(head, arabic)
    titles = _TITLES_AR if arabic else _TITLES_LAT
    sheikh = _SHEIKH_AR if arabic else _SHEIKH_LAT
    child_of = _CHILD_OF_AR if arabic else _CHILD_OF_LAT
    other_of = _OTHER_OF_AR if arabic else _OTHER_OF_LAT
    # Leading titles (several may stack: "Dr. Sheikh …").
    while words and (words[0] in titles or (words[0] in sheikh and len(words) >= 3)):
        if words[1:2] == ["of"]:
            break  # "Child of …" is a descriptor
        unplaced.append(("title", words.pop(0)))
    # Latin "of" after a descriptor word; Arabic descriptors take the next words directly.
    father = grandfather = family = None
    own: list[str] | None = None
    if words and (words[0] in child_of or words[0] in other_of):
        rest = words[1:]
        if not arabic:
            if rest and rest[0] == "of":
                rest = rest[1:]
            elif words[0] in ("child", "baby", "infant", "toddler", "newborn"):
                rest = None  # "Child Ahmad …": a title before the person's own name
        if rest is not None and (arabic or words[1:2] == ["of"]):
            if arabic and words[0] in _UMM_AR and len(rest) <= 1:
                pass  # "ام زكي" alone: a kunya, handled below
            else:
                rel = _join(rest, arabic)
                unplaced.append(("relative", words[0] + ":" + " ".join(rel)))
                if words[0] in child_of and rel:
                    father = rel[0]
                    grandfather = rel[1] if len(rel) >= 3 else None
                    family = rel[-1] if len(rel) >= 2 else None
                own = []
        elif rest is None:
            unplaced.append(("title", words.pop(0)))
    if own is None:
        own_words: list[str] = []
        leading_kunya = False
        i = 0
        umm = _UMM_AR if arabic else _UMM_LAT
        abu = _ABU_AR if arabic else _ABU_LAT
        while i < len(words):
            w = words[i]
            leading_abu = (
                i == 0 and w in abu and len(words) >= 3
                and skeleton(words[1]) in _kunya_head_keys()
            )
            if _is_kunya_marker(words, i, arabic) or leading_abu or (
                w in umm and i + 1 < len(words)
            ):
                take = _kunya_span(words, i, arabic)
                unplaced.append(("kunya", _token(words[i : i + take], arabic)))
                leading_kunya = leading_kunya or i == 0
                i += take
                continue
            own_words.append(w)
            i += 1
        own = _join(own_words, arabic)
        # "Abu Yasser Anan": after a leading kunya, a lone part is the family name.
        placed = (None, None, None, own[0]) if leading_kunya and len(own) == 1 else _assign(own)
    else:
        placed = (None, father, grandfather, family)
    unplaced.sort(key=lambda kt: _KIND_ORDER[kt[0]])
    return tuple(own), placed, tuple(unplaced)


_KIND_ORDER = {k: n for n, k in enumerate(UNPLACED_KINDS)}
