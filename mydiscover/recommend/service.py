"""This week's weekly from the database as the stages left it: one call for the CLI, the
Subsonic push and the beets plugin."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from mydiscover.cf.store import fitted_model
from mydiscover.config import Settings
from mydiscover.db.connection import use_read_cache
from mydiscover.errors import MydiscoverError
from mydiscover.history.tables import load_history
from mydiscover.recommend.library import Library, load_library
from mydiscover.recommend.rules import Rules
from mydiscover.recommend.tables import (
    DamagedWeekly,
    TrackFile,
    banned_tracks,
    load_weekly,
    track_files,
)
from mydiscover.recommend.weekly import (
    Weekly,
    iso_week,
    kept_weekly,
    make_weekly,
    save_weekly,
    weekly_options,
)

#: The weekly reads each page once: a small page cache (not the scan's 256 MB) keeps its peak
#: memory down by ~300 MB on a 100,000-track library at no cost in time.
READ_CACHE_KIB = 16 * 1024


def weekly_user(settings: Settings) -> str:
    """Who the weekly is for (it seeds the week's choices): the same for every caller, so the
    CLI, the Subsonic push and beets make the same weekly."""
    return settings.lastfm.user or settings.listenbrainz.user


def this_week() -> str:
    """The current ISO week (UTC)."""
    return iso_week(dt.datetime.now(dt.timezone.utc))


@dataclass(frozen=True)
class WeekPlaylist:
    """The week's weekly, the library rows its picks point into, and the picks' files (for
    :func:`mydiscover.playlists.write.weekly_entries`)."""

    weekly: Weekly
    library: Library
    files: dict[int, TrackFile]


def weekly_playlist(
    conn: sqlite3.Connection,
    database: Path,
    *,
    week: str | None = None,
    user: str = "",
    rules: Rules | None = None,
    weights: str = "",
    within: set[int] | None = None,
    save: bool = True,
    refresh: bool = False,
) -> WeekPlaylist:
    """The week's weekly, with the library rows and files of its picks.

    The first weekly of an ISO week is stored (unless ``save`` is false) and every later call
    in that week returns exactly it, so a play of a pick counts as its hit and every output
    (a file, the server's playlist, beets) agrees; ``refresh`` makes a new one on purpose.
    ``weights``: given weights over the defaults (else learned from the history); ``within``
    (only these track ids may be picked: a beets query) always makes a new one.
    A damaged stored weekly is made anew with a warning.
    """
    week = week or this_week()
    rules = rules or Rules()
    options = weekly_options(rules, weights)
    use_read_cache(conn, READ_CACHE_KIB)
    warnings = []
    if within is None and not refresh:
        try:
            stored = load_weekly(conn, week)
            if stored is not None:
                picked = load_library(conn, only=[pick.track_id for pick in stored.picks])
                kept = kept_weekly(stored, picked, options, banned_tracks(conn))
                if kept.picks:
                    return _with_files(conn, kept, picked)
        except DamagedWeekly as error:
            warnings.append(f"the stored weekly of {week} is damaged ({error}): made anew")
    library = load_library(conn)
    if not len(library):
        raise MydiscoverError("the library is empty: run 'mydiscover scan ~/Music' first")
    now = int(time.time())
    result = make_weekly(
        conn, library, load_history(conn), fitted_model(database), week=week, user=user,
        now=now, rules=rules, weights=weights, within=within,
    )  # fmt: skip
    result.warnings += warnings
    if refresh and within is None:
        result.notes.insert(0, f"made anew (--refresh): it replaces any earlier weekly of {week}")
    if save:
        save_weekly(conn, result, now, options)
    return _with_files(conn, result, library)


def _with_files(conn: sqlite3.Connection, weekly: Weekly, library: Library) -> WeekPlaylist:
    """The weekly with its picks' files, read now: the library the weekly was made from
    holds no paths (100,000 of them are 30 MB and a tenth of its reading)."""
    return WeekPlaylist(
        weekly, library, track_files(conn, [pick.track_id for pick in weekly.picks])
    )
