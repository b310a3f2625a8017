"""Compare one EM session's trained m on DuckDB and on Spark (local[2]), with sampling.

Usage::

    .venv/bin/python benchmarks/compare_em_sampling_spark.py EM_MAX_PAIRS RULE_INDEX

Simulates 4,000 people on 3 lists (seed 2024, about 4,700 records), builds the linker on
each engine as ``link_project`` does, estimates u, runs the EM session blocked on
``em_blocking_rules[RULE_INDEX]`` with ``em_max_pairs = EM_MAX_PAIRS`` and prints the
rounded m that differ. See docs/scale.md ("Not the same answer at 1M"): with 2000 and
rule 3 (father/grandfather/family keys) 18 m differ; with 2e6 none.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np


def main(argv: list[str]) -> int:
    from undercount.io.lists import read_list
    from undercount.io.project import load_project
    from undercount.link._standardise import standardise_lists
    from undercount.link.backends import get_db_api, spark_session
    from undercount.link.pipeline import settings_for
    from undercount.link.relatives import add_relative_columns
    from undercount.link.spark_pipeline import _linker, duckdb_hashes_in_blocking
    from undercount.link.train import _em_session, build_linker, round_model
    from undercount.link.u_sampling import estimate_u
    from undercount.simulate import simulate_lists

    warnings.simplefilter("ignore")
    em_max_pairs, index = float(argv[0]), int(argv[1])
    work = Path(tempfile.mkdtemp(prefix="em_sampling_"))
    simulate_lists(n_people=4000, lists=3, rng=np.random.default_rng(2024),
                   seed=2024).write(work)
    config = load_project(work / "project.toml")
    std = standardise_lists([read_list(s) for s in config.lists], config.lists)
    std.attrs.clear()
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    settings = settings.__class__.from_dict(
        {**settings.to_dict(), "em_max_pairs": em_max_pairs, "max_pairs": 2e4})
    rule = settings.em_blocking_rules[index]

    def run(linker) -> list:
        linker._settings_obj._probability_two_random_records_match = 1e-4
        estimate_u(linker, settings.max_pairs, settings.seed)
        _em_session(linker, rule, settings, 1e-4)
        round_model(linker)
        model = linker.misc.save_model_to_json()
        return [(c["output_column_name"], lv.get("label_for_charts"), lv.get("m_probability"))
                for c in model["comparisons"] for lv in c["comparison_levels"]]

    duck = run(build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), std,
                            settings))
    spark = spark_session("local[2]", {"spark.ui.enabled": "false",
                                       "spark.pyspark.python": sys.executable,
                                       "spark.sql.shuffle.partitions": "4"})
    rel = add_relative_columns(std)
    rel = rel.astype({c: "string" for c in rel.columns
                      if rel[c].dtype == object and c != "name_token_set"})
    linker, dialect = _linker(spark, spark.createDataFrame(rel), list(rel.columns), settings,
                              config)
    with duckdb_hashes_in_blocking(dialect):
        on_spark = run(linker)
    spark.stop()
    differ = [(a, b[2]) for a, b in zip(duck, on_spark, strict=True) if a != b]
    print(f"em_max_pairs {em_max_pairs:g}, rule {list(rule)}: {len(differ)} m differ "
          "(DuckDB's level and m, Spark's m)")
    for row in differ:
        print("  ", row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
