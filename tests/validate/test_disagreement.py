"""The battery's table of the `model families disagree` warning against the default's misses."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from undercount.validate.io import (
    disagreement,
    disagreement_markdown,
    warning_rates,
    warning_rates_markdown,
)


def _rows(design, rep, truth, fits):
    return [{"design": design, "replicate": rep, "family": f, "truth": truth, "n_observed": 50,
             "estimate": e, "lower": lo, "upper": hi, "status": "ok"}
            for f, (e, lo, hi) in fits.items()]


def test_warning_rate_where_the_default_misses():
    rows = (
        # families agree and the default covers
        _rows("d", 0, 100, {"bootstrap": (100, 90, 110), "lcm": (102, 92, 115)})
        # the default misses and the families disagree (disjoint intervals)
        + _rows("d", 1, 100, {"bootstrap": (70, 65, 75), "lcm": (101, 90, 120)})
        # the default misses and the families agree: a silent miss
        + _rows("d", 2, 100, {"bootstrap": (70, 65, 75), "lcm": (71, 64, 78)})
        # beyond 5 lists the default is stepwise; one family alone is not compared
        + _rows("e", 0, 100, {"stepwise": (80, 70, 90), "dga": (100, 95, 130)})
        + _rows("e", 1, 100, {"stepwise": (80, 70, 90)})
    )
    t = disagreement(pd.DataFrame(rows), families=("bootstrap", "stepwise", "lcm", "dga"))
    d = t.set_index("design")
    assert d.loc["d", "replicates"] == 3 and d.loc["d", "misses"] == 2
    assert d.loc["d", "coverage"] == pytest.approx(1 / 3)
    assert d.loc["d", "warned_when_missed"] == pytest.approx(0.5)
    assert d.loc["d", "covered_or_warned"] == pytest.approx(2 / 3)
    assert d.loc["e", "default"] == "stepwise" and d.loc["e", "replicates"] == 1
    assert d.loc["e", "warned"] == 1.0
    text = disagreement_markdown(t)
    assert "| d | bootstrap | 3 | 33.3% |" in text


def test_failed_fits_are_not_compared_and_no_miss_gives_no_rate():
    rows = _rows("d", 0, 100, {"bootstrap": (100, 90, 110), "lcm": (102, 92, 115)})
    rows.append({**rows[1], "family": "dga", "status": "failed"})
    t = disagreement(pd.DataFrame(rows))
    assert t.loc[0, "misses"] == 0 and math.isnan(t.loc[0, "warned_when_missed"])


def _own(design, rep, family, bounds, warnings=""):
    lower, upper = bounds
    return {"design": design, "replicate": rep, "family": family, "truth": 100,
            "n_observed": 50, "estimate": (lower + upper) / 2, "lower": lower, "upper": upper,
            "status": "ok", "warnings": warnings}


def test_warning_rates_count_the_default_rows_codes_on_misses_and_covered_tables():
    rows = [
        _own("d", 0, "default", (90, 110), "families_disagree"),
        _own("d", 1, "default", (90, 110)),
        _own("d", 2, "default", (60, 80), "families_disagree;non_overlapping_lists"),
        # a warning that is not about the answer does not count as warned
        _own("d", 3, "default", (120, 140), "non_overlapping_lists"),
        _own("d", 4, "default", (60, 80), "covariate_changes_answer"),
        {**_own("d", 5, "default", (60, 80), "families_disagree"), "status": "failed"},
        # another family's rows are not the default's
        _own("d", 0, "bootstrap", (60, 80)),
        _own("e", 0, "strata", (90, 110)),
    ]
    t = warning_rates(pd.DataFrame(rows)).set_index(["design", "family"])
    assert list(t.index) == [("d", "default"), ("e", "strata")]
    d = t.loc[("d", "default")]
    assert d["replicates"] == 5 and d["misses"] == 3 and d["misses_warned"] == 2
    assert d["misses_below"] == 2 and d["misses_below_warned"] == 2
    assert d["coverage"] == pytest.approx(0.4) and d["warned"] == pytest.approx(0.6)
    assert d["warned_when_missed"] == pytest.approx(2 / 3)
    assert d["warned_when_covered"] == pytest.approx(0.5)
    assert d["covered_or_warned"] == pytest.approx(0.8)
    e = t.loc[("e", "strata")]
    assert e["misses"] == 0 and math.isnan(e["warned_when_missed"])
    text = warning_rates_markdown(warning_rates(pd.DataFrame(rows)))
    assert "| d | default | 5 | 40.0% | 60.0% | 3 | 2 | 2 (2) | 66.7% | 50.0% | 80.0% |" in text
    assert "| e | strata | 1 | 100.0% | 0.0% | 0 | 0 | 0 (0) | – | 0.0% | 100.0% |" in text
