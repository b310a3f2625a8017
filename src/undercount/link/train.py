"""Train the Fellegi–Sunter model: prior, u by random sampling, m by EM on blocked pairs.

Steps (each Splink's, on the chosen backend):

1. **Prior** :math:`\\lambda`, the probability that two random records match: either fixed by
   the settings, or estimated by counting pairs that satisfy near-certain deterministic rules
   and dividing by the assumed recall of those rules (Splink's estimator, :math:`\\lambda =
   k / (r T)` with :math:`k` pairs found, recall :math:`r` and :math:`T` pairs in all;
   :math:`k` counted exactly from the records' value frequencies, by inclusion--exclusion
   over the rules, while the u are sampled: :func:`_counted_rules`).
   A rule whose columns are filled in together on one list only can find only that list's
   duplicates, never a match across lists, so it is left out when several lists are
   linked. When no rule is left, or the rules find fewer than
   :data:`MIN_DETERMINISTIC_PAIRS` pairs, or more than the recall allows, the estimate
   falls back to the *blocked-pairs EM* estimate (see :func:`blocked_pairs_prior`; a
   warning in the report says so): a provisional prior :math:`B/T` (:math:`B` blocked
   pairs) starts the m sessions, and after them a plain Fellegi--Sunter mixture is fitted
   by EM to the comparison levels of all :math:`B` pairs blocked by the *strict* rules
   (:func:`strict_rules`: not the partial-name ones, whose pairs are mostly relatives and
   namesakes that the mixture would count as matches), starting from Splink's m and u,
   giving the share :math:`\\hat\\pi` of matches among them and :math:`\\lambda =
   \\hat\\pi B / T`. That assumes blocking keeps (nearly) every true match pair, so
   :math:`0 < \\lambda \\le B/T`. (A prior of exactly 0 -- rules that find no pair --
   made Splink fail with ``math domain error`` in ``prob_to_match_weight``.)
2. **u probabilities** from a seeded random sample of record pairs, which are almost all
   non-matches: :math:`u_{k,l} \\approx` share of sampled pairs in level :math:`l`. An
   exact-match level the sample never sees is counted exactly from the value frequencies
   instead (:func:`count_unseen_exact_u`).
3. **m probabilities** by expectation–maximisation on pairs blocked by each EM rule, with u
   fixed. The comparisons on the rule's own columns are not estimated in that session
   (blocking made them agree); running several sessions with different rules estimates every
   comparison.
4. **m floor**: every non-null level's m is raised to at least ``m_floor`` and each
   comparison's m are renormalised to sum to one. EM drives the m of a level it never sees
   among matches to zero, which would make that level an absolute veto (weight
   :math:`-\\infty`); real lists have errors the training pairs did not show.
5. **m of comparisons no session estimated** (every session blocked on them: the father and
   family names of two four-part lists without shared IDs): from the pairs across lists that
   the other comparisons call matches (:func:`confident_pairs_m`), after the prior.

References
----------
Winkler, W. E. (1988). Using the EM algorithm for weight computation in the Fellegi–Sunter
model of record linkage. *Proceedings of the Section on Survey Research Methods, ASA*,
667–671.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from undercount.errors import LinkageError
from undercount.link.backends import register_frame
from undercount.link.fellegi_sunter import GAMMA_PREFIX, FellegiSunter
from undercount.link.relatives import (
    add_relative_columns,
    has_relative_levels,
    relative_pattern_counts,
    scale_relative_m,
    set_relative_u,
)
from undercount.link.settings import (
    DEFAULT_BLOCKING_FOUR_PART,
    PARTIAL_BLOCKING_FOUR_PART,
    PARTIAL_BLOCKING_TWO_PART,
    POSTCODE_BLOCKING,
    LinkSettings,
    RuleCounts,
)
from undercount.link.u_sampling import estimate_u

__all__ = [
    "MIN_DETERMINISTIC_PAIRS", "blocked_pairs_prior", "build_linker", "count_unseen_exact_u",
    "strict_rules", "train",
]

logger = logging.getLogger(__name__)

#: Fewest pairs the deterministic rules must find for their prior to be used: with k pairs
#: the count's Poisson relative standard error is 1/sqrt(k), about 32% at k = 10.
MIN_DETERMINISTIC_PAIRS = 10

_SKIP_INPUT = ("list", "record_id", "row", "name_ar", "name_lat")


def used_columns(settings: LinkSettings) -> list[str]:
    cols: list[str] = []
    for name in settings.comparisons:
        if name == "name_tokens":
            cols.append("name_token_set")
        elif name.startswith("name:"):
            part = name.split(":", 1)[1]
            cols += [part, f"{part}_key", f"{part}_rasm"]
            if part == "given":  # issue 19: the relative levels compare scripts
                cols += ["given_script", "rest_key", "given_variants"]
            else:
                cols.append("name_token_set")
        elif name == "dob_age":
            cols += ["dob", "dob_text", "dob_heaped", "birth_year", "age", "age_heaped"]
        elif name in ("postcode", "place_postcode"):
            cols += ["postcode", "postcode_district"]
            if name == "place_postcode":
                cols.append("place")
        else:
            cols.append(name)
    for rule in (*settings.blocking_rules, *settings.em_blocking_rules,
                 *settings.deterministic_rules):
        cols += list(rule)
    return list(dict.fromkeys(cols))


def splink_settings(settings: LinkSettings):
    """Splink ``SettingsCreator`` (or trained model dict) for these settings."""
    # splink (which link.comparisons imports) adds ~0.3 s to an import: only when linking.
    from splink import SettingsCreator, block_on

    from undercount.link.comparisons import build_comparison

    if settings.model is not None:
        return dict(settings.model)
    return SettingsCreator(
        link_type=settings.link_type,
        comparisons=[build_comparison(name, settings.comparisons,
                                      sex_differ_m=settings.sex_differ_m)
                     for name in settings.comparisons],
        blocking_rules_to_generate_predictions=[block_on(*r) for r in settings.blocking_rules],
        probability_two_random_records_match=settings.prior or 1e-4,
        em_convergence=settings.em_convergence,
        max_iterations=settings.em_max_iterations,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        unique_id_column_name="uid",
        linker_uid="undercount",
    )


def build_linker(db_api, records, settings: LinkSettings):
    """Register the standardised records (one table per list) and build a Splink ``Linker``.

    The used columns go to Arrow once, and each list's table is a slice of that (zero-copy
    where the list's rows are contiguous, as the pipeline stacks them), registered as
    :func:`~undercount.link.backends.register_frame` registers a frame converted on its own.
    On a million records a Python ``str.split`` of the name tokens into lists and a pandas
    ``groupby`` copying each list's columns before its conversion took 2.2 and 1.7 s.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from splink import Linker  # heavy (~0.3 s): only when linking

    records = add_relative_columns(records)
    cols = used_columns(settings)
    split = "name_token_set" in cols and "name_tokens" in records.columns
    cols = ["uid", *[c for c in cols
                     if c in records.columns or (split and c == "name_token_set")]]
    source = [c for c in cols if c != "name_token_set" or not split]
    table = pa.Table.from_pandas(records[source], preserve_index=False)
    if split:
        # The comparison works on a list; the standardised column is a space-joined
        # string. Arrow's split on " " is Python's ``str.split(" ")``, null kept null.
        tokens = pc.split_pattern(
            pa.Table.from_pandas(records[["name_tokens"]], preserve_index=False)
            .column("name_tokens"), " ")
        table = table.append_column("name_token_set", tokens).select(cols)
    objects = {c for c in cols if c in records.columns and records[c].dtype == object}
    if split:
        objects.add("name_token_set")
    if settings.link_type == "dedupe_only":
        tables = [register_frame(db_api, _as_converted(table, objects), "records")]
    else:
        codes, names = pd.factorize(records["list"], use_na_sentinel=True)
        tables = [register_frame(db_api, _as_converted(_rows(table, codes, k), objects),
                                 f"list_{name}")
                  for k, name in enumerate(names)]
    return Linker(tables if len(tables) > 1 else tables[0], splink_settings(settings),
                  log_level=None)


def _rows(table, codes: np.ndarray, k: int):
    """The rows of ``table`` whose code is ``k``, in order (a slice where contiguous)."""
    where = np.flatnonzero(codes == k)
    if where.size and where[-1] - where[0] + 1 == where.size:
        return table.slice(int(where[0]), int(where.size))
    return table.take(where)


def _as_converted(table, objects: set[str]):
    """``table`` with the types a frame of its rows alone converts to: a column of Python
    objects that is all missing there becomes Arrow's null type (as ``pa.Table.from_pandas``
    of one list's rows made it: the media list has no national ID)."""
    import pyarrow as pa

    for i, name in enumerate(table.column_names):
        column = table.column(i)
        if (name in objects and column.null_count == len(column)
                and column.type != pa.null()):
            table = table.set_column(i, name, pa.nulls(len(column)))
    return table


def train(
    linker, settings: LinkSettings, records: pd.DataFrame | None = None
) -> tuple[LinkSettings, dict[str, Any]]:
    """Train ``linker`` in place; return the settings with the trained model, and a report.

    Parameters
    ----------
    linker : splink.Linker
        From :func:`build_linker`.
    settings : LinkSettings
    records : DataFrame, optional
        The standardised records the linker was built on (with their ``list`` column): lets
        the prior leave out deterministic rules that can only fire within one list (see the
        module docstring). Without it every rule is used.

    Returns
    -------
    settings : LinkSettings
        With the trained model.
    report : dict
        ``em_sessions``, ``warnings``, ``m_floored``, ``u_counted`` (the levels
        :func:`count_unseen_exact_u` counted), ``prior`` and ``prior_estimate`` (how
        the prior was obtained: ``method`` is ``"fixed"``, ``"deterministic rules"`` or
        ``"blocked-pairs EM"``, with the counts behind it and, for the fallback, why).

    Raises
    ------
    LinkageError
        The prior cannot be estimated at all (the blocking rules admit no pair, or the EM
        fit on the blocked pairs finds no matches).
    """
    from splink import block_on  # heavy (~0.3 s): only when linking

    report: dict[str, Any] = {"em_sessions": [], "warnings": []}
    fallback = False
    # Splink's u sampling, every comparison counted in one pass (same u; see u_sampling).
    t0, c0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Neither the deterministic rules' pair count nor the relatives' pattern counts
        # depend on u (nor u on them): pandas counts them on a thread while DuckDB's
        # threads sample the pairs (at a million records 0.8 and 0.9 CPU-s, where Splink's
        # count of the rules' pairs took 1.0 CPU-s and 0.9 s of its own before u).
        rules_job = (pool.submit(_counted_rules, settings, records)
                     if settings.prior is None and records is not None else None)
        patterns = (pool.submit(relative_pattern_counts, records)
                    if records is not None and has_relative_levels(linker) else None)
        estimate_u(linker, settings.max_pairs, settings.seed)
        counted = rules_job.result() if rules_job is not None else None
        counts = patterns.result() if patterns is not None else None
    logger.info("training: u by random sampling %.1f s (%.1f CPU-s)",
                time.perf_counter() - t0, time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    if settings.prior is None:
        info = _deterministic_prior(linker, settings, records, counted)
        logger.info("training: deterministic prior %.1f s (%.1f CPU-s)",
                    time.perf_counter() - t0, time.process_time() - c0)
        fallback = info["method"] != "deterministic rules"
        if fallback:
            msg = (f"prior: {info['reason']}; estimated instead from the blocked pairs by EM "
                   "(assumes blocking keeps nearly every true match pair)")
            logger.warning(msg)
            report["warnings"].append(msg)
            # Provisional prior for the m sessions (they start from it, then move their
            # own lambda): the share of pairs that blocking admits, an upper bound.
            linker.training.estimate_probability_two_random_records_match(
                [block_on(*r) for r in settings.blocking_rules], recall=1.0
            )
            provisional = linker._settings_obj._probability_two_random_records_match
            if not 0 < provisional < 1:
                raise LinkageError(
                    f"prior: {info['reason']}, and the blocking rules "
                    f"{[list(r) for r in settings.blocking_rules]} admit "
                    f"{'no' if provisional == 0 else 'every'} pair of records, so the "
                    "probability that two records match cannot be estimated; set [link] "
                    "prior explicitly"
                )
            info["provisional"] = provisional
        report["prior_estimate"] = info
    else:
        report["prior_estimate"] = {"method": "fixed", "prior": settings.prior}
    if records is not None:
        report["u_counted"] = count_unseen_exact_u(linker, records)
    # Issue 19: u of the relative levels from exact pattern counts, not random pairs.
    relatives = set_relative_u(linker, records, counts) if records is not None else {}
    # EM sessions must not move the prior (Splink's design), but a session that fails midway
    # can leave its blocked-pair lambda behind; restore it after every session.
    prior = linker._settings_obj._probability_two_random_records_match
    for rule in settings.em_blocking_rules:
        t0, c0 = time.perf_counter(), time.process_time()
        outcome = _em_session(linker, rule, settings, prior)
        logger.info("training: EM session on %s %.1f s (%.1f CPU-s)", list(rule),
                    time.perf_counter() - t0, time.process_time() - c0)
        report["em_sessions"].append(outcome)
        if outcome["status"] != "ok":
            msg = f"EM session blocked on {list(rule)} failed: {outcome['reason']}"
            logger.warning(msg)
            report["warnings"].append(msg)
    report["m_floored"] = _floor_m(linker, settings.m_floor)
    scale_relative_m(linker, relatives)
    report["relatives"] = relatives
    if fallback:
        report["prior_estimate"].update(blocked_pairs_prior(
            linker, _n_records(linker, records), rules=strict_rules(settings.blocking_rules)))
    # Comparisons no EM session could estimate (every session blocked on them) take their m
    # from the pairs the rest of the model calls matches (after the prior, which selects).
    round_model(linker)
    report["m_from_confident_pairs"] = confident_pairs_m(linker, settings.m_floor)
    round_model(linker)
    model = linker.misc.save_model_to_json()
    report["prior"] = model.get("probability_two_random_records_match")
    return settings.with_model(model), report


_EQUAL = re.compile(r'^"(\w+)_l" = "\1_r"$')
_NULL = re.compile(r'^"(\w+)_l" IS NULL OR "\1_r" IS NULL$')


def count_unseen_exact_u(linker, records: pd.DataFrame) -> dict[str, float]:
    r"""u of the exact-match levels the random sample never saw, counted exactly; in place.

    A level that no sampled pair reaches gets no trained u from Splink's u estimation and
    falls back to its comparison's default u, however rare the level is: on a million
    simulated records a sample of 5e6 pairs never saw two records with the same national
    ID, and the default u of 9.3e-4 (against 1.8e-7 from 2e7 pairs) took an exact
    national-ID match from 22 to 10 bits. Where the level is a
    comparison's first, ``"c_l" = "c_r"``, and its null level is ``"c_l" IS NULL OR "c_r"
    IS NULL``, the number the sample estimates can be counted instead, from the value
    frequencies :math:`n_v` of column ``c`` over all :math:`N` records that have one:

    .. math:: u = \sum_v \binom{n_v}{2} \Big/ \binom{N}{2},

    the share of all record pairs with both values present that agree, as the sample counts
    it (matches included: for an identifier they are nearly all of it). Other levels, and
    levels the sample saw, keep Splink's estimate. Returns ``{comparison: u}`` of the
    levels counted.
    """
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    out: dict[str, float] = {}
    for comparison in linker._settings_obj.comparisons:
        levels = comparison._comparison_levels_excluding_null
        nulls = [lv for lv in comparison.comparison_levels if lv.is_null_level]
        if not levels or len(nulls) != 1:
            continue
        first = levels[0]
        if first._u_probability not in (None, LEVEL_NOT_OBSERVED_TEXT) or first._fix_u_probability:
            continue
        equal = _EQUAL.match(first.sql_condition.strip())
        null = _NULL.match(nulls[0].sql_condition.strip())
        if not (equal and null and equal.group(1) == null.group(1)):
            continue
        column = equal.group(1)
        # Spark's proxy of the records keeps a column's values (as codes) only where it
        # needs them; a categorical there says only whether a value is present.
        if column not in records.columns or isinstance(records[column].dtype, pd.CategoricalDtype):
            continue
        # Value counts from codes (exact integers, so the sums do not depend on order).
        codes = pd.factorize(records[column], use_na_sentinel=True)[0]
        counts = np.bincount(codes[codes >= 0]).astype(np.float64)
        n = counts.sum()
        agree = float((counts * (counts - 1) / 2).sum())
        if n < 2 or agree == 0:
            continue
        first.u_probability = agree / (n * (n - 1) / 2)
        out[comparison.output_column_name] = first.u_probability
    return out


#: Significant digits kept of every trained probability (see :func:`round_model`).
MODEL_DIGITS = 8


def _round(x: float, digits: int = MODEL_DIGITS) -> float:
    return float(f"{x:.{digits}g}")


def round_model(linker, digits: int = MODEL_DIGITS) -> None:
    """Round the trained m and u probabilities and the prior to ``digits`` significant
    digits, in place, before predicting.

    DuckDB sums in parallel in an order that varies from run to run, so EM's estimates
    differ in their last few of 16 digits; rounded, they (and so every match weight, the
    edges and the clusters) are the same in every run with the same seed and data, and
    ``link_settings.json`` is byte-identical. Eight digits are far finer than the sampling
    error of any estimate. Where a comparison's m (or u) summed to 1 they still do: the
    largest level takes the rounding residue.
    """
    settings = linker._settings_obj
    for comparison in settings.comparisons:
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        for attr in ("_m_probability", "_u_probability"):
            values = [getattr(lv, attr) for lv in levels]
            if not values or not all(isinstance(v, float) for v in values):
                for lv, v in zip(levels, values, strict=True):
                    if isinstance(v, float):
                        setattr(lv, attr, _round(v, digits))
                continue
            rounded = [_round(v, digits) for v in values]
            if abs(sum(values) - 1.0) < 1e-6:
                # Keep the sum at 1 (the largest level takes the rounding residue), so a
                # reader that renormalises (FellegiSunter.from_splink) sees Splink's values.
                big = max(range(len(rounded)), key=lambda i: rounded[i])
                rounded[big] = 1.0 - sum(r for i, r in enumerate(rounded) if i != big)
            for lv, v in zip(levels, rounded, strict=True):
                setattr(lv, attr, v)
    prior = settings._probability_two_random_records_match
    if isinstance(prior, float):
        settings._probability_two_random_records_match = _round(prior, digits)


def _n_records(linker, records: pd.DataFrame | None) -> int:
    if records is not None:
        return len(records)
    return sum(len(t.as_pandas_dataframe()) for t in linker._input_tables_dict.values())


#: Most deterministic rules whose pairs are counted by inclusion--exclusion (2^k - 1 terms)
#: in pandas; with more, Splink counts them.
MAX_COUNTED_RULES = 6


def _usable_rules(settings: LinkSettings, records) -> tuple[list, list[dict[str, Any]]]:
    """The deterministic rules that can match records across lists (all of them when one
    list is linked), and those left out with the lists where their columns are filled in."""
    rules = list(settings.deterministic_rules)
    dropped: list[dict[str, Any]] = []
    if records is not None and "list" in records and records["list"].nunique() > 1:
        usable = []
        for rule in rules:
            lists: list[str] = []
            if all(c in records for c in rule):
                filled = records[list(rule)].notna().all(axis=1)
                lists = sorted(records.loc[filled, "list"].astype(str).unique())
            if len(lists) >= 2:
                usable.append(rule)
            else:
                dropped.append({"rule": list(rule), "lists": lists})
        rules = usable
    return rules, dropped


def _counted_rules(settings: LinkSettings, records: pd.DataFrame):
    """:func:`_usable_rules`, and the record pairs they find together (each pair once)
    counted exactly from the records (:meth:`RuleCounts.union_pairs`), or None where
    Splink is left to count them."""
    rules, dropped = _usable_rules(settings, records)
    found = None
    if (rules and len(rules) <= MAX_COUNTED_RULES
            and all(c in records for r in rules for c in r)
            and ("list" not in records or not records["list"].isna().any())):
        found = RuleCounts(records).union_pairs(rules)
    return rules, dropped, found


def _splink_prior(found: int, n_records: int, recall: float) -> float:
    """Splink's ``estimate_probability_two_random_records_match`` (splink 5.0) from the
    count of pairs its rules find among ``n_records`` records, to the last bit: the same
    checks, messages and arithmetic (its pair count and total are integers)."""
    if (recall > 1) or (recall <= 0):
        raise ValueError(f"Estimated recall must be greater than 0 and no more than 1. "
                         f"Supplied value {recall}.")
    total = n_records * (n_records - 1) // 2
    if found > total * recall:
        raise ValueError(
            "Deterministic matching rules led to more observed matches than is consistent "
            "with supplied recall. With these rules, recall must be at least "
            f"{found / total:,.2f}.")
    return (found / recall) / total


def _deterministic_prior(linker, settings: LinkSettings, records,
                         counted: tuple | None = None) -> dict[str, Any]:
    """Splink's deterministic-rules prior when it is usable; else why not (see the module
    docstring). Sets the linker's prior only when it returns ``method="deterministic
    rules"``. ``counted``: :func:`_counted_rules` of the records, when already counted
    (else the rules are chosen here and Splink counts their pairs)."""
    from splink import block_on  # heavy (~0.3 s): only when linking

    if counted is None:
        rules, dropped = _usable_rules(settings, records)
        found = None
    else:
        rules, dropped, found = counted
    info: dict[str, Any] = {"method": "blocked-pairs EM", "deterministic_rules":
                            [list(r) for r in rules], "recall": settings.prior_recall}
    if dropped:
        info["rules_within_one_list"] = dropped
    if not rules:
        where = "; ".join(f"{d['rule']} on {d['lists'] or 'no list'}" for d in dropped)
        info["reason"] = ("no deterministic rule can match records across lists (their "
                          f"columns are filled in together on one list at most: {where})")
        return info
    n = _n_records(linker, records)
    total = n * (n - 1) / 2
    try:
        if found is None:
            linker.training.estimate_probability_two_random_records_match(
                [block_on(*r) for r in rules], recall=settings.prior_recall
            )
        else:
            linker._settings_obj._probability_two_random_records_match = _splink_prior(
                found, n, settings.prior_recall)
    except ValueError as exc:  # more pairs than the recall allows
        info["reason"] = f"the deterministic rules are not near-certain ({exc})"
        return info
    prior = linker._settings_obj._probability_two_random_records_match
    found = round(prior * settings.prior_recall * total)
    info["pairs_found"] = int(found)
    if found < MIN_DETERMINISTIC_PAIRS or not 0 < prior < 1:
        info["reason"] = (f"the deterministic rules {[list(r) for r in rules]} find {found} "
                          f"pair(s) (fewer than {MIN_DETERMINISTIC_PAIRS})")
        return info
    info.update(method="deterministic rules", prior=prior)
    return info


def strict_rules(rules: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """The blocking rules less the partial-name ones (:data:`PARTIAL_BLOCKING_FOUR_PART`,
    :data:`PARTIAL_BLOCKING_TWO_PART`) and the postcode ones (:data:`POSTCODE_BLOCKING`);
    all of them when nothing else is left.

    The blocked-pairs prior is estimated on these (:func:`blocked_pairs_prior`). A partial
    rule pairs records that agree on two name parts, or one and the age: among them are
    many more relatives and namesakes than matches, and a two-class mixture that assumes the
    comparisons independent given the class takes that correlated agreement for a class of
    its own -- the "matches". In the harsh simulated variant of ``e2e4noisy`` (791 true
    match pairs) the partial rules took the EM count from 910 to 4,596 pairs; on the
    Airwars/MoH development set it counted 512,782 matches among 908,449 blocked pairs.
    """
    rules = tuple(tuple(r) for r in rules)
    # given + family is a partial rule for four-part names and a fixed one for two-part.
    four_part = any(len(r) == 3 and r in DEFAULT_BLOCKING_FOUR_PART for r in rules)
    partial = {*(PARTIAL_BLOCKING_FOUR_PART if four_part else PARTIAL_BLOCKING_TWO_PART),
               *POSTCODE_BLOCKING}
    strict = tuple(r for r in rules if r not in partial)
    return strict or rules


def blocked_pairs_prior(
    linker, n_records: int, *, rules: Sequence[Sequence[str]] | None = None
) -> dict[str, Any]:
    r"""Estimate the prior from the blocked pairs by EM, and set it on the trained linker.

    ``rules``: the blocking rules whose pairs are counted (default: the linker's own; the
    training uses :func:`strict_rules`). All pairs they block are compared and their
    comparison vectors counted in the backend; a plain Fellegi--Sunter mixture
    (conditional independence, :class:`undercount.link.fellegi_sunter.FellegiSunter`) is
    fitted to the counted vectors by EM starting from the linker's m and u; its share of matches
    :math:`\hat\pi` among the :math:`B` blocked pairs gives :math:`\lambda = \hat\pi B / T`,
    :math:`T = n(n-1)/2`. It assumes that blocking keeps (nearly) every true match pair:
    matches outside blocking are not counted, so the estimate errs low when blocking
    loses matches, and it is bounded by :math:`B/T`. In simulations (1,500 people, 3-4
    lists, heavy noise; 99% blocking recall) :math:`\hat\pi B` came within -1% to +15% of
    the true number of match pairs.

    Returns the figures behind the estimate (``blocked_pairs``,
    ``distinct_comparison_vectors``, ``total_pairs``, ``share_matches``,
    ``expected_matches``, ``em_converged``, ``prior``).

    Raises
    ------
    LinkageError
        No blocked pairs, or the fit finds no matches.
    """
    if rules is None:
        names, levels, counts = _blocked_level_counts(linker)
    else:
        with _prediction_rules(linker, rules):
            names, levels, counts = _blocked_level_counts(linker)
    n_pairs = int(counts.sum())
    total = n_records * (n_records - 1) / 2
    if n_pairs == 0:
        raise LinkageError("prior: the blocking rules admit no pair of records, so the "
                           "probability that two records match cannot be estimated")
    model = linker.misc.save_model_to_json()
    start = FellegiSunter.from_splink(model, lam=0.5)
    fit = FellegiSunter.fit(levels, comparisons=names, start=start,
                            weights=np.asarray(counts, dtype=float))
    expected = fit.lam * n_pairs
    prior = expected / total
    if not (math.isfinite(prior) and 0 < prior < 1) or expected < 0.5:
        raise LinkageError(
            f"prior: the EM fit on the {n_pairs} blocked pairs finds "
            f"{expected:.2g} matches, so the probability that two records match cannot be "
            "estimated; set [link] prior explicitly")
    linker._settings_obj._probability_two_random_records_match = prior
    return {"blocked_pairs": n_pairs, "distinct_comparison_vectors": len(counts),
            "blocking_rules": None if rules is None else [list(r) for r in rules],
            "total_pairs": total, "share_matches": fit.lam, "expected_matches": expected,
            "em_converged": fit.converged, "prior": prior}


@contextmanager
def _prediction_rules(linker, rules: Sequence[Sequence[str]]) -> Iterator[None]:
    """Predict with ``rules`` instead of the linker's blocking rules, inside the block."""
    from splink import block_on  # heavy (~0.3 s): only when linking
    from splink.internals.blocking import BlockingRule

    settings = linker._settings_obj
    saved = settings._blocking_rules_to_generate_predictions
    dialect = settings._sql_dialect_str
    settings._blocking_rules_to_generate_predictions = (
        BlockingRule._add_preceding_rules_to_each_blocking_rule(
            [block_on(*r).get_blocking_rule(dialect) for r in rules]))
    try:
        yield
    finally:
        settings._blocking_rules_to_generate_predictions = saved


def _blocked_level_counts(linker) -> tuple[tuple[str, ...], Any, Any]:
    """Distinct comparison vectors of all blocked pairs and how many pairs have each,
    counted in the backend (the pairs themselves never leave it)."""
    settings = linker._settings_obj
    gammas = [c._gamma_column_name for c in settings.comparisons]
    retain = settings._retain_matching_columns
    settings._retain_matching_columns = True  # keeps the gamma columns in the predictions
    try:
        sdf = linker.inference.predict(threshold_match_probability=None, warning_mode="never")
    finally:
        settings._retain_matching_columns = retain
    try:
        cols = ", ".join(gammas)
        frame = linker.misc.query_sql(
            f"select {cols}, count(*) as n_pairs from {sdf.physical_name} group by {cols}",
            output_type="pandas",
        )
    finally:
        sdf.drop_table_from_database_and_remove_from_cache()
    names = tuple(g.removeprefix(GAMMA_PREFIX) for g in gammas)
    return names, frame[gammas].to_numpy(dtype="int64"), frame["n_pairs"].to_numpy()


def _floor_m(linker, floor: float) -> list[str]:
    """Raise small or missing m probabilities to ``floor`` and renormalise; names the levels."""
    changed = []
    for comparison in linker._settings_obj.comparisons:
        levels = comparison._comparison_levels_excluding_null
        values = []
        for level in levels:
            m = level.m_probability
            values.append(floor if m is None or m < floor else float(m))
            if m is None or m < floor:
                changed.append(f"{comparison.output_column_name}: {level.label_for_charts}")
        total = sum(values)
        for level, m in zip(levels, values, strict=True):
            level.m_probability = m / total
    return changed


#: Match probability, without the comparison being estimated, above which a pair counts as a
#: match in :func:`confident_pairs_m`.
CONFIDENT = 0.99
#: Fewest such pairs from which :func:`confident_pairs_m` estimates a comparison's m.
MIN_CONFIDENT_PAIRS = 100


def _untrained(comparison) -> bool:
    """Whether no EM session estimated any m of ``comparison`` (fixed levels aside)."""
    levels = [lv for lv in comparison._comparison_levels_excluding_null
              if not lv._fix_m_probability]
    return bool(levels) and not any(lv._has_estimated_m_values for lv in levels)


def confident_pairs_m(linker, floor: float) -> dict[str, Any]:
    r"""m of the comparisons no EM session estimated, from the pairs the other comparisons
    call matches; in place. Returns what was estimated from how many pairs.

    An EM session cannot estimate a comparison on its own blocking columns (they agree on
    every pair it sees), so a comparison that every session blocks on keeps Splink's
    starting m (0.95 for the first level, the rest shared equally), whatever the lists'
    errors are. On the Airwars/MoH development set every session blocks on the father and
    family names: a family name found in another position of the other name (a second clan
    name, ``ابوالعلا الرقب``) or written another way (a married woman's) kept an m of 0.008
    where 3% of the true pairs are at each. Sessions blocked elsewhere do not help: among
    pairs agreeing on the given name and age the random-pair u misdescribes the
    non-matches (a name shifted "elsewhere" is more common among them), and EM takes that
    correlation for the match class (m of the family's own agreement fell to 0.007).

    Instead, for each such comparison :math:`k` every blocked pair is scored without it,
    :math:`p_{-k} = \operatorname{logit}_2^{-1}(\text{match weight} - w_k)`, and

    .. math:: m_{k,l} = \frac{\#\{\text{pairs}: p_{-k} \ge c,\ \gamma_k = l\}}
        {\#\{\text{pairs}: p_{-k} \ge c,\ \gamma_k \text{ not null}\}},

    :math:`c` = :data:`CONFIDENT`: the M-step of EM for :math:`k` alone, with the pairs the
    other comparisons identify (conditional independence given the match status, the
    model's own assumption, makes the selection independent of :math:`\gamma_k`). Where
    several lists are linked only pairs across lists are counted: within one list a pair
    that agrees on all but one name part is more often two relatives listed together (the
    same family, the same victims' list) than one person listed twice. A comparison with
    fewer than :data:`MIN_CONFIDENT_PAIRS` such pairs keeps its m. Each m is then floored
    and renormalised as after EM.
    """
    settings = linker._settings_obj
    todo = [c for c in settings.comparisons if _untrained(c)]
    if not todo:
        return {}
    keep = (settings._retain_matching_columns, settings._retain_intermediate_calculation_columns)
    settings._retain_matching_columns = True
    settings._retain_intermediate_calculation_columns = True
    try:
        sdf = linker.inference.predict(threshold_match_probability=None, warning_mode="never")
    finally:
        (settings._retain_matching_columns,
         settings._retain_intermediate_calculation_columns) = keep
    out: dict[str, Any] = {}
    try:
        columns = {c.unquote().name for c in sdf.columns}
        cross = ("source_dataset_l <> source_dataset_r"
                 if {"source_dataset_l", "source_dataset_r"} <= columns else "true")
        bound = math.log2(CONFIDENT / (1 - CONFIDENT))
        for comparison in todo:
            name = comparison.output_column_name
            gamma = comparison._gamma_column_name
            own = f"mw_{name}"
            if f"mw_tf_adj_{name}" in columns:
                own += f" + coalesce(mw_tf_adj_{name}, 0)"
            frame = linker.misc.query_sql(
                f"select {gamma} as level, count(*) as n from {sdf.physical_name} "
                f"where {cross} and {gamma} >= 0 and match_weight - ({own}) >= {bound} "
                f"group by {gamma}",
                output_type="pandas",
            )
            counts = dict(zip(frame["level"].astype(int), frame["n"].astype(int), strict=True))
            n = sum(counts.values())
            entry: dict[str, Any] = {"pairs": n}
            if n >= MIN_CONFIDENT_PAIRS:
                levels = comparison._comparison_levels_excluding_null
                free = [lv for lv in levels if not lv._fix_m_probability]
                fixed = sum(lv.m_probability for lv in levels if lv._fix_m_probability)
                n_free = sum(counts.get(lv._comparison_vector_value, 0) for lv in free)
                for lv in free:
                    share = counts.get(lv._comparison_vector_value, 0) / max(n_free, 1)
                    lv.m_probability = max(share * (1 - fixed), floor)
                entry["m"] = {lv.label_for_charts: lv.m_probability for lv in free}
            out[name] = entry
    finally:
        sdf.drop_table_from_database_and_remove_from_cache()
    _floor_m(linker, floor)
    return out


def _em_session(linker, rule, settings: LinkSettings, prior: float) -> dict[str, Any]:
    """One EM session; if EM drives an m to zero (Splink then refuses it), retry it with
    few iterations, which keeps the early, well-defined estimates of the other levels.

    EM sessions must not move the prior (Splink's design), but a session that fails midway
    can leave its blocked-pair lambda behind, so the prior is restored after each try.
    """
    # splink is heavy (~0.3 s): only when linking.
    from splink import block_on
    from splink.internals.settings import TrainingSettings

    original = linker._settings_obj.training_settings
    reason = ""
    for iterations in (settings.em_max_iterations, 4):
        # A level whose m an earlier session set to ~0 would veto every pair in it and
        # EM would drive it to exactly 0; start each session from floored values.
        _floor_m(linker, settings.m_floor)
        # Splink's session removes the comparisons its blocking rule uses from the linker's
        # own model settings and puts the full model back only when it succeeds: after a
        # failure the model would go on without them (names, say). Keep a copy to restore.
        model = linker._settings_obj.core_model_settings.copy()
        linker._settings_obj.training_settings = TrainingSettings(
            em_convergence=settings.em_convergence, max_iterations=iterations
        )
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule),
                max_pairs=settings.em_max_pairs,
                estimate_without_term_frequencies=True,
            )
            status = "ok" if iterations == settings.em_max_iterations else "ok (retried)"
            return {"rule": list(rule), "status": "ok", "detail": status,
                    "iterations": iterations, "first_failure": reason or None}
        except Exception as exc:  # Splink raises plain exceptions (empty block, underflow)
            reason = str(exc)
            linker._settings_obj.core_model_settings = model
        finally:
            linker._settings_obj._probability_two_random_records_match = prior
            linker._settings_obj.training_settings = original
    return {"rule": list(rule), "status": "failed", "reason": reason}
