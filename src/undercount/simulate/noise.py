"""Names and their recording noise: reference tables, interned tokens, token-level noise.

The reference tables (``data/*.csv``: name tokens by position, name structure, Arabic-Latin
transliterations and the MoH releases' measured noise) are read once. Names are handled as
integer codes into a :class:`Vocab`, so that each noise step (a spelling variant, compound
spacing, the lam-alef PDF artefact, a Latin transliteration) is computed once per distinct
token and applied to many records by indexing (:class:`TokenRenderer`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "ReferenceTables",
    "TokenRenderer",
    "Vocab",
    "lam_alef_artefact",
    "reference_tables",
]


# --------------------------------------------------------------------------- reference data
@dataclass(frozen=True)
class ReferenceTables:
    """The simulator's reference data (``undercount/simulate/data``)."""

    tokens: pd.DataFrame
    structure: pd.DataFrame
    translit: pd.DataFrame
    noise: pd.DataFrame


@cache
def reference_tables() -> ReferenceTables:
    """The reference tables, read once."""
    base = resources.files("undercount.simulate") / "data"

    def read(name: str) -> pd.DataFrame:
        with resources.as_file(base / name) as path:
            return pd.read_csv(path, dtype={"token": object, "token_normalised": object},
                               keep_default_na=False, na_values=[""])

    return ReferenceTables(read("name_tokens.csv"), read("name_structure.csv"),
                           read("transliterations.csv"), read("release_noise.csv"))


_NORM2 = str.maketrans({
    **dict.fromkeys([chr(c) for c in range(0x064B, 0x0660)] + ["\u0670", "\u0640", " "], None),
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي",
})


def _norm2(token: str) -> str:
    """The data notes' norm2 (orthographic normalisation, spaces removed), for look-ups."""
    return unicodedata.normalize("NFKC", token).translate(_NORM2)


class Vocab:
    """Interned strings; noise operates on integer token codes, strings are built once."""

    def __init__(self, items: Sequence[str] = ()) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}
        for s in items:
            self.add(s)

    def add(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = len(self.items)
            self.items.append(s)
            self.index[s] = i
        return i

    def map(self, func: Callable[[str], str]) -> np.ndarray:
        """Code of ``func(s)`` for every current entry (new strings are added)."""
        n = len(self.items)
        return np.array([self.add(func(self.items[i])) for i in range(n)], dtype=np.int32)

    def strings(self, extra: str = "") -> np.ndarray:
        """Object array of the entries, with ``extra`` appended (indexed by code -1)."""
        arr = np.empty(len(self.items) + 1, dtype=object)
        arr[:-1] = self.items
        arr[-1] = extra
        return arr


# --------------------------------------------------------------------------- token noise
_ARTEFACT_STEPS = (
    ("الله", "\x01"), ("لله", "\x02"),
    ("لا", "ال"), ("لأ", "أل"), ("لإ", "إل"), ("لآ", "آل"),
    ("ريال", "لاير"),
    ("\x01", "هللا"), ("\x02", "هلل"),
)


def lam_alef_artefact(token: str) -> str:
    """The token as the 2024-06-30 PDF extraction wrote it: every lam-alef block reversed.

    >>> lam_alef_artefact("علاء"), lam_alef_artefact("عبد الله"), lam_alef_artefact("فريال")
    ('عالء', 'عبد هللا', 'فلاير')
    """
    for old, new in _ARTEFACT_STEPS:
        token = token.replace(old, new)
    return token


def _spelling_variant(token: str) -> str:
    """One alternative spelling that a different clerk might write."""
    if token.endswith("ة"):
        return token[:-1] + "ه"
    if token.endswith("ه") and len(token) > 2:
        return token[:-1] + "ة"
    if token[:1] in "أإآ":
        return "ا" + token[1:]
    if token.startswith("ا") and len(token) > 2 and not token.startswith("ال"):
        return "أ" + token[1:]
    if token.endswith("ى"):
        return token[:-1] + "ي"
    if token.endswith("ي") and len(token) > 2:
        return token[:-1] + "ى"
    return token


_COMPOUND_HEADS = ("عبد", "ابو", "أبو")


def _toggle_spacing(token: str) -> str:
    """``عبد الله`` ↔ ``عبدالله``, ``ابو X`` ↔ ``ابوX``, ``جاد الله`` ↔ ``جادالله``."""
    if " " in token:
        return token.replace(" ", "", 1)
    for head in _COMPOUND_HEADS:
        if token.startswith(head) and len(token) > len(head) + 1:
            return head + " " + token[len(head):]
    for tail in ("الله", "الدين"):
        if token.endswith(tail) and len(token) > len(tail) + 1:
            return token[: -len(tail)] + " " + tail
    return token


_LATIN_LETTERS = {
    "ا": "a", "أ": "a", "إ": "i", "آ": "a", "ب": "b", "ت": "t", "ث": "th", "ج": "j", "ح": "h",
    "خ": "kh", "د": "d", "ذ": "th", "ر": "r", "ز": "z", "س": "s", "ش": "sh", "ص": "s",
    "ض": "d", "ط": "t", "ظ": "z", "ع": "a", "غ": "gh", "ف": "f", "ق": "q", "ك": "k",
    "ل": "l", "م": "m", "ن": "n", "ه": "h", "ة": "a", "ى": "a", "ء": "", "ؤ": "o", "ئ": "e",
}


def _rule_transliterate(word: str) -> str:
    if _norm2(word) == "الله":
        return "Allah"
    out = []
    for i, ch in enumerate(word):
        if ch == "و":
            out.append("w" if i == 0 else "o")
        elif ch == "ي":
            out.append("y" if i == 0 else "i")
        else:
            out.append(_LATIN_LETTERS.get(ch, ""))
    text = "".join(out)
    if text.startswith("al") and word.startswith("ال") and len(word) > 3:
        text = "al-" + text[2:]
    return text[:1].upper() + text[1:]


def _latin_variants(latin: str, rng: np.random.Generator, k: int = 4) -> list[str]:
    """``k`` plausible independent transliterations of a Latin token (vowels, article,
    ``Abd``/``Abdel``/``Abdul``, doubled letters)."""
    lower = latin.lower()
    out: list[str] = []
    for _ in range(k * 3):
        if len(out) >= k:
            break
        s = latin
        kind = int(rng.integers(4))
        if kind == 0 and lower.startswith("al-"):
            s = ["El-", "Al ", "", "al"][int(rng.integers(4))] + latin[3:].capitalize()
        elif kind == 1 and lower in ("abu", "abd"):
            s = {"abu": ["Abou", "Abo", "Abu", "Abu"],
                 "abd": ["Abdel", "Abdul", "Abd", "Abd"]}[lower][int(rng.integers(4))]
        elif kind == 1 and lower.startswith("abd") and lower[3:6].lstrip(" -")[:2] in (
            "al", "el", "ul"
        ):
            rest = latin[3:].lstrip(" -")[2:].lstrip(" -")
            s = ["Abdel", "Abdul", "Abd al-", "Abdal"][int(rng.integers(4))] + rest.lower()
        elif kind == 2 and lower not in ("abu", "abd", "al"):
            swaps = [("ou", "u"), ("u", "ou"), ("ee", "i"), ("i", "ee"), ("e", "i"), ("a", "e"),
                     ("o", "u"), ("aa", "a")]
            options = [(a, b) for a, b in swaps if a in lower[1:]]
            if options:
                a, b = options[int(rng.integers(len(options)))]
                pos = lower.find(a, 1)
                s = latin[:pos] + b + latin[pos + len(a):]
        elif lower not in ("abu", "abd", "al"):
            # Double a consonant between vowels (Hasan → Hassan) or undouble (Hassan → Hasan).
            vowels = "aeiou"
            start = 4 if lower.startswith(("abu", "abd", "al-")) else 1
            cons = [i for i in range(start, len(lower) - 1)
                    if lower[i].isalpha() and lower[i] not in vowels
                    and ((lower[i - 1] in vowels and lower[i + 1] in vowels)
                         or lower[i] == lower[i + 1])]
            if cons:
                i = cons[int(rng.integers(len(cons)))]
                if latin[i] == latin[i + 1]:
                    s = latin[:i] + latin[i + 1:]
                else:
                    s = latin[: i + 1] + latin[i] + latin[i + 1:]
        if s and s != latin and s not in out:
            out.append(s)
    while len(out) < k:
        out.append(latin)
    return out


class TokenRenderer:
    """Token-code transformations shared by all lists (built lazily, once per simulation)."""

    def __init__(self, vocab: Vocab, rng: np.random.Generator) -> None:
        self.vocab = vocab
        self.rng = rng
        # Noise steps apply in this order; each map is built after the previous one so that
        # it also covers the strings the previous step added.
        self.spelling = vocab.map(_spelling_variant)
        self.spacing = vocab.map(_toggle_spacing)
        self.artefact = vocab.map(lam_alef_artefact)
        self._latin: np.ndarray | None = None
        self._latin_strings: np.ndarray | None = None

    def latin(self) -> tuple[np.ndarray, np.ndarray]:
        """Code → Latin canonical code, and a (n_latin, 5) table of variants (column 0 =
        canonical)."""
        if self._latin is None:
            tr = reference_tables().translit
            by_token = dict(zip(tr.arabic_token, tr.latin_token, strict=True))
            best = tr.sort_values("count", ascending=False).drop_duplicates("arabic_normalised")
            by_norm = dict(zip(best.arabic_normalised, best.latin_token, strict=True))

            def lookup(key: str) -> str | None:
                lat = by_token.get(key) or by_norm.get(_norm2(key))
                if lat is not None and (lat.endswith("-") or (lat == "Abd" and len(key) > 3)):
                    return None  # two defects of the TFP dictionary ("عبدالكريم" → "Abd")
                return lat

            latin_vocab = Vocab()
            codes = np.empty(len(self.vocab.items), dtype=np.int32)
            for i, tok in enumerate(self.vocab.items):
                key = tok.replace(" ", "")
                lat = lookup(key)
                if lat is None:
                    words = [lookup(w) or _rule_transliterate(w) for w in tok.split(" ")]
                    lat = " ".join(words)
                codes[i] = latin_vocab.add(lat)
            variants = np.empty((len(latin_vocab.items), 5), dtype=object)
            for i, lat in enumerate(latin_vocab.items):
                variants[i, 0] = lat
                variants[i, 1:] = _latin_variants(lat, self.rng)
            self._latin = codes
            self._latin_strings = variants
        return self._latin, self._latin_strings
