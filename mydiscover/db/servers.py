"""The ``server_songs`` table: a Subsonic server's songs matched to local tracks."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from mydiscover.db.connection import transaction


class ServerSong(NamedTuple):
    """One row of ``server_songs``."""

    song_id: str
    track_id: int | None
    matched_by: str | None
    play_count: int
    starred: bool


def replace_server_songs(
    conn: sqlite3.Connection,
    server: str,
    songs: Iterable[ServerSong],
    now: int,
    *,
    keep_unlisted: bool = False,
) -> None:
    """Replace what is known of ``server``'s songs, in one transaction (a sync that fails
    halfway leaves the previous sync's rows). With ``keep_unlisted`` (the server's listing
    was incomplete) the songs given are updated and the other stored ones kept as they were."""
    with transaction(conn):
        if not keep_unlisted:
            conn.execute("DELETE FROM server_songs WHERE server = ?", (server,))
        conn.executemany(
            "INSERT OR REPLACE INTO server_songs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (server, s.song_id, s.track_id, s.matched_by, s.play_count, int(s.starred), now)
                for s in songs
            ],
        )


def server_song_ids(conn: sqlite3.Connection, server: str) -> dict[int, str]:
    """Local track id -> the server's song id, for the matched songs."""
    rows = conn.execute(
        "SELECT track_id, song_id FROM server_songs WHERE server = ? AND track_id IS NOT NULL",
        (server,),
    )
    return dict(rows)
