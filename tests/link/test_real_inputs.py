"""Real files as they are (issue 13): coerce report, encoding, threshold curve, blocking
budget and partial-name comparisons."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from undercount.cli import app
from undercount.errors import InputError
from undercount.io.lists import read_list
from undercount.io.project import load_project
from undercount.link.evaluate import threshold_curve
from undercount.link.settings import (
    PARTIAL_BLOCKING_FOUR_PART,
    LinkSettings,
    rule_pairs,
)


def test_coerce_counts_printed_and_in_provenance(make_project):
    path = make_project()
    a = pd.read_csv(path.parent / "febrl_a.csv", dtype=str)
    a.loc[3, "date_of_birth"] = "19392222"
    a.to_csv(path.parent / "febrl_a.csv", index=False)
    res = CliRunner().invoke(app, ["link", str(path)])
    assert res.exit_code == 0, res.output
    assert "list 'a', column 'date_of_birth':" in res.output
    assert "row 5: '19392222'" in res.output
    prov = json.loads((path.parent / "linked" / "provenance.json").read_text())
    coerced = prov["report"]["coerced"]["a"]["date_of_birth"]
    assert [5, "19392222"] in coerced["examples"]
    assert coerced["count"] >= 1


def test_bad_value_error_ends_with_the_option(make_project):
    path = make_project()
    path.write_text(path.read_text().replace('on_bad_value = "coerce"\n', "", 1))
    a = pd.read_csv(path.parent / "febrl_a.csv", dtype=str)
    a.loc[3, "date_of_birth"] = "19392222"
    a.to_csv(path.parent / "febrl_a.csv", index=False)
    res = CliRunner().invoke(app, ["link", str(path)])
    assert res.exit_code != 0
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert any("row 5, column 'date_of_birth': '19392222'" in ln for ln in lines)
    assert 'on_bad_value = "coerce"' in " ".join(lines[-3:])
    assert not (path.parent / "linked").exists()


def test_encoding_error_names_the_option_and_encoding_reads(make_project):
    path = make_project()
    a = pd.read_csv(path.parent / "febrl_a.csv", dtype=str)
    a.loc[0, "suburb"] = "أريحا"
    (path.parent / "febrl_a.csv").write_bytes(a.to_csv(index=False).encode("cp1256"))
    with pytest.raises(InputError, match=r"febrl_a.csv: line 2, byte \d+ of the line: byte "
                       r"0x[0-9a-f]{2} is not valid UTF-8 text.*encoding = \"latin-1\""):
        load_project(path)
    path.write_text(path.read_text().replace(
        'on_bad_value = "coerce"\n', 'on_bad_value = "coerce"\nencoding = "cp1256"\n', 1))
    config = load_project(path)
    assert config.lists[0].encoding == "cp1256"
    assert read_list(config.lists[0]).loc[0, "suburb"] == "أريحا"


def test_unknown_encoding_is_a_config_error(make_project):
    from undercount.errors import ConfigError

    path = make_project()
    path.write_text(path.read_text().replace(
        'on_bad_value = "coerce"\n', 'on_bad_value = "coerce"\nencoding = "klingon"\n', 1))
    with pytest.raises(ConfigError, match="encoding 'klingon' is not a known text encoding"):
        load_project(path)


def test_threshold_curve_cli_and_values(make_project):
    path = make_project()
    assert CliRunner().invoke(app, ["link", str(path)]).exit_code == 0
    linked = path.parent / "linked"
    res = CliRunner().invoke(app, ["evaluate-linkage", str(linked), "--truth", "febrl",
                                   "--no-estimate"])
    assert res.exit_code == 0, res.output
    assert "precision and recall over thresholds" in res.output
    curve = pd.read_csv(path.parent / "linked_threshold_curve.csv")
    assert list(curve.columns[:3]) == ["threshold", "precision", "recall"]
    assert curve["threshold"].is_monotonic_increasing
    assert curve["threshold"].iloc[0] == 0.9  # the run's own threshold first
    # A higher threshold never adds predicted pairs.
    assert curve["predicted_pairs"].is_monotonic_decreasing
    # The run's own threshold reproduces the run's clusters.
    records = pd.read_parquet(linked / "records.parquet")
    edges = pd.read_parquet(linked / "edges.parquet")
    std = pd.read_parquet(linked / "standardised.parquet")
    truth = records["record_id"].str.extract(r"rec-(\d+)-", expand=False).to_numpy()
    at = threshold_curve(records, edges, truth, standardised=std, thresholds=[0.9])
    from undercount.link.evaluate import pairwise_metrics

    m = pairwise_metrics(records["cluster_id"], truth)
    assert at.loc[0, "precision"] == m["precision"]
    assert at.loc[0, "recall"] == m["recall"]


def test_pair_budget_counts_pairs_exactly_and_drops_big_rules():
    rng = np.random.default_rng(0)
    n = 3000
    std = pd.DataFrame({
        "given_key": rng.choice(["MHMD", "HMD", "MHMWD"], n),
        "father_key": rng.choice([f"F{i}" for i in range(50)], n),
        "grandfather_key": rng.choice([f"G{i}" for i in range(50)], n),
        "family_key": rng.choice([f"N{i}" for i in range(40)], n),
        "national_id": [None] * n,
    })
    counts = std.groupby(["given_key", "family_key"]).size().to_numpy()
    assert rule_pairs(std, ("given_key", "family_key")) == int((counts * (counts - 1) // 2).sum())
    roomy = LinkSettings.for_records(std, n_lists=2, pair_budget=1e9)
    # (no age column here: the rules with age are not available)
    assert set(PARTIAL_BLOCKING_FOUR_PART[:3]) <= set(roomy.blocking_rules)
    assert not any("age" in r for r in roomy.blocking_rules)
    # given+family here gives ~3000^2/120/2 = 37,000 pairs: over a budget of 20,000.
    tight = LinkSettings.for_records(std, n_lists=2, pair_budget=20_000)
    assert ("given_key", "family_key") not in tight.blocking_rules
    assert ("given_key", "father_key", "family_key") in tight.blocking_rules
    # The default budget is absolute (2e6 pairs a rule): these small lists get every rule.
    default = LinkSettings.for_records(std, n_lists=2)
    assert set(PARTIAL_BLOCKING_FOUR_PART[:3]) <= set(default.blocking_rules)


def test_optional_name_token_set_comparison_runs(make_project):
    """``name_tokens`` is not a default comparison but can be named in the settings."""
    from dataclasses import replace

    from undercount.link._standardise import standardise_lists
    from undercount.link.evaluate import load_truth, pairwise_metrics
    from undercount.link.pipeline import link_records, settings_for

    config = load_project(make_project())
    std = standardise_lists([read_list(s) for s in config.lists], config.lists)
    settings = settings_for(std, config.link, n_lists=2, seed=1)
    assert "name_tokens" not in settings.comparisons
    settings = replace(settings, comparisons=(*settings.comparisons, "name_tokens"))
    records, trained, _, _ = link_records(std, lists=config.list_names, settings=settings,
                                          threads=1)
    names = [c["output_column_name"] for c in trained.model["comparisons"]]
    assert "name_tokens" in names
    m = pairwise_metrics(records["cluster_id"], load_truth("febrl", records))
    assert m["recall"] >= 0.9
