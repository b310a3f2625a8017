"""Simulated victim lists with known truth: names, covariates, capture and recording noise.

:func:`simulate_lists` draws a closed population of deceased people and lets several lists
capture them. Every list record carries the person's ID in the truth table, so linkage and
estimation can be scored exactly.

**Population.** Sex and age are drawn jointly from the age-by-sex distribution of the Gaza
MoH list of 2024-08-31 (``release_noise.csv``, section ``age_band``). Dates of death follow
the monthly distribution of the Gaza Lancet 2025 replication records (Oct 2023 – Jun 2024),
uniform within the month; the governorate follows the same records' shares. Dates of birth
are consistent with the age. People come in sibling groups (same father, grandfather,
family name and governorate), as the dead of one household do. Names are four-part Arabic
names drawn from ``name_tokens.csv`` by position (given names by sex through
``share_female``), with the 3/4/5-part mix of ``name_structure.csv``. National IDs are
unique 9-digit numbers with a Luhn check digit and the observed first-digit mix.

**Capture.** List :math:`j` records person :math:`i` with probability

.. math::

    \\operatorname{logit} p_{ij} = \\operatorname{logit}(r_j) + \\sum_c \\beta_{jc} x_{ic}
        + \\sum_f \\lambda_{jf} \\eta_{if} + \\sum_{k<j} \\gamma_{jk} y_{ik},

where :math:`r_j` is the list's rate for the reference person (male, aged 30, Gaza City),
:math:`x_{ic}` are covariates (``female``, ``child`` = age < 18, ``elderly`` = age ≥ 60,
``age10`` = (age − 30)/10, ``place:<governorate>``), :math:`\\eta_{if} \\sim N(0, 1)` are
latent propensities shared by the lists that load on factor :math:`f` (heterogeneity that
induces positive dependence), and :math:`y_{ik}` is 1 if an earlier list :math:`k` recorded
the person (direct list dependence, positive or negative). With all :math:`\\beta,
\\lambda, \\gamma = 0` the lists are independent with homogeneous capture (model
:math:`M_t` [1]_).

**Recording noise** (per list, :class:`NoiseSpec`; defaults from the two MoH releases): the
lam-alef PDF-extraction reversal, compound spacing (``عبد الله``/``عبدالله``), hamza and
ta-marbuta spelling variants, dropped grandfather names, Latin transliteration variants,
DOB defaulted to 1 January, age heaping, rare large age and DOB revisions, ID typos, wrong
and partial IDs, missing fields and within-list duplicates.

References
----------
.. [1] Otis, D. L., Burnham, K. P., White, G. C., Anderson, D. R. (1978). Statistical
   inference from capture data on closed animal populations. *Wildlife Monographs* 62.
.. [2] Ball, P., Price, M. (2019). Using statistics to assess lethal violence in civil and
   inter-state war. *Annual Review of Statistics and Its Application* 6, 63–84.
   https://doi.org/10.1146/annurev-statistics-030718-105222
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError

__all__ = [
    "COVARIATE_EFFECTS",
    "FIELDS",
    "GOVERNORATES",
    "ListSpec",
    "NoiseSpec",
    "Simulation",
    "default_lists",
    "lam_alef_artefact",
    "simulate_lists",
]

#: Governorate codes and the number of deaths recorded in each in the Gaza Lancet 2025
#: replication records (``gaza-lancet-2025/records.csv``; 1,042 records without one left out).
GOVERNORATES: dict[str, int] = {
    "north": 4497,
    "gaza_city": 8839,
    "deir_al_balah": 6880,
    "khan_younis": 5429,
    "rafah": 2584,
}
#: Deaths by month in the same records, used for the date of death.
_DEATH_MONTHS: dict[str, int] = {
    "2023-10": 9742, "2023-11": 5594, "2023-12": 5130, "2024-01": 2375, "2024-02": 1999,
    "2024-03": 1588, "2024-04": 857, "2024-05": 696, "2024-06": 1148,
}
#: Covariates a :class:`ListSpec` may put effects on (plus ``place:<governorate>``).
COVARIATE_EFFECTS: tuple[str, ...] = ("female", "child", "elderly", "age10")
#: Fields a list can publish besides names, with their output column names.
FIELDS: dict[str, str] = {
    "sex": "sex",
    "age": "age",
    "dob": "date_of_birth",
    "dod": "date_of_death",
    "place": "governorate",
    "national_id": "id_number",
}
_RESERVED = {"person_id", "household_id", "sex", "age", "dob", "dod", "place", "national_id",
             "name", "given_name", "father_name", "grandfather_name", "family_name"}
# Observed revisions between releases (release_noise.csv, age_delta / dob_change_year_delta).
_AGE_DELTAS = np.array([-37, -20, -8, -4, 1, 1, 1, 1, 1, 3, 6, 8, 8, 23, 23, 24, 27])
_DOB_YEAR_DELTAS = np.array([-27, -23, -23, -22, -8, -8, -5, -3, -1, -1, 0, 0, 0, 4, 8, 20, 36])
# First digits of 9-digit IDs in the 2024-08-31 release (id_first_digit).
_ID_FIRST = {4: 19677, 9: 7607, 8: 6869, 7: 91}
_LUHN_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)


# --------------------------------------------------------------------------- specifications
@dataclass(frozen=True, kw_only=True)
class NoiseSpec:
    """Recording noise of one list. Rates are per record (names: per token) probabilities.

    Defaults reproduce the 2024-08-31 MoH release where the data notes measure them
    (``release_noise.md``):

    - ``dob_jan01 = 0.0695``: 7.2% of DOBs fall on 1 January against 0.27% by chance, so
      :math:`0.0027 (1 - q) + q = 0.072`;
    - ``age_heaping = 0.015``: 21.2% of ages 20–79 are multiples of 5 against 20%, so
      :math:`0.2 + 0.8 q = 0.212` when a heaped age is rounded to the nearest multiple of 5;
    - ``age_revision = dob_revision = 0.0006``: 17 of 27,608 changed, by the observed deltas;
    - ``id_typo = 0.004`` (single digit or adjacent transposition) plus ``id_wrong = 0.004``
      (a different number, which fails the check 90% of the time): 0.74% of 9-digit IDs fail;
    - ``id_partial = 0.003``: 0.28% are partial (6–8 digits);
    - ``duplicates = 0.0005``: 17 same-name + DOB groups among 34,344 records;
    - ``compound_spacing = 0.06``: ``عبد`` joined to the next word 470 times against 7,211;
    - ``lam_alef = 0``: the repaired release. Set 1.0 to mimic the 2024-06-30 PDF extraction,
      in which 99.9% of ``لا``/``الله`` blocks were reversed.

    ``spelling`` (hamza, ta marbuta and alef maqsura variants between sources),
    ``latin_variation`` (vowels, article, ``Abd``/``Abdel``/``Abdul``, doubled letters,
    between independent transliterators) and ``drop_grandfather`` are not measured in the
    MoH data (one source, one spelling); their defaults are modest guesses.

    ``missing`` maps a field (``sex``, ``age``, ``dob``, ``dod``, ``place``,
    ``national_id``) to the probability that it is blank.
    """

    lam_alef: float = 0.0
    compound_spacing: float = 0.06
    spelling: float = 0.03
    drop_grandfather: float = 0.01
    latin_variation: float = 0.15
    dob_jan01: float = 0.0695
    age_heaping: float = 0.015
    age_revision: float = 0.0006
    dob_revision: float = 0.0006
    id_typo: float = 0.004
    id_wrong: float = 0.004
    id_partial: float = 0.003
    duplicates: float = 0.0005
    missing: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "missing":
                continue
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"NoiseSpec.{f.name}={value!r}; must be a probability in [0, 1]")
        bad = {k: v for k, v in self.missing.items() if k not in FIELDS or not 0 <= v <= 1}
        if bad:
            raise ConfigError(
                f"NoiseSpec.missing={dict(self.missing)!r}: bad entries {bad}; keys must be "
                f"in {sorted(FIELDS)} and values probabilities"
            )
        object.__setattr__(self, "missing", dict(self.missing))


@dataclass(frozen=True, kw_only=True)
class ListSpec:
    """One list: how it captures people and how it records them.

    Parameters
    ----------
    name : str
        List name (a column of the capture table; letters, digits, ``_`` and ``-``).
    rate : float
        Capture probability of the reference person (male, aged 30, Gaza City, latent
        propensities 0, on no earlier list), in (0, 1).
    effects : mapping
        Log-odds effects of covariates: ``female``, ``child`` (age < 18), ``elderly``
        (age ≥ 60), ``age10`` (per 10 years from 30) and ``place:<governorate>``.
    latent : mapping
        Loadings on named latent propensities (standard normal per person, shared by every
        list that loads on the same name): unobserved heterogeneity.
    depends_on : mapping
        Earlier list name → log-odds shift when that list recorded the person.
    script : {"arabic", "latin", "both"}
        Which name columns the list publishes (``name``: Arabic; ``name_en``: Latin).
    fields : sequence of str
        Other published fields, from :data:`FIELDS`.
    noise : NoiseSpec
        Recording noise.
    """

    name: str
    rate: float
    effects: Mapping[str, float] = field(default_factory=dict)
    latent: Mapping[str, float] = field(default_factory=dict)
    depends_on: Mapping[str, float] = field(default_factory=dict)
    script: Literal["arabic", "latin", "both"] = "arabic"
    fields: tuple[str, ...] = tuple(FIELDS)
    noise: NoiseSpec = field(default_factory=NoiseSpec)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or not all(
            ch.isalnum() or ch in "_-" for ch in self.name
        ):
            raise ConfigError(
                f"ListSpec.name={self.name!r}; use letters, digits, '_' or '-'"
            )
        if self.name in _RESERVED:
            raise ConfigError(f"ListSpec.name={self.name!r} is reserved; choose another name")
        if not isinstance(self.rate, (int, float)) or not 0.0 < float(self.rate) < 1.0:
            raise ConfigError(
                f"ListSpec.rate={self.rate!r} for list {self.name!r}; must be in (0, 1)"
            )
        allowed = set(COVARIATE_EFFECTS) | {f"place:{g}" for g in GOVERNORATES}
        unknown = sorted(set(self.effects) - allowed)
        if unknown:
            raise ConfigError(
                f"ListSpec.effects for list {self.name!r}: unknown covariate(s) {unknown}; "
                f"allowed: {sorted(allowed)}"
            )
        if self.script not in ("arabic", "latin", "both"):
            raise ConfigError(
                f"ListSpec.script={self.script!r}; allowed: 'arabic', 'latin', 'both'"
            )
        bad_fields = [f for f in self.fields if f not in FIELDS]
        if bad_fields:
            raise ConfigError(
                f"ListSpec.fields for list {self.name!r}: unknown {bad_fields}; allowed: "
                f"{list(FIELDS)}"
            )
        if isinstance(self.noise, Mapping):
            object.__setattr__(self, "noise", NoiseSpec(**self.noise))
        object.__setattr__(self, "fields", tuple(self.fields))
        for attr in ("effects", "latent", "depends_on"):
            value = {str(k): float(v) for k, v in getattr(self, attr).items()}
            object.__setattr__(self, attr, value)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ListSpec:
        """Build from a plain mapping (a TOML/JSON table); ``noise`` may be a mapping."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ConfigError(f"list spec {spec.get('name', '?')!r}: unknown key(s) {unknown}; "
                              f"allowed: {sorted(known)}")
        spec = dict(spec)
        if "noise" in spec and isinstance(spec["noise"], Mapping):
            noise = dict(spec["noise"])
            known_noise = {f.name for f in fields(NoiseSpec)}
            bad = sorted(set(noise) - known_noise)
            if bad:
                raise ConfigError(f"list {spec.get('name', '?')!r}: unknown noise key(s) {bad}; "
                                  f"allowed: {sorted(known_noise)}")
            spec["noise"] = NoiseSpec(**noise)
        if "fields" in spec:
            spec["fields"] = tuple(spec["fields"])
        return cls(**spec)


def default_lists(k: int = 3) -> list[ListSpec]:
    """A realistic scenario with ``k`` lists (2 to 8), heterogeneous and dependent.

    1. ``hospital``: Arabic, clean extraction, good IDs; children and the elderly are
       recorded more, the north (cut off from hospitals) less.
    2. ``family``: Arabic family submissions released as a PDF (lam-alef reversal in every
       record), more ID errors; more women; negatively dependent on ``hospital`` (families
       report the dead hospitals missed).
    3. ``media``: Latin-script names, no IDs or dates of birth; children and women more
       visible; positively dependent on ``family``.
    4. ``survey``: both scripts, small; shares the latent visibility with 1 and 3.
    5+ ``listN``: plain Arabic lists.

    ``hospital``, ``family`` and ``media`` share a latent "visibility" propensity.
    """
    if not 2 <= k <= 8:
        raise ConfigError(f"lists={k}; the default scenario has 2 to 8 lists")
    specs = [
        ListSpec(
            name="hospital", rate=0.55,
            effects={"child": 0.3, "elderly": 0.2, "female": -0.1, "place:north": -0.6},
            latent={"visibility": 0.6},
            script="arabic",
        ),
        ListSpec(
            name="family", rate=0.35,
            effects={"female": 0.3, "age10": 0.05},
            latent={"visibility": 0.5},
            depends_on={"hospital": -0.4},
            script="arabic",
            noise=NoiseSpec(lam_alef=1.0, id_typo=0.012, id_wrong=0.01,
                            missing={"dob": 0.02}),
        ),
        ListSpec(
            name="media", rate=0.2,
            effects={"child": 0.5, "female": 0.2, "place:rafah": 0.3},
            latent={"visibility": 0.8},
            depends_on={"family": 0.7},
            script="latin",
            fields=("sex", "age", "dod", "place"),
            noise=NoiseSpec(missing={"age": 0.05, "place": 0.1}),
        ),
        ListSpec(
            name="survey", rate=0.1,
            effects={"elderly": -0.3},
            latent={"visibility": 0.3},
            script="both",
        ),
    ]
    specs += [ListSpec(name=f"list{j + 1}", rate=0.2) for j in range(4, 8)]
    return specs[:k]


# --------------------------------------------------------------------------- reference data
@dataclass(frozen=True)
class _Tables:
    tokens: pd.DataFrame
    structure: pd.DataFrame
    translit: pd.DataFrame
    noise: pd.DataFrame


@cache
def _tables() -> _Tables:
    base = resources.files("undercount.simulate") / "data"

    def read(name: str) -> pd.DataFrame:
        with resources.as_file(base / name) as path:
            return pd.read_csv(path, dtype={"token": object, "token_normalised": object},
                               keep_default_na=False, na_values=[""])

    return _Tables(read("name_tokens.csv"), read("name_structure.csv"),
                   read("transliterations.csv"), read("release_noise.csv"))


_NORM2 = str.maketrans({
    **dict.fromkeys([chr(c) for c in range(0x064B, 0x0660)] + ["\u0670", "\u0640", " "], None),
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي",
})


def _norm2(token: str) -> str:
    """The data notes' norm2 (orthographic normalisation, spaces removed), for look-ups."""
    return unicodedata.normalize("NFKC", token).translate(_NORM2)


class _Vocab:
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

    def map(self, func) -> np.ndarray:
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


# --------------------------------------------------------------------------- helpers
def _luhn(first8: np.ndarray) -> np.ndarray:
    """Check digits for rows of 8 digits (int array of shape (n, 8))."""
    total = first8[:, 0::2].sum(axis=1) + _LUHN_DOUBLED[first8[:, 1::2]].sum(axis=1)
    return (10 - total % 10) % 10


def _digits_to_str(d: np.ndarray) -> np.ndarray:
    """Rows of digits → strings (object array)."""
    if len(d) == 0:
        return np.empty(0, dtype=object)
    buf = np.ascontiguousarray(d.astype(np.uint8) + 48).tobytes()
    return np.frombuffer(buf, dtype=f"S{d.shape[1]}").astype("U").astype(object)


def _iso(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Days since 1970-01-01 → ISO strings (object array), None where ``missing``."""
    # Few distinct dates: format each once (datetime64 → str is slow element by element).
    uniq, inverse = np.unique(days, return_inverse=True)
    out = uniq.astype("datetime64[D]").astype(str).astype(object)[inverse]
    if missing is not None:
        out[missing] = None
    return out


def _join(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Join the strings ``table[codes[:, k]]`` of each row with single spaces.

    ``table`` is an object array whose last entry is ``""`` (code -1 = an absent part).
    (Measured faster than numpy's StringDType routines for this shape.)
    """
    cols = [table[codes[:, k]] for k in range(codes.shape[1])]
    out = np.empty(codes.shape[0], dtype=object)
    out[:] = [" ".join(filter(None, row)) for row in zip(*cols, strict=True)]
    return out


def _completed_years(dob: np.ndarray, dod: np.ndarray) -> np.ndarray:
    b = dob.astype("datetime64[D]")
    d = dod.astype("datetime64[D]")
    by, dy = b.astype("datetime64[Y]"), d.astype("datetime64[Y]")
    years = (dy - by).astype(np.int64)
    # Compare (month, day) rather than day of year, so leap years do not shift birthdays.
    bm = (b.astype("datetime64[M]") - by).astype(np.int64)
    dm = (d.astype("datetime64[M]") - dy).astype(np.int64)
    bd = (b - b.astype("datetime64[M]")).astype(np.int64)
    dd = (d - d.astype("datetime64[M]")).astype(np.int64)
    before = (dm < bm) | ((dm == bm) & (dd < bd))
    return years - before.astype(np.int64)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Simulation:
    """A simulated population, the lists that recorded it, and the truth linking them.

    Attributes
    ----------
    population : DataFrame
        One row per person: ``person_id``, ``household_id``, ``sex`` ("m"/"f"), ``age``,
        ``dob``, ``dod`` (ISO), ``place``, ``national_id``, the true name (``name`` and
        ``given_name``, ``father_name``, ``grandfather_name``, ``family_name``), and
        one 0/1 column per list (recorded at least once).
    lists : dict of str to DataFrame
        The published lists: ``record_id`` then the published columns (``name``,
        ``name_en``, ``sex``, ``age``, ``date_of_birth``, ``date_of_death``, ``governorate``,
        ``id_number``), as strings.
    truth : DataFrame
        ``list``, ``record_id``, ``person_id`` and ``duplicate`` (True for the second and
        later records of a person within one list).
    specs : tuple of ListSpec
        The list specifications.
    seed : int or None
        The seed, when the caller gave one (written to ``project.toml``).
    """

    population: pd.DataFrame
    lists: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    specs: tuple[ListSpec, ...]
    seed: int | None = None

    @property
    def list_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    def capture_table(
        self, covariates: Sequence[str] | None = ("sex", "age", "place")
    ) -> CaptureTable:
        """The true capture table: one row per person recorded at least once, by true identity.

        Built with :meth:`CaptureTable.from_individuals` from the population's list columns
        and the given covariates (true values, not the recorded ones).
        """
        names = list(self.list_names)
        pop = self.population
        seen = pop[names].to_numpy().any(axis=1)
        cov = list(covariates or [])
        frame = pop.loc[seen, names + cov].reset_index(drop=True)
        return CaptureTable.from_individuals(
            frame, lists=names, covariates=cov, source="<simulation>"
        )

    def project_toml(self, *, name: str = "simulated") -> str:
        """The project file that points the pipeline at the written lists."""
        seed = "" if self.seed is None else f"seed = {int(self.seed)}\n"
        out = [f'[project]\nname = "{name}"\n{seed}output = "linked"\n']
        for spec in self.specs:
            cols = {}
            if spec.script in ("arabic", "both"):
                cols["name_ar"] = "name"
            if spec.script in ("latin", "both"):
                cols["name_lat"] = "name_en"
            for f in spec.fields:
                cols[f] = FIELDS[f]
            lines = "\n".join(f'{k} = "{v}"' for k, v in cols.items())
            out.append(
                f'[[lists]]\nname = "{spec.name}"\nfile = "lists/{spec.name}.csv"\n'
                f'format = "csv"\nid_column = "record_id"\n[lists.columns]\n{lines}\n'
            )
        out.append('[link]\nbackend = "duckdb"\n')
        out.append('[strata]\ncolumns = ["sex"]\n')
        return "\n".join(out)

    def write(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``lists/<name>.csv``, ``truth.csv``, ``population.csv`` and ``project.toml``.

        Everything is written to a temporary sibling folder and renamed into place, so a
        failure leaves no partial output. An existing non-empty ``directory`` is replaced only
        with ``overwrite=True``.

        Raises
        ------
        ConfigError
            ``directory`` exists, is not empty, and ``overwrite`` is False; or it is a file.
        """
        dest = Path(directory)
        if dest.exists() and not dest.is_dir():
            raise ConfigError(f"{dest}: exists and is not a folder")
        if dest.exists() and any(dest.iterdir()) and not overwrite:
            raise ConfigError(f"{dest}: folder is not empty; pass overwrite=True (--overwrite)")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
        try:
            (tmp / "lists").mkdir()
            for list_name, frame in self.lists.items():
                frame.to_csv(tmp / "lists" / f"{list_name}.csv", index=False, lineterminator="\n")
            self.truth.to_csv(tmp / "truth.csv", index=False, lineterminator="\n")
            self.population.to_csv(tmp / "population.csv", index=False, lineterminator="\n")
            (tmp / "project.toml").write_text(self.project_toml(), encoding="utf-8")
            if dest.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
                old.rmdir()
                dest.rename(old)
                tmp.rename(dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return dest


# --------------------------------------------------------------------------- the simulator
def _draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _population(n: int, rng: np.random.Generator, vocab: _Vocab, mean_group: float):
    t = _tables()
    noise = t.noise
    # Sex and age jointly from the 2024-08-31 age bands.
    bands = noise[(noise.section == "age_band") & (noise.release == "2024-08-31")]
    items = bands["item"].str.extract(r"sex (?P<sex>[MF]) age (?P<lo>\d+)")
    band = _draw(rng, bands["count"].to_numpy(), n)
    female = (items["sex"].to_numpy() == "F")[band]
    lo = items["lo"].astype(int).to_numpy()[band]
    width = np.where(lo >= 100, 2, 5)
    age_drawn = lo + np.floor(rng.random(n) * width).astype(np.int64)

    months = np.array(list(_DEATH_MONTHS), dtype="datetime64[M]")
    m = _draw(rng, np.array(list(_DEATH_MONTHS.values())), n)
    start = months[m].astype("datetime64[D]")
    length = ((months[m] + 1).astype("datetime64[D]") - start).astype(np.int64)
    dod = start + np.floor(rng.random(n) * length).astype(np.int64)
    # Birth within the year of life that gives the drawn age.
    offset = np.floor((age_drawn + rng.random(n)) * 365.2425).astype(np.int64)
    dob = dod - offset
    age = _completed_years(dob, dod)
    dob = dob.astype(np.int64)  # days since epoch
    dod = dod.astype(np.int64)

    # Sibling groups share father, grandfather, family name and governorate.
    sizes = 1 + rng.poisson(max(mean_group - 1.0, 0.0), size=n)
    group = np.repeat(np.arange(n), sizes)[:n]
    n_groups = int(group[-1]) + 1 if n else 0

    tok = t.tokens

    def codes(position: str) -> tuple[np.ndarray, np.ndarray]:
        sub = tok[tok.position == position]
        return np.array([vocab.add(s) for s in sub["token"]], dtype=np.int32), sub

    given_codes, given_tab = codes("given")
    share_f = given_tab["share_female"].fillna(0).to_numpy()
    cnt = given_tab["count"].to_numpy(dtype=float)
    given = np.empty(n, dtype=np.int32)
    given[female] = given_codes[_draw(rng, cnt * share_f, int(female.sum()))]
    given[~female] = given_codes[_draw(rng, cnt * (1 - share_f), int((~female).sum()))]

    def by_group(position: str) -> np.ndarray:
        c, sub = codes(position)
        return c[_draw(rng, sub["count"].to_numpy(), n_groups)][group]

    father = by_group("father")
    grandfather = by_group("grandfather")
    family = by_group("family")
    other_c, other_tab = codes("other")
    other = other_c[_draw(rng, other_tab["count"].to_numpy(), n)]

    st = t.structure
    comp = st[st.metric.str.startswith("2024-08-31:compound_tokens=")]
    k = comp.metric.str.extract(r"=(\d+)")[0].astype(int).to_numpy()
    parts_n = np.clip(k, 3, 5)
    weights = np.array([comp["value"].to_numpy(dtype=float)[parts_n == j].sum() for j in (3, 4, 5)])
    n_parts = 3 + _draw(rng, weights, n)
    grandfather = np.where(n_parts >= 4, grandfather, -1).astype(np.int32)
    other = np.where(n_parts >= 5, other, -1).astype(np.int32)
    names = np.column_stack([given, father, grandfather, other, family]).astype(np.int32)

    place_codes = np.array(list(GOVERNORATES), dtype=object)
    place = place_codes[_draw(rng, np.array(list(GOVERNORATES.values())), n_groups)][group]

    # Unique valid IDs with the observed first-digit mix.
    first = np.array(list(_ID_FIRST))[_draw(rng, np.array(list(_ID_FIRST.values())), n)]
    body = rng.integers(0, 10, size=(n, 7))
    for _ in range(50):
        key = first * 10_000_000 + body @ (10 ** np.arange(6, -1, -1))
        _, first_idx = np.unique(key, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first_idx] = False
        if not dup.any():
            break
        body[dup] = rng.integers(0, 10, size=(int(dup.sum()), 7))
    else:  # pragma: no cover - needs n near 10^7 per first digit
        raise ConfigError(f"n_people={n}: could not draw unique national IDs")
    first8 = np.column_stack([first, body])
    ids = np.column_stack([first8, _luhn(first8)])
    return {
        "female": female, "age": age, "dob": dob, "dod": dod, "place": place,
        "group": group, "names": names, "ids": ids,
    }


def _capture(specs: Sequence[ListSpec], pop: dict, rng: np.random.Generator) -> np.ndarray:
    n = len(pop["age"])
    age = pop["age"].astype(float)
    x = {
        "female": pop["female"].astype(float),
        "child": (age < 18).astype(float),
        "elderly": (age >= 60).astype(float),
        "age10": (age - 30.0) / 10.0,
        **{f"place:{g}": (pop["place"] == g).astype(float) for g in GOVERNORATES},
    }
    factors = sorted({f for s in specs for f in s.latent})
    eta = {f: rng.standard_normal(n) for f in factors}
    captured = np.zeros((n, len(specs)), dtype=bool)
    position = {s.name: j for j, s in enumerate(specs)}
    for j, spec in enumerate(specs):
        eta_j = np.full(n, np.log(spec.rate / (1.0 - spec.rate)))
        for c, b in spec.effects.items():
            eta_j += b * x[c]
        for f, lam in spec.latent.items():
            eta_j += lam * eta[f]
        for other, g in spec.depends_on.items():
            eta_j += g * captured[:, position[other]]
        p = 1.0 / (1.0 + np.exp(-eta_j))
        captured[:, j] = rng.random(n) < p
    return captured


def _check_specs(specs: Sequence[ListSpec]) -> None:
    if len(specs) < 2:
        raise ConfigError(f"lists: {len(specs)} given; capture-recapture needs at least 2")
    seen: list[str] = []
    for spec in specs:
        if not isinstance(spec, ListSpec):
            raise ConfigError(f"lists: expected ListSpec objects, got {type(spec).__name__}")
        if spec.name in seen:
            raise ConfigError(f"lists: the name {spec.name!r} is used twice")
        bad = [d for d in spec.depends_on if d not in seen]
        if bad:
            raise ConfigError(
                f"list {spec.name!r}: depends_on {bad} must name lists that come before it "
                f"(earlier lists: {seen})"
            )
        seen.append(spec.name)


class _Renderer:
    """Token-code transformations shared by all lists (built lazily, once per simulation)."""

    def __init__(self, vocab: _Vocab, rng: np.random.Generator) -> None:
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
            tr = _tables().translit
            by_token = dict(zip(tr.arabic_token, tr.latin_token, strict=True))
            best = tr.sort_values("count", ascending=False).drop_duplicates("arabic_normalised")
            by_norm = dict(zip(best.arabic_normalised, best.latin_token, strict=True))

            def lookup(key: str) -> str | None:
                lat = by_token.get(key) or by_norm.get(_norm2(key))
                if lat is not None and (lat.endswith("-") or (lat == "Abd" and len(key) > 3)):
                    return None  # two defects of the TFP dictionary ("عبدالكريم" → "Abd")
                return lat

            latin_vocab = _Vocab()
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


def _render_list(
    spec: ListSpec,
    people: np.ndarray,
    pop: dict,
    renderer: _Renderer,
    rng: np.random.Generator,
) -> pd.DataFrame:
    noise = spec.noise
    m = len(people)
    names = pop["names"][people].copy()
    present = names >= 0
    # Grandfather (and the extra part) dropped.
    drop = rng.random(m) < noise.drop_grandfather
    names[drop, 2:4] = -1
    present = names >= 0
    if noise.spelling > 0:
        flip = present & (rng.random(names.shape) < noise.spelling)
        names[flip] = renderer.spelling[names[flip]]
    if noise.compound_spacing > 0:
        flip = present & (rng.random(names.shape) < noise.compound_spacing)
        names[flip] = renderer.spacing[names[flip]]
    if noise.lam_alef > 0:
        rows = rng.random(m) < noise.lam_alef
        sel = present & rows[:, None]
        names[sel] = renderer.artefact[names[sel]]
    cols: dict[str, Any] = {}
    if spec.script in ("arabic", "both"):
        cols["name"] = _join(renderer.vocab.strings(), names)
    if spec.script in ("latin", "both"):
        lat_codes, variants = renderer.latin()
        lat = np.where(present, lat_codes[np.where(present, names, 0)], -1)
        choice = np.where(rng.random(names.shape) < noise.latin_variation,
                          rng.integers(1, 5, size=names.shape), 0)
        # Code of (Latin token, variant) in the flattened variant table; -1 = absent part.
        flat = np.append(variants.ravel(), "")
        codes = np.where(lat >= 0, lat * variants.shape[1] + choice, -1)
        cols["name_en"] = _join(flat, codes)

    def blank(field_name: str) -> np.ndarray:
        return rng.random(m) < noise.missing.get(field_name, 0.0)

    if "sex" in spec.fields:
        sex = np.where(pop["female"][people], "F", "M").astype(object)
        sex[blank("sex")] = None
        cols["sex"] = sex
    dob = pop["dob"][people].copy()
    dod = pop["dod"][people]
    if "age" in spec.fields:
        age = pop["age"][people].astype(np.int64)
        rev = rng.random(m) < noise.age_revision
        age[rev] = np.maximum(age[rev] + rng.choice(_AGE_DELTAS, size=int(rev.sum())), 0)
        heap = (age >= 20) & (rng.random(m) < noise.age_heaping)
        age[heap] = (np.round(age[heap] / 5.0) * 5).astype(np.int64)
        out = age.astype(object)
        out[blank("age")] = None
        cols["age"] = out
    if "dob" in spec.fields:
        rev = rng.random(m) < noise.dob_revision
        shift = np.round(rng.choice(_DOB_YEAR_DELTAS, size=int(rev.sum())) * 365.2425)
        moved = dob[rev] + shift.astype(np.int64)
        # A revision never puts the birth after the death: shift the other way instead.
        late = moved > dod[rev]
        moved[late] = dob[rev][late] - np.abs(shift[late]).astype(np.int64)
        dob[rev] = moved
        jan = rng.random(m) < noise.dob_jan01
        years = dob[jan].astype("datetime64[D]").astype("datetime64[Y]")
        dob[jan] = years.astype("datetime64[D]").astype(np.int64)
        cols["date_of_birth"] = _iso(dob, blank("dob"))
    if "dod" in spec.fields:
        cols["date_of_death"] = _iso(dod, blank("dod"))
    if "place" in spec.fields:
        place = pop["place"][people].copy()
        place[blank("place")] = None
        cols["governorate"] = place
    if "national_id" in spec.fields:
        ids = pop["ids"][people].copy()
        u = rng.random(m)
        typo = u < noise.id_typo
        wrong = (u >= noise.id_typo) & (u < noise.id_typo + noise.id_wrong)
        partial = (u >= noise.id_typo + noise.id_wrong) & (
            u < noise.id_typo + noise.id_wrong + noise.id_partial
        )
        ti = np.flatnonzero(typo)
        transpose = rng.random(len(ti)) < 1 / 17  # 1 transposition per 16 one-digit changes
        pos = rng.integers(0, 8, size=len(ti))
        for i, p, tr in zip(ti, pos, transpose, strict=True):
            if tr and ids[i, p] != ids[i, p + 1]:
                ids[i, p], ids[i, p + 1] = ids[i, p + 1], ids[i, p]
            else:
                q = int(rng.integers(0, 9))
                ids[i, p] = q if q < ids[i, p] else q + 1
        ids[wrong] = rng.integers(0, 10, size=(int(wrong.sum()), 9))
        ids[wrong, 0] = rng.choice([4, 8, 9], size=int(wrong.sum()))
        text = _digits_to_str(ids)
        for i in np.flatnonzero(partial):
            text[i] = text[i][: int(rng.integers(6, 9))]
        text[blank("national_id")] = None
        cols["id_number"] = text
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})


def simulate_lists(
    *,
    n_people: int,
    lists: Sequence[ListSpec] | int = 3,
    rng: np.random.Generator,
    mean_group_size: float = 1.5,
    seed: int | None = None,
) -> Simulation:
    """Simulate a population of ``n_people`` deaths and the lists that recorded them.

    Parameters
    ----------
    n_people : int
        Population size :math:`N` (the number every estimator is trying to recover).
    lists : sequence of ListSpec, or int
        The lists, in capture order (``depends_on`` refers to earlier ones), or a number of
        lists for :func:`default_lists`.
    rng : numpy.random.Generator
        Source of randomness; independent streams are spawned for the population, capture
        and each list.
    mean_group_size : float
        Mean size of sibling groups (1 + Poisson); 1 gives unrelated people.
    seed : int, optional
        Recorded in :attr:`Simulation.seed` and in ``project.toml`` (not used to draw).

    Returns
    -------
    Simulation

    Notes
    -----
    See the module docstring for the population, the capture model and the noise. Runs in
    vectorised numpy: about a few seconds per million records.
    """
    if isinstance(lists, (int, np.integer)):
        lists = default_lists(int(lists))
    specs = tuple(lists)
    _check_specs(specs)
    if not isinstance(n_people, (int, np.integer)) or n_people < 1:
        raise ConfigError(f"n_people={n_people!r}; must be a positive integer")
    if mean_group_size < 1:
        raise ConfigError(f"mean_group_size={mean_group_size!r}; must be at least 1")
    n = int(n_people)
    pop_rng, cap_rng, render_rng, *list_rngs = rng.spawn(3 + len(specs))
    vocab = _Vocab()
    pop = _population(n, pop_rng, vocab, mean_group_size)
    captured = _capture(specs, pop, cap_rng)
    renderer = _Renderer(vocab, render_rng)

    published: dict[str, pd.DataFrame] = {}
    truth_parts = []
    for j, (spec, lrng) in enumerate(zip(specs, list_rngs, strict=True)):
        people = np.flatnonzero(captured[:, j])
        dup = lrng.random(len(people)) < spec.noise.duplicates
        people = lrng.permutation(np.concatenate([people, people[dup]]))
        frame = _render_list(spec, people, pop, renderer, lrng)
        width = max(7, len(str(len(people))))
        numbers = np.char.zfill(np.arange(1, len(people) + 1).astype(str), width)
        rid = np.char.add(f"{spec.name}-", numbers).astype(object)
        frame.insert(0, "record_id", rid)
        truth_parts.append(pd.DataFrame({
            "list": spec.name,
            "record_id": rid,
            "person_id": people,
            # Every record after a person's first one (in list order) is a duplicate.
            "duplicate": pd.Series(people).duplicated(keep="first").to_numpy(),
        }))
        published[spec.name] = frame

    strings = vocab.strings()
    names = pop["names"]
    population = pd.DataFrame({
        "person_id": np.arange(n),
        "household_id": pop["group"],
        "sex": np.where(pop["female"], "f", "m"),
        "age": pop["age"],
        "dob": _iso(pop["dob"]),
        "dod": _iso(pop["dod"]),
        "place": pop["place"],
        "national_id": _digits_to_str(pop["ids"]),
        "name": _join(strings, names),
        "given_name": strings[names[:, 0]],
        "father_name": strings[names[:, 1]],
        "grandfather_name": strings[names[:, 2]],
        "family_name": strings[names[:, 4]],
    })
    for j, spec in enumerate(specs):
        population[spec.name] = captured[:, j].astype(np.int8)
    truth = pd.concat(truth_parts, ignore_index=True)
    return Simulation(population=population, lists=published, truth=truth, specs=specs,
                      seed=seed)
