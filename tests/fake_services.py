"""Last.fm and ListenBrainz played by a real HTTP server on 127.0.0.1, for the importers' tests.

The server answers from "apps" that serve a list of listens the way the real services do
(Last.fm's ``user.getRecentTracks`` pages, ListenBrainz's ``/1/user/<user>/listens``), and
tests can script exceptions on top: a queue of replies for the next matching requests, or a
reply for every matching request (errors, 429s, 500s, a connection dropped mid-body). Every
request is recorded, with its query parameters and headers.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest


class Request(NamedTuple):
    """A request the fake server received (a POST with its body)."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]
    method: str = "GET"
    body: bytes = b""


@dataclass
class Reply:
    """What the fake server answers: ``body`` is sent as JSON unless it is bytes."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Announce the whole body, send half of it, and close: a connection dropped mid-body.
    cut: bool = False
    #: Send the answer one byte every ``drip`` seconds: never silent for long, never done.
    drip: float = 0.0
    #: Drip the status line and headers too, not only the body.
    drip_headers: bool = False

    def payload(self) -> bytes:
        """The body's bytes."""
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass
class _Rule:
    path: str | None
    params: Mapping[str, str]
    replies: list[Reply]
    forever: bool

    def matches(self, request: Request) -> bool:
        if self.path is not None and request.path != self.path:
            return False
        return all(request.params.get(key) == value for key, value in self.params.items())


class FakeServer:
    """A threaded HTTP server on a free port of 127.0.0.1; see the module's docstring."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._apps: dict[str, Callable[[Request], Reply]] = {}
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._httpd = _Server(self)
        # A short poll keeps shutdown, and so each test's teardown, quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def mount(self, path_prefix: str, app: Callable[[Request], Reply]) -> None:
        """Serve requests whose path starts with ``path_prefix`` with ``app``."""
        self._apps[path_prefix] = app

    def queue(self, *replies: Reply, path: str | None = None, **params: str) -> None:
        """Answer the next matching requests with ``replies``, one each, then as before.
        A request matches when it has ``path`` (if given) and the given query ``params``."""
        self._rules.append(_Rule(path, params, list(replies), forever=False))

    def always(self, reply: Reply, *, path: str | None = None, **params: str) -> None:
        """Answer every matching request with ``reply`` until :meth:`clear`."""
        self._rules.append(_Rule(path, params, [reply], forever=True))

    def clear(self) -> None:
        """Forget the scripted replies: the apps answer everything again."""
        with self._lock:
            self._rules.clear()

    def params(self, key: str) -> list[str | None]:
        """The value of query parameter ``key`` in each request so far, in order."""
        return [request.params.get(key) for request in self.requests]

    def reply_to(self, request: Request) -> Reply:
        """Record ``request`` and choose its reply: a scripted one, else the app's."""
        with self._lock:
            self.requests.append(request)
            for rule in self._rules:
                if rule.replies and rule.matches(request):
                    return rule.replies[0] if rule.forever else rule.replies.pop(0)
        for prefix, app in self._apps.items():
            if request.path.startswith(prefix):
                return app(request)
        return Reply(404, {"error": f"nothing at {request.path}"})


class _Server(ThreadingHTTPServer):
    def __init__(self, fake: FakeServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a slow or cut answer is what some tests want


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer(b"")

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _answer(self, sent: bytes) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        request = Request(unquote(parts.path), params, dict(self.headers.items()),
                          self.command, sent)  # fmt: skip
        reply = self.server.fake.reply_to(request)
        body = reply.payload()
        self.send_response(reply.status)
        if not any(name.lower() == "content-type" for name in reply.headers):
            self.send_header("Content-Type", "application/json")
        if not any(name.lower() == "content-length" for name in reply.headers):
            self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.close_connection = True
        if reply.drip_headers:
            self._drip(b"".join(self._headers_buffer) + b"\r\n" + body, reply.drip)
            self._headers_buffer = []
            return
        self.end_headers()
        if reply.drip:
            self._drip(body, reply.drip)
        else:
            self.wfile.write(body[: len(body) // 2] if reply.cut else body)

    def _drip(self, data: bytes, seconds: float) -> None:
        for index in range(len(data)):
            self.wfile.write(data[index : index + 1])
            self.wfile.flush()
            time.sleep(seconds)

    def log_message(self, *args: Any) -> None:
        pass  # keep pytest's output clean


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started :class:`FakeServer`, stopped after the test."""
    server = FakeServer().start()
    yield server
    server.stop()


# --- listens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeListen:
    """A listen as both fake services hold it."""

    listened_at: int
    artist: str
    title: str
    album: str = ""
    recording_mbid: str = ""
    artist_mbid: str = ""
    release_mbid: str = ""


def make_listens(count: int, *, end: int, step: int = 600) -> list[FakeListen]:
    """``count`` distinct listens, one every ``step`` seconds, the newest at ``end``."""
    return [
        FakeListen(end - i * step, f"Artist {i % 17}", f"Song {i}", f"Album {i % 23}")
        for i in range(count)
    ]


def _in_range(when: int, low: int | None, high: int | None) -> bool:
    return (low is None or when >= low) and (high is None or when <= high)


# --- Last.fm ------------------------------------------------------------------------------


class FakeLastfm:
    """``user.getRecentTracks`` over ``listens``: ``from``/``to`` filter (both included),
    newest first, ``limit`` per page, a now-playing entry on page 1 when ``now_playing`` is
    set, all numbers as strings, and a lone track sent as an object, as Last.fm does."""

    path = "/2.0/"

    def __init__(
        self,
        listens: Iterable[FakeListen] = (),
        *,
        user: str = "rj",
        api_key: str = "fake-api-key",
        now_playing: FakeListen | None = None,
        private: bool = False,
    ) -> None:
        self.listens = list(listens)
        self.user = user
        self.api_key = api_key
        self.now_playing = now_playing
        self.private = private

    def __call__(self, request: Request) -> Reply:
        """Answer one API request."""
        params = request.params
        if params.get("api_key") != self.api_key:
            return _lastfm_error(403, 10, "Invalid API key - You must be granted a valid key")
        if params.get("user", "").lower() != self.user.lower():
            return _lastfm_error(404, 6, "User not found")
        if self.private:
            return _lastfm_error(403, 17, "Login: User required to be logged in")
        return Reply(body=self.page(params))

    def page(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The JSON page ``params`` ask for."""
        limit, page = int(params.get("limit", 50)), int(params.get("page", 1))
        low = int(params["from"]) if "from" in params else None
        high = int(params["to"]) if "to" in params else None
        chosen = sorted(
            (listen for listen in self.listens if _in_range(listen.listened_at, low, high)),
            key=lambda listen: listen.listened_at,
            reverse=True,
        )
        tracks = [_lastfm_track(listen) for listen in chosen[(page - 1) * limit : page * limit]]
        if page == 1 and self.now_playing:
            tracks.insert(0, _lastfm_track(self.now_playing, playing=True))
        attributes = {
            "page": str(page),
            "total": str(len(chosen)),
            "user": self.user,
            "perPage": str(limit),
            "totalPages": str(math.ceil(len(chosen) / limit)),
        }
        shaped: Any = tracks[0] if len(tracks) == 1 else tracks
        return {"recenttracks": {"@attr": attributes, "track": shaped}}


def _lastfm_error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"error": code, "message": message})


def _lastfm_track(listen: FakeListen, *, playing: bool = False) -> dict[str, Any]:
    track: dict[str, Any] = {
        "artist": {"mbid": listen.artist_mbid, "#text": listen.artist},
        "streamable": "0",
        "image": [{"size": "small", "#text": ""}],
        "mbid": listen.recording_mbid,
        "album": {"mbid": listen.release_mbid, "#text": listen.album},
        "name": listen.title,
        "url": f"https://www.last.fm/music/{listen.artist}/_/{listen.title}",
    }
    if playing:
        track["@attr"] = {"nowplaying": "true"}
    else:
        track["date"] = {"uts": str(listen.listened_at), "#text": "20 Oct 2020, 10:03"}
    return track


# --- ListenBrainz ------------------------------------------------------------------------------


class FakeListenBrainz:
    """``/1/user/<user>/listens`` over ``listens``, as ListenBrainz answers it: ``max_ts`` and
    ``min_ts`` exclusive, at most ``count`` listens newest first, except that with ``min_ts``
    it picks the oldest ``count`` after it (then sorts them newest first). A request with a
    token other than ``token`` is refused. ``remaining`` lists the X-RateLimit-Remaining
    values of the first answers (10 after them)."""

    path = "/1/user/"

    def __init__(
        self,
        listens: Iterable[FakeListen] = (),
        *,
        user: str = "rj",
        token: str | None = None,
        remaining: Iterable[int] = (),
        reset_in: int = 5,
    ) -> None:
        self.listens = list(listens)
        self.user = user
        self.token = token
        self.remaining = list(remaining)
        self.reset_in = reset_in

    def __call__(self, request: Request) -> Reply:
        """Answer one API request."""
        found = re.fullmatch(r"/1/user/([^/]+)/listens", request.path)
        if not found or found.group(1).lower() != self.user.lower():
            name = found.group(1) if found else request.path
            return Reply(404, {"code": 404, "error": f"Cannot find user: {name}"})
        authorization = request.headers.get("Authorization")
        if authorization is not None and authorization != f"Token {self.token}":
            return Reply(401, {"code": 401, "error": "Invalid authorization token."})
        left = self.remaining.pop(0) if self.remaining else 10
        headers = {
            "X-RateLimit-Limit": "30",
            "X-RateLimit-Remaining": str(left),
            "X-RateLimit-Reset-In": str(self.reset_in),
        }
        return Reply(body={"payload": self.payload(request.params)}, headers=headers)

    def payload(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The ``payload`` object ``params`` ask for."""
        count = min(int(params.get("count", 25)), 1000)
        max_ts = int(params["max_ts"]) if "max_ts" in params else None
        min_ts = int(params["min_ts"]) if "min_ts" in params else None
        chosen = [
            listen
            for listen in self.listens
            if (max_ts is None or listen.listened_at < max_ts)
            and (min_ts is None or listen.listened_at > min_ts)
        ]
        chosen.sort(key=lambda listen: listen.listened_at, reverse=min_ts is None)
        page = sorted(chosen[:count], key=lambda listen: listen.listened_at, reverse=True)
        times = [listen.listened_at for listen in self.listens]
        return {
            "count": len(page),
            "listens": [_listenbrainz_listen(listen, self.user) for listen in page],
            "latest_listen_ts": max(times, default=0),
            "oldest_listen_ts": min(times, default=0),
            "user_id": self.user,
        }


def _listenbrainz_listen(listen: FakeListen, user: str) -> dict[str, Any]:
    mapping = (
        {
            "recording_mbid": listen.recording_mbid,
            "release_mbid": listen.release_mbid or None,
            "artist_mbids": [listen.artist_mbid] if listen.artist_mbid else [],
        }
        if listen.recording_mbid
        else None
    )
    metadata: dict[str, Any] = {
        "artist_name": listen.artist,
        "track_name": listen.title,
        "release_name": listen.album or None,
        "additional_info": {"duration": 362, "submission_client": "fake"},
    }
    if mapping:
        metadata["mbid_mapping"] = mapping
    return {
        "listened_at": listen.listened_at,
        "inserted_at": listen.listened_at + 121,
        "recording_msid": "3f0a4a3e-5c4d-4d28-9a3c-8d2b8c5d1e7f",
        "user_name": user,
        "track_metadata": metadata,
    }
