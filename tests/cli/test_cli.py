"""The CLI's contract: options, JSON keys, errors with exit codes and no traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from undercount.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def run_json(*args: str) -> dict:
    res = run(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def kosovo_default() -> dict:
    """``undercount estimate kosovo`` with no options and no seed, as JSON."""
    return run_json("estimate", "kosovo")


def test_kosovo_json_contract(kosovo_default):
    d = kosovo_default
    for key, kind in [("n_observed", int), ("estimate", float), ("interval", list),
                      ("level", float), ("method", str), ("model", str), ("lists", list),
                      ("models", list), ("warnings", list)]:
        assert isinstance(d[key], kind), key
    assert d["n_observed"] == 4400 and d["level"] == 0.95
    assert d["model"] == "[123,14,34]" and d["estimate"] == pytest.approx(10356.52, rel=1e-5)
    assert d["lists"] == ["EXH", "ABA", "OSCE", "HRW"]
    assert len(d["models"]) == 113
    assert {"model", "estimate", "aic", "bic", "status"} <= set(d["models"][0])
    assert d["provenance"]["inputs"]


def test_default_interval_is_the_bootstrap_with_reselection(kosovo_default):
    # docs/validation.md, "The default estimator": BIC-best model, percentile bootstrap
    # re-running BIC selection among the top 10 models, 1,000 replicates.
    d = kosovo_default
    assert d["interval_method"] == "bootstrap percentile"
    boot = d["bootstrap"]
    assert (boot["replicates"], boot["ntop"], boot["method"], boot["kind"]) == (
        1000, 10, "percentile", "parametric")
    assert boot["settings"]["world"]["select"] == "aic"
    assert d["defaults"] == {"select": "bic", "bootstrap": 1000, "ntop": 10,
                             "interval": "percentile", "resample": "parametric-aic",
                             "families": "bic"}
    lo, hi = d["interval"]
    assert lo < d["estimate"] < hi
    # The seed drawn for the run is recorded, and --seed reproduces the run exactly, in
    # either output format.
    seed = d["provenance"]["seed"]
    assert isinstance(seed, int)
    again = run_json("estimate", "kosovo", "--seed", str(seed))
    assert again["interval"] == d["interval"] and again["estimate"] == d["estimate"]
    assert again["provenance"]["seed"] == seed
    res = run("estimate", "kosovo", "--seed", str(seed))
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())
    assert f"95% interval (bootstrap percentile) {lo:,.1f} – {hi:,.1f}" in out
    assert "1,000 replicates (parametric from the AIC-best model, percentile)" in out
    assert "top 10 models" in out
    assert "families weighted by BIC" in out
    assert "--bootstrap 0 the selected model's conditional profile interval" in out
    assert "BIC weights: loglinear: [123,14,34] 1.000" in out
    assert "parameters it spent" not in out
    # the table marks the model the estimate rests on
    rows = [line for line in res.stdout.splitlines() if line.startswith("│") and "selected" in line]
    assert len(rows) == 1 and rows[0].split("│")[1].strip() == "[123,14,34]"


def test_beyond_five_lists_the_weights_line_names_what_the_search_spent():
    d = run_json("estimate", "hare", "--seed", "1")
    spent = d["families"]["search_penalty"]
    assert spent["kept"] == 6 and spent["df"] > spent["kept"]
    res = run("estimate", "hare", "--seed", "1")
    assert res.exit_code == 0, res.output
    out = " ".join(res.stdout.split())
    assert (f"(the log-linear search's BIC counts the {spent['df']:.1f} parameters it spent, "
            "not the 6 its model kept)") in out


def test_options_reach_the_estimators():
    d = run_json("estimate", "korea", "--select", "stepwise")
    assert d["model"] == "[12,3]" and d["estimate"] == pytest.approx(268.7778, rel=1e-5)
    d = run_json("estimate", "hiv_rome", "--model", "Mth-Chao")
    assert d["method"] == "heterogeneity" and d["estimate"] == pytest.approx(11701.0, abs=0.1)
    d = run_json("estimate", "kosovo", "--model", "[EXH:ABA, OSCE, HRW]", "--interval", "wald")
    assert d["model"] == "[12,3,4]" and d["interval_method"] == "wald-log"
    d = run_json("estimate", "hiv_rome", "--lists", "c1,c2", "--method", "chapman")
    assert d["method"] == "chapman" and d["lists"] == ["c1", "c2"]


def test_resample_option_reaches_the_bootstrap():
    # --resample nonparametric --interval bca is SparseMSE's bootstrap (the class's own
    # default); an explicit --bootstrap N resamples the unobserved too ("augmented"), and
    # --resample parametric-aic is the default's draw from the AIC-best model.
    d = run_json("estimate", "korea", "--bootstrap", "100", "--resample", "nonparametric",
                 "--interval", "bca", "--seed", "1")
    assert (d["bootstrap"]["kind"], d["bootstrap"]["method"]) == ("nonparametric", "bca")
    d = run_json("estimate", "korea", "--bootstrap", "100", "--seed", "1")
    assert (d["bootstrap"]["kind"], d["bootstrap"]["method"]) == ("augmented", "percentile")
    d = run_json("estimate", "korea", "--bootstrap", "100", "--resample", "parametric-aic",
                 "--seed", "1")
    assert (d["bootstrap"]["kind"], d["bootstrap"]["settings"]["world"]["select"]) == (
        "parametric", "aic")
    res = run("estimate", "korea", "--bootstrap", "0", "--resample", "augmented")
    assert res.exit_code != 0 and "--bootstrap 0 turns the bootstrap off" in res.output
    d = run_json("estimate", "korea", "--bootstrap", "100", "--interval", "smoothed",
                 "--seed", "1")
    assert (d["bootstrap"]["kind"], d["bootstrap"]["method"]) == ("augmented", "smoothed")
    assert d["bootstrap"]["failed"] == 0 and d["bootstrap"]["smoothing"]["log_sd"] > 0
    res = run("estimate", "korea", "--bootstrap", "100", "--interval", "smoothed",
              "--resample", "parametric")
    assert res.exit_code == 3 and "--interval smoothed needs a resample" in res.output


def test_unbounded_upper_side_is_null_in_json():
    d = run_json("estimate", "korea", "--model", "[12,23]")
    assert d["interval"][0] is not None
    assert all(isinstance(m["status"], str) for m in d["models"])


def test_reported_figure_keys():
    d = run_json("estimate", "gaza_lancet_2025", "--model", "[12,13,23]", "--interval", "wald",
                 "--reported", "37877")
    assert d["reported"] == 37877
    assert d["undercount"]["estimate"] == pytest.approx(1 - 37877 / d["estimate"])
    lo, hi = d["interval"]
    assert d["undercount"]["interval"] == pytest.approx([1 - 37877 / lo, 1 - 37877 / hi])
    assert d["ratio"]["estimate"] == pytest.approx(d["estimate"] / 37877)


def test_table_view_shows_model_estimate_and_top_models():
    # --bootstrap 0: the BIC model's conditional profile interval (the default before the
    # validation battery), unchanged.
    res = run("estimate", "kosovo", "--bootstrap", "0")
    assert res.exit_code == 0
    out = res.stdout
    assert "[123,14,34]" in out and "10,356.5" in out and "4,400" in out
    assert "(profile) 8,994.3 – 12,110.4" in out and "Bootstrap" not in out
    assert "Top models" in out and "BIC" in out
    res = run("estimate", "kosovo", "--interval", "profile")
    assert res.exit_code == 0 and "(profile) 8,994.3 – 12,110.4" in res.stdout


def test_bad_file_gives_clear_error_and_exit_code(tmp_path):
    p = tmp_path / "lists.csv"
    p.write_text("A,B,C,count\n1,0,0,4\n0,2,0,3\n1,1,0,2\n0,0,1,1\n")
    res = run("estimate", str(p))
    assert res.exit_code == 2
    assert "InputError" in res.output and "row 3, column 'B'" in res.output
    assert "Traceback" not in res.output


def test_missing_file_and_unknown_dataset():
    res = run("estimate", "no_such_thing")
    assert res.exit_code == 2 and "file not found" in res.output


def test_bad_option_combinations_are_config_errors():
    res = run("estimate", "kosovo", "--method", "chapman")
    assert res.exit_code in (3, 4)
    # A bootstrap interval without replicates: only the log-linear default supplies them.
    res = run("estimate", "kosovo", "--select", "aic", "--interval", "bca")
    assert res.exit_code == 3 and "needs --bootstrap" in res.output
    res = run("estimate", "kosovo", "--bootstrap", "0", "--interval", "bca")
    assert res.exit_code == 3 and "--bootstrap 0 turns the bootstrap off" in res.output
    res = run("estimate", "kosovo", "--bootstrap", "0", "--ntop", "5")
    assert res.exit_code == 3
    # No BIC over all models for 6 lists: asking for it says what to use instead.
    res = run("estimate", "uk_2013", "--select", "bic")
    assert res.exit_code == 3 and "at most 5 lists" in res.output
    assert "Traceback" not in res.output
    res = run("estimate", "kosovo", "--model", "[12,99]")
    assert res.exit_code == 3


def test_mle_that_does_not_exist_is_an_error_not_a_number():
    res = run("estimate", "artificial_3", "--model", "[12,3]")
    assert res.exit_code == 4
    assert "MLENotFoundError" in res.output


def test_datasets_command():
    res = run("datasets")
    assert res.exit_code == 0 and "kosovo" in res.stdout
    res = run("datasets", "kosovo")
    assert "Ball, P." in res.stdout


def test_dga_on_the_command_line_matches_dga():
    d = run_json("estimate", "spina_bifida_my", "--method", "dga", "--delta", "1", "--prior",
                 "negbin", "--prior-params", "13.14,55.17")
    # dga 2.0.2: median 731, 95% [682, 797], mode 728 (its grid stops at 300 missing; ours
    # grows until the tail is below 1e-6, which moves the mean slightly: 733.45 -> 733.68).
    assert d["estimate"] == 731 and d["interval"] == [682, 797] and d["mode"] == 728
    assert d["model_probabilities"]["[12][3]"] == pytest.approx(0.374, abs=0.002)
    assert d["mean"] == pytest.approx(733.5, abs=0.5)


def test_lcm_on_the_command_line_reports_diagnostics():
    d = run_json("estimate", "kosovo", "--method", "lcm", "--chains", "2", "--iterations",
                 "4000", "--burn-in", "1000", "--seed", "3")
    assert d["method"] == "lcm" and "rhat" in d and "ess" in d and "mean" in d
    assert d["provenance"]["seed"] == 3
    again = run_json("estimate", "kosovo", "--method", "lcm", "--chains", "2", "--iterations",
                     "4000", "--burn-in", "1000", "--seed", "3")
    assert again["estimate"] == d["estimate"] and again["interval"] == d["interval"]


def test_stacked_method_reports_every_family_with_its_weight():
    d = run_json("estimate", "spina_bifida_my", "--method", "stacked", "--bootstrap", "200",
                 "--seed", "4")
    assert d["method"] == "stacked" and d["interval_method"] == "stacking mixture"
    families = d["families"]["results"]
    assert [f["method"] for f in families] == ["loglinear", "heterogeneity", "lcm", "dga"]
    assert sum(d["weights"].values()) == pytest.approx(1.0)
    for f in families:
        assert f["weight"] == d["weights"].get(f"{f['method']}: {f['model']}", 0.0)
    assert d["provenance"]["seed"] == 4
    members = d["settings"]["members"]
    assert members[0]["method"] == "bootstrap" and members[0]["replicates"] == 200
    again = run_json("estimate", "spina_bifida_my", "--method", "stacked", "--bootstrap", "200",
                     "--seed", "4")
    assert again["estimate"] == d["estimate"] and again["weights"] == d["weights"]
    res = run("estimate", "spina_bifida_my", "--method", "stacked", "--select", "aic")
    assert res.exit_code != 0 and "--select" in res.output


def test_method_all_runs_every_family_side_by_side():
    d = run_json("estimate", "spina_bifida_my", "--method", "all", "--seed", "1")
    methods = [r["method"] for r in d["results"]]
    assert methods == ["loglinear", "heterogeneity", "logitnormal", "lcm", "lcm-ml", "dga"]
    for r in d["results"]:
        assert r["interval"][0] <= r["estimate"]
    # The log-linear row gets the same default as `estimate` alone; the others keep theirs.
    loglinear, heterogeneity = d["results"][:2]
    assert loglinear["interval_method"] == "bootstrap percentile"
    assert loglinear["bootstrap"]["replicates"] == 1000 and loglinear["bootstrap"]["ntop"] == 10
    assert heterogeneity["interval_method"] == "profile" and "bootstrap" not in heterogeneity
    # The comparison is the family check: the log-linear row does not repeat its own.
    assert "families" not in loglinear and "spread" in d
    # Three Mth models tie on AIC there: the row shows their range, not the one reported.
    tied = heterogeneity["tied"]
    assert len(tied["models"]) == 3 and tied["estimates"][0] < tied["estimates"][1]
    from rich.console import Console

    from undercount.cli._render import _other_families, render_payload

    console = Console(record=True, width=400)
    render_payload(console, d)
    _other_families(console, {"results": d["results"][:2]}, "other families")
    text = console.export_text()
    low, high = (f"{x:,.0f}" for x in tied["estimates"])
    assert "3 models tied: their range" in text
    assert f"heterogeneity {low} to {high} (3 models tied; together" in text


def test_logit_normal_and_finite_class_methods_by_name():
    d = run_json("estimate", "kosovo", "--method", "logitnormal", "--seed", "1")
    assert d["method"] == "logitnormal" and d["model"] == "Mth-Normal"
    assert d["sigma"] > 0 and len(d["capture_logits"]) == 4
    d = run_json("estimate", "kosovo", "--method", "lcm-ml", "--seed", "1")
    assert d["method"] == "lcm-ml" and d["classes"] in (2, 3)
    assert d["provenance"]["seed"] == 1
    again = run_json("estimate", "kosovo", "--method", "lcm-ml", "--seed", "1")
    assert again["estimate"] == d["estimate"]
    res = run("estimate", "kosovo", "--method", "logitnormal", "--model", "Mth-Chao")
    assert res.exit_code != 0 and "not a logit-normal model" in res.output


def test_the_default_names_the_options_of_its_log_linear_member():
    # The hint under the default's headline must be a command that runs on that table.
    from undercount.cli._render import _member_flags

    assert _member_flags({"select": "bic", "bootstrap": 1000, "ntop": 10,
                          "interval": "percentile", "resample": "parametric-aic"}) == (
        "--bootstrap 1000 --ntop 10 --resample parametric-aic")
    # Beyond 5 lists: stepwise, no top models, the augmented resample (--ntop would fail).
    assert _member_flags({"select": "stepwise", "bootstrap": 1000, "interval": "percentile",
                          "resample": "augmented"}) == "--bootstrap 1000 --select stepwise"
