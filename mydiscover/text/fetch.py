"""A polite fetcher shared by every text source.

Politeness: robots.txt is honoured per host (and its Crawl-delay), requests to one host are
spaced (``min_interval``), the User-Agent names the project and the user's contact, answers
are capped in size and in type (HTML, JSON, RSS/Atom XML), 429 and 5xx are retried with
exponential backoff (``Retry-After`` honoured), and every answer is cached on disk: within its
TTL nothing is asked again; after it, the cached copy is revalidated with ``If-None-Match`` /
``If-Modified-Since``, so a second run refetches nothing that has not changed.

Errors are one line naming the host and the reason, never the query string (API keys travel
there).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib import robotparser
from urllib.parse import urlsplit

import requests

from mydiscover import __version__
from mydiscover.errors import MydiscoverError
from mydiscover.http import MAX_BACKOFF, MAX_TOTAL_WAIT, host_of, retry_after

#: Content types a source may receive.
ACCEPTED_TYPES = (
    "text/html", "application/xhtml+xml", "application/json", "application/rss+xml",
    "application/atom+xml", "application/xml", "text/xml",
)  # fmt: skip
DEFAULT_TTL = 7 * 86_400
DEFAULT_MAX_BYTES = 3 * 2**20
#: How long a host's robots.txt is trusted (RFC 9309 asks for no more than a day).
ROBOTS_TTL = 86_400
_CHUNK = 64 * 1024


class FetchError(MydiscoverError):
    """A page that could not be fetched, with why, in one line."""


@dataclass(frozen=True)
class _Retry:
    """A try that failed in a way the next may not; ``wait``: what the server asked for."""

    reason: str
    wait: float | None = None


@dataclass(frozen=True)
class Page:
    """A fetched (or cached) answer."""

    url: str
    content_type: str
    body: bytes
    encoding: str | None  # the charset the server declared, if any
    fetched_at: float
    from_cache: bool

    def json(self) -> Any:
        """The body as JSON."""
        try:
            return json.loads(self.body.decode(self.encoding or "utf-8", errors="replace"))
        except ValueError:
            raise FetchError(f"{host_of(self.url)}: the answer is not valid JSON") from None


def user_agent(contact: str | None) -> str:
    """The honest User-Agent: the project, its version, and who to tell about problems."""
    return f"mydiscover/{__version__} (+https://github.com/mydiscover/mydiscover; " + (
        f"contact: {contact})" if contact else "personal music library)"
    )


class PoliteFetcher:
    """GETs pages politely (see the module's docstring); one instance per run."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        contact: str | None = None,
        min_interval: float = 1.0,
        timeout: float = 15.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl: float = DEFAULT_TTL,
        max_retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.cache_dir = cache_dir
        self.min_interval = min_interval
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.max_retries = max_retries
        self.backoff = backoff
        self.sleep = sleep
        self.now = now
        self.requests_sent = 0
        self._http = requests.Session()
        self._http.headers["User-Agent"] = user_agent(contact)
        self._robots: dict[str, robotparser.RobotFileParser | FetchError | None] = {}
        self._next_request: dict[str, float] = {}
        self._intervals: dict[str, float] = {}

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> Page:
        """The page at ``url`` (with query ``params``): from the cache while fresh, else
        fetched or revalidated. Raises :class:`FetchError` with a one-line reason."""
        full = requests.Request("GET", url, params=params).prepare().url or url
        cached = self._cached(full)
        if cached and self.now() - cached[0]["fetched_at"] < self.ttl:
            return self._page(full, cached[0], cached[1], from_cache=True)
        if not self._allowed(full):
            raise FetchError(f"{host_of(full)}: robots.txt does not allow fetching this page")
        headers = {"Accept": ", ".join(ACCEPTED_TYPES)}
        if cached and cached[0].get("etag"):
            headers["If-None-Match"] = cached[0]["etag"]
        if cached and cached[0].get("last_modified"):
            headers["If-Modified-Since"] = cached[0]["last_modified"]
        response, body = self._fetch(full, headers)
        if response.status_code == 304 and cached:
            meta = {**cached[0], "fetched_at": self.now()}
            self._store(full, meta, cached[1])
            return self._page(full, meta, cached[1], from_cache=True)
        meta = {
            "url": full,
            "content_type": _media_type(response.headers.get("Content-Type", "")),
            "encoding": _charset(response.headers.get("Content-Type", "")),
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
            "fetched_at": self.now(),
        }
        self._store(full, meta, body)
        return self._page(full, meta, body, from_cache=False)

    # --- robots.txt ------------------------------------------------------------------------

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            try:
                self._robots[origin] = self._read_robots(origin)
            except FetchError as error:
                self._robots[origin] = error  # the same answer for the rest of the run
        rules = self._robots[origin]
        if isinstance(rules, FetchError):
            raise rules
        if rules is None:
            return True
        agent = "mydiscover"
        delay = rules.crawl_delay(agent)
        if delay:
            self._intervals[parts.netloc] = max(float(delay), self.min_interval)
        return rules.can_fetch(agent, url)

    def _read_robots(self, origin: str) -> robotparser.RobotFileParser | None:
        """The host's rules; None (everything allowed) when it has no robots.txt. A host
        whose robots.txt cannot be read is not crawled at all (RFC 9309's "complete
        disallow")."""
        url = f"{origin}/robots.txt"
        rules = robotparser.RobotFileParser(url)
        cached = self._cached(url)
        if cached and self.now() - cached[0]["fetched_at"] < ROBOTS_TTL:
            if cached[0].get("missing"):
                return None
            rules.parse(cached[1].decode("utf-8", errors="replace").splitlines())
            return rules
        try:
            response, body = self._fetch(url, {}, robots=True)
        except FetchError as error:
            raise FetchError(
                f"{error}; its robots.txt is unreadable, so nothing is fetched there"
            ) from None
        missing = 400 <= response.status_code < 500
        self._store(url, {"url": url, "fetched_at": self.now(), "missing": missing}, body)
        if missing:
            return None
        rules.parse(body.decode("utf-8", errors="replace").splitlines())
        return rules

    # --- the request ------------------------------------------------------------------------

    def _fetch(
        self, url: str, headers: dict[str, str], *, robots: bool = False
    ) -> tuple[requests.Response, bytes]:
        """GET with pacing and retries; the response and its (capped) body."""
        host = host_of(url)
        attempt, waited = 0, 0.0
        while True:
            self._wait_turn(urlsplit(url).netloc)
            outcome = self._try(url, headers, robots)
            if isinstance(outcome, tuple):
                return outcome
            reason, server_wait = outcome.reason, outcome.wait
            pause = server_wait if server_wait is not None else self._backoff(attempt)
            if attempt >= self.max_retries or waited + pause > MAX_TOTAL_WAIT:
                raise FetchError(f"{host}: {reason} (gave up after {attempt + 1} tries)")
            self.sleep(pause)
            waited += pause
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2**attempt, MAX_BACKOFF)

    def _try(
        self, url: str, headers: dict[str, str], robots: bool
    ) -> tuple[requests.Response, bytes] | _Retry:
        """One try: the response and its body, or why another try may succeed."""
        host = host_of(url)
        self.requests_sent += 1
        try:
            response = self._http.get(url, headers=headers, timeout=self.timeout, stream=True)
        except requests.Timeout:
            return _Retry("timed out")
        except requests.ConnectionError:
            return _Retry("could not connect, or the connection broke")
        except requests.RequestException as error:
            raise FetchError(f"{host}: the request failed ({type(error).__name__})") from None
        with response:
            status = response.status_code
            if status == 429 or status >= 500:
                return _Retry(f"HTTP {status}", retry_after(response.headers))
            if status >= 400 and status != 304 and not robots:
                raise FetchError(f"{host}: HTTP {status}")
            media = _media_type(response.headers.get("Content-Type", ""))
            if not robots and status != 304 and media not in ACCEPTED_TYPES:
                raise FetchError(f"{host}: not a page or feed ({media or 'no content type'})")
            try:
                return response, self._read(response, host)
            except requests.Timeout:
                return _Retry("timed out while reading")
            except requests.ConnectionError:
                return _Retry("the connection dropped in the middle of the answer")

    def _read(self, response: requests.Response, host: str) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{host}: the page is larger than {self.max_bytes // 2**20} MB")
        chunks, size = [], 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"{host}: the page is larger than {self.max_bytes // 2**20} MB")
            chunks.append(chunk)
        return b"".join(chunks)

    def _wait_turn(self, netloc: str) -> None:
        wait = self._next_request.get(netloc, 0.0) - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        interval = self._intervals.get(netloc, self.min_interval)
        self._next_request[netloc] = time.monotonic() + interval

    # --- the cache -----------------------------------------------------------------------

    def _paths(self, url: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(url.encode()).hexdigest()
        folder = self.cache_dir / digest[:2]
        return folder / f"{digest}.json", folder / f"{digest}.body"

    def _cached(self, url: str) -> tuple[dict[str, Any], bytes] | None:
        meta_path, body_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            return meta, body_path.read_bytes()
        except (OSError, ValueError):
            return None

    def _store(self, url: str, meta: dict[str, Any], body: bytes) -> None:
        meta_path, body_path = self._paths(url)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        # The body first, the metadata last: a crash between them leaves no entry.
        for path, data in ((body_path, body), (meta_path, json.dumps(meta).encode())):
            partial = path.with_name(path.name + ".partial")
            partial.write_bytes(data)
            partial.replace(path)

    @staticmethod
    def _page(url: str, meta: dict[str, Any], body: bytes, *, from_cache: bool) -> Page:
        return Page(
            url, meta.get("content_type", ""), body, meta.get("encoding"), meta["fetched_at"],
            from_cache,
        )  # fmt: skip


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None
