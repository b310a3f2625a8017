"""Specifications of simulated lists: how each list captures people and records them.

:class:`SimulatedList` says how a list captures (its rate, covariate effects, latent
loadings and dependence on earlier lists) and what it publishes; :class:`NoiseSpec` says how
it garbles what it records. :func:`default_lists` is the realistic scenario behind
``undercount simulate --lists K``. The simulator is :func:`undercount.simulate.simulate_lists`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from undercount.errors import ConfigError

__all__ = [
    "COVARIATE_EFFECTS",
    "FIELDS",
    "GOVERNORATES",
    "NoiseSpec",
    "SimulatedList",
    "default_lists",
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
#: Covariates a :class:`SimulatedList` may put effects on (plus ``place:<governorate>``).
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
class SimulatedList:
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
                f"SimulatedList.name={self.name!r}; use letters, digits, '_' or '-'"
            )
        if self.name in _RESERVED:
            raise ConfigError(f"SimulatedList.name={self.name!r} is reserved; choose another name")
        if not isinstance(self.rate, (int, float)) or not 0.0 < float(self.rate) < 1.0:
            raise ConfigError(
                f"SimulatedList.rate={self.rate!r} for list {self.name!r}; must be in (0, 1)"
            )
        allowed = set(COVARIATE_EFFECTS) | {f"place:{g}" for g in GOVERNORATES}
        unknown = sorted(set(self.effects) - allowed)
        if unknown:
            raise ConfigError(
                f"SimulatedList.effects for list {self.name!r}: unknown covariate(s) {unknown}; "
                f"allowed: {sorted(allowed)}"
            )
        if self.script not in ("arabic", "latin", "both"):
            raise ConfigError(
                f"SimulatedList.script={self.script!r}; allowed: 'arabic', 'latin', 'both'"
            )
        bad_fields = [f for f in self.fields if f not in FIELDS]
        if bad_fields:
            raise ConfigError(
                f"SimulatedList.fields for list {self.name!r}: unknown {bad_fields}; allowed: "
                f"{list(FIELDS)}"
            )
        if isinstance(self.noise, Mapping):
            object.__setattr__(self, "noise", NoiseSpec(**self.noise))
        object.__setattr__(self, "fields", tuple(self.fields))
        for attr in ("effects", "latent", "depends_on"):
            value = {str(k): float(v) for k, v in getattr(self, attr).items()}
            object.__setattr__(self, attr, value)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> SimulatedList:
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


def default_lists(k: int = 3) -> list[SimulatedList]:
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
        SimulatedList(
            name="hospital", rate=0.55,
            effects={"child": 0.3, "elderly": 0.2, "female": -0.1, "place:north": -0.6},
            latent={"visibility": 0.6},
            script="arabic",
        ),
        SimulatedList(
            name="family", rate=0.35,
            effects={"female": 0.3, "age10": 0.05},
            latent={"visibility": 0.5},
            depends_on={"hospital": -0.4},
            script="arabic",
            noise=NoiseSpec(lam_alef=1.0, id_typo=0.012, id_wrong=0.01,
                            missing={"dob": 0.02}),
        ),
        SimulatedList(
            name="media", rate=0.2,
            effects={"child": 0.5, "female": 0.2, "place:rafah": 0.3},
            latent={"visibility": 0.8},
            depends_on={"family": 0.7},
            script="latin",
            fields=("sex", "age", "dod", "place"),
            noise=NoiseSpec(missing={"age": 0.05, "place": 0.1}),
        ),
        SimulatedList(
            name="survey", rate=0.1,
            effects={"elderly": -0.3},
            latent={"visibility": 0.3},
            script="both",
        ),
    ]
    specs += [SimulatedList(name=f"list{j + 1}", rate=0.2) for j in range(4, 8)]
    return specs[:k]
