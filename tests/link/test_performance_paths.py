"""The faster training and clustering paths give exactly what the slower ones gave."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from undercount.io.lists import read_list
from undercount.io.project import load_project
from undercount.link._standardise import standardise_lists
from undercount.link.backends import get_db_api
from undercount.link.pipeline import settings_for
from undercount.link.train import build_linker
from undercount.link.u_sampling import estimate_u
from undercount.simulate import simulate_lists


def _standardised(path):
    config = load_project(path)
    std = standardise_lists([read_list(s) for s in config.lists], config.lists)
    std.attrs.clear()
    return config, std


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Three simulated lists (Arabic and Latin names), a few thousand records."""
    work = tmp_path_factory.mktemp("sim")
    sim = simulate_lists(n_people=2500, lists=3, rng=np.random.default_rng(5), seed=5)
    sim.write(work)
    return _standardised(work / "project.toml")


def _u_model(std, settings, how: str) -> dict:
    db_api = get_db_api("duckdb", threads=2, memory_limit="1GB")
    linker = build_linker(db_api, std, settings)
    if how == "splink":
        linker.training.estimate_u_using_random_sampling(max_pairs=settings.max_pairs,
                                                         seed=settings.seed)
    else:
        estimate_u(linker, settings.max_pairs, settings.seed)
    return linker.misc.save_model_to_json()


@pytest.mark.parametrize("max_pairs", [2e4, 3e5])
def test_u_in_one_pass_is_splinks_u(simulated, max_pairs):
    config, std = simulated
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    settings = settings.__class__.from_dict({**settings.to_dict(), "max_pairs": max_pairs})
    ours, splinks = _u_model(std, settings, "ours"), _u_model(std, settings, "splink")
    assert json.dumps(ours, sort_keys=True) == json.dumps(splinks, sort_keys=True)


def test_u_in_one_pass_is_splinks_u_on_two_part_names(make_project):
    config, std = _standardised(make_project())
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    ours, splinks = _u_model(std, settings, "ours"), _u_model(std, settings, "splink")
    assert json.dumps(ours, sort_keys=True) == json.dumps(splinks, sort_keys=True)


def _trained_linker(std, settings):
    from undercount.link.train import train

    linker = build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), std, settings)
    settings, _ = train(linker, settings, std)
    return build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), std, settings)


@pytest.mark.parametrize("threshold", [0.01, 0.9, 0.999])
def test_prefiltered_prediction_is_splinks(simulated, threshold):
    from undercount.link.predict import predict_edges

    config, std = simulated
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    linker = _trained_linker(std, settings)
    fast = predict_edges(linker, threshold)
    full = predict_edges(linker, threshold, prefilter=False)
    assert len(full) > 0
    pd.testing.assert_frame_equal(fast, full, check_exact=True)


def test_bound_taken_inside_the_blocking_join(simulated):
    # The prefiltered path above runs the fused statement (no blocked pairs stored) on
    # DuckDB; with blocked pairs already cached it scores those, and gives the same edges.
    from undercount.link.predict import _can_fuse, predict_edges

    config, std = simulated
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    linker = _trained_linker(std, settings)
    assert _can_fuse(linker)
    fused = predict_edges(linker, 0.9)
    linker.inference.compute_blocked_pairs_for_predict()
    assert not _can_fuse(linker)
    pd.testing.assert_frame_equal(predict_edges(linker, 0.9), fused, check_exact=True)


def test_prefiltered_prediction_is_splinks_on_two_part_names(make_project):
    from undercount.link.predict import predict_edges

    config, std = _standardised(make_project())
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    linker = _trained_linker(std, settings)
    fast = predict_edges(linker, 0.9)
    full = predict_edges(linker, 0.9, prefilter=False)
    assert len(full) > 0
    pd.testing.assert_frame_equal(fast, full, check_exact=True)


def _std_with_warnings(frames, specs):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        std = standardise_lists(frames, specs)
    return std, [(w.category, str(w.message)) for w in caught]


def test_lists_standardised_on_workers_as_here(make_project, monkeypatch):
    import undercount.link._standardise as standardise_module

    config = load_project(make_project())
    frames = [read_list(s) for s in config.lists]
    here, here_warned = _std_with_warnings(frames, config.lists)
    monkeypatch.setattr(standardise_module, "WORKER_RECORDS", 0)
    assert standardise_module._on_workers(frames)
    there, there_warned = _std_with_warnings(frames, config.lists)
    pd.testing.assert_frame_equal(here, there, check_exact=True)
    assert here.attrs == there.attrs
    assert here_warned and here_warned == there_warned


def test_first_list_error_raised_from_workers(make_project, monkeypatch):
    import undercount.link._standardise as standardise_module
    from undercount.errors import InputError

    config = load_project(make_project())
    frames = [read_list(s) for s in config.lists]
    for frame in frames:  # no list has a name any more: the first one's error is raised
        frame[["given_name", "surname"]] = None
    monkeypatch.setattr(standardise_module, "WORKER_RECORDS", 0)
    with pytest.raises(InputError, match="list 'a'"):
        standardise_lists(frames, config.lists)


def test_text_columns_fixed_as_value_by_value():
    from undercount.link._standardise import _string, _strings

    columns = [
        np.array(["a", None, np.nan, "", pd.NA, "b"], dtype=object),
        np.array([pd.NaT, "a", None, np.float32("nan"), 3, 2.5, np.str_("x"), ""],
                 dtype=object),
        np.array([], dtype=object),
        np.array([None, None], dtype=object),
        np.array(["محمد", "ab", ""], dtype=object),
        pd.Series(["a", None, ""], dtype="str").to_numpy(object),
    ]
    for values in columns:
        got = list(_strings(values))
        want = [_string(v) for v in values]
        assert [type(v) for v in got] == [type(v) for v in want]
        assert got == want


def test_unseen_exact_level_counted_exactly(simulated):
    # 2,000 random pairs never see two records with the same national ID; the level is then
    # the share of all pairs with IDs that agree, counted from the value frequencies.
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    from undercount.link.relatives import add_relative_columns
    from undercount.link.train import count_unseen_exact_u

    config, std = simulated
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    records = add_relative_columns(std)
    linker = build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), records,
                          settings)
    estimate_u(linker, 2e3, settings.seed)
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    exact = comparisons["national_id"]._comparison_levels_excluding_null[0]
    assert exact._u_probability in (None, LEVEL_NOT_OBSERVED_TEXT)
    seen = {name: [lv._u_probability for lv in c._comparison_levels_excluding_null]
            for name, c in comparisons.items()}

    counted = count_unseen_exact_u(linker, records)

    ids = records["national_id"].dropna()
    n = len(ids)
    agree = sum(k * (k - 1) / 2 for k in ids.value_counts())
    assert agree > 0
    assert counted["national_id"] == pytest.approx(agree / (n * (n - 1) / 2), rel=1e-12)
    assert exact.u_probability == counted["national_id"]
    for name, c in comparisons.items():  # every other level as the sample left it
        levels = c._comparison_levels_excluding_null
        start = 1 if name in counted else 0
        assert [lv._u_probability for lv in levels][start:] == seen[name][start:]
    # A column Spark's proxy only marks as present is not counted.
    linker2 = build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), records,
                           settings)
    estimate_u(linker2, 2e3, settings.seed)
    proxy = records.assign(national_id=records["national_id"].notna().map(
        {True: "x", False: None}).astype("category"))
    assert "national_id" not in count_unseen_exact_u(linker2, proxy)


# ---------------------------------------------------------------- training's pandas counts
def _messy(seed: int = 3, n: int = 3000) -> pd.DataFrame:
    """Small-alphabet columns with missing values (as None and NaN), so that groups of
    every size and combinations of missing values occur."""
    rng = np.random.default_rng(seed)

    def col(k: int, missing: float, na=None):
        values = np.array([f"v{i}" for i in rng.integers(0, k, n)], dtype=object)
        values[rng.random(n) < missing] = na
        return values

    return pd.DataFrame({
        "a": col(5, 0.1), "b": col(40, 0.3, np.nan), "c": col(3, 0.0),
        "num": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 7, n).astype(float)),
        "year": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(1950, 1960, n)),
                         dtype="Int64"),
    })


def _pairs_by_value_counts(records: pd.DataFrame, cols) -> int:
    counts = records[list(cols)].dropna().value_counts(sort=False).to_numpy(dtype=np.int64)
    return int((counts * (counts - 1) // 2).sum())


def test_rule_pairs_from_codes_are_value_counts_pairs():
    from undercount.link.settings import RuleCounts, rule_pairs, sex_conflicts

    records = _messy()
    counts = RuleCounts(records)
    for cols in (["a"], ["b"], ["a", "b"], ["a", "num"], ["b", "c", "year"], ["num", "year"]):
        expected = _pairs_by_value_counts(records, cols)
        assert rule_pairs(records, cols) == expected
        assert counts.pairs(cols) == expected
    for c in records.columns:
        assert counts.shares.get(c) == float(records[c].notna().mean())
    assert counts.shares.get("absent", 0.0) == 0.0
    # sex_conflicts: the pandas definition, recounted.
    std = records.rename(columns={"a": "name_key", "b": "dob", "c": "sex"})
    std["dob_heaped"] = pd.array(np.arange(len(std)) % 7 == 0, dtype="boolean")
    sub = std[["name_key", "dob", "sex"]].dropna()
    sub = sub[~std.loc[sub.index, "dob_heaped"].fillna(False).astype(bool)]
    pairs = _pairs_by_value_counts(sub, ("name_key", "dob"))
    assert sex_conflicts(std) == (pairs, pairs - _pairs_by_value_counts(sub, sub.columns))


def test_union_pairs_is_the_count_of_distinct_pairs():
    from undercount.link.settings import RuleCounts

    records = _messy(n=400)
    rules = [("a", "b"), ("b", "c"), ("num",)]
    seen = set()
    for rule in rules:
        keys = records[list(rule)]
        full = keys.notna().all(axis=1).to_numpy()
        groups: dict = {}
        for i in np.flatnonzero(full):
            groups.setdefault(tuple(keys.iloc[i]), []).append(i)
        for members in groups.values():
            seen.update((x, y) for j, x in enumerate(members) for y in members[j + 1:])
    assert RuleCounts(records).union_pairs(rules) == len(seen)


def test_counted_prior_is_splinks(simulated):
    """The deterministic prior from pandas' pair count is Splink's, to the last bit."""
    from undercount.link.relatives import add_relative_columns
    from undercount.link.train import _counted_rules, _deterministic_prior

    config, std = simulated
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    records = add_relative_columns(std)
    priors = []
    for counted in (None, _counted_rules(settings, records)):
        linker = build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), records,
                              settings)
        info = _deterministic_prior(linker, settings, records, counted)
        priors.append((info, linker._settings_obj._probability_two_random_records_match))
    assert priors[1][1] == priors[0][1]
    assert priors[1][0] == priors[0][0]
    assert priors[0][0]["method"] == "deterministic rules"
    # More pairs than the recall allows: the same refusal, in Splink's words.
    loose = dataclasses.replace(settings, prior_recall=1e-9)
    reasons = []
    for counted in (None, _counted_rules(loose, records)):
        linker = build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), records,
                              loose)
        reasons.append(_deterministic_prior(linker, loose, records, counted)["reason"])
    assert reasons[0] == reasons[1] and "not near-certain" in reasons[0]


def test_relative_pattern_counts_are_groupby_counts(simulated):
    from undercount.link.relatives import REST, add_relative_columns, relative_pattern_counts

    _, std = simulated
    r = add_relative_columns(std).dropna(subset=[*REST, "given", "given_key"])

    def pairs(*cols: str) -> float:
        s = r.groupby([*REST, *cols], sort=False, dropna=False).size().to_numpy(float)
        return float((s * (s - 1) / 2).sum())

    rest, same_key, same_text = pairs(), pairs("given_key"), pairs("given")
    key_s, rasm_s = pairs("given_key", "given_script"), pairs("given_rasm", "given_script")
    rasm_only = rasm_s - pairs("given_key", "given_rasm", "given_script")
    assert relative_pattern_counts(std) == {
        "similar": key_s + rasm_only - same_text, "different": rest - same_key - rasm_only,
        "rest_agree": rest}
    assert rest > 0


def test_registered_tables_are_each_lists_own_conversion(simulated):
    """build_linker's Arrow slices: per list, the table ``pa.Table.from_pandas`` made of
    that list's rows alone (types included: a column empty on one list is Arrow's null)."""
    import pyarrow as pa

    from undercount.link import train as train_module
    from undercount.link.relatives import add_relative_columns

    config, std = simulated
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    records = add_relative_columns(std)
    records.loc[records["list"] == records["list"].iloc[-1], "national_id"] = None
    got = {}
    register = train_module.register_frame
    try:
        train_module.register_frame = lambda db, table, name: register(
            db, got.setdefault(name, table), name)
        build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), records, settings)
    finally:
        train_module.register_frame = register
    split = records.assign(name_token_set=[
        v.split(" ") if isinstance(v, str) else None for v in records["name_tokens"]])
    cols = ["uid", *[c for c in train_module.used_columns(settings) if c in split.columns]]
    parts = list(split.groupby("list", sort=False))
    assert sorted(got) == sorted(f"list_{name}" for name, _ in parts)
    for name, part in parts:
        expected = pa.Table.from_pandas(part[cols], preserve_index=False)
        table = got[f"list_{name}"]
        assert table.schema.remove_metadata().equals(expected.schema.remove_metadata())
        assert table.equals(expected.replace_schema_metadata(table.schema.metadata))
    assert any(got[k].schema.field("national_id").type == pa.null() for k in got)


def test_availability_from_the_first_rows_is_the_share_test():
    """A column's availability decided from its first rows (when they hold enough values)
    is ``notna().mean() >= min_share``, wherever its values are."""
    from undercount.link.settings import RuleCounts

    n = 20_000
    need = int(0.01 * n)  # 200 values: exactly the 1% share
    frame = pd.DataFrame({c: np.full(n, None, dtype=object) for c in "abcde"})
    frame.loc[: need - 1, "a"] = "x"  # at the start, exactly enough
    frame.loc[n - need:, "b"] = "x"  # at the end, exactly enough
    frame.loc[n - need + 1:, "c"] = "x"  # at the end, one short
    frame.loc[: need - 2, "d"] = "x"  # at the start, one short
    frame["e"] = "x"
    avail = RuleCounts(frame).available(0.01)
    for c in frame.columns:
        assert (c in avail) == (float(frame[c].notna().mean()) >= 0.01), c
    assert "a" in avail and "b" in avail and "e" in avail
    assert "c" not in avail and "d" not in avail and "absent" not in avail


def test_guarded_transposition_level_is_the_same_level(simulated):
    """The u sample's guard of a transposition level (after a one-edit level) gives every
    pair the level the comparison's own CASE gives it."""
    import duckdb

    from undercount.link.u_sampling import guard_transpositions

    config, std = simulated
    settings = settings_for(std, config.link, n_lists=len(config.lists), seed=config.seed)
    linker = build_linker(get_db_api("duckdb", threads=2, memory_limit="1GB"), std, settings)
    comparison = next(c for c in linker._settings_obj.comparisons
                      if c.output_column_name == "national_id")
    case = comparison._case_statement
    guarded = guard_transpositions(case)
    assert guarded != case and "hamming" in guarded
    values = ["123456789", "123456798", "213456789", "123465789", "12345678", "1234567890",
              "923456781", "123456780", "132456789", "é23", "2é3", "e23", "日本", "本日", "",
              None, "12", "21", "1", "ab", "ba", "abc", "bca"]
    con = duckdb.connect()
    con.execute("create table v (national_id varchar)")
    con.executemany("insert into v values (?)", [(v,) for v in values])
    pairs = ("select l.national_id as national_id_l, r.national_id as national_id_r "
             "from v l, v r")
    a = con.execute(f"select national_id_l, national_id_r, {case} from ({pairs}) "
                    "order by all").fetchall()
    b = con.execute(f"select national_id_l, national_id_r, {guarded} from ({pairs}) "
                    "order by all").fetchall()
    assert a == b
    assert {row[2] for row in a} >= {-1, 0, 1, 2, 3}
    # Without a one-edit level of the same columns before it, a Damerau-Levenshtein level
    # (one substitution, insertion, deletion or transposition) is left alone.
    alone = case.replace('WHEN levenshtein("national_id_l", "national_id_r") <= 1 THEN 2\n',
                         "")
    assert alone != case and guard_transpositions(alone) == alone
