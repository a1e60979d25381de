"""Importing a ListenBrainz listening history through ``/1/user/<user>/listens``.

Like the Last.fm import, a run fixes its time window first and commits each page's listens
with how far it got, so an interrupted run resumes and the next one fetches only what is new.
Pages are walked newest first by ``max_ts`` (exclusive): the oldest time of a page is where the
next one ends. The window's start is applied here rather than sent as ``min_ts``, because
ListenBrainz answers a request with ``min_ts`` with the listens just after it, the oldest first,
which would skip everything between them and ``max_ts``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import quote

from mydiscover.config import LISTENBRAINZ_API_URL as DEFAULT_API_URL
from mydiscover.history.files import listenbrainz_listen
from mydiscover.history.importer import take_records
from mydiscover.history.report import ImportProgress, ImportReport, SilentProgress
from mydiscover.history.runs import run_window, saved_state
from mydiscover.history.tables import SAVE_STATE_SQL, ListenWriter, import_state, load_matcher
from mydiscover.http import ApiSession, ServiceError

SOURCE = "listenbrainz"
#: The most listens ListenBrainz sends in one page.
PAGE_SIZE = 1000
#: ListenBrainz asks clients for about one request a second (its rate-limit headers say more).
MIN_INTERVAL = 1.0
_TOKEN_PAGE = "https://listenbrainz.org/settings/"


def import_listenbrainz(
    conn: sqlite3.Connection,
    user: str,
    token: str | None = None,
    *,
    api_url: str = DEFAULT_API_URL,
    progress: ImportProgress | None = None,
    session: ApiSession | None = None,
    now: Callable[[], float] = time.time,
) -> ImportReport:
    """Import the listens of ListenBrainz ``user`` that are not in the database yet, matching
    each to a catalogued track; resumes an interrupted import where it stopped.

    ``token`` (a user token) is sent when given. ``session`` replaces the default client (and
    with it ``api_url``). Raises :class:`ServiceError` for an unknown user, a refused token,
    or when ListenBrainz keeps failing; the pages imported until then are kept.
    """
    session = session or ApiSession(api_url, min_interval=MIN_INTERVAL)
    progress = progress or SilentProgress()
    headers = {"Authorization": f"Token {token}"} if token else None
    account = user.lower()
    state = import_state(conn, SOURCE, account)
    window = run_window(state, now)
    writer = ListenWriter(conn, SOURCE, load_matcher(conn))
    report = ImportReport()
    max_ts = window.end + 1 if window.cursor is None else window.cursor
    progress.start(None, "pages")
    page = 1
    done = False
    while not done:
        listens = _fetch_page(session, user, headers, max_ts, token)
        oldest = _oldest(listens, max_ts)
        # Listens at the window's start or before it were imported by the previous run.
        done = oldest is None or (window.start is not None and oldest <= window.start)
        records = (
            listenbrainz_listen(item, f"page {page}, listen {index}")
            for index, item in enumerate(listens, start=1)
            if _in_window(item, window.start)
        )
        count = take_records(records, writer, report, "ListenBrainz")
        next_max_ts = _next_max_ts(oldest, max_ts)
        saved = saved_state(SOURCE, account, state, window, None if done else next_max_ts)
        writer.flush(SAVE_STATE_SQL, saved)
        progress.advance(1, count)
        max_ts = next_max_ts
        page += 1
    report.take_counts(writer)
    return report


def _fetch_page(
    session: ApiSession,
    user: str,
    headers: dict[str, str] | None,
    max_ts: int,
    token: str | None,
) -> list[Any]:
    body, _headers = session.get_json(
        f"1/user/{quote(user, safe='')}/listens",
        {"count": PAGE_SIZE, "max_ts": max_ts},
        headers=headers,
    )
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        _raise_refusal(body, user, token)
    listens = payload.get("listens")
    if not isinstance(listens, list):
        raise ServiceError("ListenBrainz sent a page without a list of listens")
    return listens


def _raise_refusal(body: Any, user: str, token: str | None) -> NoReturn:
    code = body.get("code") if isinstance(body, dict) else None
    if code == 404:
        raise ServiceError(f"no ListenBrainz user '{user}'")
    if code == 401:
        raise ServiceError(f"the ListenBrainz token was refused: check it at {_TOKEN_PAGE}")
    if not isinstance(code, int):
        raise ServiceError("ListenBrainz sent an answer without listens")
    said = str(body.get("error", ""))
    if token:
        said = said.replace(token, "<token>")  # never echo a credential, even if the server did
    said = " ".join(said.split())[:200]
    raise ServiceError(f"ListenBrainz refused the request: HTTP {code} ({said})")


def _listened_at(item: Any) -> int | None:
    try:
        return int(item["listened_at"])
    except (TypeError, ValueError, KeyError, OverflowError):
        return None


def _in_window(item: Any, start: int | None) -> bool:
    when = _listened_at(item)
    # A listen without a time stays, to be counted as skipped.
    return start is None or when is None or when >= start


def _next_max_ts(oldest: int | None, max_ts: int) -> int:
    """Where the next page ends. ``max_ts`` is exclusive, so ending it just after the oldest
    listen asks again for the listens of that same second that did not fit in this page
    (repeats are recognised and not added twice); a page that was all one second moves on."""
    if oldest is None:
        return max_ts
    return oldest + 1 if oldest + 1 < max_ts else oldest


def _oldest(listens: list[Any], max_ts: int) -> int | None:
    """The time the next page ends at; ``None`` after the last page."""
    times = [when for when in map(_listened_at, listens) if when is not None]
    if listens and not times:
        raise ServiceError("ListenBrainz sent a page of listens without times")
    oldest = min(times, default=None)
    if oldest is not None and oldest >= max_ts:
        # Paging would never end: the server ignored max_ts.
        raise ServiceError("ListenBrainz sent listens newer than the ones asked for")
    return oldest
