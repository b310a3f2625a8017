"""The list simulator: known truth, determinism, capture model, and noise."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.errors import ConfigError
from undercount.names import ids_valid, normalise_arabic, standardise
from undercount.simulate import NoiseSpec, SimulatedList, Simulation, default_lists, simulate_lists


@pytest.fixture(scope="module")
def sim() -> Simulation:
    specs = default_lists(4)
    # More duplicates than the real default, so the test sees some.
    specs[0] = SimulatedList(name="hospital", rate=0.55, effects={"child": 0.3},
                        noise=NoiseSpec(duplicates=0.02))
    return simulate_lists(n_people=5000, lists=specs, rng=np.random.default_rng(7), seed=7)


def test_truth_matches_lists(sim):
    truth = sim.truth
    for spec in sim.specs:
        records = sim.lists[spec.name]
        t = truth[truth.list == spec.name]
        assert len(records) == len(t)
        assert records["record_id"].is_unique
        assert set(records["record_id"]) == set(t["record_id"])
        # Distinct people on the list = the population's indicator column.
        assert t["person_id"].nunique() == int(sim.population[spec.name].sum())
        # Duplicates: every record after a person's first in list order.
        dup = t.groupby("person_id").size()
        assert int(t["duplicate"].sum()) == int((dup - 1).sum())
    assert truth[truth.list == "hospital"]["duplicate"].sum() > 20


def test_capture_table_matches_truth(sim):
    table = sim.capture_table()
    assert table.lists == sim.list_names
    observed = sim.truth["person_id"].nunique()
    assert table.n_observed == observed
    for name in sim.list_names:
        assert table.list_sizes[name] == sim.truth[sim.truth.list == name].person_id.nunique()
    # Patterns: recompute from the truth table.
    wide = pd.crosstab(sim.truth.person_id, sim.truth.list).clip(upper=1)[list(sim.list_names)]
    codes = (wide.to_numpy() * (2 ** np.arange(len(sim.list_names))[::-1])).sum(axis=1)
    expected = np.bincount(codes, minlength=2 ** len(sim.list_names))
    np.testing.assert_array_equal(table.aggregate().full_counts(), expected)
    assert set(table.covariates.columns) == {"sex", "age", "place"}


def _hash_dir(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_seeded_determinism(tmp_path):
    a = simulate_lists(n_people=2000, lists=3, rng=np.random.default_rng(11), seed=11)
    b = simulate_lists(n_people=2000, lists=3, rng=np.random.default_rng(11), seed=11)
    c = simulate_lists(n_people=2000, lists=3, rng=np.random.default_rng(12), seed=12)
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    c.write(tmp_path / "c")
    ha, hb, hc = (_hash_dir(tmp_path / x) for x in "abc")
    assert set(ha) == {"lists/hospital.csv", "lists/family.csv", "lists/media.csv",
                       "truth.csv", "population.csv", "project.toml"}
    assert ha == hb
    assert ha["truth.csv"] != hc["truth.csv"]


def test_write_refuses_and_overwrites(tmp_path, sim):
    out = tmp_path / "out"
    sim.write(out)
    with pytest.raises(ConfigError, match="not empty"):
        sim.write(out)
    sim.write(out, overwrite=True)
    assert (out / "project.toml").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_population_covariates(sim):
    pop = sim.population
    assert pop["person_id"].is_unique
    assert pop["national_id"].is_unique
    assert all(ids_valid(pop["national_id"]))
    assert pop["sex"].isin(["m", "f"]).all()
    assert 0.30 < (pop["sex"] == "f").mean() < 0.42  # 36.0% in the 2024-08-31 list
    assert pop["age"].between(0, 102).all()
    dob = pd.to_datetime(pop["dob"])
    dod = pd.to_datetime(pop["dod"])
    assert (dod >= pd.Timestamp("2023-10-01")).all() and (dod <= pd.Timestamp("2024-06-30")).all()
    years = dod.dt.year - dob.dt.year - (
        (dod.dt.month < dob.dt.month) | ((dod.dt.month == dob.dt.month) & (dod.dt.day < dob.dt.day))
    )
    assert (years == pop["age"]).all()


def test_noise_in_lists(sim):
    hospital = sim.lists["hospital"]
    family = sim.lists["family"]
    media = sim.lists["media"]
    # Family list: every record passed through the lam-alef extraction artefact.
    t = sim.truth.set_index(["list", "record_id"])
    pop = sim.population.set_index("person_id")
    pid = t.loc[[("family", r) for r in family.record_id], "person_id"].to_numpy()
    true_names = pop.loc[pid, "name"].to_numpy()
    has_la = np.array(["لا" in n or "الله" in n for n in true_names])
    assert has_la.sum() > 50
    # (The reversed blocks هللا and لاير themselves contain لا.)
    assert not any("لا" in n.replace("لاير", "").replace("هللا", "")
                   for n in family["name"][has_la])
    # ... and normalisation restores most of them.
    restored = np.mean([normalise_arabic(a) == normalise_arabic(b)
                        for a, b in zip(family["name"][has_la], true_names[has_la], strict=True)])
    assert restored > 0.75
    # Media: Latin names only, no IDs or DOBs.
    assert list(media.columns) == ["record_id", "name_en", "sex", "age", "date_of_death",
                                   "governorate"]
    assert media["name_en"].str.contains("[a-z]").all()
    # DOB heaping near the default 7% (plus chance), ID check failures around 0.7%.
    jan01 = hospital["date_of_birth"].str.endswith("-01-01").mean()
    assert 0.05 < jan01 < 0.10
    fails = 1 - np.mean([v is True for v in ids_valid(hospital["id_number"])])
    assert fails < 0.03


def test_standardise_on_simulated_lists_links_across_scripts(sim):
    out = {}
    roles = {"sex": "sex", "age": "age", "dob": "date_of_birth", "dod": "date_of_death",
             "place": "governorate", "national_id": "id_number"}
    for spec in sim.specs:
        frame = sim.lists[spec.name]
        cols = {r: c for r, c in roles.items() if c in frame.columns}
        if "name" in frame:
            cols["name_ar"] = "name"
        if "name_en" in frame:
            cols["name_lat"] = "name_en"
        std = standardise(frame, cols, list_name=spec.name, id_column="record_id")
        out[spec.name] = std.merge(sim.truth, on=["list", "record_id"]).drop_duplicates(
            "person_id").set_index("person_id")
    a, b = out["hospital"], out["media"]
    both = a.index.intersection(b.index)
    agree = (a.loc[both, "name_key"] == b.loc[both, "name_key"]).mean()
    # Arabic vs independently varied Latin names of the same person (measured 0.98-0.99).
    assert agree > 0.95


def test_capture_model_heterogeneity_and_dependence():
    rng = np.random.default_rng(3)
    specs = [
        SimulatedList(name="a", rate=0.3, effects={"female": 1.0}),
        SimulatedList(name="b", rate=0.3, depends_on={"a": 1.5}),
    ]
    s = simulate_lists(n_people=20000, lists=specs, rng=rng, mean_group_size=1.0)
    pop = s.population
    female = pop["sex"] == "f"
    pa_f, pa_m = pop.loc[female, "a"].mean(), pop.loc[~female, "a"].mean()
    # logit^-1(logit(.3) + 1) = 0.538 for women; 0.3 for men aged 30 (no age effect).
    assert pa_f == pytest.approx(0.538, abs=0.02)
    assert pa_m == pytest.approx(0.30, abs=0.015)
    pb_a = pop.loc[pop["a"] == 1, "b"].mean()
    pb_na = pop.loc[pop["a"] == 0, "b"].mean()
    assert pb_na == pytest.approx(0.30, abs=0.015)
    assert pb_a == pytest.approx(1 / (1 + np.exp(-(np.log(0.3 / 0.7) + 1.5))), abs=0.02)


def test_spec_validation():
    with pytest.raises(ConfigError, match="rate"):
        SimulatedList(name="a", rate=1.2)
    with pytest.raises(ConfigError, match="unknown covariate"):
        SimulatedList(name="a", rate=0.3, effects={"height": 1})
    with pytest.raises(ConfigError, match="reserved"):
        SimulatedList(name="sex", rate=0.3)
    with pytest.raises(ConfigError, match="probability"):
        NoiseSpec(lam_alef=2)
    with pytest.raises(ConfigError, match="come before"):
        simulate_lists(n_people=10, lists=[SimulatedList(name="a", rate=0.3, depends_on={"b": 1}),
                                           SimulatedList(name="b", rate=0.3)],
                       rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="at least 2"):
        simulate_lists(n_people=10, lists=[SimulatedList(name="a", rate=0.3)],
                       rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="unknown key"):
        SimulatedList.from_dict({"name": "a", "rate": 0.3, "colour": "red"})
    spec = SimulatedList.from_dict({"name": "a", "rate": 0.3, "noise": {"lam_alef": 1.0}})
    assert spec.noise.lam_alef == 1.0


def test_project_toml_shape(sim):
    import tomllib

    doc = tomllib.loads(sim.project_toml())
    assert doc["project"] == {"name": "simulated", "seed": 7, "output": "linked"}
    assert doc["link"] == {"backend": "duckdb"}
    assert doc["strata"] == {"columns": ["sex"]}
    first = doc["lists"][0]
    assert first == {
        "name": "hospital", "file": "lists/hospital.csv", "format": "csv",
        "id_column": "record_id",
        "columns": {"name_ar": "name", "sex": "sex", "age": "age", "dob": "date_of_birth",
                    "dod": "date_of_death", "place": "governorate",
                    "national_id": "id_number"},
    }
    assert doc["lists"][2]["columns"]["name_lat"] == "name_en"
