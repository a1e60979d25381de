"""The ``tracks`` table: the catalog of audio files and what their tags say."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from mydiscover.library.tags import Tags
from mydiscover.paths import display_path

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


class FileState(NamedTuple):
    """A file's location and ``stat`` fields, as found on disk by this scan."""

    path: bytes
    root: bytes
    size: int
    mtime_ns: int
    device: int
    inode: int


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
    conn: sqlite3.Connection, rows: Sequence[tuple[FileState, Tags | None, str | None]]
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
                "error" if error else "ok",
                error,
                *(tags if tags is not None else _NO_TAGS),
            )
            for state, tags, error in rows
        ],
    )


_NO_TAGS = (None,) * len(TAG_COLUMNS)


def update_tracks(
    conn: sqlite3.Connection, rows: Sequence[tuple[int, FileState, Tags | None, str | None]]
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
            unreadable.append((*file_values, "error", error, track_id))
        else:
            readable.append((*file_values, "ok", None, *tags, track_id))
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
