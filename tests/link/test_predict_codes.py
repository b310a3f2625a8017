"""The integer codes the prefiltered prediction joins and bounds on (link.predict._Recoder)."""

from __future__ import annotations

import duckdb
import pytest

from undercount.link.predict import _CODE, _Recoder

TYPES = {"x": "VARCHAR", "y": "VARCHAR", "n": "BIGINT", "f": "DOUBLE"}
X, Y, N = (f"{_CODE}{i}" for i in range(3))


def test_equalities_and_null_tests_read_codes():
    recode = _Recoder(TYPES)
    sql = recode('CASE WHEN "x_l" IS NULL OR x_r IS NULL THEN -1 WHEN x_l = x_r THEN 2 '
                 "WHEN y_l <> y_r AND n_r = n_l THEN 1 ELSE 0 END", qualified=False)
    assert sql == (f"CASE WHEN {X}_l IS NULL OR {X}_r IS NULL THEN -1 WHEN {X}_l = {X}_r "
                   f"THEN 2 WHEN {Y}_l <> {Y}_r AND {N}_r = {N}_l THEN 1 ELSE 0 END")
    assert recode('(l."x" = r."x") AND (l."n" = r."n")', qualified=True) == (
        f"(l.{X} = r.{X}) AND (l.{N} = r.{N})")
    assert recode("coalesce(x_l, y_l) IS NULL", qualified=False) == (
        f"COALESCE({X}_l, {Y}_l) IS NULL")
    assert recode.used == {"x", "y", "n"}


@pytest.mark.parametrize("sql", [
    "x_l = concat('B', x_r)",  # not the column against itself
    "x_l = y_r",  # two columns: two dictionaries
    "x_l = x_l",  # one record
    "f_l = f_r",  # floating point (NaN, -0.0) is not coded
    "coalesce(x_l, x_r) IS NULL",  # both records in one test
    "length(x_l) >= 3",
])
def test_other_uses_read_values(sql):
    recode = _Recoder(TYPES)
    assert recode(sql, qualified=False) == sql.replace("concat", "CONCAT").replace(
        "coalesce", "COALESCE").replace("length", "LENGTH")
    assert not recode.used


def test_rewritten_conditions_hold_for_the_same_pairs():
    # Every pair of rows, NULLs included: TRUE, FALSE and NULL alike.
    con = duckdb.connect()
    values = [("a", "p", 1), ("b", None, 2), (None, "p", 1), ("a", "q", None),
              ("ab", "p", 3), (None, None, None), ("b", "q", 2)]
    con.execute("create table t (id int, x varchar, y varchar, n bigint)")
    con.executemany("insert into t values (?, ?, ?, ?)",
                    [(i, *v) for i, v in enumerate(values)])
    # The codes as _enqueue_coded_records computes them: dense rank of the distinct values.
    codes = ", ".join(
        f"(select c from (select {c}, dense_rank() over (order by {c}) as c from "
        f"(select distinct {c} from t where {c} is not null)) d where d.{c} = t.{c}) "
        f"as {code}" for c, code in (("x", X), ("y", Y), ("n", N)))
    con.execute(f"create table coded as select *, {codes} from t")
    recode = _Recoder(TYPES)
    conditions = [
        "x_l = x_r", "x_l <> x_r", "x_l IS NULL OR y_r IS NULL", "NOT (n_l = n_r)",
        "(x_l = x_r AND y_l = y_r) OR n_l <> n_r", "coalesce(x_l, y_l) IS NULL",
        "CASE WHEN x_l IS NULL THEN -1 WHEN x_l = x_r AND y_l <> y_r THEN 2 ELSE 0 END",
    ]
    cols = ", ".join(f"l.{c} as {c}_l, r.{c} as {c}_r" for c in ("x", "y", "n", X, Y, N))
    pairs = f"(select {cols} from coded l, coded r)"
    for condition in conditions:
        new = recode(condition, qualified=False)
        assert new != condition
        got = con.execute(f"select ({condition}), ({new}) from {pairs}").fetchall()
        assert len(got) == len(values) ** 2
        assert all(a == b for a, b in got), condition
    rule = recode('(l."x" = r."x") AND (l."n" = r."n")', qualified=True)
    got = con.execute(
        "select coalesce((l.x = r.x) and (l.n = r.n), false), "
        f"coalesce(({rule}), false) from coded l, coded r").fetchall()
    assert all(a == b for a, b in got)


def test_prefiltered_edges_are_splinks_and_leave_no_tables(make_project):
    # End to end on linked lists: the coded join, the bound and the second filter give
    # Splink's own edges, weights bit for bit, and drop what they built.
    import pandas as pd

    from undercount.io.lists import read_list
    from undercount.io.project import load_project
    from undercount.link._standardise import standardise_lists
    from undercount.link.backends import get_db_api
    from undercount.link.pipeline import settings_for
    from undercount.link.predict import _can_fuse, predict_edges
    from undercount.link.train import build_linker, train

    config = load_project(make_project())
    std = standardise_lists([read_list(s) for s in config.lists], config.lists)
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    linker = build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), std, settings)
    settings, _ = train(linker, settings, std)
    db_api = get_db_api("duckdb", threads=2, memory_limit="1GB")
    linker = build_linker(db_api, std, settings)
    assert _can_fuse(linker)
    before = {r[0] for r in db_api.duckdb_con.execute("show tables").fetchall()}
    for threshold in (0.2, 0.9):
        fast = predict_edges(linker, threshold)
        full = predict_edges(linker, threshold, prefilter=False)
        assert len(full) > 0
        pd.testing.assert_frame_equal(fast, full, check_exact=True)
    after = {r[0] for r in db_api.duckdb_con.execute("show tables").fetchall()}
    assert not {t for t in after - before if t.startswith(("__undercount", "__splink__blocked"))}
