r"""Does a covariate on the table change the answer? Pooled against stratified estimates.

When capture depends on something the lists record (age, sex, place), the people of each
group are caught at their own rates. Pooled over the groups, those rates are heterogeneity:
every pair of lists looks positively dependent, a list that favours one group interacts with
the others, and every family fitted to the pooled table can miss together. In the battery's
``cov4`` design (two groups, one easy and one hard to capture, lists independent within
each) the default, stepwise, dga and latent-class intervals covered the truth in 0-10% of
replicates (``docs/validation.md``); stratifying by the group removes the heterogeneity.

For each covariate with 2 to ``max_levels`` values, :func:`covariate_check` reports:

* **whether capture differs across it**: the likelihood-ratio test of independence between
  the observed capture pattern and the covariate's value among the people listed,
  :math:`G^2 = 2 \sum_{h,g} n_{hg} \log(n_{hg} n / (n_{h\cdot} n_{\cdot g}))` on
  :math:`(H - 1)(G - 1)` degrees of freedom (patterns seen at least once; the
  :math:`\chi^2` reference is approximate with sparse cells);
* **the stratified point estimate**: the same log-linear selection (BIC over all
  hierarchical models on up to 5 lists, stepwise beyond) fitted in each group, summed;
* a ``covariate_changes_answer`` warning when that total falls outside the pooled
  estimate's interval and the test rejects independence at 1%: the pooled answer then rests
  on the groups being captured alike, which the lists contradict. The remedy is
  ``--strata COLUMN``, whose joint bootstrap gives the stratified total an interval.

Only point estimates are fitted here (a fraction of a second per group); groups with fewer
than ``min_records`` people listed, or whose fit fails, leave the covariate unchecked, with
the reason. The stratified analysis itself is :class:`~undercount.strata.StratifiedEstimator`.

**The default uses them.** When the package default (the pooled log-linear analysis) gets a
``covariate_changes_answer`` warning, :func:`default_strata` names the covariates to
stratify by: those that change the answer and have no missing values, strongest first
(smallest p-value, then largest :math:`G^2`), each crossed with the ones before it only
while every cell of the cross keeps ``min_records`` people listed. ``undercount estimate``
then reports the stratified total (:mod:`undercount.pipeline.estimate`), with the pooled
answer kept in this block. Within each group the lists are modelled as before; what the
stratification removes is the heterogeneity *between* the groups, the part the lists'
records can see (Bishop, Fienberg & Holland 1975, chapter 6; Sekar & Deming 1949 for the
same idea in two-list estimation).

References
----------
Bishop, Y. M. M., Fienberg, S. E. and Holland, P. W. (1975). *Discrete Multivariate
Analysis*, ch. 6 (capture-recapture; heterogeneity across strata). Agresti, A. (2013).
*Categorical Data Analysis*, 3rd ed., section 3.2 (the likelihood-ratio test of
independence). Sekar, C. C. and Deming, W. E. (1949). On a method of estimating birth and
death rates and the extent of registration. *JASA* 44, 101-115 (estimating within strata).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from undercount.core.result import Diagnostic, MSEResult
from undercount.core.table import CaptureTable
from undercount.errors import UndercountError
from undercount.models.loglinear import LogLinearEstimator
from undercount.models.loglinear.select import MAX_LISTS_ENUMERATE

__all__ = ["COVARIATE_CHANGES_ANSWER", "DEFAULT_STRATIFIED", "covariate_check", "default_strata"]

#: Diagnostic code: stratifying by a covariate moves N-hat outside the pooled interval.
COVARIATE_CHANGES_ANSWER = "covariate_changes_answer"

#: Diagnostic code: the default estimated within the groups of such covariates.
DEFAULT_STRATIFIED = "default_stratified"

#: Significance level of the test of independence behind the warning.
_ALPHA = 0.01


def _independence_test(table: CaptureTable, column: str) -> tuple[float, int, float]:
    """``(G2, df, p)`` of independence between capture pattern and ``column``."""
    codes = table.codes()
    groups = table.covariates[column].astype("string").fillna("<missing>").to_numpy()
    _, h = np.unique(codes, return_inverse=True)
    _, g = np.unique(groups, return_inverse=True)
    n_hg = np.zeros((h.max() + 1, g.max() + 1))
    np.add.at(n_hg, (h, g), table.counts)
    n = n_hg.sum()
    expected = n_hg.sum(axis=1, keepdims=True) * n_hg.sum(axis=0, keepdims=True) / n
    pos = n_hg > 0
    g2 = float(2.0 * np.sum(n_hg[pos] * np.log(n_hg[pos] / expected[pos])))
    df = (n_hg.shape[0] - 1) * (n_hg.shape[1] - 1)
    p = float(special.gammaincc(df / 2.0, g2 / 2.0)) if df > 0 else 1.0
    return g2, df, p


def _point(table: CaptureTable) -> float:
    select = "bic" if table.n_lists <= MAX_LISTS_ENUMERATE else "stepwise"
    return float(LogLinearEstimator(select=select).fit(table.aggregate()).estimate)


def covariate_check(
    result: MSEResult,
    table: CaptureTable,
    *,
    max_levels: int = 10,
    min_records: int = 30,
) -> tuple[dict[str, Any] | None, tuple[Diagnostic, ...]]:
    """Pooled against stratified N-hat for each covariate of ``table``; see the module.

    Returns the JSON block (``{"pooled": N-hat, "covariates": [...]}``, one entry per
    covariate with ``levels``, ``g2``, ``df``, ``p_value``, ``stratified_estimate``,
    ``by_level`` and ``changes_answer``, or ``skipped`` with the reason) and the warnings;
    ``(None, ())`` for a table without covariates or a result that is not log-linear.
    """
    if not table.has_covariates or result.method != "loglinear" or table.n_lists < 3:
        return None, ()
    lower, upper = result.interval.lower, result.interval.upper
    entries: list[dict[str, Any]] = []
    warnings: list[Diagnostic] = []
    for column in table.covariates.columns:
        values = table.covariates[column]
        levels = int(values.nunique(dropna=False))
        entry: dict[str, Any] = {"column": str(column), "levels": levels}
        entries.append(entry)
        if not 2 <= levels <= max_levels:
            entry["skipped"] = f"{levels} values (checked for 2 to {max_levels})"
            continue
        split = table.by_stratum([column])
        small = [k[0] for k, t in split.items() if t.n_observed < min_records]
        if small:
            entry["skipped"] = (f"{len(small)} of its groups have fewer than {min_records} "
                                f"people listed ({', '.join(map(str, small[:3]))})")
            continue
        g2, df, p = _independence_test(table, column)
        entry.update(g2=g2, df=df, p_value=p)
        by_level: dict[str, float] = {}
        try:
            for key, part in split.items():
                by_level[str(key[0])] = _point(part)
        except UndercountError as exc:
            entry["skipped"] = f"no estimate in group {key[0]}: {str(exc).splitlines()[0]}"
            continue
        total = float(sum(by_level.values()))
        changes = bool(p < _ALPHA and not lower <= total <= upper)
        entry.update(stratified_estimate=total, by_level=by_level, changes_answer=changes)
        if changes:
            warnings.append(Diagnostic(
                COVARIATE_CHANGES_ANSWER,
                f"capture depends on {column}: the lists catch its groups at different rates "
                f"(G2 = {g2:,.1f} on {df} df, p = {p:.2g}), and estimated within each group "
                f"N-hat totals {total:,.0f}, outside this interval "
                f"({lower:,.0f}-{upper:,.0f}). Pooling over {column} treats its groups as "
                f"captured alike; estimate with --strata {column}.",
            ))
    pooled = float(result.estimate)
    return {"pooled": pooled if math.isfinite(pooled) else None, "covariates": entries}, tuple(
        warnings)


def default_strata(
    block: dict[str, Any] | None, table: CaptureTable, *, min_records: int = 30
) -> tuple[str, ...]:
    """The covariates the default stratifies by (see the module docstring); ``()`` for none.

    ``block`` is :func:`covariate_check`'s; only covariates it found to change the answer
    and without missing values are used, and a covariate joins the cross only if every cell
    then has at least ``min_records`` people listed.
    """
    if not block:
        return ()
    flagged = sorted(
        (c for c in block["covariates"]
         if c.get("changes_answer") and not table.covariates[c["column"]].isna().any()),
        key=lambda c: (c["p_value"], -c["g2"]),
    )
    chosen: list[str] = []
    for c in flagged:
        trial = [*chosen, c["column"]]
        if all(t.n_observed >= min_records for t in table.by_stratum(trial).values()):
            chosen = trial
    return tuple(chosen)
