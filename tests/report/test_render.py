"""The HTML report: headline numbers, sections, self-containment, redaction."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from undercount.core.result import CLOSED_POPULATION, LINKED_WITHOUT_ERROR, Diagnostic
from undercount.report import RedactionError, build_report, draws_of, render_report
from undercount.uncertainty import compare_reported

REPORTED = 37877


class _Headline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if d.get("id") == "headline":
            self.attrs = {k: v for k, v in d.items() if k.startswith("data-")}


def headline_attrs(html: str) -> dict[str, str]:
    p = _Headline()
    p.feed(html)
    return p.attrs


def test_headline_numbers_match_the_result(gaza_result):
    table, res = gaza_result
    html = render_report(res, table=table, reported=REPORTED)
    a = headline_attrs(html)
    assert float(a["data-estimate"]) == res.estimate
    assert float(a["data-lower"]) == res.interval.lower
    assert float(a["data-upper"]) == res.interval.upper
    assert int(a["data-n-observed"]) == 29271
    cmp = compare_reported(res.estimate, res.interval, REPORTED)
    assert float(a["data-undercount"]) == pytest.approx(cmp.undercount, rel=1e-12)
    assert float(a["data-undercount-lower"]) == pytest.approx(
        cmp.undercount_interval.lower, rel=1e-12)
    # The saturated model's 64,696 and the paper's "under-reporting by 41%".
    assert round(res.estimate) == 64696
    text = re.sub(r"<[^>]+>", "", html)
    assert f"An estimated {res.estimate:,.0f}" in text
    assert "the lists together name 29,271 people" in text
    assert f"{REPORTED:,} is 41% (" in text


def test_sections_and_no_network_resources(gaza_result):
    table, res = gaza_result
    html = render_report(res, table=table, reported=REPORTED, comparison=[res])
    for section in ("headline", "overlaps", "estimates", "sensitivity", "diagnostics",
                    "assumptions", "provenance"):
        assert f'id="{section}"' in html
    assert html.count("<svg") >= 2  # UpSet plot and sensitivity forest
    # Nothing is fetched: no src/href other than in-page anchors or data: URIs, no scripts.
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#|data:)""", html)
    assert "<script" not in html.lower()
    assert "@import" not in html
    # Coverage of each list is its size over the estimate.
    assert f'data-coverage="{22347 / res.estimate!r}"' in html


def test_strata_forest_and_distributions(gaza_result):
    import arviz as az

    table, res = gaza_result
    rng = np.random.default_rng(3)
    draws = az.from_dict(posterior={"N": rng.normal(res.estimate, 2000, size=(2, 300))})
    bayes = dataclasses.replace(res, method="dga", model="toy", draws=draws)
    assert draws_of(bayes).shape == (600,)
    assert draws_of(res) is None
    html = render_report(res, table=table, strata={"sex=female": res, "sex=male": bayes},
                         strata_total=res, strata_failures={"sex=nan": "too few records"},
                         comparison=[res, bayes])
    assert 'id="distributions"' in html
    assert "600 posterior draws" in html
    assert "sex=female" in html and "not estimated: too few records" in html


NAMES = ["Zainab Al-Masri", "Mohammed Abu Salem", "Layla Haddad"]
IDS = ["ID-400123456", "ID-400998877", "ID-401555111"]


def _records() -> dict[str, pd.DataFrame]:
    return {"hospital": pd.DataFrame({"record_id": IDS, "name": NAMES, "sex": ["f", "m", "f"]})}


def test_redaction_removes_every_name_and_id(gaza_result):
    table, res = gaza_result
    diag = [("link", "warning", f"record {IDS[1]} ({NAMES[1]}) matched two people")]
    kwargs = dict(table=table, reported=REPORTED, records=_records(), diagnostics=diag,
                  sensitive=[*NAMES, *IDS], subtitle=f"reviewed with {NAMES[2]}")
    plain = build_report(res, **kwargs).html
    assert all(s in plain for s in NAMES + IDS)  # the test would catch a leak
    report = build_report(res, redact=True, **kwargs)
    for s in NAMES + IDS:
        assert s not in report.html
        assert s not in report.print_html
    assert "[redacted]" in report.html
    assert 'id="records"' not in report.html
    assert headline_attrs(report.html)["data-estimate"] == repr(res.estimate)


def test_redaction_refuses_to_write_a_leak(gaza_result, monkeypatch):
    from undercount.report import render

    table, res = gaza_result
    # A scrubber that misses a value: the final check must stop the report.
    monkeypatch.setattr(render._Scrubber, "__call__", lambda self, text: text)
    monkeypatch.setattr(render._Scrubber, "deep", lambda self, obj: obj)
    with pytest.raises(RedactionError):
        build_report(res, table=table, title=f"List of {NAMES[0]}", sensitive=NAMES,
                     redact=True)


def test_diagnostics_are_listed(gaza_result):
    table, res = gaza_result
    extra = [Diagnostic("x", "the sky is falling", "error")]
    html = render_report(res, table=table, diagnostics=extra)
    assert "the sky is falling" in html


def test_report_repr_html_is_isolated(gaza_result):
    table, res = gaza_result
    rep = build_report(res, table=table)
    frag = rep._repr_html_()
    assert frag.startswith("<iframe srcdoc=") and "<html" not in frag


def test_identifying_assumption_section_and_non_identified_family(gaza_result):
    import undercount as uc
    from undercount.models.graphical import GraphicalEstimator
    from undercount.uncertainty.identifying import identifying_summary

    table, res = gaza_result
    res = dataclasses.replace(res, identifying=identifying_summary(res, table))
    dga = GraphicalEstimator().fit(uc.datasets.load("gaza_lancet_2025"))
    assert not dga.identified
    html = render_report(res, table=table, reported=REPORTED, comparison=[res, dga])
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert 'id="identifying"' in html
    # The factor 2 row: twice the unobserved.
    doubled = res.n_observed + 2 * (res.estimate - res.n_observed)
    assert f"{doubled:,.0f}" in text
    # dga's prior-driven 30,550 is never shown as a point, in the table or the forest plot.
    assert "not identified" in text
    assert f"{dga.estimate:,.0f}" not in text.split("Diagnostics and warnings")[0]
    assert "A bar in place of a point" not in text  # no tied models here


def _headline_warning(html: str) -> str | None:
    m = re.search(r'<p class="warn" id="headline-disagreement">(.*?)</p>', html, re.S)
    return m.group(1) if m else None


def test_headline_carries_the_result_s_own_disagreement_first(gaza_result):
    from undercount.models.graphical import GraphicalEstimator
    from undercount.uncertainty.families import FAMILIES_DISAGREE_CODE

    table, res = gaza_result
    assert _headline_warning(render_report(res, table=table)) is None
    own = dataclasses.replace(res, diagnostics=(*res.diagnostics, Diagnostic(
        FAMILIES_DISAGREE_CODE, "model families disagree: the default's own check")))
    assert _headline_warning(render_report(own, table=table)) == (
        "model families disagree: the default&#39;s own check")
    # Without one, the sensitivity section's comparison speaks (on Gaza the tied Mth
    # models reach 123,344, further from the headline than its interval is wide).
    from undercount.models.heterogeneity import HeterogeneityEstimator

    het = HeterogeneityEstimator().fit(table.aggregate())
    dga = GraphicalEstimator().fit(table.aggregate())
    html = render_report(res, table=table, comparison=[res, het, dga])
    shown = _headline_warning(html)
    assert shown is not None and shown.startswith("model families disagree")
    html = render_report(own, table=table, comparison=[res, het, dga])
    assert _headline_warning(html).endswith("own check")


def test_models_the_lists_cannot_choose_among_are_shown_as_their_range(gaza_result,
                                                                        monkeypatch):
    # On the Gaza table the four Mth models tie on AIC (68,575 to 123,344): the
    # side-by-side table and its forest plot show the range, not Mth-Chao's point.
    from undercount.models.heterogeneity import HeterogeneityEstimator
    from undercount.report import plots

    table, res = gaza_result
    het = HeterogeneityEstimator().fit(table.aggregate())
    assert het.tied_models is not None
    drawn: list = []
    real = plots.forest_plot

    def spy(rows, **kw):
        drawn.extend(rows)
        return real(rows, **kw)

    monkeypatch.setattr(plots, "forest_plot", spy)
    html = render_report(res, table=table, reported=REPORTED, comparison=[res, het])
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "68,575 to 123,344" in text and "4 models tied" in text
    assert "70,383" not in text  # Mth-Chao's own upper end: not shown alone
    assert "A bar in place of a point spans the estimates" in text
    (row,) = [r for r in drawn if r.label.startswith("heterogeneity")]
    assert row.span == pytest.approx((68574.8, 123343.9), abs=0.1)
    assert (row.lower, row.upper) == tuple(het.tied_models["interval"])


def test_the_sensitivity_table_names_each_familys_own_assumption(gaza_result):
    # Closure and error-free linkage are every family's; the column names what the family's
    # estimate of the people on no list rests on.
    from undercount.report.render import _own_assumption

    _, res = gaza_result
    assert res.assumptions[0].startswith("Closed population")
    assert _own_assumption(res).startswith("No highest-order interaction")
    shared = dataclasses.replace(res, assumptions=(CLOSED_POPULATION, LINKED_WITHOUT_ERROR))
    assert _own_assumption(shared) == CLOSED_POPULATION
    assert _own_assumption(dataclasses.replace(res, assumptions=())) == "–"


def test_the_identifying_table_prints_each_factor_as_it_is(gaza_result):
    from undercount.report.render import _identifying

    table, res = gaza_result
    block = _identifying(res, table, None, "")
    assert [r["factor"] for r in block["rows"]] == ["0.5", "0.667", "0.8", "1", "1.25", "1.5",
                                                    "2"]
    assert block["rows"][3]["shift"] == "+0.00"


def test_one_distribution_per_fit(gaza_result):
    # the headline and the comparison's member of the same family, equal but not the same
    # object (a default that left one family all the weight): drawn once
    import arviz as az

    table, res = gaza_result
    draws = az.from_dict(posterior={"N": np.random.default_rng(3).normal(
        res.estimate, 2000, size=(2, 300))})
    bayes = dataclasses.replace(res, method="dga", model="toy", draws=draws)
    again = dataclasses.replace(bayes, diagnostics=())
    html = render_report(bayes, table=table, comparison=[again, res])
    assert html.count("600 posterior draws") == 1


def test_the_models_table_marks_the_model_the_estimate_rests_on(gaza_result):
    from undercount.report.render import _main_section

    _, res = gaza_result
    rows = _main_section(res)["models"]
    chosen = [r for r in rows if r["status"].endswith(", selected")]
    assert [r["model"] for r in chosen] == [res.model]
