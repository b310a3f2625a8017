"""Spark and DuckDB give the same clusters on the same small linkage (marker ``spark``)."""

import numpy as np
import pytest

from undercount.link.backends import spark_available
from undercount.link.pipeline import link_project

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not spark_available(), reason="needs pyspark and Java"),
]


@pytest.fixture(scope="module")
def spark():
    from undercount.link.backends import local_spark_session

    session = local_spark_session(threads=2)
    yield session
    session.stop()


def test_spark_matches_duckdb(make_project, spark):
    duck_path = make_project()
    duck = link_project(duck_path, write=False)
    spark_path = make_project(extra_link="").parent / "project.toml"
    text = spark_path.read_text().replace('backend = "duckdb"', 'backend = "spark"')
    spark_path.write_text(text)
    sp = link_project(spark_path, write=False, spark_session=spark)
    assert np.array_equal(sp.records["cluster_id"], duck.records["cluster_id"])
    assert sp.capture_histories.equals(duck.capture_histories)
    # The edges agree too (probabilities up to the engines' floating-point and sampling noise).
    d = duck.edges.set_index(["uid_l", "uid_r"])["match_probability"]
    s = sp.edges.set_index(["uid_l", "uid_r"])["match_probability"]
    assert set(d.index) == set(s.index)
