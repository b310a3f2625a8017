"""``undercount run``: stages cached by content hash, resumable after a kill, clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from undercount.errors import ConfigError, InputError
from undercount.pipeline.runner import Project

from ._project import FAMILY, FIRST, make_project


@pytest.fixture(scope="module")
def done_project(tmp_path_factory) -> Project:
    path = make_project(tmp_path_factory.mktemp("proj"))
    p = Project(path)
    p.run()
    return p


def test_first_run_runs_every_stage_and_stores_everything(done_project):
    p = done_project
    assert [r["state"] for r in p.status()] == ["up to date"] * 4
    tables = set(p.store.tables())
    assert {"raw__capture_histories", "capture_histories", "capture_table", "estimates",
            "stage_log", "stage_history"} <= tables
    raw = p.store.read_frame("raw__capture_histories")
    source = pd.read_csv(p.config.capture_histories.file, dtype=str)
    pd.testing.assert_frame_equal(raw, source, check_dtype=False)  # raw kept as read
    res = p.results()
    # Spina bifida, 3 lists, BIC-selected log-linear model (dataset reference 730.9).
    assert res["headline"].estimate == pytest.approx(730.93, abs=0.01)
    # `run` shares `estimate`'s default interval: the bootstrap with BIC re-selection, seeded
    # by the project's seed.
    overall = res["overall"]
    assert overall.interval.method == "bootstrap percentile"
    assert overall.n_replicates == 1000
    assert overall.ntop == 10
    assert overall.provenance["seed"] == 7
    strat = res["stratified"]
    assert set(strat.strata) == {"sex=female", "sex=male"}
    # The one-stratum default draws from the AIC-best model's fit; --strata's joint
    # bootstrap resamples each stratum's people, the unobserved too.
    assert overall.kind == "parametric"
    assert overall.bootstrap_settings["world"]["select"] == "aic"
    assert strat.settings["kind"] == "augmented"
    est = p.store.query("SELECT kind, label, estimate, provenance FROM estimates")
    assert {"headline", "overall", "stratified", "stratum"} <= set(est["kind"])
    assert '"versions"' in est.loc[est["kind"] == "headline", "provenance"].iloc[0]
    html = (p.config.output / "report.html").read_text()
    assert 'data-estimate="' + repr(res["headline"].estimate) + '"' in html


def test_rerun_skips_everything(done_project):
    before = done_project.store.history()
    summary = done_project.run()
    assert summary.ran() == [] and len(summary.cached()) == 4
    after = done_project.store.history()
    assert (after["event"] == "done").sum() == (before["event"] == "done").sum()


def test_changing_the_estimate_reruns_only_estimate_and_report(tmp_path):
    path = make_project(tmp_path, strata=False)
    Project(path).run()
    path.write_text(path.read_text().replace('method = "loglinear"',
                                             'method = "loglinear"\nselect = "aic"'))
    p = Project(path)
    assert [r["state"] for r in p.status()] == ["up to date", "up to date", "outdated",
                                                "outdated"]
    summary = p.run()
    assert summary.cached() == ["ingest", "tabulate"]
    assert summary.ran() == ["estimate", "report"]
    # A deleted report is rebuilt from the store without re-estimating.
    (p.config.output / "report.html").unlink()
    assert p.run().ran() == ["report"]


def test_redacted_project_report_has_no_names_or_ids(tmp_path):
    path = make_project(tmp_path, redact=True, strata=False)
    p = Project(path)
    p.run()
    html = (p.config.output / "report.html").read_text()
    people = pd.read_csv(p.config.capture_histories.file, dtype=str)
    for value in [*people["person_id"], *people["full_name"]]:
        assert value not in html
    for token in FIRST + FAMILY:
        assert token not in html
    # Unredacted, the sample of input records shows them (so the check above is meaningful).
    plain = p.report(redact=False).html
    assert people["person_id"].iloc[0] in plain and people["full_name"].iloc[0] in plain


BAD = [
    ('file = "people.csv"', 'file = "nowhere.csv"', ConfigError, "nowhere.csv"),
    ('strata = ["sex"]\nid_column', 'strata = ["gender"]\nid_column', InputError, "'gender'"),
    ('method = "loglinear"', 'method = "loglinear"\nmodle = "[12]"', ConfigError,
     r"unknown key \[estimate\].modle"),
    ('method = "loglinear"', 'method = "magic"', ConfigError, "method = 'magic'"),
    ('method = "loglinear"', 'method = "loglinear"\nchains = 4', ConfigError, "chains"),
    ('redact = false', 'redact = "no"', ConfigError, r"\[report\] redact"),
    ('[project]', '[projet]\nx = 1\n[project]', ConfigError, "unknown key top level.projet"),
    ('lists = [', 'lists = ["nope", ', InputError, "'nope'"),
]


@pytest.mark.parametrize(("old", "new", "error", "match"), BAD)
def test_bad_project_files_fail_before_any_work(tmp_path, old, new, error, match):
    path = make_project(tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(error, match=match):
        Project(path).run()
    assert not (tmp_path / "out").exists()  # nothing was started


def _cli() -> typer.Typer:
    from undercount.cli._run import register

    app = typer.Typer()
    register(app)
    return app


def test_cli_run_status_report(tmp_path):
    path = make_project(tmp_path, strata=False)
    runner = CliRunner()
    app = _cli()
    r = runner.invoke(app, ["run", str(path), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "An estimated 731" in r.output
    r = runner.invoke(app, ["status", str(path)])
    assert r.exit_code == 0 and r.output.count("up to date") == 4
    out = tmp_path / "again.html"
    r = runner.invoke(app, ["report", str(path), "--html", str(out), "--redact"])
    assert r.exit_code == 0, r.output
    assert "P-0700000" not in out.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(path.read_text().replace('method = "loglinear"', 'method = "magic"'))
    r = runner.invoke(app, ["run", str(bad)])
    assert r.exit_code == 3 and "[estimate] method = 'magic'" in r.output


_SLOW_RUN = """
import dataclasses, sys, time
from undercount.pipeline import runner

stage = sys.argv[2]
real = next(s.run for s in runner.STAGES if s.name == stage)

def slow(ctx):
    out = real(ctx)
    print(f"{stage.upper()}-COMPUTED", flush=True)
    time.sleep(120)   # killed here, before the stage commits
    return out

runner.STAGES = tuple(dataclasses.replace(s, run=slow) if s.name == stage else s
                      for s in runner.STAGES)
runner.Project(sys.argv[1]).run()
"""


def _kill_during(tmp_path, path, stage):
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent(_SLOW_RUN))
    proc = subprocess.Popen([sys.executable, str(script), str(path), stage],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        line = ""
        while f"{stage.upper()}-COMPUTED" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"run ended early: {proc.stderr.read()}")
        os.killpg(proc.pid, signal.SIGKILL)  # mid-stage, before it commits
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_run_killed_during_linkage_resumes_with_identical_results(tmp_path):
    from undercount.simulate import simulate_lists

    def project(folder):
        sim = simulate_lists(n_people=400, lists=3, rng=np.random.default_rng(5), seed=5)
        sim.write(folder, overwrite=True)
        return folder / "project.toml"

    path = project(tmp_path / "a")
    _kill_during(tmp_path, path, "link")
    p = Project(path)
    states = {r["stage"]: r["state"] for r in p.status()}
    assert states["ingest"] == "up to date" and states["standardise"] == "up to date"
    assert states["link"] == "interrupted"
    summary = p.run()
    assert summary.cached() == ["ingest", "standardise"]
    assert summary.ran()[0] == "link"
    done = p.store.history()
    done = done[done["event"] == "done"].groupby("stage").size().to_dict()
    assert done["ingest"] == 1 and done["standardise"] == 1 and done["link"] == 1
    clean = Project(project(tmp_path / "b"))
    clean.run()
    cols = "kind, label, method, model, estimate, lower, upper"
    pd.testing.assert_frame_equal(
        p.store.query(f"SELECT {cols} FROM estimates ORDER BY kind, label"),
        clean.store.query(f"SELECT {cols} FROM estimates ORDER BY kind, label"))


def test_killed_run_resumes_without_recomputing(tmp_path):
    path = make_project(tmp_path / "a", strata=False)
    _kill_during(tmp_path, path, "estimate")
    p = Project(path)
    states = {r["stage"]: r["state"] for r in p.status()}
    assert states == {"ingest": "up to date", "tabulate": "up to date",
                      "estimate": "interrupted", "report": "not run"}
    first = p.store.query("SELECT stage, finished_at FROM stage_log WHERE status = 'done'")
    summary = p.run()
    assert summary.cached() == ["ingest", "tabulate"]
    assert summary.ran() == ["estimate", "report"]
    hist = p.store.history()
    done = hist[hist["event"] == "done"].groupby("stage").size().to_dict()
    assert done == {"ingest": 1, "tabulate": 1, "estimate": 1, "report": 1}
    again = p.store.query("SELECT stage, finished_at FROM stage_log WHERE stage IN "
                          "('ingest', 'tabulate')")
    pd.testing.assert_frame_equal(first.sort_values("stage", ignore_index=True),
                                  again.sort_values("stage", ignore_index=True))
    # The same results as a run that was never interrupted.
    clean_path = make_project(tmp_path / "b", strata=False)
    clean = Project(clean_path)
    clean.run()
    cols = "kind, label, method, model, estimate, lower, upper, result"
    pd.testing.assert_frame_equal(
        p.store.query(f"SELECT {cols} FROM estimates ORDER BY kind, label"),
        clean.store.query(f"SELECT {cols} FROM estimates ORDER BY kind, label"))
    assert ((p.config.output / "report.html").read_bytes()
            == (clean.config.output / "report.html").read_bytes())
    assert Path(p.store.path).exists()


def test_the_report_comparison_shows_the_default_members_own_fits():
    # --method all refits every family from its own stream; the families the default
    # weighed, configured alike, are shown as the default fitted them (one fit of each).
    from types import SimpleNamespace

    from undercount.core.result import Interval, MSEResult
    from undercount.pipeline.estimate import Comparison
    from undercount.pipeline.runner import _with_members

    def res(method: str, estimate: float, **settings) -> MSEResult:
        return MSEResult(method=method, model="m", estimate=estimate,
                         interval=Interval(estimate - 10, estimate + 10), n_observed=100,
                         lists=("a", "b", "c"), settings=settings)

    members = [res("lcm-ml", 126.0, level=0.95, restarts=4), res("logitnormal", 140.0, level=0.95)]
    refit = Comparison(results=(
        res("loglinear", 130.0), res("lcm-ml", 127.0, restarts=4, level=0.95),
        res("logitnormal", 150.0, level=0.9), res("dga", 135.0)))
    main = SimpleNamespace(fits=SimpleNamespace(results=members))
    shown = _with_members(refit, main)
    assert [r.estimate for r in shown.results] == [130.0, 126.0, 150.0, 135.0]
    assert shown.results[1] is members[0]
    assert _with_members(refit, SimpleNamespace()) is refit
