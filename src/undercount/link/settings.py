"""Linkage settings as plain data (no SQL dialect), with JSON round-trip.

:class:`LinkSettings` says *what* is compared and blocked; :mod:`undercount.link.backends`
says *where* it runs. ``LinkSettings.to_json()`` is stored verbatim in every linkage output
(``link_settings.json``) together with the trained Splink model, so a run can be repeated and
audited.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from undercount.errors import ConfigError

__all__ = [
    "COMPARISONS",
    "DEFAULT_BLOCKING_FOUR_PART",
    "DEFAULT_BLOCKING_TWO_PART",
    "PARTIAL_BLOCKING_FOUR_PART",
    "PARTIAL_BLOCKING_TWO_PART",
    "POSTCODE_BLOCKING",
    "LinkSettings",
    "RuleCounts",
    "rule_pairs",
    "sex_conflicts",
    "sex_reliable",
]

#: Comparisons the settings may name (see :func:`undercount.link.comparisons.build_comparison`).
COMPARISONS: tuple[str, ...] = (
    "name:given",
    "name:father",
    "name:grandfather",
    "name:family",
    "name_tokens",
    "dob_age",
    "dod",
    "sex",
    "place",
    "national_id",
    "postcode",
    "place_postcode",
    "occupation",
)
#: Comparisons that are available but not in the defaults. ``name_tokens`` (the name as a
#: set of skeletons) finds partial names, but it repeats the evidence of the positional
#: name comparisons, and the model adds the two as if independent: on the Airwars/MoH
#: development set it raised recall from 0.89 to 0.92 but cut precision from 0.96 to 0.95;
#: on FEBRL 4 (two-part names, where the set *is* the given and family name) precision fell
#: from 0.999 to 0.73.
OPTIONAL_COMPARISONS: tuple[str, ...] = ("name_tokens",)
#: Columns each comparison needs to carry any information.
_NEEDS: dict[str, tuple[str, ...]] = {
    "name:given": ("given_key",),
    "name:father": ("father_key",),
    "name:grandfather": ("grandfather_key",),
    "name:family": ("family_key",),
    "name_tokens": ("name_tokens",),
    "dob_age": ("dob", "birth_year", "age"),
    "dod": ("dod",),
    "sex": ("sex",),
    "place": ("place",),
    "national_id": ("national_id",),
    "postcode": ("postcode",),
    "place_postcode": ("place", "postcode"),
    "occupation": ("occupation",),
}

#: Blocking rules for four-part (Arabic-style) names: any three of the four name keys, an
#: exact ID, or a name key with the exact DOB. Each rule tolerates an error in the fields
#: it leaves out, and none produces the ~N^2/5000 pairs a two-key rule gives on 1M records.
DEFAULT_BLOCKING_FOUR_PART: tuple[tuple[str, ...], ...] = (
    ("national_id",),
    ("given_key", "father_key", "family_key"),
    ("given_key", "father_key", "grandfather_key"),
    ("given_key", "grandfather_key", "family_key"),
    ("father_key", "grandfather_key", "family_key"),
    ("given_key", "dob"),
    ("family_key", "dob"),
)
#: Rules for partial names, used when they fit the pair budget: a two- or three-part name
#: (Airwars' "Hamdan Al-Najjar", "Mamdouh Musa Zoroub") shares only two keys with the
#: four-part registry form of the same person, and which two depends on the part left out;
#: a two-part name with a misspelt part still shares one name and the age. On 36,591
#: Airwars + MoH records they raise blocking recall from 0.80 to 0.986 for ~1e6 more pairs;
#: on a million records a rule over the pair budget is left out.
PARTIAL_BLOCKING_FOUR_PART: tuple[tuple[str, ...], ...] = (
    ("given_key", "family_key"),
    ("given_key", "father_key"),
    ("father_key", "family_key"),
    ("given_key", "age"),
    ("family_key", "age"),
)
#: One-key rules for given + family lists, used when they fit the pair budget (a nickname
#: or a misspelt given name, a changed surname, a wrong date of birth).
PARTIAL_BLOCKING_TWO_PART: tuple[tuple[str, ...], ...] = (
    ("family_key",),
    ("dob",),
    ("given_key", "place"),
    # A one-name record whose name is the family name ("varley" for "fleetwood varley"):
    # last_key is the family key, or a one-part name's only key.
    ("last_key", "place"),
    ("last_key", "birth_year"),
    # Both names changed (a nickname and a misspelt surname): place and year of birth.
    ("place", "birth_year"),
    # The same, with no date of birth: place and occupation (where a list gives one).
    ("place", "occupation"),
)
#: Rules on the postal code for lists that give one, before the partial name rules: the
#: first that fits the pair budget (the district holds the code's pairs). They pair the
#: records of a person whose names and date of birth both changed or are missing: on
#: Splink's historical_50k the district rule adds 7.9e5 pairs and 4.8% of the true pairs
#: (blocking recall 0.855 -> 0.903).
POSTCODE_BLOCKING: tuple[tuple[str, ...], ...] = (("postcode_district",), ("postcode",))
#: Pairs one partial rule may add, and all of them together: a few seconds of work. The
#: budget is absolute, not per record, because a rule's pairs grow with the square of the
#: list: on a million simulated records ``family+age`` alone gives 3.8e7 pairs, as many as
#: all the fixed rules together, and doubled the run.
PAIR_BUDGET = 2e6
PAIR_BUDGET_TOTAL = 5e6
#: Blocking rules for given + family names only (FEBRL, historical_50k).
DEFAULT_BLOCKING_TWO_PART: tuple[tuple[str, ...], ...] = (
    ("national_id",),
    ("given_key", "family_key"),
    ("given_key", "dob"),
    ("family_key", "dob"),
    ("family_key", "birth_year"),
    ("given_key", "birth_year"),
    ("dob", "place"),
)
# The third session blocks on no name, so it sees cross-script pairs (an Arabic list against
# a Latin one) and learns how often true matches agree only on the skeleton key. It must be
# tight enough that its (sampled) pairs are rich in matches: on 1M records ("dod", "place")
# alone gave ~7e8 pairs, of which a 2e6 sample held too few matches to learn from.
_DEFAULT_EM_FOUR_PART = (
    ("national_id",),
    ("given_key", "father_key", "family_key"),
    ("dod", "place", "sex", "age"),
)
_DEFAULT_EM_TWO_PART = (("given_key", "family_key"), ("dob",))
_DETERMINISTIC = (("national_id", "birth_year"), ("name_key", "dob"))
# Issue 19 (undercount.link.relatives): an EM session blocked on father, grandfather and
# family keys, where the given name separates a person from his siblings; and the cluster
# constraints "relatives" (different given names, rest agreeing) and "same_list".
_RELATIVE_EM_RULE = ("father_key", "grandfather_key", "family_key")
_RELATIVE_CANNOT_LINK = ("relatives", "same_list")


@dataclass(frozen=True, kw_only=True)
class LinkSettings:
    """Everything that defines a linkage model, as data.

    Attributes
    ----------
    link_type : {"link_and_dedupe", "dedupe_only"}
        ``link_and_dedupe`` across several lists (lists hold within-list duplicates);
        ``dedupe_only`` for one list.
    comparisons : tuple of str
        Names from :data:`COMPARISONS`.
    blocking_rules : tuple of tuple of str
        Pairs are compared when all columns of at least one rule agree (and are non-missing).
    em_blocking_rules : tuple of tuple of str
        One EM session per rule; the comparisons on a rule's columns are not estimated in it.
    deterministic_rules : tuple of tuple of str
        Near-certain rules used to estimate the prior match probability.
    threshold : float
        Minimum match probability of an edge used in clustering.
    max_pairs : float
        Random pairs for the u estimate.
    em_max_pairs : float or None
        Cap on the blocked pairs of one EM session (Splink's deterministic hash sampling).
        5e5 by default: EM's m are estimated from the matches in the sample, and on a
        million simulated records each session's 5e5 pairs held 30,000 to 143,000 of them,
        so an m of 0.01 or more has a relative standard error of at most 6% (0.08 bits),
        finer than the u estimates of the rarer levels; 2e6 pairs halved that error at four
        times the cost (25 of the 116 s of that run). Most smaller projects have fewer
        blocked pairs than that a session and are not sampled.
    seed : int
    em_max_iterations, em_convergence
    prior : float or None
        Fixed probability that two random records match; None: estimated.
    prior_recall : float
        Assumed recall of ``deterministic_rules``.
    m_floor : float
        Smallest m probability a level may keep after training (then renormalised), so that
        a level never seen among training matches (say, dates of death two days apart)
        costs at most :math:`\\log_2(m_{floor}/u)` instead of minus infinity.
    sex_differ_m : float
        The fixed m of the sex comparison's disagreement level: the share of a person's
        record pairs with different recorded sexes. Defaults choose it from the records
        (:func:`sex_conflicts`), never below 0.01.
    cannot_link : tuple of str
        Fields whose disagreement forbids a merge (``"national_id"``: two different *valid*
        IDs; ``"sex"``: different recorded sex; ``"relatives"`` and ``"same_list"``: see
        :mod:`undercount.link.relatives`).
    model : dict or None
        The trained Splink model (``Linker.misc.save_model_to_json``), once trained.
    """

    link_type: Literal["link_and_dedupe", "dedupe_only"] = "link_and_dedupe"
    comparisons: tuple[str, ...] = COMPARISONS
    blocking_rules: tuple[tuple[str, ...], ...] = DEFAULT_BLOCKING_FOUR_PART
    em_blocking_rules: tuple[tuple[str, ...], ...] = _DEFAULT_EM_FOUR_PART
    deterministic_rules: tuple[tuple[str, ...], ...] = _DETERMINISTIC
    threshold: float = 0.9
    max_pairs: float = 2e6
    em_max_pairs: float | None = 5e5
    seed: int = 0
    em_max_iterations: int = 25
    em_convergence: float = 1e-4
    prior: float | None = None
    prior_recall: float = 0.7
    cannot_link: tuple[str, ...] = ("national_id", "sex", *_RELATIVE_CANNOT_LINK)
    m_floor: float = 1e-3
    sex_differ_m: float = 0.01
    model: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in self.comparisons:
            if name not in COMPARISONS:
                raise ConfigError(
                    f"LinkSettings.comparisons: unknown comparison {name!r}; "
                    f"choose from {', '.join(COMPARISONS)}"
                )
        if self.link_type not in ("link_and_dedupe", "dedupe_only"):
            raise ConfigError(
                f"LinkSettings.link_type = {self.link_type!r}: must be link_and_dedupe or "
                "dedupe_only"
            )
        if not self.blocking_rules:
            raise ConfigError("LinkSettings.blocking_rules: at least one rule is needed")
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"LinkSettings.threshold = {self.threshold}: must be in (0, 1]")
        bad = [c for c in self.cannot_link
               if c not in ("national_id", "sex", *_RELATIVE_CANNOT_LINK)]
        if bad:
            raise ConfigError(f"LinkSettings.cannot_link: unknown field(s) {bad}")

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("blocking_rules", "em_blocking_rules", "deterministic_rules"):
            out[key] = [list(r) for r in out[key]]
        for key in ("comparisons", "cannot_link"):
            out[key] = list(out[key])
        return out

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        text = json.dumps(self.to_dict(), indent=indent, sort_keys=False, default=str)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkSettings:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"LinkSettings: unknown key(s) {unknown}")
        data = dict(data)
        for key in ("blocking_rules", "em_blocking_rules", "deterministic_rules"):
            if key in data:
                data[key] = tuple(tuple(r) for r in data[key])
        for key in ("comparisons", "cannot_link"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> LinkSettings:
        """Read from a JSON string or a file path."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            path = Path(text_or_path)
            if not path.is_file():
                raise ConfigError(f"{path}: settings file not found")
            text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"LinkSettings JSON is not valid: {exc}") from exc
        return cls.from_dict(data)

    def with_model(self, model: dict[str, Any]) -> LinkSettings:
        return replace(self, model=model)

    # ------------------------------------------------------------------ defaults
    @classmethod
    def for_records(
        cls,
        records: pd.DataFrame,
        *,
        n_lists: int,
        blocking_rules: Sequence[Sequence[str]] | None = None,
        em_blocking_rules: Sequence[Sequence[str]] | None = None,
        min_share: float = 0.01,
        pair_budget: float | None = None,
        **options: Any,
    ) -> LinkSettings:
        """Defaults fitted to the columns the standardised records actually have.

        A column is *available* when at least ``min_share`` of records have it. Comparisons
        and default rules on unavailable columns are dropped; user-given rules are kept but
        must use available columns.

        The default rules are the fixed ones (three name keys, or name key and date) plus
        the *partial-name* rules (:data:`PARTIAL_BLOCKING_FOUR_PART`,
        :data:`PARTIAL_BLOCKING_TWO_PART`) whose pairs, counted exactly from the key
        frequencies (:func:`rule_pairs`), fit ``pair_budget`` (default
        :data:`PAIR_BUDGET` per rule, :data:`PAIR_BUDGET_TOTAL` for all of them; with an
        explicit ``pair_budget``, 2.5 times it in all), taken in order; a rule over the
        budget is left out, so large lists cost no more than before.
        """
        counts = RuleCounts(records)
        # The columns of the partial and postcode rules are factorised for their pair counts
        # anyway: their shares come from the codes (a notna over a million strings costs
        # as much as a low-cardinality factorize).
        counts.coded.update(
            c for r in (*POSTCODE_BLOCKING, *PARTIAL_BLOCKING_FOUR_PART) for c in r)
        share = counts.shares
        avail = counts.available(min_share)
        comparisons = tuple(
            name for name in COMPARISONS
            if name not in (*OPTIONAL_COMPARISONS, "place_postcode")
            and any(c in avail for c in _NEEDS[name])
        )
        if "place" in comparisons and "postcode" in comparisons:
            # A postcode lies in a place: compared apart, the model would count a shared
            # place twice (see PlacePostcodeComparison).
            comparisons = tuple(
                "place_postcode" if c == "place" else c for c in comparisons if c != "postcode")
        four_part = share.get("father_key", 0.0) >= 0.5
        if blocking_rules is None:
            base = DEFAULT_BLOCKING_FOUR_PART if four_part else DEFAULT_BLOCKING_TWO_PART
            rules = tuple(r for r in base if all(c in avail for c in r))
            budget = PAIR_BUDGET if pair_budget is None else pair_budget
            left = PAIR_BUDGET_TOTAL if pair_budget is None else 2.5 * pair_budget
            for r in POSTCODE_BLOCKING:
                if all(c in avail for c in r) and (pairs := counts.pairs(r)) <= min(
                        budget, left):
                    rules += (r,)
                    left -= pairs
                    break
            partial = PARTIAL_BLOCKING_FOUR_PART if four_part else PARTIAL_BLOCKING_TWO_PART
            for r in partial:
                if r in rules or not all(c in avail for c in r):
                    continue
                pairs = counts.pairs(r)
                if pairs <= min(budget, left):
                    rules += (r,)
                    left -= pairs
        else:
            rules = _checked(blocking_rules, avail, share, "blocking_rules")
        if em_blocking_rules is None:
            base = _DEFAULT_EM_FOUR_PART if four_part else _DEFAULT_EM_TWO_PART
            if four_part:  # issue 19
                base = (*base, _RELATIVE_EM_RULE)
            em = tuple(r for r in base if all(c in avail for c in r))
            if not em:
                em = rules[:2]
        else:
            em = _checked(em_blocking_rules, avail, share, "em_blocking_rules")
        pairs, differ = sex_conflicts(records, counts)
        if "cannot_link" not in options and not _sex_reliable(pairs, differ):
            options["cannot_link"] = tuple(
                c for c in cls.__dataclass_fields__["cannot_link"].default if c != "sex"
            )
        if "sex_differ_m" not in options and pairs >= SEX_CONFLICT_MIN_PAIRS:
            options["sex_differ_m"] = round(max(0.01, differ / pairs), 4)
        det = tuple(r for r in _DETERMINISTIC if all(c in avail for c in r))
        if not det:
            det = rules[:1]
        if not rules:
            raise ConfigError(
                "no blocking rule can be used: the lists lack the columns of every default "
                f"rule (available columns: {sorted(c for c in records.columns if c in avail)})"
            )
        return cls(
            link_type="link_and_dedupe" if n_lists > 1 else "dedupe_only",
            comparisons=comparisons,
            blocking_rules=rules,
            em_blocking_rules=em,
            deterministic_rules=det,
            **options,
        )


#: Largest share of near-certain duplicate pairs (same name keys, same date of birth not
#: heaped on 1 January) with different recorded sexes for which sex is trusted as a
#: cannot-link; and the fewest such pairs that can show it is not.
SEX_CONFLICT_MAX = 0.02
SEX_CONFLICT_MIN_PAIRS = 50


def sex_conflicts(records: pd.DataFrame, counts: RuleCounts | None = None) -> tuple[int, int]:
    """Pairs of records with the same ``name_key`` and date of birth (not heaped) and a
    recorded sex on both, and how many of them record different sexes (exact, from
    counts). ``counts``: the records' :class:`RuleCounts`, to reuse its codes."""
    cols = ("name_key", "dob", "sex")
    if any(c not in records.columns for c in cols):
        return 0, 0
    counts = counts if counts is not None else RuleCounts(records)
    rows = counts.present(cols)
    if "dob_heaped" in records.columns:
        heaped = records["dob_heaped"].fillna(False).astype(bool).to_numpy()
        rows &= ~heaped
    # Only the rows with all three: factorised on their own (a third of a million records
    # have no date of birth; name_key and dob are nearly unique, the costly columns).
    pairs = counts.pairs(("name_key", "dob"), rows=rows)
    same = counts.pairs(cols, rows=rows)
    return pairs, pairs - same


def sex_reliable(records: pd.DataFrame) -> bool:
    """Whether recorded sex may forbid a merge (the ``"sex"`` cannot-link).

    Among near-certain duplicates (:func:`sex_conflicts`) a list that records sex reliably
    almost never differs; one whose sexes carry errors does, and there the cannot-link
    splits true people: on Splink's historical_50k, 4.6% of such pairs differ, 26% of the
    people have records of both sexes, and the cannot-link refused 6,165 edges (pairwise
    recall 0.594 against 0.633 without it). Sex stays a comparison either way. Too few
    pairs to tell: reliable (the cannot-link is kept).
    """
    return _sex_reliable(*sex_conflicts(records))


def _sex_reliable(pairs: int, differ: int) -> bool:
    return pairs < SEX_CONFLICT_MIN_PAIRS or differ <= SEX_CONFLICT_MAX * pairs


def rule_pairs(records: pd.DataFrame, rule: Sequence[str]) -> int:
    """Record pairs a blocking rule generates: :math:`\\sum_k \\binom{n_k}{2}` over the
    distinct non-missing values :math:`k` of the rule's columns (exact, from counts)."""
    return RuleCounts(records).pairs(rule)


class RuleCounts:
    """Non-missing shares and rule pair counts of ``records``, each column factorised once.

    :meth:`LinkSettings.for_records` needs the share of ~15 columns and the pairs of up to
    ten rules and sex conflicts; on a million records pandas' ``notna().mean()`` of every
    column, ``value_counts`` of each rule's columns and :func:`sex_conflicts` twice took
    2.7 s. Integer codes (``pd.factorize``, shared between rules) combined into one key per
    row and counted with ``bincount`` give the same counts.
    """

    def __init__(self, records: pd.DataFrame) -> None:
        self.records = records
        self.n = len(records)
        self._codes: dict[str, tuple[np.ndarray, int]] = {}
        #: Columns whose share is taken from their codes (factorised when first asked).
        self.coded: set[str] = set()
        self.shares = _Shares(self)

    def codes(self, col: str, rows: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Codes of ``col`` (-1 where missing) and how many distinct values; of ``rows``
        only when given (and then not kept)."""
        if rows is None and col in self._codes:
            return self._codes[col]
        if rows is not None and col in self._codes:
            codes, k = self._codes[col]
            return codes[rows], k
        values = self.records[col]
        if rows is not None:
            values = values[rows]
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        out = (codes.astype(np.int64, copy=False), len(uniques))
        if rows is None:
            self._codes[col] = out
        return out

    def present(self, cols: Sequence[str]) -> np.ndarray:
        """Rows with a value in every column of ``cols``."""
        rows = np.ones(self.n, dtype=bool)
        for col in cols:
            if col in self._codes:
                rows &= self._codes[col][0] >= 0
            else:
                rows &= self.records[col].notna().to_numpy()
        return rows

    def share(self, col: str) -> float:
        """``float(records[col].notna().mean())``."""
        if col in self.coded:
            self.codes(col)
        if col in self._codes:
            nonnull = int(np.count_nonzero(self._codes[col][0] >= 0))
        else:
            nonnull = int(self.records[col].notna().sum())
        return nonnull / self.n if self.n else float("nan")

    def available(self, min_share: float) -> _Available:
        return _Available(self, min_share)

    def pairs(self, cols: Sequence[str], rows: np.ndarray | None = None) -> int:
        """:func:`rule_pairs` of the rule ``cols`` (among ``rows`` only, when given)."""
        cols = list(cols)
        if not cols:
            return 0
        parts = [self.codes(c, rows) for c in cols]
        keep = np.logical_and.reduce([codes >= 0 for codes, _ in parts])
        key = parts[0][0][keep]
        size = parts[0][1]
        for codes, k in parts[1:]:
            if size * k >= 2**62:  # renumber the distinct keys so far: no overflow
                key, uniques = pd.factorize(key)
                size = len(uniques)
            key = key * k + codes[keep]
            size *= k
        if key.size == 0:
            return 0
        if size > 4 * key.size:
            key = pd.factorize(key)[0]
        sizes = np.bincount(key).astype(np.int64)
        return int((sizes * (sizes - 1) // 2).sum())

    def union_pairs(self, rules: Sequence[Sequence[str]]) -> int:
        """Record pairs that at least one of ``rules`` generates, each pair once (as
        Splink counts a list of blocking rules): by inclusion--exclusion, the pairs that
        every rule of a set generates being those that agree on all their columns."""
        rules = [tuple(r) for r in rules]
        total = 0
        for size in range(1, len(rules) + 1):
            for subset in itertools.combinations(rules, size):
                cols = list(dict.fromkeys(c for rule in subset for c in rule))
                total += (-1) ** (size + 1) * self.pairs(cols)
        return total


class _Shares:
    """``{column: share non-missing}`` of the records' columns, computed when asked."""

    def __init__(self, counts: RuleCounts) -> None:
        self._counts = counts
        self._done: dict[str, float] = {}

    def get(self, col: str, default: float = 0.0) -> float:
        if col not in self._counts.records.columns:
            return default
        if col not in self._done:
            self._done[col] = self._counts.share(col)
        return self._done[col]


class _Available:
    """The columns with at least ``min_share`` of the records non-missing (``in`` only)."""

    def __init__(self, counts: RuleCounts, min_share: float) -> None:
        self._counts = counts
        self._min = min_share

    def __contains__(self, col: object) -> bool:
        counts = self._counts
        if not isinstance(col, str) or col not in counts.records.columns:
            return False
        known = col in counts.shares._done or col in counts.coded or col in counts._codes
        head = min(counts.n, 4 * math.ceil(self._min * counts.n) + 1000)
        if not known and head < counts.n:
            # Enough values among the first rows decide it without reading the rest (the
            # share can only be larger): a notna over a million strings costs 30 ms.
            nonnull = int(counts.records[col].iloc[:head].notna().sum())
            if nonnull / counts.n >= self._min:
                return True
        return counts.shares.get(col, float("nan")) >= self._min


def _checked(rules, avail, share, key):
    out = []
    for rule in rules:
        missing = [c for c in rule if c not in avail]
        if missing:
            raise ConfigError(
                f"[link] {key}: rule {list(rule)} uses column(s) {missing} that no list "
                "provides (share non-missing: "
                + ", ".join(f"{c}={share.get(c, 0):.0%}" for c in missing)
                + ")"
            )
        out.append(tuple(rule))
    return tuple(out)
