"""The project's one way to the web: a guarded GET, one retry loop, and a polite JSON client.

:class:`Transport` is what every request goes through (the crawler, the API clients, the
Subsonic client). It bounds each request's *total* time, not just the gap between bytes (a
watchdog shuts the socket when the deadline passes, so a server dripping a byte a second
cannot hold a command), caps the body it reads, and follows redirects by hand: web schemes
only, never from https down to http, never from a public host to a private, link-local or
loopback address (nor between those kinds), credentials dropped on another origin, and the
caller told of each hop so that it can read that origin's robots.txt and keep its pace.

:func:`with_retries` is the retry loop: exponential backoff, the server's ``Retry-After``
obeyed, a line logged for each retry (so a command that waits says why), and no retry at all
for what a retry cannot mend: a host that does not resolve or refuses connections fails at once.

Messages name the host and what went wrong, never the URL: query strings carry API keys.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError

from mydiscover import __version__
from mydiscover.errors import MydiscoverError

USER_AGENT = f"mydiscover/{__version__} (+https://github.com/mydiscover/mydiscover)"
#: The longest pause between two tries that the backoff alone asks for.
MAX_BACKOFF = 60.0
#: The longest pause a server's ``Retry-After`` is obeyed for: a client stuck for an hour
#: looks hung, and the next try will simply be told to wait again.
MAX_SERVER_WAIT = 600.0
#: The most one request waits in all, over its retries, before giving up with the reason: a
#: command that sits silent for longer looks hung. Resumable imports pick up from there.
MAX_TOTAL_WAIT = 300.0
#: The largest JSON answer an API client reads: Last.fm's and ListenBrainz's biggest pages are
#: well under 1 MB, a Subsonic search page of 500 songs about 0.5 MB.
MAX_JSON_BYTES = 16 * 2**20
#: Redirects one request follows before giving up (browsers allow about 20; APIs need 1 or 2).
MAX_REDIRECTS = 5
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

log = logging.getLogger(__name__)
T = TypeVar("T")


class HttpError(MydiscoverError):
    """A web request that failed for good, in one line naming the host."""


class ServiceError(HttpError):
    """A web service refused a request, or kept failing after the retries."""


class ServiceRefused(ServiceError):
    """A web service answered a 4xx without a JSON body to explain it; ``status`` is the code
    (APIs such as Jellyfin's say everything with it)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TryAgain(Exception):
    """One try failed in a way the next one may not; ``wait`` is what the server asked for."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The seconds a refusal (HTTP 429) asks the client to wait: ``Retry-After`` (in seconds)
    or ListenBrainz's ``X-RateLimit-Reset-In``; ``None`` when it asks nothing readable.
    Capped at :data:`MAX_SERVER_WAIT`."""
    for name in ("Retry-After", "X-RateLimit-Reset-In"):
        seconds = header_seconds(headers.get(name))
        if seconds is not None:
            return seconds
    return None


def header_seconds(value: str | None) -> float | None:
    """A header's delay in seconds, capped at :data:`MAX_SERVER_WAIT`; ``None`` when absent or
    not a number (an HTTP date, which APIs hardly send: the backoff covers it)."""
    try:
        seconds = float(value or "")
    except ValueError:
        return None
    return min(seconds, MAX_SERVER_WAIT) if math.isfinite(seconds) and seconds >= 0 else None


def host_of(url: str) -> str:
    """The host (and port) of ``url``, for messages: never its credentials, path or query."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what robots.txt, pacing and credentials are per."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


# --- retries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retries:
    """How often and how patiently a request is tried again: ``backoff * 2**attempt`` seconds
    after failed try ``attempt`` (at most :data:`MAX_BACKOFF`) unless the server says how long,
    and never more than :data:`MAX_TOTAL_WAIT` of waiting in all."""

    max_retries: int = 5
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        """The backoff pause after failed try number ``attempt`` (counted from 0)."""
        return min(self.backoff * 2**attempt, MAX_BACKOFF)


def with_retries(
    try_once: Callable[[], T], *, host: str, retries: Retries, error: type[HttpError]
) -> T:
    """``try_once()`` until it stops raising :class:`TryAgain`, pausing between tries and
    logging each retry; raises ``error`` with the last reason once the retries are spent."""
    attempt = 0
    waited = 0.0
    while True:
        try:
            return try_once()
        except TryAgain as problem:
            if attempt >= retries.max_retries:
                gave_up = f"gave up after {attempt + 1} tries"
                raise error(f"{host}: {problem.reason} ({gave_up})") from None
            pause = problem.wait if problem.wait is not None else retries.delay(attempt)
            if waited + pause > MAX_TOTAL_WAIT:
                raise error(
                    f"{host}: {problem.reason} (asked to wait {pause:.0f} s more: try again later)"
                ) from None
            log.warning(
                "%s: %s; trying again in %.0f s (retry %d of %d)",
                host, problem.reason, pause, attempt + 1, retries.max_retries,
            )  # fmt: skip
            retries.sleep(pause)
            waited += pause
            attempt += 1


# --- the deadline -----------------------------------------------------------------------------


class _Watchdog:
    """Shuts down the sockets of one request when its deadline passes, which wakes a read
    blocked on a server that sends a byte now and then (socket timeouts only bound the gaps)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (at once when it has passed)."""
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def cancel(self) -> None:
        """The request is over: stop the timer."""
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to wake
        sock.shutdown(socket.SHUT_RDWR)


#: The watchdog of the request this thread is making, for the connections below to find.
_current = threading.local()


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        watchdog: _Watchdog | None = getattr(_current, "watchdog", None)
        if watchdog is not None and self.sock is not None:
            watchdog.watch(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    getresponse = _WatchedHTTPConnection.getresponse


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connections the current request's watchdog can shut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


# --- where a redirect may go --------------------------------------------------------------------


def network_kinds(host: str) -> set[str]:
    """What kinds of address ``host`` resolves to: "public", "private", "link-local",
    "loopback"; empty when it does not resolve (the request itself then says so)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return set()
    return {_kind(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos}


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    return "public" if address.is_global else "private"


def check_redirect(source: str, target: str, allowed_kinds: set[str]) -> None:
    """Raise :class:`HttpError` unless a redirect from ``source`` to ``target`` may be
    followed: http or https only, never https to http, and only to public addresses or to the
    kinds of network (``allowed_kinds``, from :func:`network_kinds`) the request named."""
    source_host = host_of(source)
    scheme = urlsplit(target).scheme
    if scheme not in ("http", "https"):
        kind = scheme or "schemeless"
        raise HttpError(f"{source_host}: redirected to a {kind} address; not followed")
    if urlsplit(source).scheme == "https" and scheme == "http":
        raise HttpError(f"{source_host}: redirected from https to plain http; not followed")
    kinds = network_kinds(urlsplit(target).hostname or "")
    refused = kinds - allowed_kinds - {"public"}
    if refused:
        raise HttpError(
            f"{source_host}: redirected to {host_of(target)}, a {'/'.join(sorted(refused))} "
            "address the request did not name; not followed"
        )


# --- the request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A complete answer: the URL that gave it (after redirects), its status, headers, body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """GETs with a total deadline, a body cap and redirects followed by hand (see the module's
    docstring). ``error`` is the exception class its failures are raised as; network troubles
    a retry may mend are raised as :class:`TryAgain` for :func:`with_retries`."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        deadline: float = 120.0,
        max_bytes: int = MAX_JSON_BYTES,
        error: type[HttpError] = HttpError,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.error = error
        self._http = requests.Session()
        self._http.mount("http://", _WatchedAdapter())
        self._http.mount("https://", _WatchedAdapter())
        self._http.headers.update({"User-Agent": USER_AGENT, **(headers or {})})

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        on_redirect: Callable[[str], None] | None = None,
        check_headers: Callable[[int, Mapping[str, str]], None] | None = None,
    ) -> Answer:
        """GET ``url`` with query ``params``, following redirects. ``on_redirect(url)`` is
        called before each hop (it may raise to refuse it, or wait its turn);
        ``check_headers(status, headers)`` before the body is read (it may raise to refuse a
        content type). Any status is returned; the body is read up to ``max_bytes``."""
        return self._within_deadline(
            url, lambda: self._follow(url, params, dict(headers or {}), on_redirect, check_headers)
        )

    def post(self, url: str, data: bytes, *, headers: Mapping[str, str] | None = None) -> Answer:
        """POST ``data`` (JSON) to ``url``, under the same deadline and body cap as a GET; a
        redirect is refused, not followed (a POST must not land anywhere but where it was
        sent)."""

        def send() -> Answer:
            sent = {"Content-Type": "application/json", **(headers or {})}
            with self._open(url, None, sent, data=data) as response:
                if response.status_code in _REDIRECT_CODES:
                    raise self.error(f"{host_of(url)}: redirected a POST; not followed")
                body = self._read(response, host_of(url))
                return Answer(url, response.status_code, response.headers, body)

        return self._within_deadline(url, send)

    def _within_deadline(self, url: str, request: Callable[[], Answer]) -> Answer:
        """``request()`` with a watchdog that shuts its socket at the deadline."""
        watchdog = _Watchdog(self.deadline)
        # A caller's on_redirect may make a request of its own (robots.txt): keep its watchdog.
        outer = getattr(_current, "watchdog", None)
        _current.watchdog = watchdog
        try:
            answer = request()
            if watchdog.expired:  # a header cut short at the deadline can still parse
                raise TryAgain("cut off at the deadline")
            return answer
        except Exception:
            # Whatever the cut-off socket looked like (a broken connection, a short body, a
            # header without its content type), the reason is the deadline.
            if watchdog.expired:
                raise self.error(
                    f"{host_of(url)}: no complete answer within {self.deadline:g} s"
                ) from None
            raise
        finally:
            _current.watchdog = outer
            watchdog.cancel()

    def _follow(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: dict[str, str | None],
        on_redirect: Callable[[str], None] | None,
        check_headers: Callable[[int, Mapping[str, str]], None] | None,
    ) -> Answer:
        # The kinds of network the caller named: a redirect may stay among them or go public.
        allowed = network_kinds(urlsplit(url).hostname or "")
        for _hop in range(MAX_REDIRECTS + 1):
            with self._open(url, params, headers) as response:
                location = response.headers.get("Location")
                if response.status_code not in _REDIRECT_CODES or not location:
                    if check_headers:
                        check_headers(response.status_code, response.headers)
                    body = self._read(response, host_of(url))
                    return Answer(url, response.status_code, response.headers, body)
                target = urljoin(response.url or url, location).partition("#")[0]
            try:
                check_redirect(url, target, allowed)
            except HttpError as refused:
                raise self.error(str(refused)) from None
            if origin_of(target) != origin_of(url):
                # Credentials were meant for the origin the caller named.
                headers = {**headers, "Authorization": None, "Cookie": None}
            if on_redirect:
                on_redirect(target)
            url, params = target, None
        raise self.error(f"{host_of(url)}: more than {MAX_REDIRECTS} redirects; not followed")

    def _open(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str | None],
        data: bytes | None = None,
    ) -> requests.Response:
        host = host_of(url)
        # Every "from None" below drops the requests exception: its text holds the full URL.
        try:
            return self._http.request(
                "GET" if data is None else "POST", url, params=params, data=data,
                headers=headers, timeout=self.timeout, stream=True, allow_redirects=False,
            )  # fmt: skip
        except requests.exceptions.SSLError:
            raise self.error(f"{host}: the TLS connection failed (certificate?)") from None
        except requests.Timeout:
            raise TryAgain("timed out") from None
        except requests.ConnectionError as exc:
            failure = _connect_failure(exc)
            if failure:
                raise self.error(f"{host}: {failure}") from None
            raise TryAgain("the connection broke before the answer") from None
        except requests.RequestException as exc:
            raise self.error(f"{host}: the request failed ({type(exc).__name__})") from None

    def _read(self, response: requests.Response, host: str) -> bytes:
        too_large = self.error(f"{host}: the answer is larger than {self.max_bytes / 2**20:g} MB")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise too_large
                chunks.append(chunk)
        except requests.Timeout:
            raise TryAgain("timed out while reading the answer") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            raise TryAgain("the connection dropped in the middle of the answer") from None
        except requests.exceptions.ContentDecodingError:
            raise TryAgain("the answer arrived garbled (bad compression)") from None
        return b"".join(chunks)


def _connect_failure(exc: requests.ConnectionError) -> str | None:
    """Why no connection could be made, when no retry can help soon (no DNS answer, refused,
    no route); ``None`` for a connection that broke, which a retry may mend."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, NameResolutionError):
        return "the host name does not resolve (offline, or a typo?)"
    if isinstance(reason, NewConnectionError):
        return "cannot connect (refused, or no route to the host)"
    return None


# --- JSON APIs --------------------------------------------------------------------------------


class ApiSession:
    """GETs JSON from one web API at most once per ``min_interval`` seconds (per origin, as
    redirects may change it), retrying time-outs, broken connections, cut-off answers, HTTP 429
    and 5xx with :func:`with_retries`; answers are capped at ``max_bytes``."""

    def __init__(
        self,
        base_url: str,
        *,
        min_interval: float,
        max_retries: int = 5,
        backoff: float = 1.0,
        timeout: float = 30,
        deadline: float = 120,
        max_bytes: int = MAX_JSON_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.host = host_of(base_url)
        self.min_interval = min_interval
        self.retries = Retries(max_retries, backoff, sleep)
        self.transport = Transport(
            headers={"Accept": "application/json", **(headers or {})},
            timeout=timeout, deadline=deadline, max_bytes=max_bytes, error=ServiceError,
        )  # fmt: skip
        self._next_request: dict[str, float] = {}  # per origin: monotonic time of the next

    def get_json(
        self,
        path: str = "",
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        retry_when: Callable[[Any], str | None] | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """GET ``path`` (relative to the base URL) and return the decoded JSON body and the
        response headers.

        A 4xx answer other than 429 is not retried: its body is returned when it is JSON (many
        APIs explain their refusals there), else :class:`ServiceRefused` is raised; an empty
        2xx body (204 No Content) is ``None``. ``retry_when(body)`` may name a temporary
        failure reported inside a body, which is then retried like a 5xx. Raises
        :class:`ServiceError` once the retries are spent.
        """
        url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}" if path else self.base_url
        return with_retries(
            lambda: self._try(url, params, headers, retry_when),
            host=self.host, retries=self.retries, error=ServiceError,
        )  # fmt: skip

    def post_json(
        self, path: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> Any:
        """POST ``payload`` as JSON to ``path`` and return the decoded JSON answer, with the
        same retries and refusals as :meth:`get_json`."""
        url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"
        data = json.dumps(payload).encode()
        body, _ = with_retries(
            lambda: self._try(url, None, headers, None, data),
            host=self.host, retries=self.retries, error=ServiceError,
        )  # fmt: skip
        return body

    def delay(self, attempt: int) -> float:
        """The backoff pause after failed try number ``attempt`` (counted from 0)."""
        return self.retries.delay(attempt)

    def _try(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        retry_when: Callable[[Any], str | None] | None,
        data: bytes | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        self._wait_turn(url)
        if data is None:
            answer = self.transport.get(url, params, headers=headers, on_redirect=self._wait_turn)
        else:
            answer = self.transport.post(url, data, headers=headers)
        status = answer.status
        if status == 429:
            raise TryAgain("HTTP 429 (too many requests)", retry_after(answer.headers))
        self._note_rate_limit(answer)  # after the 429 check: its retry pause already waits
        if status >= 500:
            # Only Retry-After: the rate-limit headers some services send on every answer
            # say nothing about when a failing server recovers.
            raise TryAgain(f"HTTP {status}", header_seconds(answer.headers.get("Retry-After")))
        if status < 300 and not answer.body.strip():
            return None, answer.headers  # 204 No Content, or an empty 200: nothing to decode
        try:
            body = _json(answer.body)
        except ValueError:
            if status >= 400:
                raise ServiceRefused(f"{self.host} answered HTTP {status}", status) from None
            raise TryAgain("the answer was not valid JSON (cut off?)") from None
        reason = retry_when(body) if retry_when else None
        if reason:
            raise TryAgain(reason)
        return body, answer.headers

    def _wait_turn(self, url: str) -> None:
        origin = origin_of(url)
        wait = self._next_request.get(origin, 0.0) - time.monotonic()
        if wait > 0:
            self.retries.sleep(wait)
        self._next_request[origin] = time.monotonic() + self.min_interval

    def _note_rate_limit(self, answer: Answer) -> None:
        # A service that counts requests says when its allowance is spent: wait for the reset
        # rather than be refused.
        if answer.headers.get("X-RateLimit-Remaining", "").strip() == "0":
            wait = header_seconds(answer.headers.get("X-RateLimit-Reset-In"))
            if wait:
                origin = origin_of(answer.url)
                self._next_request[origin] = max(
                    self._next_request.get(origin, 0.0), time.monotonic() + wait
                )


def _json(body: bytes) -> Any:
    # JSON is UTF-8 (RFC 8259); utf-8-sig also takes the BOM a few servers send.
    return json.loads(body.decode("utf-8-sig"))
