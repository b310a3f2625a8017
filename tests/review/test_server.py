"""The real server (uvicorn in a subprocess): durability, two tabs, the CLI's checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pandas as pd
from typer.testing import CliRunner

from undercount.cli import app
from undercount.pipeline.store import Store
from undercount.review.session import ReviewSession

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _start(project: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from undercount.cli import main; main()", "review",
         str(project), "--no-open", "--reviewer", "tester", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:") and "/?token=" in url, (
        url, proc.stderr.read() if proc.poll() is not None else "")
    return proc, url


def _client(url: str) -> tuple[httpx.Client, dict[str, str]]:
    base, token = url.split("/?token=")
    return httpx.Client(base_url=base, timeout=30), {"Authorization": f"Bearer {token}"}


def test_kill_9_after_acknowledged_label(project, tmp_path):
    proc, url = _start(project)
    try:
        client, auth = _client(url)
        pid = client.get("/api/pairs/next", headers=auth).json()["pair_id"]
        r = client.post("/api/labels", headers=auth, json={"pair_id": pid, "label": "match"})
        assert r.status_code == 201
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean shutdown, right after the 201
        proc.wait(timeout=30)
    out = tmp_path / "labels.csv"
    res = CliRunner().invoke(app, ["labels", "export", str(project), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = pd.read_csv(out, dtype=str)
    assert rows["pair_id"].tolist() == [pid] and rows["label"].tolist() == ["match"]
    assert rows["reviewer"].tolist() == ["tester"]
    store = Store(project.parent / "linked" / "project.duckdb")
    with store.connect() as con:  # opens cleanly for writing
        assert con.execute("SELECT count(*) FROM labels").fetchone()[0] == 1


def test_two_tabs_label_at_once(project):
    proc, url = _start(project)
    try:
        client, auth = _client(url)
        pairs = [p["pair_id"] for p in client.get("/api/pairs", headers=auth).json()["pairs"]]
        results: list[int] = []

        def tab(ids: list[str], label: str) -> None:
            with httpx.Client(base_url=client.base_url, timeout=30) as c:
                for pid in ids:
                    results.append(c.post("/api/labels", headers=auth,
                                          json={"pair_id": pid, "label": label}).status_code)

        threads = [threading.Thread(target=tab, args=(pairs[0:20:2], "match")),
                   threading.Thread(target=tab, args=(pairs[1:20:2], "non-match"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [201] * 20
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
        proc.wait(timeout=30)
    assert proc.returncode == 0
    hist = Store(project.parent / "linked" / "project.duckdb").label_history()
    assert len(hist) == 20 and hist["pair_id"].is_unique
    assert sorted(hist["pair_id"]) == sorted(pairs[:20])
    assert hist["label_id"].is_unique


def test_non_loopback_host_refused(project):
    res = CliRunner().invoke(app, ["review", str(project), "--no-open", "--host", "0.0.0.0"])
    assert res.exit_code != 0
    assert "--allow-remote" in res.output


def test_export_import_and_kappa(project, tmp_path):
    session = ReviewSession(project)
    ids = session.design["pair_id"].tolist()[:6]
    for i, pid in enumerate(ids):
        session.add_label(pid, "match" if i % 2 else "non-match", reviewer="ana")
    out = tmp_path / "ana.csv"
    res = CliRunner().invoke(app, ["labels", "export", str(project), "--out", str(out)])
    assert res.exit_code == 0 and "wrote 6 label(s)" in res.output
    other = pd.read_csv(out, dtype=str)
    other["reviewer"] = "ben"
    other.loc[0, "label"] = "match"  # ben disagrees once
    other.to_csv(tmp_path / "ben.csv", index=False)
    res = CliRunner().invoke(app, ["labels", "import", str(project), str(tmp_path / "ben.csv")])
    assert res.exit_code == 0, res.output
    assert "imported 6 label(s)" in res.output
    # 6 pairs, 5 agree; kappa = (5/6 - 1/2) / (1 - 1/2) with ana 3/3, ben 4/2
    po, pe = 5 / 6, (3 / 6) * (4 / 6) + (3 / 6) * (2 / 6)
    assert f"Cohen's kappa {(po - pe) / (1 - pe):.3f} on 6 pair(s)" in res.output
    hist = Store(project.parent / "linked" / "project.duckdb").label_history()
    assert len(hist) == 12 and set(hist.loc[6:, "source"]) == {"import"}


def test_import_bad_row_stores_nothing(project, tmp_path):
    session = ReviewSession(project)
    row = session.pairs.iloc[0]
    std = session.std
    good = {"list_l": std.loc[row["uid_l"], "list"], "record_l": std.loc[row["uid_l"], "record_id"],
            "list_r": std.loc[row["uid_r"], "list"], "record_r": std.loc[row["uid_r"], "record_id"],
            "label": "match"}
    pd.DataFrame([good, {**good, "label": "probably"}]).to_csv(tmp_path / "x.csv", index=False)
    res = CliRunner().invoke(app, ["labels", "import", str(project), str(tmp_path / "x.csv")])
    assert res.exit_code != 0
    assert "row 3, column label" in res.output
    pd.DataFrame([{**good, "record_r": "nobody"}]).to_csv(tmp_path / "y.csv", index=False)
    res = CliRunner().invoke(app, ["labels", "import", str(project), str(tmp_path / "y.csv")])
    assert res.exit_code != 0 and "row 2" in res.output and "nobody" in res.output
    assert Store(project.parent / "linked" / "project.duckdb").label_history().empty
