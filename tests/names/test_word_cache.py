"""The word-by-word name path gives what cleaning each name whole gives.

:func:`undercount.names.victims._words` cleans a name piece by piece (whitespace-separated)
with the pieces remembered, :func:`undercount.names.victims._join` skips ``split_name`` for
words with no compound, and :func:`undercount.names.latin.split_latin_words` reads each word
once and returns the words as they are when no compound rule applies. Here the parse of every
name of the shipped tables, the real linkage data sets, the simulated example lists and a
fresh simulated list is compared with the parse through the plain definitions (the code before
the caches, kept below verbatim), and split_latin_name with its plain loop.
"""

from __future__ import annotations

import glob
import re
import unicodedata
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.names import latin, victims
from undercount.names.arabic import normalise_arabic_token, split_name
from undercount.names.latin import (
    _ABD_WORDS,
    _ABU_WORDS,
    _ALLAH_WORDS,
    _ARTICLE_WORDS,
    _COMPOUND_HEAD,
    _DIN_WORDS,
    _article,
    _canon_abd,
    _canon_suffix,
    clean_latin,
)
from undercount.names.standardise import _name_fields, _victim_fields

ROOT = Path(__file__).resolve().parents[2]
LINKAGE = ROOT / ".." / "shared" / "data" / "linkage"

#: Text that exercises the edges of the word-by-word cleaning: brackets across pieces (one
#: opened and not closed), full-width and other compatibility forms that NFKC turns into
#: brackets or spaces, no-break and ideographic spaces, combining marks after a space,
#: Greek final sigma, ligatures, lone letters of split words, other scripts.
EDGES = [
    "（أحمد） محمد", "أحمد\u00a0محمد", "ﻻ ﷺ محمد", "محمد Ahmad صالح", "Иван Петров", "王小明",
    "ΣΟΦΙΑ ΣΑΣ", "Abu\u3000Zaki", "José  María", "a\u0301 b", " \u0301abc", "x (a b",
    "(a b) c", "محمد (ابو زكي", "{x y} z", "Ａｂｄ　Ａｌｌａｈ", "⑴ Ahmad", "عبد ال رحمن",
    "ا حمد محمد", "حسي ن علي", "Abd al-Rahman Abou Shaaban", "Nour Eddine", "al najjar",
    "ash-Shaikh", "abd-al-rahman", "-", "a - b", "O'Neil", "D’Arcy", "ﺃﺣﻤﺪ", "مُحَمَّد",
    "محمـــد", "\tAhmed\nAli", "x\x1cy", "a\u2028b", "Ahmed\u200cAli", "أحمد\u200cعلي", "Ǆemal",
    "ﬁrst ﬂow", "İbrahim", "Straße", "ŉ", "ß ẞ", "Abu Ahmad.. Abu Ali", "ابو احمد الشيخ",
    "Dr. Sheikh Ahmad Abu Zaki", "Abou-Ali el Masri", "Abdul Allah", "Abo Mohammed Ali",
    "زوجة أحمد", "ابن خالد حسين كراجه", "ري هام سري يف الير اء علي", "Hajj Hamdan `Abu Zaki`",
]


def _words_plain(text: str, arabic: bool) -> list[str]:
    return victims._words_plain(text, arabic)


def _join_plain(words: list[str], arabic: bool) -> list[str]:
    """victims._join before the word path (75084fa)."""
    if not words:
        return []
    if arabic:
        parts = [normalise_arabic_token(p) for p in split_name(" ".join(words), clean=False)]
        if len(parts) > 4:
            parts = victims._rejoin_pairs([p for p in parts if p])
    else:
        parts = _split_latin_plain(" ".join(words))
    return [p for p in parts if p]


def _split_latin_plain(text: str) -> list[str]:
    """latin.split_latin_name before the word path (75084fa)."""
    words = []
    for raw in clean_latin(text).split(" "):
        if not raw:
            continue
        word = _article(raw)
        if word.startswith("al-") or raw in _ARTICLE_WORDS:
            words.append(word)
            continue
        if "-" in word and _COMPOUND_HEAD.match(word):
            pieces = [w for w in word.split("-") if w]
            if pieces[0] in _ABD_WORDS | _ABU_WORDS and len(pieces) == 1:
                words.append(pieces[0])
            else:
                words.append("".join(pieces))
            continue
        words.extend(w for w in word.split("-") if w)
    parts: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if word in _ARTICLE_WORDS and nxt is not None:
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


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                       skipinitialspace=True)


def _shipped() -> list[str]:
    out: list[str] = []
    for name, cols in (("name_tokens.csv", ("token", "token_normalised")),
                       ("transliterations.csv", ("arabic_token", "arabic_normalised",
                                                 "latin_token"))):
        with resources.as_file(resources.files("undercount.simulate") / "data" / name) as p:
            table = _csv(p)
        for c in cols:
            out += table[c].dropna().tolist()
    for path in sorted((ROOT / "docs" / "examples" / "simulated" / "lists").glob("*.csv")):
        table = _csv(path)
        out += [v for c in ("name", "name_en") if c in table for v in table[c].dropna()]
    return out


def _simulated() -> list[str]:
    from undercount.simulate import simulate_lists

    sim = simulate_lists(n_people=4000, lists=3, rng=np.random.default_rng(17), seed=17)
    return [v for table in sim.lists.values() for c in ("name", "name_en") if c in table
            for v in table[c].dropna()]


def _real() -> list[str]:
    if not LINKAGE.is_dir():
        pytest.skip("shared/data/linkage is not here")
    out: list[str] = []
    for rel, cols in (("airwars_moh_dev/airwars.csv", ("name_en", "name_ar")),
                      ("airwars_moh_dev/moh.csv", ("name",)),
                      ("moh_releases_dev/jan.csv", ("name",)),
                      ("moh_releases_dev/mar.csv", ("name",))):
        table = _csv(LINKAGE / rel)
        for c in cols:
            out += table[c].dropna().tolist()
    h50 = pd.read_parquet(LINKAGE / "historical_50k" / "historical_50k.parquet")
    for c in ("full_name", "first_name", "surname"):
        out += h50[c].dropna().astype(str).tolist()
    for path in sorted(glob.glob(str(LINKAGE / "febrl" / "*.csv"))):
        table = _csv(Path(path))
        table.columns = [c.strip() for c in table.columns]
        out += [v for c in ("given_name", "surname") for v in table[c].dropna()]
    for rel, cols in (("arabic_names/name_tokens.csv", ("token",)),
                      ("arabic_names/transliterations.csv", ("arabic_token", "latin_token"))):
        table = _csv(LINKAGE / rel)
        for c in cols:
            out += table[c].dropna().tolist()
    return out


def _plain_parse(names: list[str], monkeypatch) -> list[tuple]:
    with monkeypatch.context() as m:
        m.setattr(victims, "_words", _words_plain)
        m.setattr(victims, "_join", _join_plain)
        m.setattr(victims, "split_latin_words", lambda ws: _split_latin_plain(" ".join(ws)))
        return [victims._parse(v) for v in names]


def _compare(names: list[str], monkeypatch) -> None:
    names = sorted(set(names))
    assert len(names) > 10
    cached = [victims._parse(v) for v in names]
    plain = _plain_parse(names, monkeypatch)
    differ = [(v, a, b) for v, a, b in zip(names, cached, plain, strict=True) if a != b]
    assert not differ, differ[:5]
    # The standardiser's fields, plain Arabic names read together, as one by one.
    together = _name_fields(pd.Series(names, dtype=object))
    alone = [_victim_fields(v) for v in names]
    for k, field in enumerate(together):
        differ = [(v, a[k], b) for v, a, b in zip(names, alone, field, strict=True)
                  if a[k] != b or type(a[k]) is not type(b)]
        assert not differ, (k, differ[:5])
    split = [(v, latin.split_latin_name(v)) for v in names]
    differ = [(v, s) for v, s in split if s != _split_latin_plain(v)]
    assert not differ, differ[:5]


def test_edges(monkeypatch):
    _compare(EDGES, monkeypatch)


def test_shipped_tables_and_simulated_lists(monkeypatch):
    _compare(_shipped() + _simulated() + EDGES, monkeypatch)


def test_real_linkage_data(monkeypatch):
    _compare(_real(), monkeypatch)


def test_plain_arabic_letters_are_left_as_they_are_by_nfkc():
    """No letter of PLAIN_ARABIC_NAME, and no two of them side by side, change under NFKC."""
    letters = [chr(c) for c in [*range(0x0621, 0x063B), *range(0x0641, 0x064B)]]
    for a in letters:
        assert unicodedata.normalize("NFKC", a) == a
        for b in letters:
            assert unicodedata.normalize("NFKC", a + b) == a + b
            assert re.fullmatch(victims.PLAIN_ARABIC_NAME, f"{a}{b} {b}")


def test_a_word_cleaned_alone_is_a_word_of_the_whole():
    """The cached pieces of a name are its words cleaned whole (both scripts)."""
    for raw in EDGES:
        for text in (raw, unicodedata.normalize("NFKC", raw).strip()):
            for arabic in (True, False):
                assert victims._words(text, arabic) == victims._words_plain(text, arabic), text
