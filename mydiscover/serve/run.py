"""Starting ``mydiscover serve``: the address, the token, the checks, then the server."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from mydiscover.config import Settings
from mydiscover.errors import MydiscoverError

#: The token a server bound beyond loopback asks for (one is made up and shown where unset).
ENV_TOKEN = "MYDISCOVER_SERVE_TOKEN"
DEFAULT_PORT = 8765


@dataclass(frozen=True)
class Served:
    """Where the server listens, and the address to open (with the token, when one is asked)."""

    host: str
    port: int
    token: str
    upstream: str
    #: Whether the token was made up at this start (then the address shows it, once: the user
    #: has no other way to learn it), not the user's own from the environment (never shown).
    made_up: bool = False

    @property
    def base(self) -> str:
        """The server's address (what Subsonic clients are given)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def address(self) -> str:
        """The page's address; with a made-up token, the one the first visit trades for a
        cookie (a token of the user's own is never printed: logs are files too)."""
        return self.base + (f"?token={self.token}" if self.token and self.made_up else "")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine alone (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plan(host: str, port: int, upstream: str) -> Served:
    """Check the address and the upstream, and choose the token: MYDISCOVER_SERVE_TOKEN when
    set, else a new random one when bound beyond loopback (none on loopback)."""
    if upstream and not upstream.startswith(("http://", "https://")):
        raise MydiscoverError(f"--upstream {upstream!r}: give the server's http:// or https:// URL")
    if not 0 < port < 65536:
        raise MydiscoverError(f"--port {port}: not a port")
    token = os.environ.get(ENV_TOKEN, "")
    if token or is_loopback(host):
        return Served(host, port, token, upstream.rstrip("/"))
    return Served(host, port, secrets.token_urlsafe(24), upstream.rstrip("/"), made_up=True)


def serve(settings: Settings, served: Served, ready: Callable[[Served], None]) -> None:
    """Serve until interrupted (``ready`` is told once the database is known to open)."""
    import uvicorn

    from mydiscover.db import open_database
    from mydiscover.serve.app import create_app

    open_database(settings.database, create=False).close()  # a clear error before listening
    app = create_app(settings, token=served.token, upstream=served.upstream)
    ready(served)
    uvicorn.run(
        app,
        host=served.host,
        port=served.port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
