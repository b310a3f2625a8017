"""Run the review page: a uvicorn server on a loopback port, with a one-time token."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import sys
import warnings
import webbrowser
from typing import TextIO

from undercount.errors import ConfigError, UndercountWarning
from undercount.review.app import create_app
from undercount.review.session import ReviewSession

__all__ = ["check_host", "serve"]


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback host unless ``allow_remote`` (then warn)."""
    if is_loopback(host):
        return
    if not allow_remote:
        raise ConfigError(
            f"--host {host}: not a loopback address; the review page shows identifying "
            "records, so it listens on 127.0.0.1 unless --allow-remote is given")
    warnings.warn(
        f"the review page listens on {host}: anyone who can reach it and has the token can "
        "read the records and write labels; the connection is not encrypted",
        UndercountWarning, stacklevel=2)


def serve(
    session: ReviewSession,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    reviewer: str | None = None,
    open_browser: bool = True,
    stdout: TextIO | None = None,
) -> None:
    """Serve the review page until interrupted (Ctrl-C stops it cleanly).

    The first line written to ``stdout`` is the page's address with the session token,
    ``http://HOST:PORT/?token=TOKEN``.
    """
    import uvicorn  # the server is needed only by this command

    check_host(host, allow_remote)
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--host {host} --port {port}: cannot listen: {exc}") from exc
    bound = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    hosts = {f"{shown}:{bound}"}
    if is_loopback(host):
        hosts |= {f"127.0.0.1:{bound}", f"localhost:{bound}", f"[::1]:{bound}"}
    app = create_app(session, token, allowed_hosts=hosts, reviewer=reviewer)
    url = f"http://{shown}:{bound}/?token={token}"
    out = stdout or sys.stdout
    print(url, file=out, flush=True)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
