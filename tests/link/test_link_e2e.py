"""End-to-end linkage of a small FEBRL fixture (and of simulated lists when available)."""

import json

import numpy as np
import pandas as pd
import pytest

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, InputError
from undercount.link.evaluate import load_truth
from undercount.link.pipeline import link_project, read_linkage
from undercount.uncertainty.linkage_effect import evaluate_linkage


def test_link_fixture_end_to_end(make_project):
    path = make_project()
    before = {p.name: p.read_bytes() for p in path.parent.glob("*.csv")}
    result = link_project(path)
    out = path.parent / "linked"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "records.parquet", "capture_histories.parquet", "capture_table.json",
        "suspicious_clusters.csv", "edges.parquet", "standardised.parquet",
        "link_settings.json", "provenance.json",
    ])
    # inputs untouched, no temporary folders left behind
    assert {p.name: p.read_bytes() for p in path.parent.glob("*.csv")} == before
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        ["febrl_a.csv", "febrl_b.csv", "project.toml", "linked"]
    )
    data = read_linkage(out)
    records = data["records"]
    assert len(records) == 300 + 315
    truth = load_truth("febrl", records)
    ev = evaluate_linkage(
        records, truth, lists=["a", "b"], standardised=data["standardised"],
        blocking_rules=data["settings"].blocking_rules,
    )
    assert ev.pairwise["precision"] >= 0.98
    assert ev.pairwise["recall"] >= 0.95
    assert ev.blocking["recall"] >= 0.95
    # The estimate from linked histories is close to the one from the truth: Chapman's N
    # moves by about 1/m per missed cross-list match (m = 215 here), so a few misses give ~2%.
    assert ev.estimate["method"] == "chapman"
    assert abs(ev.estimate["relative_error"]) < 0.05
    side = json.loads((out / "capture_table.json").read_text())
    assert side["lists"] == ["a", "b"] and side["strata"] == ["state"]
    hist = pd.read_parquet(out / "capture_histories.parquet")
    table = CaptureTable.from_individuals(hist, lists=side["lists"], covariates=side["strata"])
    assert table.n_observed == len(hist) == result.capture_histories.shape[0]
    assert set(table.by_stratum(["state"])) <= {(s,) for s in hist["state"].unique()}
    # every record's cluster appears in the capture histories with its list flagged
    merged = records.merge(hist, on="cluster_id")
    assert (merged.apply(lambda r: r[r["list"]], axis=1) == 1).all()


@pytest.mark.slow
def test_same_seed_same_clusters(make_project):
    path = make_project()
    first = link_project(path, write=False)
    again = link_project(path, write=False)
    assert np.array_equal(again.records["cluster_id"], first.records["cluster_id"])
    assert first.settings.model == again.settings.model


def test_bad_input_column_writes_nothing(make_project):
    path = make_project()
    text = path.read_text().replace('family_lat = "surname"', 'family_lat = "surnam"', 1)
    path.write_text(text)
    with pytest.raises(InputError, match=r"febrl_a.csv: column 'surnam' .*columns.family_lat"):
        link_project(path)
    assert not (path.parent / "linked").exists()


def test_repeated_record_id_writes_nothing(make_project):
    path = make_project()
    a = pd.read_csv(path.parent / "febrl_a.csv", dtype=str)
    a.loc[5, "rec_id"] = a.loc[3, "rec_id"]
    a.to_csv(path.parent / "febrl_a.csv", index=False)
    with pytest.raises(InputError, match="rows 5, 7, column 'rec_id': record id 'rec-3-org'"):
        link_project(path)
    assert not (path.parent / "linked").exists()


def test_bad_option_writes_nothing(make_project):
    path = make_project(extra_link='blocking_rules = [["given_key", "shoe_size"]]')
    with pytest.raises(ConfigError, match="blocking_rules\\[0\\]: unknown column"):
        link_project(path)
    assert not (path.parent / "linked").exists()


def test_failed_run_keeps_previous_output(make_project, monkeypatch):
    path = make_project()
    out = path.parent / "linked"
    out.mkdir()
    # The output of an earlier run (a folder of the user's would be refused before any work).
    (out / "provenance.json").write_text("previous run")
    import undercount.link.pipeline as pipeline

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "capture_histories", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        link_project(path)
    assert [p.name for p in out.iterdir()] == ["provenance.json"]
    assert (out / "provenance.json").read_text() == "previous run"
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        ["febrl_a.csv", "febrl_b.csv", "project.toml", "linked"]
    )


def test_link_simulated_arabic_latin_lists(tmp_path):
    """Three simulated lists (two Arabic, one Latin-only with no DOB or ID) with known truth."""
    simulate = pytest.importorskip("undercount.simulate")
    sim = simulate.simulate_lists(
        n_people=1500, lists=3, rng=np.random.default_rng(11), seed=11
    )
    sim.write(tmp_path)
    result = link_project(tmp_path / "project.toml")
    truth = sim.truth.assign(record_id=sim.truth["record_id"].astype(str))
    rec = result.records.merge(truth, on=["list", "record_id"], how="left")
    assert rec["person_id"].notna().all()
    ev = evaluate_linkage(rec, rec["person_id"].to_numpy(), lists=list(sim.lists))
    assert ev.pairwise["precision"] >= 0.98
    assert ev.pairwise["recall"] >= 0.95
    assert abs(ev.estimate["relative_error"]) < 0.05
    # No cluster joins two different valid national IDs or two sexes.
    std = result.standardised.assign(cluster_id=result.records["cluster_id"])
    valid = std[std["id_valid"].fillna(False).astype(bool)]
    assert valid.groupby("cluster_id")["national_id"].nunique().max() <= 1
    assert std.groupby("cluster_id")["sex"].nunique().max() <= 1
