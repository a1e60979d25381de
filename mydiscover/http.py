"""A polite JSON client for web APIs: an honest User-Agent, a pace it keeps, and retries with
exponential backoff when the network or the service falters.

Nothing here knows a particular service: a caller whose service reports temporary failures
inside its bodies says how to recognise them (``retry_when``). Messages name the host and what
went wrong, never the URL, because query strings carry API keys and tokens.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

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


class ServiceError(MydiscoverError):
    """A web service refused a request, or kept failing after the retries."""


class _Retry(Exception):
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
        seconds = _seconds(headers.get(name))
        if seconds is not None:
            return seconds
    return None


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value or "")
    except ValueError:
        return None  # absent, or an HTTP date, which APIs hardly send: backoff covers it
    return min(seconds, MAX_SERVER_WAIT) if math.isfinite(seconds) and seconds >= 0 else None


def host_of(url: str) -> str:
    """The host (and port) of ``url``, for messages: never its credentials, path or query."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class ApiSession:
    """GETs JSON from one web API at most once per ``min_interval`` seconds, retrying
    connection failures, time-outs, cut-off answers, HTTP 429 and 5xx with exponential
    backoff (``backoff * 2**attempt`` seconds, at most :data:`MAX_BACKOFF`) unless the server
    says how long to wait."""

    def __init__(
        self,
        base_url: str,
        *,
        min_interval: float,
        max_retries: int = 5,
        backoff: float = 1.0,
        timeout: float = 30,
        sleep: Callable[[float], None] = time.sleep,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.host = host_of(base_url)
        self.min_interval = min_interval
        self.max_retries = max_retries
        self.backoff = backoff
        self.timeout = timeout
        self.sleep = sleep
        self._http = requests.Session()
        self._http.headers.update(
            {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        )
        self._next_request = 0.0  # time.monotonic() before which no request may start

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
        APIs explain their refusals there), else :class:`ServiceError` is raised.
        ``retry_when(body)`` may name a temporary failure reported inside a body, which is then
        retried like a 5xx. Raises :class:`ServiceError` once the retries are spent.
        """
        url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}" if path else self.base_url
        attempt = 0
        waited = 0.0
        while True:
            try:
                return self._try(url, params, headers, retry_when)
            except _Retry as problem:
                if attempt >= self.max_retries:
                    raise ServiceError(
                        f"{self.host}: {problem.reason} (gave up after {attempt + 1} tries)"
                    ) from None
                pause = problem.wait if problem.wait is not None else self.delay(attempt)
                if waited + pause > MAX_TOTAL_WAIT:
                    raise ServiceError(
                        f"{self.host}: {problem.reason} (asked to wait {pause:.0f} s more: "
                        "try again later)"
                    ) from None
                self.sleep(pause)
                waited += pause
                attempt += 1

    def delay(self, attempt: int) -> float:
        """The backoff pause after failed try number ``attempt`` (counted from 0)."""
        return min(self.backoff * 2**attempt, MAX_BACKOFF)

    def _try(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        retry_when: Callable[[Any], str | None] | None,
    ) -> tuple[Any, Mapping[str, str]]:
        self._wait_turn()
        response = self._send(url, params, headers)
        status = response.status_code
        if status == 429:
            raise _Retry("HTTP 429 (too many requests)", retry_after(response.headers))
        self._note_rate_limit(response)  # after the 429 check: its retry pause already waits
        if status >= 500:
            # Only Retry-After: the rate-limit headers some services send on every answer
            # say nothing about when a failing server recovers.
            raise _Retry(f"HTTP {status}", _seconds(response.headers.get("Retry-After")))
        try:
            body = response.json()
        except ValueError:
            if status >= 400:
                raise ServiceError(f"{self.host} answered HTTP {status}") from None
            raise _Retry("the answer was not valid JSON (cut off?)") from None
        reason = retry_when(body) if retry_when else None
        if reason:
            raise _Retry(reason)
        return body, response.headers

    def _wait_turn(self) -> None:
        wait = self._next_request - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._next_request = time.monotonic() + self.min_interval

    def _send(
        self, url: str, params: Mapping[str, Any] | None, headers: Mapping[str, str] | None
    ) -> requests.Response:
        # Every "from None" below drops the requests exception: its text holds the full URL.
        try:
            return self._http.get(url, params=params, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            raise _Retry("timed out") from None
        except requests.exceptions.SSLError:
            raise ServiceError(f"{self.host}: the TLS connection failed (certificate?)") from None
        except requests.ConnectionError:
            raise _Retry("could not connect, or the connection broke") from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            raise _Retry("the connection dropped in the middle of the answer") from None
        except requests.RequestException as exc:
            raise ServiceError(f"{self.host}: the request failed ({type(exc).__name__})") from None

    def _note_rate_limit(self, response: requests.Response) -> None:
        # A service that counts requests says when its allowance is spent: wait for the reset
        # rather than be refused.
        if response.headers.get("X-RateLimit-Remaining", "").strip() == "0":
            wait = _seconds(response.headers.get("X-RateLimit-Reset-In"))
            if wait:
                self._next_request = max(self._next_request, time.monotonic() + wait)
