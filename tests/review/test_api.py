"""The HTTP API (item 6): behaviour and every security case, through Starlette's test client."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from undercount.pipeline.store import Store
from undercount.review.app import COOKIE, create_app
from undercount.review.session import ReviewSession

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def session(project):
    return ReviewSession(project)


@pytest.fixture
def client(session):
    app = create_app(session, TOKEN, allowed_hosts={"testserver"}, reviewer="ana")
    return TestClient(app, base_url="http://testserver")


def test_next_pair_and_label(client, session):
    r = client.get("/api/pairs/next", headers=AUTH)
    assert r.status_code == 200
    pair = r.json()
    pid = pair["pair_id"]
    assert pid == session.design["pair_id"].iloc[0]
    for side in ("left", "right"):
        rec = pair[side]
        assert rec["original"] and rec["standardised"]
        assert {"list", "record_id", "row", "cluster_id"} <= set(rec)
    assert 0 <= pair["match_probability"] <= 1
    assert len(pair["comparisons"]) >= 5
    # contributions sum to the match weight up to the prior (a constant across pairs)
    r = client.post("/api/labels", headers=AUTH, json={"pair_id": pid, "label": "match"})
    assert r.status_code == 201
    row = r.json()
    assert row["label"] == "match" and row["reviewer"] == "ana"
    assert row["probability"] == pytest.approx(pair["match_probability"])
    band = int(session.design["band"].iloc[0])
    strata = session.strata.set_index("band")
    assert row["weight"] == pytest.approx(strata.loc[band, "pairs"] / strata.loc[band, "drawn"])
    assert row["band"] == band
    # the next pair is another one
    assert client.get("/api/pairs/next", headers=AUTH).json()["pair_id"] != pid


def test_relabel_appends_latest_wins(client, session):
    pid = session.design["pair_id"].iloc[3]
    for label in ("match", "unsure", "non-match"):
        assert client.post("/api/labels", headers=AUTH,
                           json={"pair_id": pid, "label": label}).status_code == 201
    hist = session.store.label_history()
    assert list(hist.loc[hist["pair_id"] == pid, "label"]) == ["match", "unsure", "non-match"]
    latest = session.store.latest_labels()
    assert latest.set_index("pair_id").loc[pid, "label"] == "non-match"
    assert client.get(f"/api/pairs/{pid}", headers=AUTH).json()["label"] == "non-match"


def test_undo_restores_previous_label(client, session):
    a, b = session.design["pair_id"].iloc[:2]
    client.post("/api/labels", headers=AUTH, json={"pair_id": a, "label": "match"})
    client.post("/api/labels", headers=AUTH, json={"pair_id": a, "label": "non-match"})
    client.post("/api/labels", headers=AUTH, json={"pair_id": b, "label": "unsure"})
    assert client.post("/api/undo", headers=AUTH, json={}).json()["pair_id"] == b
    assert client.post("/api/undo", headers=AUTH, json={}).json()["label"] == "match"
    latest = session.store.latest_labels().set_index("pair_id")["label"]
    assert latest.to_dict() == {a: "match"}
    assert len(session.store.label_history()) == 5  # history kept


def test_unknown_pair_404_bad_label_400(client, session):
    pid = session.design["pair_id"].iloc[0]
    assert client.post("/api/labels", headers=AUTH,
                       json={"pair_id": "0-999999", "label": "match"}).status_code == 404
    assert client.get("/api/pairs/0-999999", headers=AUTH).status_code == 404
    for bad in ("yes", "retracted", "", None, 1):
        r = client.post("/api/labels", headers=AUTH, json={"pair_id": pid, "label": bad})
        assert r.status_code == 400, bad
    r = client.post("/api/labels", headers={**AUTH, "Content-Type": "application/json"},
                    content=b"{not json")
    assert r.status_code == 400
    assert session.store.label_history().empty


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/pairs/next"), ("GET", "/api/pairs"), ("GET", "/api/state"),
    ("GET", "/api/labels"), ("POST", "/api/labels"), ("POST", "/api/undo"), ("GET", "/"),
    ("GET", "/static/review.js"),
])
def test_token_required(client, session, method, path):
    body = {"pair_id": session.design["pair_id"].iloc[0], "label": "match"}
    kw = {"json": body} if method == "POST" else {}
    assert client.request(method, path, **kw).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.request(method, path, headers=wrong, **kw).status_code == 403
    basic = {"Authorization": f"Basic {TOKEN}"}
    assert client.request(method, path, headers=basic, **kw).status_code == 401
    client.cookies.set(COOKIE, "not-the-token")
    assert client.request(method, path, **kw).status_code == 403
    assert session.store.label_history().empty


def test_url_token_becomes_strict_httponly_cookie(client):
    r = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}={TOKEN}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/").status_code == 200  # the cookie now authenticates
    assert client.get("/api/state").status_code == 200
    assert client.get("/?token=wrong", follow_redirects=False).status_code == 403


def test_post_from_another_origin_403(client, session):
    pid = session.design["pair_id"].iloc[0]
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:1"},
                    {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        r = client.post("/api/labels", headers={**AUTH, **headers},
                        json={"pair_id": pid, "label": "match"})
        assert r.status_code == 403, headers
        assert client.post("/api/undo", headers={**AUTH, **headers}, json={}).status_code == 403
    ok = client.post("/api/labels", headers={**AUTH, "Origin": "http://testserver"},
                     json={"pair_id": pid, "label": "match"})
    assert ok.status_code == 201
    assert len(session.store.label_history()) == 1


def test_foreign_host_header_403(client):
    r = client.get("/api/state", headers={**AUTH, "Host": "attacker.example:80"})
    assert r.status_code == 403


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e%2fapp.py",
    "/static/%252e%252e%252fapp.py", "/static/..%5capp.py", "/static/%2e%2e/session.py",
    "/static/....//app.py", "/static/%2fetc%2fpasswd", "/static//etc/passwd",
    "/static/review.js%00", "/static/",
    "/static/nope.js", "/static/..%2f..%2f..%2fpipeline%2fstore.py",
])
def test_no_path_traversal(client, path):
    r = client.get(path, headers=AUTH)
    assert r.status_code == 404, (path, r.status_code)
    assert b"def " not in r.content and b"root:" not in r.content


def test_static_files_served(client):
    for name in ("index.html", "review.js", "review.css"):
        r = client.get(f"/static/{name}", headers=AUTH)
        assert r.status_code == 200 and len(r.content) > 100
    assert "Content-Security-Policy" in r.headers


def test_labels_persist_in_store(client, session, project):
    pid = session.design["pair_id"].iloc[0]
    client.post("/api/labels", headers=AUTH, json={"pair_id": pid, "label": "non-match",
                                                   "note": "different fathers"})
    fresh = Store(session.store.path).latest_labels()
    assert fresh["note"].tolist() == ["different fathers"]
    assert fresh["source"].tolist() == ["review"]
