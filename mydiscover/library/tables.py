"""The library's tables: ``tracks`` (the catalog of audio files and what their tags say), the
scan log (``scans``), the problems that did not become tracks (``scan_errors``), and what they
hold in numbers (the data behind ``mydiscover status``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from mydiscover.db.connection import transaction
from mydiscover.db.schema import schema_version
from mydiscover.library.match import CatalogEntry
from mydiscover.library.values import Tags
from mydiscover.library.walk import FoundFile
from mydiscover.paths import display_path


class TrackStatus(StrEnum):
    """A catalogued track's state (the ``tracks.status`` column)."""

    OK = "ok"  # read, and there
    MISSING = "missing"  # gone from the disk: kept, with its history, until it comes back
    ERROR = "error"  # there, but its last read failed


TAG_COLUMNS: tuple[str, ...] = Tags._fields
_FILE_COLUMNS = ("size", "mtime_ns", "device", "inode")
_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


class IndexEntry(NamedTuple):
    """What change detection needs to know about a catalogued path."""

    id: int
    size: int
    mtime_ns: int
    device: int | None
    inode: int | None
    status: str
    unreadable: bool  # the last read failed (kept through 'missing')


class StoredTrack(NamedTuple):
    """A catalogued track that may have moved: the fields its identity can be recognised by."""

    id: int
    path: bytes
    device: int | None
    inode: int | None
    size: int
    mtime_ns: int
    title: str | None
    artist: str | None
    album: str | None
    disc_number: int | None
    track_number: int | None
    duration: float | None
    mb_recording_id: str | None
    mb_release_id: str | None


def load_index(conn: sqlite3.Connection) -> dict[bytes, IndexEntry]:
    """Every catalogued path with its size, mtime and status, in one query."""
    rows = conn.execute(
        "SELECT path, id, size, mtime_ns, device, inode, status, error IS NOT NULL FROM tracks"
    )
    return {row[0]: IndexEntry(*row[1:]) for row in rows}


def load_tracks_by_id(conn: sqlite3.Connection, ids: Iterable[int]) -> list[StoredTrack]:
    """The identity fields of the given tracks."""
    columns = ", ".join(StoredTrack._fields)
    found: list[StoredTrack] = []
    id_list = list(ids)
    for start in range(0, len(id_list), 500):  # stay under SQLite's bound-parameter limit
        chunk = id_list[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"SELECT {columns} FROM tracks WHERE id IN ({marks})", chunk)
        found.extend(StoredTrack(*row) for row in rows)
    return found


def missing_track_ids(conn: sqlite3.Connection) -> list[int]:
    """Ids of the tracks marked missing by an earlier scan, wherever they were."""
    return [row[0] for row in conn.execute("SELECT id FROM tracks WHERE status = 'missing'")]


def insert_tracks(
    conn: sqlite3.Connection, rows: Sequence[tuple[FoundFile, Tags | None, str | None]]
) -> None:
    """Add new tracks: each a file, its tags (``None`` when unreadable) and the error, if any."""
    columns = ("path", "path_text", "root", *_FILE_COLUMNS, "status", "error", *TAG_COLUMNS)
    sql = f"INSERT INTO tracks ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    conn.executemany(
        sql,
        [
            (
                state.path,
                display_path(state.path),
                state.root,
                *state[2:],
                TrackStatus.ERROR if error else TrackStatus.OK,
                error,
                *(tags if tags is not None else _NO_TAGS),
            )
            for state, tags, error in rows
        ],
    )


_NO_TAGS = (None,) * len(TAG_COLUMNS)


def update_tracks(
    conn: sqlite3.Connection, rows: Sequence[tuple[int, FoundFile, Tags | None, str | None]]
) -> None:
    """Re-point existing tracks at a file (changed in place, or moved) and refresh their tags.

    A track whose file became unreadable keeps the tags it had, so its identity survives.
    """
    file_columns = ("path", "path_text", "root", *_FILE_COLUMNS, "status", "error")
    with_tags = ", ".join(f"{column} = ?" for column in (*file_columns, *TAG_COLUMNS))
    without_tags = ", ".join(f"{column} = ?" for column in file_columns)
    readable = []
    unreadable = []
    for track_id, state, tags, error in rows:
        file_values = (state.path, display_path(state.path), state.root, *state[2:])
        if tags is None:
            unreadable.append((*file_values, TrackStatus.ERROR, error, track_id))
        else:
            readable.append((*file_values, TrackStatus.OK, None, *tags, track_id))
    if readable:
        conn.executemany(
            f"UPDATE tracks SET {with_tags}, updated_at = {_NOW} WHERE id = ?", readable
        )
    if unreadable:
        conn.executemany(
            f"UPDATE tracks SET {without_tags}, updated_at = {_NOW} WHERE id = ?", unreadable
        )


def mark_missing(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """Mark tracks whose files are gone from disk; returns how many."""
    cursor = conn.executemany(
        f"UPDATE tracks SET status = 'missing', updated_at = {_NOW} WHERE id = ?",
        [(track_id,) for track_id in ids],
    )
    return cursor.rowcount


def mark_restored(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """Mark missing tracks whose unchanged files are back; an unreadable one stays an error."""
    cursor = conn.executemany(
        "UPDATE tracks SET status = CASE WHEN error IS NULL THEN 'ok' ELSE 'error' END, "
        f"updated_at = {_NOW} WHERE id = ?",
        [(track_id,) for track_id in ids],
    )
    return cursor.rowcount


def vacate_paths(conn: sqlite3.Connection, ids: Iterable[int]) -> None:
    """Park the paths of tracks about to be re-pointed, so that paths can be swapped between
    tracks (one file moved away and another put in its place) without a moment where two rows
    hold the same path. ``-id`` as a blob cannot collide with a real, absolute path."""
    conn.executemany(
        "UPDATE tracks SET path = CAST(-id AS BLOB) WHERE id = ?",
        [(track_id,) for track_id in ids],
    )


SCAN_COUNTERS = ("new", "changed", "unchanged", "moved", "restored", "missing", "errors")


def start_scan(conn: sqlite3.Connection, roots: Iterable[bytes]) -> int:
    """Log the start of a scan of ``roots``; returns its id."""
    cursor = conn.execute(
        f"INSERT INTO scans (started_at, roots) VALUES ({_NOW}, ?)",
        (json.dumps([display_path(root) for root in roots]),),
    )
    return int(cursor.lastrowid or 0)


def finish_scan(
    conn: sqlite3.Connection, scan_id: int, outcome: str, counts: Mapping[str, int]
) -> None:
    """Record how a scan ended and what it counted."""
    assignments = ", ".join(f"{name} = :{name}" for name in SCAN_COUNTERS)
    conn.execute(
        f"UPDATE scans SET finished_at = {_NOW}, outcome = :outcome, {assignments} WHERE id = :id",
        {
            **{name: counts.get(name, 0) for name in SCAN_COUNTERS},
            "outcome": outcome,
            "id": scan_id,
        },
    )


def replace_problems(
    conn: sqlite3.Connection, roots: Iterable[bytes], problems: Iterable[tuple[bytes, bytes, str]]
) -> None:
    """Forget the problems recorded under ``roots`` and store this scan's (root, path, message)."""
    conn.executemany("DELETE FROM scan_errors WHERE root = ?", [(root,) for root in roots])
    conn.executemany(
        "INSERT INTO scan_errors (root, path, path_text, message) VALUES (?, ?, ?, ?)",
        [(root, path, display_path(path), message) for root, path, message in problems],
    )


def library_summary(conn: sqlite3.Connection) -> dict[str, Any]:
    """Track counts by status, formats, total duration and size, and the last scan."""
    by_status = dict(conn.execute("SELECT status, count(*) FROM tracks GROUP BY status"))
    totals = conn.execute(
        "SELECT coalesce(sum(duration), 0), coalesce(sum(size), 0) FROM tracks WHERE status = 'ok'"
    ).fetchone()
    formats = [
        {"format": fmt, "tracks": count, "duration_seconds": round(duration, 1), "bytes": size}
        for fmt, count, duration, size in conn.execute(
            "SELECT coalesce(format, 'unknown'), count(*), coalesce(sum(duration), 0), "
            "sum(size) FROM tracks WHERE status = 'ok' GROUP BY 1 ORDER BY 2 DESC, 1"
        )
    ]
    problems = conn.execute("SELECT count(*) FROM scan_errors").fetchone()[0]
    last = conn.execute(
        f"SELECT started_at, finished_at, outcome, {', '.join(SCAN_COUNTERS)} FROM scans "
        "WHERE outcome != 'running' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    last_scan = None
    if last is not None:
        last_scan = dict(
            zip(("started_at", "finished_at", "outcome", *SCAN_COUNTERS), last, strict=True)
        )
    return {
        "schema_version": schema_version(conn),
        "tracks": sum(by_status.values()),
        "available": by_status.get(TrackStatus.OK, 0),
        "missing": by_status.get(TrackStatus.MISSING, 0),
        "unreadable": by_status.get(TrackStatus.ERROR, 0),
        "scan_problems": problems,
        "errors": by_status.get(TrackStatus.ERROR, 0) + problems,
        "duration_seconds": round(totals[0], 1),
        "bytes": totals[1],
        "formats": formats,
        "last_scan": last_scan,
    }


def recorded_errors(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every error on record as (path, message): unreadable tracks, then other problems."""
    rows = conn.execute(
        "SELECT path_text, error FROM tracks WHERE status = 'error' "
        "UNION ALL SELECT path_text, message FROM scan_errors ORDER BY 1"
    )
    return [(path, message) for path, message in rows]


def catalog_roots(conn: sqlite3.Connection) -> list[bytes]:
    """The music folders the catalog's present tracks were found in."""
    rows = conn.execute("SELECT DISTINCT root FROM tracks WHERE status != 'missing'")
    return [root for (root,) in rows]


def track_id_at(conn: sqlite3.Connection, path: bytes) -> int | None:
    """The id of the catalogued track at ``path`` (a normalised path), or None."""
    row = conn.execute("SELECT id FROM tracks WHERE path = ?", (path,)).fetchone()
    return int(row[0]) if row is not None else None


def kept_by_path(conn: sqlite3.Connection) -> dict[bytes, tuple[int | None, int | None]]:
    """Each catalogued path's rating and play count (what another program's catalog keeps)."""
    rows = conn.execute("SELECT path, rating, play_count FROM tracks")
    return {path: (rating, plays) for path, rating, plays in rows}


class PresentTrack(NamedTuple):
    """An available track as matching reads it (the artist: the album artist where none)."""

    id: int
    artist: str
    title: str
    album: str
    mb_recording_id: str | None
    duration: float | None
    track_number: int | None


def present_tracks(conn: sqlite3.Connection) -> list[PresentTrack]:
    """Every available track, for matching another catalog's songs to them."""
    rows = conn.execute(
        "SELECT id, coalesce(artist, album_artist, ''), coalesce(title, ''), "
        "coalesce(album, ''), mb_recording_id, duration, track_number FROM tracks "
        "WHERE status = 'ok'"
    )
    return [PresentTrack(*row) for row in rows]


def now_stamp(conn: sqlite3.Connection) -> str:
    """The database's clock as the ``updated_at`` columns record it (to the second)."""
    return str(conn.execute(f"SELECT {_NOW}").fetchone()[0])


def rematched_until(conn: sqlite3.Connection) -> str | None:
    """Until when (``updated_at``'s time) the catalog's tracks have all been tried against the
    unmatched listens; None when they never were."""
    row = conn.execute("SELECT tried_until FROM rematch_state").fetchone()
    return None if row is None else str(row[0])


def set_rematched_until(conn: sqlite3.Connection, stamp: str) -> None:
    """Record that every track updated before ``stamp`` has been tried (see above)."""
    with transaction(conn):
        conn.execute("INSERT INTO rematch_state (id, tried_until) VALUES (1, ?) "
                     "ON CONFLICT (id) DO UPDATE SET tried_until = excluded.tried_until",
                     (stamp,))  # fmt: skip


def entries_updated_since(conn: sqlite3.Connection, stamp: str) -> list[CatalogEntry]:
    """The tracks added or changed since ``stamp`` (see :func:`now_stamp`), as matching reads
    them: what a scan brought that earlier listens may be."""
    rows = conn.execute(
        "SELECT id, artist, title, album, mb_recording_id FROM tracks WHERE updated_at >= ?",
        (stamp,),
    )
    return [CatalogEntry(*row) for row in rows]


def catalog_counts(conn: sqlite3.Connection) -> tuple[int, int, str | None]:
    """Available tracks, the others (missing or unreadable), and when the last scan ended."""
    available, other, last = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status != 'ok'), "
        "(SELECT max(finished_at) FROM scans WHERE outcome != 'running') FROM tracks"
    ).fetchone()
    return int(available), int(other), last


def track_labels(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, tuple[str, str, str]]:
    """Artist (the album artist where none), title and genre of these tracks, by id."""
    wanted = json.dumps([int(track) for track in ids])
    rows = conn.execute(
        "SELECT id, coalesce(artist, album_artist, '?'), coalesce(title, '?'), "
        "coalesce(genre, '') FROM tracks WHERE id IN (SELECT value FROM json_each(?))",
        (wanted,),
    )
    return {int(track): (artist, title, genre) for track, artist, title, genre in rows}
