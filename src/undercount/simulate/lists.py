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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError
from undercount.simulate.noise import TokenRenderer, Vocab, reference_tables
from undercount.simulate.specs import FIELDS, GOVERNORATES, SimulatedList, default_lists

__all__ = ["Simulation", "simulate_lists"]

#: Deaths by month in the Gaza Lancet 2025 replication records (as for
#: :data:`~undercount.simulate.specs.GOVERNORATES`), used for the date of death.
_DEATH_MONTHS: dict[str, int] = {
    "2023-10": 9742, "2023-11": 5594, "2023-12": 5130, "2024-01": 2375, "2024-02": 1999,
    "2024-03": 1588, "2024-04": 857, "2024-05": 696, "2024-06": 1148,
}
# Observed revisions between releases (release_noise.csv, age_delta / dob_change_year_delta).
_AGE_DELTAS = np.array([-37, -20, -8, -4, 1, 1, 1, 1, 1, 3, 6, 8, 8, 23, 23, 24, 27])
_DOB_YEAR_DELTAS = np.array([-27, -23, -23, -22, -8, -8, -5, -3, -1, -1, 0, 0, 0, 4, 8, 20, 36])
# First digits of 9-digit IDs in the 2024-08-31 release (id_first_digit).
_ID_FIRST = {4: 19677, 9: 7607, 8: 6869, 7: 91}
_LUHN_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)


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
    specs : tuple of SimulatedList
        The list specifications.
    seed : int or None
        The seed, when the caller gave one (written to ``project.toml``).
    """

    population: pd.DataFrame
    lists: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    specs: tuple[SimulatedList, ...]
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


def _population(n: int, rng: np.random.Generator, vocab: Vocab, mean_group: float):
    t = reference_tables()
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


def _capture(specs: Sequence[SimulatedList], pop: dict, rng: np.random.Generator) -> np.ndarray:
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


def _check_specs(specs: Sequence[SimulatedList]) -> None:
    if len(specs) < 2:
        raise ConfigError(f"lists: {len(specs)} given; capture-recapture needs at least 2")
    seen: list[str] = []
    for spec in specs:
        if not isinstance(spec, SimulatedList):
            raise ConfigError(f"lists: expected SimulatedList objects, got {type(spec).__name__}")
        if spec.name in seen:
            raise ConfigError(f"lists: the name {spec.name!r} is used twice")
        bad = [d for d in spec.depends_on if d not in seen]
        if bad:
            raise ConfigError(
                f"list {spec.name!r}: depends_on {bad} must name lists that come before it "
                f"(earlier lists: {seen})"
            )
        seen.append(spec.name)


def _render_list(
    spec: SimulatedList,
    people: np.ndarray,
    pop: dict,
    renderer: TokenRenderer,
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
    lists: Sequence[SimulatedList] | int = 3,
    rng: np.random.Generator,
    mean_group_size: float = 1.5,
    seed: int | None = None,
) -> Simulation:
    """Simulate a population of ``n_people`` deaths and the lists that recorded them.

    Parameters
    ----------
    n_people : int
        Population size :math:`N` (the number every estimator is trying to recover).
    lists : sequence of SimulatedList, or int
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
    vocab = Vocab()
    pop = _population(n, pop_rng, vocab, mean_group_size)
    captured = _capture(specs, pop, cap_rng)
    renderer = TokenRenderer(vocab, render_rng)

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
