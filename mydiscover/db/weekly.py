"""The ``weeklies``, ``weekly_tracks`` and ``bans`` tables: the playlists made, and feedback."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any, NamedTuple

from mydiscover.db.connection import transaction


class StoredPick(NamedTuple):
    """One track of a stored weekly."""

    position: int
    track_id: int
    score: float
    lead_signal: str | None
    reasons: dict[str, str]


def store_weekly(
    conn: sqlite3.Connection,
    week: str,
    created_at: int,
    seed: int,
    signals: dict[str, Any],
    picks: Iterable[StoredPick],
) -> None:
    """Store the week's playlist, replacing one made earlier in the same week."""
    with transaction(conn):
        conn.execute("DELETE FROM weekly_tracks WHERE weekly_id IN "
                     "(SELECT id FROM weeklies WHERE week = ?)", (week,))  # fmt: skip
        conn.execute("DELETE FROM weeklies WHERE week = ?", (week,))
        cursor = conn.execute(
            "INSERT INTO weeklies (week, created_at, seed, signals) VALUES (?, ?, ?, ?)",
            (week, created_at, seed, json.dumps(signals)),
        )
        conn.executemany(
            "INSERT INTO weekly_tracks VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    cursor.lastrowid,
                    p.position,
                    p.track_id,
                    p.score,
                    p.lead_signal,
                    json.dumps(p.reasons),
                )
                for p in picks
            ],
        )


def recent_picks(conn: sqlite3.Connection, week: str, weeks: int) -> set[int]:
    """Track ids of the ``weeks`` weeklies before ``week``."""
    rows = conn.execute(
        "SELECT track_id FROM weekly_tracks WHERE weekly_id IN (SELECT id FROM weeklies "
        "WHERE week < ? ORDER BY week DESC LIMIT ?)",
        (week, weeks),
    )
    return {track for (track,) in rows}


def banned_tracks(conn: sqlite3.Connection) -> set[int]:
    """Track ids the user banned."""
    return {track for (track,) in conn.execute("SELECT track_id FROM bans")}


def set_banned(conn: sqlite3.Connection, track_id: int, banned: bool, now: int) -> None:
    """Ban a track from the weeklies, or lift the ban."""
    with transaction(conn):
        if banned:
            conn.execute("INSERT OR REPLACE INTO bans VALUES (?, ?)", (track_id, now))
        else:
            conn.execute("DELETE FROM bans WHERE track_id = ?", (track_id,))


def weekly_feedback(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per weekly and per lead signal: picks, and how many were played after the weekly was
    made (a hit)."""
    rows = conn.execute(
        "SELECT w.week, wt.lead_signal, count(*), sum(EXISTS (SELECT 1 FROM listens l "
        "WHERE l.track_id = wt.track_id AND l.listened_at >= w.created_at)) "
        "FROM weeklies w JOIN weekly_tracks wt ON wt.weekly_id = w.id "
        "GROUP BY w.week, wt.lead_signal ORDER BY w.week"
    )
    return [
        {"week": week, "signal": signal or "none", "picks": picks, "played": played}
        for week, signal, picks, played in rows
    ]


def stored_weekly(conn: sqlite3.Connection, week: str) -> list[int] | None:
    """The track ids of the stored weekly of ``week``, in order, or None if none was made."""
    row = conn.execute("SELECT id FROM weeklies WHERE week = ?", (week,)).fetchone()
    if row is None:
        return None
    rows = conn.execute(
        "SELECT track_id FROM weekly_tracks WHERE weekly_id = ? ORDER BY position", (row[0],)
    )
    return [track for (track,) in rows]
