"""The review page's HTTP API (Starlette); documented in ``docs/review.md``.

Security model (a local tool holding identifying records):

* every request carries the session token: ``Authorization: Bearer TOKEN`` (scripts), or the
  HttpOnly, SameSite=Strict cookie that ``GET /?token=TOKEN`` sets (the page); anything else
  gets 401 (no credentials) or 403 (wrong ones);
* a request whose ``Host`` is not the server's own address gets 403 (DNS rebinding);
* a state-changing request (POST) whose ``Origin`` is present and not the server's own gets
  403, as does one a browser marks ``Sec-Fetch-Site: cross-site`` (CSRF);
* static files are served only from an allow-list built at start-up from the package's own
  ``static/`` folder, by exact name: no path is ever joined from the request.
"""

from __future__ import annotations

import secrets
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from undercount.review.session import ReviewSession

__all__ = ["COOKIE", "create_app"]

COOKIE = "undercount_review"
_GIVEN = ("match", "non-match", "unsure")  # what a reviewer may post (undo is its own call)


def _static_files() -> dict[str, Path]:
    folder = Path(str(resources.files("undercount.review") / "static"))
    return {p.name: p for p in folder.iterdir() if p.is_file()}


def create_app(
    session: ReviewSession,
    token: str,
    *,
    allowed_hosts: set[str],
    reviewer: str | None = None,
) -> Starlette:
    """The ASGI app for one review session.

    ``allowed_hosts``: the ``host:port`` values a request's ``Host`` may carry (the server's
    own addresses); ``reviewer``: recorded with every label unless a request names one.
    """
    static = _static_files()
    allowed = {h.lower() for h in allowed_hosts}

    def origins() -> set[str]:
        return {f"http://{h}" for h in allowed}

    def check(request: Request, *, write: bool = False) -> Response | None:
        if request.headers.get("host", "").lower() not in allowed:
            return JSONResponse({"error": "unknown host"}, status_code=403)
        auth = request.headers.get("authorization")
        given = None
        if auth is not None:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "bearer":
                return JSONResponse({"error": "use Authorization: Bearer TOKEN"},
                                    status_code=401)
            given = value.strip()
        elif COOKIE in request.cookies:
            given = request.cookies[COOKIE]
        if given is None:
            return JSONResponse({"error": "missing token"}, status_code=401)
        if not secrets.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"error": "wrong token"}, status_code=403)
        if write:
            origin = request.headers.get("origin")
            if origin is not None and origin.lower() not in origins():
                return JSONResponse({"error": "cross-origin request refused"}, status_code=403)
            if request.headers.get("sec-fetch-site", "same-origin") == "cross-site":
                return JSONResponse({"error": "cross-site request refused"}, status_code=403)
        return None

    async def index(request: Request) -> Response:
        query = request.query_params.get("token")
        if query is not None:
            if request.headers.get("host", "").lower() not in allowed:
                return JSONResponse({"error": "unknown host"}, status_code=403)
            if not secrets.compare_digest(query.encode(), token.encode()):
                return JSONResponse({"error": "wrong token"}, status_code=403)
            # Exchange the URL token for a cookie and drop it from the address bar.
            resp = RedirectResponse("/", status_code=303)
            resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
            return resp
        if (bad := check(request)) is not None:
            return bad
        return FileResponse(static["index.html"], headers=_NO_CACHE)

    async def static_file(request: Request) -> Response:
        if (bad := check(request)) is not None:
            return bad
        name = request.path_params["name"]
        path = static.get(name)  # exact names only: no traversal, encoded or not
        if path is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return FileResponse(path, headers=_NO_CACHE)

    def state(request: Request) -> Response:
        if (bad := check(request)) is not None:
            return bad
        return JSONResponse({**session.state(), "reviewer": reviewer})

    def queue(request: Request) -> Response:
        if (bad := check(request)) is not None:
            return bad
        return JSONResponse({"pairs": session.queue()})

    def next_pair(request: Request) -> Response:
        if (bad := check(request)) is not None:
            return bad
        pid = session.next_pair(request.query_params.get("after"))
        if pid is None:
            return JSONResponse({"pair_id": None, "done": True})
        return JSONResponse(session.pair(pid))

    def one_pair(request: Request) -> Response:
        if (bad := check(request)) is not None:
            return bad
        pid = request.path_params["pair_id"]
        if not session.has_pair(pid):
            return JSONResponse({"error": f"unknown pair_id {pid!r}"}, status_code=404)
        return JSONResponse(session.pair(pid))

    async def post_label(request: Request) -> Response:
        if (bad := check(request, write=True)) is not None:
            return bad
        body = await _json(request)
        if not isinstance(body, dict):
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        pid, label = body.get("pair_id"), body.get("label")
        if label not in _GIVEN:
            return JSONResponse({"error": f"label must be one of {', '.join(_GIVEN)}"},
                                status_code=400)
        if not isinstance(pid, str) or not session.has_pair(pid):
            return JSONResponse({"error": f"unknown pair_id {pid!r}"}, status_code=404)
        note = body.get("note")
        if note is not None and not isinstance(note, str):
            return JSONResponse({"error": "note must be text"}, status_code=400)
        who = body.get("reviewer") or reviewer
        row = await run_in_threadpool(session.add_label, pid, label, reviewer=who, note=note)
        return JSONResponse(_row(row), status_code=201)

    async def undo(request: Request) -> Response:
        if (bad := check(request, write=True)) is not None:
            return bad
        body = await _json(request)
        who = (body.get("reviewer") if isinstance(body, dict) else None) or reviewer
        row = await run_in_threadpool(session.undo, who)
        if row is None:
            return JSONResponse({"error": "nothing to undo"}, status_code=409)
        return JSONResponse(_row(row), status_code=200)

    def labels(request: Request) -> Response:
        if (bad := check(request)) is not None:
            return bad
        latest = session.store.latest_labels()
        return JSONResponse({"labels": [_row(r) for r in latest.to_dict("records")]})

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/static/{name}", static_file, methods=["GET"]),
        Route("/api/state", state, methods=["GET"]),
        Route("/api/pairs", queue, methods=["GET"]),
        Route("/api/pairs/next", next_pair, methods=["GET"]),
        Route("/api/pairs/{pair_id}", one_pair, methods=["GET"]),
        Route("/api/labels", post_label, methods=["POST"]),
        Route("/api/labels", labels, methods=["GET"]),
        Route("/api/undo", undo, methods=["POST"]),
    ]
    return Starlette(routes=routes)


_NO_CACHE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
             "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
             "Referrer-Policy": "no-referrer"}


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _row(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            v = None
        elif hasattr(v, "isoformat"):
            v = v.isoformat()
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    return out
