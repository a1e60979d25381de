"""A polite fetcher shared by every text source.

Politeness: robots.txt is honoured per origin as RFC 9309 reads it (longest match, ``*`` and
``$``, Allow winning ties, by protego) with its Crawl-delay, and so is every origin a redirect
leads to; requests to one host are spaced (``min_interval``, or the Crawl-delay when longer,
from the first request after robots.txt on); the User-Agent names the project and the user's
contact; answers are capped in size, in total time and in type (HTML, JSON, RSS/Atom XML); 429
and 5xx are retried with exponential backoff (``Retry-After`` honoured); and every answer is
cached on disk: within its TTL nothing is asked again; after it, the cached copy is
revalidated with ``If-None-Match`` / ``If-Modified-Since``, so a second run refetches nothing
that has not changed.

The cache is the user's own (folders 0700, files 0600) and holds no secret: query parameters
that carry credentials (``api_key``, ``token``...) are left out of its keys and records.
Errors are one line naming the host and the reason, never the query string.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from protego import Protego

from mydiscover import __version__
from mydiscover.files import atomic_write
from mydiscover.http import (
    Answer,
    HttpError,
    Retries,
    Transport,
    TryAgain,
    host_of,
    origin_of,
    retry_after,
    with_retries,
)

#: Content types a source may receive.
ACCEPTED_TYPES = (
    "text/html", "application/xhtml+xml", "application/json", "application/rss+xml",
    "application/atom+xml", "application/xml", "text/xml",
)  # fmt: skip
DEFAULT_TTL = 7 * 86_400
DEFAULT_MAX_BYTES = 3 * 2**20
#: How long a host's robots.txt is trusted (RFC 9309 asks for no more than a day).
ROBOTS_TTL = 86_400
#: The robots.txt group mydiscover reads (RFC 9309 matches the product token).
ROBOTS_AGENT = "mydiscover"
#: Query parameters that carry credentials: never part of a cache key or record.
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "sig", "secret"})


class FetchError(HttpError):
    """A page that could not be fetched, with why, in one line."""


@dataclass(frozen=True)
class Page:
    """A fetched (or cached) answer; ``url`` is where it came from, after redirects."""

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


def without_secrets(url: str) -> str:
    """``url`` less the query parameters that carry credentials (:data:`SECRET_PARAMS`)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in SECRET_PARAMS]  # fmt: skip
    return urlunsplit(parts._replace(query=urlencode(query)))


class PoliteFetcher:
    """GETs pages politely (see the module's docstring); one instance per run."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        contact: str | None = None,
        min_interval: float = 1.0,
        timeout: float = 15.0,
        deadline: float = 60.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl: float = DEFAULT_TTL,
        max_retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.cache_dir = cache_dir
        self.min_interval = min_interval
        self.ttl = ttl
        self.retries = Retries(max_retries, backoff, sleep)
        self.now = now
        self._transport = Transport(
            headers={"User-Agent": user_agent(contact)}, timeout=timeout, deadline=deadline,
            max_bytes=max_bytes, error=FetchError,
        )  # fmt: skip
        self._robots: dict[str, Protego | FetchError | None] = {}
        self._last_request: dict[str, float] = {}  # per origin: monotonic start of the last
        self._intervals: dict[str, float] = {}  # per origin: its Crawl-delay

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> Page:
        """The page at ``url`` (with query ``params``): from the cache while fresh, else
        fetched or revalidated. Raises :class:`FetchError` with a one-line reason."""
        full = requests.Request("GET", url, params=params).prepare().url or url
        key = without_secrets(full)
        cached = self._cached(key)
        if cached and self.now() - cached[0]["fetched_at"] < self.ttl:
            return self._page(cached[0], cached[1], from_cache=True)
        self._check_robots(full)
        headers = {"Accept": ", ".join(ACCEPTED_TYPES)}
        if cached and cached[0].get("etag"):
            headers["If-None-Match"] = cached[0]["etag"]
        if cached and cached[0].get("last_modified"):
            headers["If-Modified-Since"] = cached[0]["last_modified"]
        answer = self._fetch(full, headers, self._follow_page)
        if answer.status == 304 and cached:
            meta = {**cached[0], "fetched_at": self.now()}
            self._store(key, meta, cached[1])
            return self._page(meta, cached[1], from_cache=True)
        content_type = answer.headers.get("Content-Type", "")
        meta = {
            "url": without_secrets(answer.url),
            "content_type": _media_type(content_type),
            "encoding": _charset(content_type),
            "etag": answer.headers.get("ETag"),
            "last_modified": answer.headers.get("Last-Modified"),
            "fetched_at": self.now(),
        }
        self._store(key, meta, answer.body)
        return self._page(meta, answer.body, from_cache=False)

    # --- robots.txt ------------------------------------------------------------------------

    def _check_robots(self, url: str) -> None:
        origin = origin_of(url)
        if origin not in self._robots:
            try:
                self._robots[origin] = self._read_robots(origin)
            except FetchError as error:
                self._robots[origin] = error  # the same answer for the rest of the run
        rules = self._robots[origin]
        if isinstance(rules, FetchError):
            raise rules
        if rules is None:
            return
        delay = rules.crawl_delay(ROBOTS_AGENT)
        if delay:
            self._intervals[origin] = float(delay)
        if not rules.can_fetch(url, ROBOTS_AGENT):
            raise FetchError(f"{host_of(url)}: robots.txt does not allow fetching this page")

    def _read_robots(self, origin: str) -> Protego | None:
        """The origin's rules; None (everything allowed) when it has no robots.txt. An origin
        whose robots.txt cannot be read is not crawled at all (RFC 9309's "complete
        disallow")."""
        url = f"{origin}/robots.txt"
        cached = self._cached(url)
        if cached and self.now() - cached[0]["fetched_at"] < ROBOTS_TTL:
            return None if cached[0].get("missing") else _parse_robots(cached[1])
        try:
            # RFC 9309 2.3.1.2: follow robots.txt's redirects (five at least), keeping pace.
            answer = self._fetch(url, {}, self._wait_turn, robots=True)
        except FetchError as error:
            raise FetchError(
                f"{error}; its robots.txt is unreadable, so nothing is fetched there"
            ) from None
        missing = 400 <= answer.status < 500
        self._store(url, {"url": url, "fetched_at": self.now(), "missing": missing}, answer.body)
        return None if missing else _parse_robots(answer.body)

    # --- the request ------------------------------------------------------------------------

    def _follow_page(self, target: str) -> None:
        """A page redirected to ``target``: that origin's robots.txt and pace apply."""
        self._check_robots(target)
        self._wait_turn(target)

    def _fetch(
        self,
        url: str,
        headers: dict[str, str],
        on_redirect: Callable[[str], None],
        *,
        robots: bool = False,
    ) -> Answer:
        """GET with pacing and retries: the answer, its body capped."""

        def try_once() -> Answer:
            self._wait_turn(url)
            return self._transport.get(
                url, headers=headers, on_redirect=on_redirect,
                check_headers=lambda status, found: _check_answer(url, status, found, robots),
            )  # fmt: skip

        return with_retries(try_once, host=host_of(url), retries=self.retries, error=FetchError)

    def _wait_turn(self, url: str) -> None:
        origin = origin_of(url)
        interval = max(self._intervals.get(origin, 0.0), self.min_interval)
        last = self._last_request.get(origin)
        if last is not None:
            wait = last + interval - time.monotonic()
            if wait > 0:
                self.retries.sleep(wait)
        self._last_request[origin] = time.monotonic()

    # --- the cache -----------------------------------------------------------------------

    def _paths(self, key: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(key.encode()).hexdigest()
        folder = self.cache_dir / digest[:2]
        return folder / f"{digest}.json", folder / f"{digest}.body"

    def _cached(self, key: str) -> tuple[dict[str, Any], bytes] | None:
        meta_path, body_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            return meta, body_path.read_bytes()
        except (OSError, ValueError):
            return None

    def _store(self, key: str, meta: dict[str, Any], body: bytes) -> None:
        meta_path, body_path = self._paths(key)
        _private_folder(self.cache_dir)
        _private_folder(meta_path.parent)
        # The body first, the metadata last: a crash between them leaves no entry.
        atomic_write(body_path, body, private=True)
        atomic_write(meta_path, json.dumps(meta).encode(), private=True)

    @staticmethod
    def _page(meta: dict[str, Any], body: bytes, *, from_cache: bool) -> Page:
        return Page(
            meta["url"], meta.get("content_type", ""), body, meta.get("encoding"),
            meta["fetched_at"], from_cache,
        )  # fmt: skip


def _check_answer(url: str, status: int, headers: Mapping[str, str], robots: bool) -> None:
    """Refuse, before its body is read, what no retry mends or a source cannot use; raise
    :class:`TryAgain` for what a retry may mend."""
    host = host_of(url)
    if status == 429 or status >= 500:
        raise TryAgain(f"HTTP {status}", retry_after(headers))
    if robots or status == 304:
        return  # any robots.txt answer means something (RFC 9309 2.3.1)
    if status >= 400:
        raise FetchError(f"{host}: HTTP {status}")
    media = _media_type(headers.get("Content-Type", ""))
    if media not in ACCEPTED_TYPES:
        raise FetchError(f"{host}: not a page or feed ({media or 'no content type'})")


def _parse_robots(body: bytes) -> Protego:
    return Protego.parse(body.decode("utf-8", errors="replace"))


def _private_folder(folder: Path) -> None:
    """Make ``folder`` (and any missing parent) readable by its owner only."""
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # not ours to change: the files in it are still 0600
        if folder.stat().st_mode & 0o077:
            os.chmod(folder, 0o700)


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None
