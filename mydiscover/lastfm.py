"""Last.fm's web API as every stage asks it (scrobbles, similar artists, wiki text): one
address, one pace, its temporary failures retried, its error codes in words, and the API key
never in a message, even when Last.fm echoes it.
"""

from __future__ import annotations

from typing import Any

from mydiscover.config import LASTFM_API_URL as DEFAULT_API_URL
from mydiscover.config import LASTFM_KEY_PAGE
from mydiscover.http import ApiSession, ServiceError

#: Last.fm allows about 5 requests a second per key, averaged; stay below it.
MIN_INTERVAL = 0.25
#: "Invalid parameters": what Last.fm answers for an artist, album or user it does not know.
NOT_FOUND = 6
#: The key is invalid (10) or suspended (26).
KEY_REFUSED = (10, 26)
#: Error codes that mean "try again later", with what they mean.
TEMPORARY = {
    8: "operation failed",
    11: "service offline",
    16: "temporarily unavailable",
    29: "rate limit exceeded",
}


class LastfmError(ServiceError):
    """Last.fm refused a call; ``code`` is its error code (see :data:`NOT_FOUND`)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def error_code(body: Any) -> int | None:
    """The error code of an answer (None when it is not an error; 0 when unreadable)."""
    if not isinstance(body, dict) or "error" not in body:
        return None
    try:
        return int(body["error"])
    except (TypeError, ValueError, OverflowError):
        return 0


def temporary_error(body: Any) -> str | None:
    """A failure worth another try, in words (for :meth:`ApiSession.get_json`'s retries)."""
    code = error_code(body)
    return f"Last.fm error {code} ({TEMPORARY[code]})" if code in TEMPORARY else None


def checked(
    body: Any, api_key: str, method: str, refusals: dict[int, str] | None = None
) -> dict[str, Any]:
    """The answer, or :class:`LastfmError` saying in one line what Last.fm refused (in the
    caller's words for the codes in ``refusals``)."""
    code = error_code(body)
    if code is None:
        if not isinstance(body, dict):
            raise ServiceError(f"Last.fm answered {method} with something that is not an object")
        return body
    if refusals and code in refusals:
        raise LastfmError(refusals[code], code)
    # Last.fm's own words, one line; the key is removed before the cut, so no part of it can
    # survive at the edge.
    said = " ".join(str(body.get("message", "")).replace(api_key, "<api key>").split())[:200]
    detail = f" ({said})" if said else ""
    if code in KEY_REFUSED:
        raise LastfmError("the Last.fm API key was refused (invalid or suspended): check it, "
                          f"or create a new one at {LASTFM_KEY_PAGE}{detail}", code)  # fmt: skip
    raise LastfmError(f"Last.fm refused the request: error {code}{detail}", code)


class LastfmApi:
    """Calls of Last.fm's API with one key, paced, retried when Last.fm says to try again."""

    def __init__(
        self, api_key: str, api_url: str = DEFAULT_API_URL, *, session: ApiSession | None = None
    ) -> None:
        self.api_key = api_key
        self.session = session or ApiSession(api_url, min_interval=MIN_INTERVAL)

    def call(
        self, method: str, params: dict[str, Any], refusals: dict[int, str] | None = None
    ) -> dict[str, Any]:
        """The answer to ``method`` with ``params`` (LastfmError for a refusal, in the caller's
        words for the codes in ``refusals``)."""
        query = {"method": method, "api_key": self.api_key, "format": "json", **params}
        body, _ = self.session.get_json(params=query, retry_when=temporary_error)
        return checked(body, self.api_key, method, refusals)
