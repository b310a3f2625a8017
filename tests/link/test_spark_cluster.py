"""Linkage through a real Spark standalone cluster on 127.0.0.1 (marker ``spark``).

A master and a worker are started from the installed PySpark for this module and stopped at
its end; projects are linked through them and compared with DuckDB: identical capture
tables, records, capture histories and edges.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from undercount.link.backends import spark_available
from undercount.link.pipeline import link_project

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not spark_available(), reason="needs pyspark and Java"),
]

AIRWARS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "linkage"
AIRWARS_DEV = Path(os.environ.get("UNDERCOUNT_AIRWARS_DEV", AIRWARS / "airwars_moh_dev"))
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from undercount.link.spark_cluster import LoopbackCluster

    # The executors' Python must import this checkout (CI installs it; a worktree may not).
    env = {"PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}
    with LoopbackCluster(cores=2, memory="3g", workdir=tmp_path_factory.mktemp("spark"),
                         env=env) as c:
        yield c


@pytest.fixture(scope="module")
def session(cluster):
    from undercount.link.backends import spark_session

    conf = {**cluster.session_conf(), "spark.sql.shuffle.partitions": "4",
            "spark.executor.memory": "2g", "spark.pyspark.python": sys.executable,
            "spark.executorEnv.PYTHONPATH": os.environ.get("PYTHONPATH", SRC)}
    spark = spark_session(cluster.master_url, conf, app_name="undercount-cluster-test")
    yield spark
    spark.stop()


def _spark_project(path: Path, master: str) -> Path:
    text = path.read_text().replace('backend = "duckdb"', 'backend = "spark"')
    text += f'\n[link.spark]\nmaster = "{master}"\n'
    out = path.with_name("project_spark.toml")
    out.write_text(text.replace('output = "linked"', 'output = "linked_spark"'))
    return out


def _same(duck, spark_result) -> None:
    """Same clusters, capture histories and capture table; the same edges with the same
    outcome. Match probabilities agree to 5e-3 only (measured: 1.2e-3 at most on the FEBRL
    fixture): the u sample is drawn by each engine's own random function (same seed,
    different generators), so the two trained models differ slightly."""
    out = spark_result.output
    assert spark_result.capture_table() == duck.capture_table()
    histories = pd.read_parquet(out / "capture_histories.parquet")
    pd.testing.assert_frame_equal(histories, duck.capture_histories, check_dtype=False)
    records = pd.read_parquet(out / "records.parquet")
    exact = [c for c in records.columns if c != "best_match_probability"]
    pd.testing.assert_frame_equal(records[exact], duck.records[exact], check_dtype=False)
    np.testing.assert_allclose(records["best_match_probability"],
                               duck.records["best_match_probability"], rtol=5e-3)
    edges = pd.read_parquet(out / "edges.parquet")
    cols = ["uid_l", "uid_r", "status", "within"]
    pd.testing.assert_frame_equal(edges[cols], duck.edges[cols], check_dtype=False)
    np.testing.assert_allclose(edges["match_probability"], duck.edges["match_probability"],
                               rtol=5e-3)
    suspicious = spark_result.suspicious
    assert suspicious["cluster_id"].tolist() == duck.suspicious["cluster_id"].tolist()
    assert suspicious["reasons"].tolist() == duck.suspicious["reasons"].tolist()


def test_simulated_project_through_cluster(make_project, cluster, session):
    duck_path = make_project()
    duck = link_project(duck_path, write=True)
    sp = link_project(_spark_project(duck_path, cluster.master_url), spark_session=session)
    _same(duck, sp)
    assert sp.report["spark"]["master"] == cluster.master_url
    assert sp.report["spark"]["app_id"] in cluster.master_log.read_text()


AIRWARS_PROJECT = """
[project]
name = "airwars-moh-dev"
seed = 11
output = "linked"

[[lists]]
name = "airwars"
file = "airwars.csv"
id_column = "record_id"
on_bad_value = "coerce"
[lists.columns]
name_lat = "name_en"
name_ar = "name_ar"
sex = "sex"
age = "age"
dod = "date_of_death"

[[lists]]
name = "moh"
file = "moh.csv"
id_column = "record_id"
on_bad_value = "coerce"
[lists.columns]
name_ar = "name"
sex = "sex"
age = "age"
dob = "date_of_birth"
national_id = "id_number"

[link]
backend = "duckdb"
"""


@pytest.mark.skipif(not AIRWARS_DEV.is_dir(), reason="Airwars development set not available")
@pytest.mark.xfail(
    strict=True,
    reason="issue 18 open: the engines train slightly different models (Splink's u sample "
    "is drawn by each engine's own random function), and on Airwars/MoH about 450 of ~5,000 "
    "edges lie near the 0.9 threshold on one engine only: capture table 33218/1122/1045 on "
    "DuckDB against 33221/1123/1041 on Spark",
)
def test_airwars_moh_through_cluster(tmp_path, cluster, session):
    for name in ("airwars.csv", "moh.csv"):
        shutil.copy(AIRWARS_DEV / name, tmp_path / name)
    path = tmp_path / "project.toml"
    path.write_text(AIRWARS_PROJECT)
    duck = link_project(path)
    sp = link_project(_spark_project(path, cluster.master_url), spark_session=session)
    _same(duck, sp)
    assert sp.report["spark"]["app_id"] in cluster.master_log.read_text()
