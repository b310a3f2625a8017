"""Train the Fellegi–Sunter model: prior, u by random sampling, m by EM on blocked pairs.

Steps (each Splink's, on the chosen backend):

1. **Prior** :math:`\\lambda`, the probability that two random records match: either fixed by
   the settings, or estimated by counting pairs that satisfy near-certain deterministic rules
   and dividing by the assumed recall of those rules.
2. **u probabilities** from a seeded random sample of record pairs, which are almost all
   non-matches: :math:`u_{k,l} \\approx` share of sampled pairs in level :math:`l`.
3. **m probabilities** by expectation–maximisation on pairs blocked by each EM rule, with u
   fixed. The comparisons on the rule's own columns are not estimated in that session
   (blocking made them agree); running several sessions with different rules estimates every
   comparison.
4. **m floor**: every non-null level's m is raised to at least ``m_floor`` and each
   comparison's m are renormalised to sum to one. EM drives the m of a level it never sees
   among matches to zero, which would make that level an absolute veto (weight
   :math:`-\\infty`); real lists have errors the training pairs did not show.

References
----------
Winkler, W. E. (1988). Using the EM algorithm for weight computation in the Fellegi–Sunter
model of record linkage. *Proceedings of the Section on Survey Research Methods, ASA*,
667–671.
"""

from __future__ import annotations

import logging
from typing import Any

from undercount.link.settings import LinkSettings

__all__ = ["build_linker", "train"]

logger = logging.getLogger(__name__)

_SKIP_INPUT = ("list", "record_id", "row", "name_ar", "name_lat")


def _used_columns(settings: LinkSettings) -> list[str]:
    cols: list[str] = []
    for name in settings.comparisons:
        if name.startswith("name:"):
            part = name.split(":", 1)[1]
            cols += [part, f"{part}_key"]
        elif name == "dob_age":
            cols += ["dob", "dob_heaped", "birth_year", "age", "age_heaped"]
        else:
            cols.append(name)
    for rule in (*settings.blocking_rules, *settings.em_blocking_rules,
                 *settings.deterministic_rules):
        cols += list(rule)
    return list(dict.fromkeys(cols))


def splink_settings(settings: LinkSettings):
    """Splink ``SettingsCreator`` (or trained model dict) for these settings."""
    from splink import SettingsCreator, block_on

    from undercount.link.comparisons import build_comparison

    if settings.model is not None:
        return dict(settings.model)
    return SettingsCreator(
        link_type=settings.link_type,
        comparisons=[build_comparison(name) for name in settings.comparisons],
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
    """Register the standardised records (one table per list) and build a Splink ``Linker``."""
    from splink import Linker

    from undercount.link.backends import register_frame

    cols = ["uid", *[c for c in _used_columns(settings) if c in records.columns]]
    if settings.link_type == "dedupe_only":
        tables = [register_frame(db_api, records[cols], "records")]
    else:
        tables = [
            register_frame(db_api, part[cols], f"list_{name}")
            for name, part in records.groupby("list", sort=False)
        ]
    return Linker(tables if len(tables) > 1 else tables[0], splink_settings(settings),
                  log_level=None)


def train(linker, settings: LinkSettings) -> tuple[LinkSettings, dict[str, Any]]:
    """Train ``linker`` in place; return the settings with the trained model, and a report."""
    from splink import block_on

    report: dict[str, Any] = {"em_sessions": [], "warnings": []}
    if settings.prior is None:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*r) for r in settings.deterministic_rules], recall=settings.prior_recall
        )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=settings.max_pairs, seed=settings.seed
    )
    # EM sessions must not move the prior (Splink's design), but a session that fails midway
    # can leave its blocked-pair lambda behind; restore it after every session.
    prior = linker._settings_obj._probability_two_random_records_match
    for rule in settings.em_blocking_rules:
        outcome = _em_session(linker, rule, settings, prior)
        report["em_sessions"].append(outcome)
        if outcome["status"] != "ok":
            msg = f"EM session blocked on {list(rule)} failed: {outcome['reason']}"
            logger.warning(msg)
            report["warnings"].append(msg)
    report["m_floored"] = _floor_m(linker, settings.m_floor)
    model = linker.misc.save_model_to_json()
    report["prior"] = model.get("probability_two_random_records_match")
    return settings.with_model(model), report


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


def _em_session(linker, rule, settings: LinkSettings, prior: float) -> dict[str, Any]:
    """One EM session; if EM drives an m to zero (Splink then refuses it), retry it with
    few iterations, which keeps the early, well-defined estimates of the other levels.

    EM sessions must not move the prior (Splink's design), but a session that fails midway
    can leave its blocked-pair lambda behind, so the prior is restored after each try.
    """
    from splink import block_on
    from splink.internals.settings import TrainingSettings

    original = linker._settings_obj.training_settings
    reason = ""
    for iterations in (settings.em_max_iterations, 4):
        # A level whose m an earlier session set to ~0 would veto every pair in it and
        # EM would drive it to exactly 0; start each session from floored values.
        _floor_m(linker, settings.m_floor)
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
        finally:
            linker._settings_obj._probability_two_random_records_match = prior
            linker._settings_obj.training_settings = original
    return {"rule": list(rule), "status": "failed", "reason": reason}
