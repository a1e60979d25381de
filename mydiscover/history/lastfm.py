"""Importing a Last.fm listening history through ``user.getRecentTracks``.

A run fixes its time window before the first request, fetches the window's pages newest first
and commits each page's listens together with the page it reached, so an interrupted run (a
network failure, Ctrl-C) resumes with the same window where it stopped, and the next run asks
only for what is new."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from mydiscover.history.files import lastfm_page_listens
from mydiscover.history.importer import take_records
from mydiscover.history.report import ImportProgress, ImportReport, SilentProgress
from mydiscover.history.runs import RunWindow, run_window, saved_state
from mydiscover.history.tables import SAVE_STATE_SQL, ListenWriter, import_state, load_matcher
from mydiscover.http import ApiSession, ServiceError
from mydiscover.lastfm import DEFAULT_API_URL, NOT_FOUND, LastfmApi

SOURCE = "lastfm"
#: The most tracks Last.fm sends in one page.
PAGE_SIZE = 200


def import_lastfm(
    conn: sqlite3.Connection,
    user: str,
    api_key: str,
    *,
    api_url: str = DEFAULT_API_URL,
    progress: ImportProgress | None = None,
    session: ApiSession | None = None,
    now: Callable[[], float] = time.time,
) -> ImportReport:
    """Import the scrobbles of Last.fm ``user`` that are not in the database yet, matching
    each to a catalogued track; resumes an interrupted import where it stopped.

    ``session`` replaces the default client (and with it ``api_url``). Raises
    :class:`ServiceError` for a refusal (private profile, unknown user, bad key) or when
    Last.fm keeps failing; the pages imported until then are kept.
    """
    api = LastfmApi(api_key, api_url, session=session)
    progress = progress or SilentProgress()
    account = user.lower()
    state = import_state(conn, SOURCE, account)
    window = run_window(state, now)
    writer = ListenWriter(conn, SOURCE, load_matcher(conn))
    report = ImportReport()
    first = page = window.cursor or 1
    done = False
    while not done:
        body = _fetch_page(api, user, window, page)
        # Re-read every page: a scrobble deleted or sent late inside the window moves pages.
        total = _total_pages(body)
        if page == first:
            progress.start(max(total, first) - first + 1, "pages")
        records = lastfm_page_listens(body, f"page {page}")
        listens = take_records(records, writer, report, "Last.fm")
        done = page >= total
        saved = saved_state(SOURCE, account, state, window, None if done else page + 1)
        writer.flush(SAVE_STATE_SQL, saved)
        progress.advance(1, listens)
        page += 1
    report.take_counts(writer)
    return report


def _fetch_page(api: LastfmApi, user: str, window: RunWindow, page: int) -> dict[str, Any]:
    params: dict[str, Any] = {"user": user, "limit": PAGE_SIZE, "page": page, "to": window.end}
    if window.start is not None:
        params["from"] = window.start
    refusals = {
        17: f"Last.fm profile '{user}' is private: make 'recent listening' public in Last.fm's "
        "privacy settings",
        NOT_FOUND: f"no Last.fm user '{user}'",
    }
    body = api.call("user.getrecenttracks", params, refusals)
    if not isinstance(body.get("recenttracks"), dict):
        raise ServiceError("Last.fm sent an answer without recent tracks")
    return body


def _total_pages(body: dict[str, Any]) -> int:
    attributes = body["recenttracks"].get("@attr")
    try:
        return int(attributes.get("totalPages", 0) if isinstance(attributes, dict) else 0)
    except (TypeError, ValueError, OverflowError):
        raise ServiceError("Last.fm sent an unreadable page count") from None
