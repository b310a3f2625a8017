"""On Spark, u by random sampling in one pass is Splink's own u (marker ``spark``).

:func:`undercount.link.u_sampling.estimate_u` replaces Splink's
``estimate_u_using_random_sampling`` on Spark too (one query per chunk for every
comparison still counting instead of one comparison at a time); the counts are the same
pairs' counts, so the trained u must be identical, on the linker the Spark pipeline builds
(DuckDB's record hashes and similarity functions).
"""

from __future__ import annotations

import json
import os
import sys
from copy import deepcopy
from pathlib import Path

import numpy as np
import pytest

from undercount.io.lists import read_list
from undercount.io.project import load_project
from undercount.link._standardise import standardise_lists
from undercount.link.backends import spark_available
from undercount.link.pipeline import settings_for
from undercount.link.relatives import add_relative_columns
from undercount.link.u_sampling import estimate_u, supported
from undercount.simulate import simulate_lists

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not spark_available(), reason="needs pyspark and Java"),
]

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def spark():
    from undercount.link.backends import spark_session

    os.environ.setdefault("PYTHONPATH", SRC)
    conf = {"spark.sql.shuffle.partitions": "4", "spark.pyspark.python": sys.executable,
            "spark.ui.enabled": "false"}
    session = spark_session("local[2]", conf, app_name="undercount-u-test")
    yield session
    session.stop()


@pytest.fixture
def clean(spark):
    """Each test registers its lists under the same names: drop them afterwards."""
    yield spark
    for table in spark.catalog.listTables():
        if table.isTemporary:
            spark.catalog.dropTempView(table.name)
    spark.catalog.clearCache()


def _project(tmp_path, n_people: int, seed: int, **overrides):
    """A simulated 3-list project: its config, standardised records, link settings (with
    ``overrides``) and the records with the relatives' columns, as the Spark pipeline
    reads them (object columns as strings)."""
    sim = simulate_lists(n_people=n_people, lists=3, rng=np.random.default_rng(seed),
                         seed=seed)
    sim.write(tmp_path)
    config = load_project(tmp_path / "project.toml")
    std = standardise_lists([read_list(s) for s in config.lists], config.lists)
    std.attrs.clear()
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    settings = settings.__class__.from_dict({**settings.to_dict(), **overrides})
    rel = add_relative_columns(std)
    rel = rel.astype({c: "string" for c in rel.columns
                      if rel[c].dtype == object and c != "name_token_set"})
    return config, std, settings, rel


@pytest.mark.parametrize("max_pairs", [2e4, 2e5])
def test_u_in_one_pass_is_splinks_u_on_spark(clean, tmp_path, max_pairs):
    spark = clean
    from undercount.link.spark_pipeline import _linker

    config, _, settings, rel = _project(tmp_path, 1500, 7, max_pairs=max_pairs)
    sdf = spark.createDataFrame(rel)
    linker, _ = _linker(spark, sdf, list(rel.columns), settings, config)
    assert supported(linker)
    splinks = deepcopy(linker)
    splinks.training.estimate_u_using_random_sampling(max_pairs=settings.max_pairs,
                                                      seed=settings.seed)
    estimate_u(linker, settings.max_pairs, settings.seed)
    ours, theirs = (lk.misc.save_model_to_json() for lk in (linker, splinks))
    differ = [(c["output_column_name"], a.get("label_for_charts"), a.get("u_probability"),
               b.get("u_probability"))
              for c, d in zip(ours["comparisons"], theirs["comparisons"], strict=True)
              for a, b in zip(c["comparison_levels"], d["comparison_levels"], strict=True)
              if a != b]
    assert not differ
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)


def test_em_samples_the_same_blocked_pairs_on_both_engines(clean, tmp_path):
    # An EM session with more blocked pairs than em_max_pairs trains on a hashed sample of
    # records; Splink's blocking rules hash with their own engine's function unless
    # duckdb_hashes_in_blocking is active, and the m then differed (18 levels here).
    spark = clean
    from undercount.link.backends import get_db_api
    from undercount.link.spark_pipeline import _linker, duckdb_hashes_in_blocking
    from undercount.link.train import _em_session, build_linker, round_model

    config, std, settings, rel = _project(tmp_path, 4000, 2024, em_max_pairs=2000,
                                          max_pairs=2e4)
    rule = settings.em_blocking_rules[3]

    def m_after_em(linker) -> list:
        linker._settings_obj._probability_two_random_records_match = 1e-4
        estimate_u(linker, settings.max_pairs, settings.seed)
        _em_session(linker, rule, settings, 1e-4)
        round_model(linker)
        model = linker.misc.save_model_to_json()
        return [(c["output_column_name"], lv.get("label_for_charts"), lv.get("m_probability"))
                for c in model["comparisons"] for lv in c["comparison_levels"]]

    duck = m_after_em(build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), std,
                                   settings))
    linker, dialect = _linker(spark, spark.createDataFrame(rel), list(rel.columns), settings,
                              config)
    with duckdb_hashes_in_blocking(dialect):
        on_spark = m_after_em(linker)
    assert on_spark == duck
    assert not dialect.unmatched
