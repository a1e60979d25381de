"""This week's weekly from the database as the stages left it: one call for the CLI, the
Subsonic push and the beets plugin."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from pathlib import Path

from mydiscover.cf.store import fitted_model
from mydiscover.config import Settings
from mydiscover.db.listens import load_history
from mydiscover.errors import MydiscoverError
from mydiscover.playlists.write import Entry
from mydiscover.recommend.blend import Blend
from mydiscover.recommend.library import load_library
from mydiscover.recommend.rules import Rules
from mydiscover.recommend.weekly import Weekly, iso_week, make_weekly, save_weekly

#: The weekly reads each page once: a small page cache (not the scan's 256 MB) keeps its peak
#: memory down by ~300 MB on a 100,000-track library at no cost in time.
READ_CACHE_KIB = 16 * 1024


def weekly_user(settings: Settings) -> str:
    """Who the weekly is for (it seeds the week's choices): the same for every caller, so the
    CLI, the Subsonic push and beets make the same weekly."""
    return str(settings.lastfm.get("user") or settings.listenbrainz.get("user") or "")


def this_week() -> str:
    """The current ISO week (UTC)."""
    return iso_week(dt.datetime.now(dt.timezone.utc))


def weekly_playlist(
    conn: sqlite3.Connection,
    database: Path,
    *,
    week: str | None = None,
    user: str = "",
    rules: Rules | None = None,
    blend: Blend | None = None,
    within: set[int] | None = None,
    save: bool = True,
) -> tuple[Weekly, list[Entry]]:
    """Make the week's weekly with its playlist entries; store it unless ``save`` is false
    (``within``: only these track ids may be picked)."""
    now = int(time.time())
    model = fitted_model(database)
    conn.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
    library = load_library(conn)
    if not len(library):
        raise MydiscoverError("the library is empty: run 'mydiscover scan ~/Music' first")
    result = make_weekly(
        conn, library, load_history(conn), model, week=week or this_week(), user=user, now=now,
        rules=rules or Rules(), blend=blend, within=within,
    )  # fmt: skip
    if save:
        save_weekly(conn, result, now)
    entries = [
        Entry(library.paths[p.row], library.roots[p.row], library.artists[p.row],
              library.titles[p.row] or os.path.basename(library.path_texts[p.row]),
              library.albums[p.row], _seconds(library.durations[p.row]), p.score, p.lead,
              p.reasons)
        for p in result.picks
    ]  # fmt: skip
    return result, entries


def _seconds(value: float) -> float | None:
    return None if value != value else float(value)  # NaN: unknown
