"""Labels feed back: clustering constraints, cache keys, error rates, the report section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from undercount.link.calibrate import Calibrator
from undercount.link.clerical import cohen_kappa, pairwise_error_rates, review_sample
from undercount.link.cluster import constrained_clusters
from undercount.pipeline.runner import Project
from undercount.review.session import ReviewSession


def test_must_and_cannot_link():
    edges = pd.DataFrame({"uid_l": [0, 1, 3], "uid_r": [1, 2, 4],
                          "match_probability": [0.95, 0.9, 0.99]})
    plain = constrained_clusters(6, edges)
    assert plain.cluster.tolist() == [0, 0, 0, 1, 1, 2]
    # 0-2 labelled a non-match: the weaker edge 1-2 is refused; 4-5 a match joins 5.
    res = constrained_clusters(6, edges, must_link=np.array([[5, 4]]),
                               cannot_link=np.array([[2, 0]]))
    assert res.cluster.tolist() == [0, 0, 1, 2, 2, 2]
    status = res.edges.set_index(["uid_l", "uid_r"])["status"]
    assert status[(1, 2)] == "refused" and status[(4, 5)] == "merged"
    # a cannot-link pair's own scored edge is dropped
    res = constrained_clusters(6, edges, cannot_link=pd.DataFrame({"uid_l": [3], "uid_r": [4]}))
    assert res.cluster[3] != res.cluster[4] and len(res.edges) == 2


def test_review_sample_inclusion_probabilities():
    rng = np.random.default_rng(1)
    p = np.concatenate([np.full(5000, 1e-9), rng.uniform(0, 1, 300), np.full(700, 1 - 1e-9)])
    sample, strata = review_sample(p, n_design=100, n_threshold=10, n_suspicious=0,
                                   threshold=0.5, rng=np.random.default_rng(2))
    design = sample[sample["kind"] == "design"]
    assert len(design) == 100 and sample["index"].is_unique
    assert strata["drawn"].sum() == 100 and strata["pairs"].sum() == len(p)
    # inclusion = drawn / pairs in the band, and the weights add up to the band sizes
    for b, g in design.groupby("band"):
        row = strata.set_index("band").loc[b]
        assert g["inclusion"].iloc[0] == pytest.approx(row["drawn"] / row["pairs"])
        assert g["weight"].sum() == pytest.approx(row["pairs"])
    near = sample[sample["kind"] == "threshold"]
    assert len(near) == 10 and near["inclusion"].isna().all()
    assert np.abs(p[near["index"]] - 0.5).max() < 0.1


def test_error_rates_are_design_unbiased():
    # a population of pairs, a linkage with known precision and recall; many samples
    rng = np.random.default_rng(3)
    n = 4000
    band = rng.integers(0, 4, n)
    match = rng.uniform(size=n) < np.array([0.01, 0.2, 0.7, 0.97])[band]
    linked = np.where(match, rng.uniform(size=n) < 0.9, rng.uniform(size=n) < 0.05)
    true_p = (match & linked).sum() / linked.sum()
    true_r = (match & linked).sum() / match.sum()
    pop = {b: int((band == b).sum()) for b in range(4)}
    est, covered = [], 0
    for _ in range(300):
        idx = np.concatenate([rng.choice(np.flatnonzero(band == b), 60, replace=False)
                              for b in range(4)])
        r = pairwise_error_rates(match[idx], linked[idx], band[idx], pop)
        est.append((r["precision"].estimate, r["recall"].estimate))
        covered += r["recall"].lower <= true_r <= r["recall"].upper
    est = np.array(est)
    assert est[:, 0].mean() == pytest.approx(true_p, abs=0.01)
    assert est[:, 1].mean() == pytest.approx(true_r, abs=0.01)
    assert covered / 300 >= 0.9


def test_kappa_and_weighted_calibration():
    a = pd.Series(["match", "match", "non-match", "non-match"], index=list("wxyz"))
    b = pd.Series(["match", "non-match", "non-match", "non-match"], index=list("wxyz"))
    kappa, n = cohen_kappa(a, b)
    assert n == 4 and kappa == pytest.approx(0.5)
    p = np.array([0.1, 0.2, 0.8, 0.9])
    y = np.array([1, 0, 0, 1])
    plain = Calibrator("isotonic").fit(p, y).transform(np.array([0.1]))
    heavy = Calibrator("isotonic").fit(p, y, sample_weight=np.array([9, 1, 1, 1])).transform(
        np.array([0.1]))
    # pooled violators: 1/3 unweighted, 9/11 with the first pair's weight 9
    assert plain[0] == pytest.approx(1 / 3) and heavy[0] == pytest.approx(9 / 11)


def test_labels_rerun_only_downstream_and_report_section(project, truth):
    session = ReviewSession(project)
    labelled = 0
    for row in session.design.itertuples():
        if row.kind != "design" or labelled >= 60:
            continue
        a, b = session.std.loc[row.uid_l], session.std.loc[row.uid_r]
        same = truth[(a["list"], a["record_id"])] == truth[(b["list"], b["record_id"])]
        session.add_label(row.pair_id, "match" if same else "non-match", reviewer="sim")
        labelled += 1
    p = Project(project)
    before = {r.stage: r.output_hash for r in p.store.stages()}
    summary = p.run()
    # The stages before linkage are kept; link and everything downstream of it rerun,
    # except a stage whose input came out identical (the cache is content-addressed: the
    # labels may move records without changing the capture table the estimate reads).
    after = {r.stage: r.output_hash for r in p.store.stages()}
    assert summary.cached()[:2] == ["ingest", "standardise"]
    assert {"link", "tabulate", "report"} <= set(summary.ran())
    table_changed = before["tabulate"] != after["tabulate"]
    assert ("estimate" in summary.ran()) == table_changed
    link = p.store.stage("link").summary
    n_match = int((session.store.latest_labels()["label"] == "match").sum())
    assert link["must_link"] == n_match and link["cannot_link"] == 60 - n_match
    assert before["standardise"] == p.store.stage("standardise").output_hash
    # every labelled pair obeys its label in the reviewed clustering
    cl = p.store.read_frame("clusters").set_index("uid")["cluster_id"]
    for r in session.store.latest_labels().itertuples():
        if r.label in ("match", "non-match"):
            assert (cl[r.uid_l] == cl[r.uid_r]) == (r.label == "match")
    html = (project.parent / "linked" / "report.html").read_text()
    assert 'id="review"' in html and "Linkage review" in html
    assert 'id="review-rates"' in html and "precision" in html and "recall" in html
    assert "without review" in html and "with review" in html
    # unchanged labels: nothing reruns
    assert Project(project).run().ran() == []


def test_scripted_reviewer_family_runs_through_the_api():
    from undercount.validate import BatteryOptions, run_battery
    from undercount.validate.families import scripted_review
    from undercount.validate.record_designs import _record_designs

    opts = BatteryOptions(review_pairs=40, linkage_draws=5)
    res = run_battery(["link4"], ["linkavg-rev-stepwise", "linkavg-rev5-stepwise"],
                      replicates=1, seed=2, options=opts)
    assert (res["status"] == "ok").all(), res[["status", "message"]]
    assert ((res["lower"] <= res["estimate"]) & (res["estimate"] <= res["upper"])).all()
    # a perfect reviewer's labels fix the reviewed pairs to the truth
    _, records, pairs = _record_designs()["link4"].sample_linkage(np.random.default_rng(7))
    out = scripted_review(pairs, records, n_review=40, error_rate=0.0,
                          rng=np.random.default_rng(8))
    fixed = out["reviewed"].notna()
    assert fixed.sum() == 40
    assert (out.loc[fixed, "reviewed"] == pairs.loc[fixed, "is_match"]).all()
    assert (out.loc[fixed, "match_probability"] == out.loc[fixed, "reviewed"]).all()
    free = out.loc[~fixed, "match_probability"]
    assert free.between(0, 1).all() and not np.allclose(free, pairs.loc[~fixed,
                                                                         "match_probability"])


def test_linkage_draws_average_over_reviewed_linkages(project, truth):
    text = project.read_text().replace('[estimate]\n', '[estimate]\nlinkage_draws = 5\n', 1)
    project.write_text(text)
    p = Project(project)
    p.run()
    headline = p.store.result("headline")
    assert headline.method == "linkage-averaging" and headline.n_draws == 5
    assert not any(d.code == "linkage_reviewed" for d in headline.diagnostics)
    session = ReviewSession(project)
    for row in session.design.itertuples():
        if row.kind == "design" and row.band in (4, 5, 6):
            a, b = session.std.loc[row.uid_l], session.std.loc[row.uid_r]
            same = truth[(a["list"], a["record_id"])] == truth[(b["list"], b["record_id"])]
            session.add_label(row.pair_id, "match" if same else "non-match", reviewer="sim")
    summary = Project(project).run()
    # New labels rerun the averaging even where the capture table did not change.
    assert "estimate" in summary.ran()
    reviewed = Project(project).store.result("headline")
    note = next(d.message for d in reviewed.diagnostics if d.code == "linkage_reviewed")
    assert "design-sample labels" in note
    html = (project.parent / "linked" / "report.html").read_text()
    assert "with review, over plausible linkages" in html
    assert Project(project).run().ran() == []


def test_a_new_standardised_column_standardises_the_store_again(project, monkeypatch):
    """A store standardised before a column was added is standardised again (the stage key
    holds the columns), not read without it."""
    import undercount.pipeline.runner as runner

    assert Project(project).run().ran() == []
    monkeypatch.setattr(runner, "STD_COLUMNS", (*runner.STD_COLUMNS, "a_new_column"))
    ran = Project(project).run().ran()
    assert ran[0] == "standardise"
