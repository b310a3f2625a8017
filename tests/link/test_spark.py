"""Spark and DuckDB give the same clusters on the same small linkage (marker ``spark``)."""

import numpy as np
import pandas as pd
import pytest

from undercount.link.backends import spark_available
from undercount.link.pipeline import link_project

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not spark_available(), reason="needs pyspark and Java"),
]


@pytest.fixture(scope="module")
def spark():
    from undercount.link.backends import spark_session

    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "4",
                                          "spark.driver.memory": "2g"})
    yield session
    session.stop()


def test_spark_matches_duckdb(make_project, spark):
    duck_path = make_project()
    duck = link_project(duck_path, write=False)
    spark_path = make_project(extra_link="").parent / "project.toml"
    text = spark_path.read_text().replace('backend = "duckdb"', 'backend = "spark"')
    spark_path.write_text(text)
    sp = link_project(spark_path, write=False, spark_session=spark)
    # The Spark result keeps its tables in Spark; this fixture is small enough to collect.
    records = sp.records.toPandas()
    assert np.array_equal(records["cluster_id"], duck.records["cluster_id"])
    assert sp.capture_table() == duck.capture_table()
    histories = sp.capture_histories.toPandas()
    pd.testing.assert_frame_equal(histories, duck.capture_histories, check_dtype=False)
    # The edges agree too (probabilities up to the engines' floating-point noise).
    edges = sp.edges.toPandas()
    d = duck.edges.set_index(["uid_l", "uid_r"])["match_probability"]
    s = edges.set_index(["uid_l", "uid_r"])["match_probability"]
    assert set(d.index) == set(s.index)
