"""The ``weeklies``, ``weekly_tracks`` and ``bans`` tables (the playlists made, and feedback),
and ``audio_to_cf`` (the cold start's map, kept between weeklies)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
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


class StoredWeekly(NamedTuple):
    """A weekly as it was stored: when, its seed, what it was made from, and its picks."""

    week: str
    created_at: int
    seed: int
    signals: dict[str, Any]
    picks: list[StoredPick]


class DamagedWeekly(ValueError):
    """A stored weekly that cannot be read back (says why)."""


def load_weekly(conn: sqlite3.Connection, week: str) -> StoredWeekly | None:
    """The stored weekly of ``week``, or None if none was made; :class:`DamagedWeekly` if
    its rows cannot be read back (SQLite holds whatever a damaged file or a hand edit left)."""
    row = conn.execute(
        "SELECT id, created_at, seed, signals FROM weeklies WHERE week = ?", (week,)
    ).fetchone()
    if row is None:
        return None
    weekly_id, created_at, seed, signals = row
    try:
        made_from = json.loads(signals)
        if not isinstance(made_from, dict):
            raise ValueError("its signals are not a JSON object")
        picks = []
        for position, track, score, lead, reasons in conn.execute(
            "SELECT position, track_id, score, lead_signal, reasons FROM weekly_tracks "
            "WHERE weekly_id = ? ORDER BY position",
            (weekly_id,),
        ):
            said = json.loads(reasons)
            if not isinstance(said, dict) or not all(isinstance(v, str) for v in said.values()):
                raise ValueError(f"the reasons of pick {position} are not text")
            if lead is not None and not isinstance(lead, str):
                raise ValueError(f"the lead signal of pick {position} is not text")
            picks.append(StoredPick(int(position), int(track), float(score), lead, said))
        stored = StoredWeekly(week, int(created_at), int(seed), made_from, picks)
    except (ValueError, TypeError) as error:  # json.JSONDecodeError is a ValueError
        raise DamagedWeekly(str(error)) from None
    if not picks:
        raise DamagedWeekly("it holds no track")
    return stored


def weekly_sources(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Per stored week, what its weekly was made from (its signals JSON; {} if unreadable)."""
    sources: dict[str, dict[str, Any]] = {}
    for week, signals in conn.execute("SELECT week, signals FROM weeklies ORDER BY week"):
        try:
            made_from = json.loads(signals)
        except (ValueError, TypeError):
            made_from = {}
        sources[week] = made_from if isinstance(made_from, dict) else {}
    return sources


def library_rows(conn: sqlite3.Connection, only: Collection[int] | None = None) -> sqlite3.Cursor:
    """Every available track as the weekly scores it, by id, as a cursor (read it in chunks:
    100,000 rows with their embeddings are 150 MB as Python objects): id, title, artist (the
    album artist where none), album, artist MBID (the album artist's where none), duration,
    bpm, key, scale, embedding blob. Its file is read for the picks only (:func:`track_files`).
    ``only``: just these ids."""
    return conn.execute(
        "SELECT t.id, coalesce(t.title, ''), coalesce(t.artist, t.album_artist, ''), "
        "coalesce(t.album, ''), coalesce(t.mb_artist_id, t.mb_album_artist_id, ''), "
        "t.duration, a.bpm, a.key, a.scale, a.embedding "
        "FROM tracks t LEFT JOIN track_audio a ON a.track_id = t.id "
        "WHERE t.status = 'ok'"
        + ("" if only is None else " AND t.id IN (SELECT value FROM json_each(?))")
        + " ORDER BY t.id",
        () if only is None else (json.dumps([int(track) for track in only]),),
    )


class TrackFile(NamedTuple):
    """Where a track's file is, as a playlist names it, and its recording MBID."""

    path: bytes
    root: bytes
    path_text: str
    recording_mbid: str  # "" unknown


def track_files(conn: sqlite3.Connection, track_ids: Collection[int]) -> dict[int, TrackFile]:
    """The files of these tracks (a weekly's picks), by id."""
    rows = conn.execute(
        "SELECT id, path, root, path_text, coalesce(mb_recording_id, '') FROM tracks "
        "WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps([int(track) for track in track_ids]),),
    )
    return {track: TrackFile(path, root, text, mbid) for track, path, root, text, mbid in rows}


def library_size(conn: sqlite3.Connection, only: Collection[int] | None = None) -> int:
    """How many rows :func:`library_rows` has (read just before it, to size its arrays)."""
    return int(conn.execute(
        "SELECT count(*) FROM tracks t WHERE t.status = 'ok'"
        + ("" if only is None else " AND t.id IN (SELECT value FROM json_each(?))"),
        () if only is None else (json.dumps([int(track) for track in only]),),
    ).fetchone()[0])  # fmt: skip


def matched_listen_cutoff(conn: sqlite3.Connection, share: float) -> int | None:
    """The time by which ``share`` of the matched listens had happened (None under 10)."""
    count = conn.execute("SELECT count(*) FROM listens WHERE track_id IS NOT NULL").fetchone()[0]
    if count < 10:
        return None
    row = conn.execute(
        "SELECT listened_at FROM listens WHERE track_id IS NOT NULL ORDER BY listened_at "
        "LIMIT 1 OFFSET ?", (int(count * share),),
    ).fetchone()  # fmt: skip
    return int(row[0])


@dataclass(frozen=True)
class WeeklyStats:
    """How past weeklies did: picks and played picks per week and per lead signal, and each
    week's blend."""

    weeks: dict[str, tuple[int, int]]
    signals: dict[str, tuple[int, int]]
    blends: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """As ``weekly --stats --json`` prints it."""

        def rates(totals: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
            return [{"key": key, "picks": picks, "played": played, "hit_rate": played / picks}
                    for key, (picks, played) in totals.items()]  # fmt: skip

        return {"weeks": rates(self.weeks), "signals": rates(self.signals), "blends": self.blends}


def weekly_stats(conn: sqlite3.Connection) -> WeeklyStats | None:
    """The stats of every weekly made (None when none was)."""
    rows = weekly_feedback(conn)
    if not rows:
        return None
    weeks: dict[str, tuple[int, int]] = {}
    signals: dict[str, tuple[int, int]] = {}
    for row in rows:
        for bucket, key in ((weeks, row["week"]), (signals, row["signal"])):
            picks, played = bucket.get(key, (0, 0))
            bucket[key] = (picks + row["picks"], played + row["played"])
    blends = {week: str(made.get("blend") or "not recorded")
              for week, made in weekly_sources(conn).items()}  # fmt: skip
    return WeeklyStats(weeks, signals, blends)


def stored_audio_map(conn: sqlite3.Connection, made_from: str) -> bytes | None:
    """The cold start's stored audio-to-CF map if it was made from ``made_from`` (a digest of
    the CF model and the tracks it was fitted on), else None."""
    row = conn.execute("SELECT map FROM audio_to_cf WHERE made_from = ?", (made_from,)).fetchone()
    return None if row is None else bytes(row[0])


def store_audio_map(conn: sqlite3.Connection, made_from: str, stored: bytes) -> None:
    """Keep the cold start's map (one: the latest model's), fitted from ``made_from``."""
    with transaction(conn):
        conn.execute("INSERT OR REPLACE INTO audio_to_cf (id, made_from, map) VALUES (1, ?, ?)",
                     (made_from, stored))  # fmt: skip


def stored_learned_blend(conn: sqlite3.Connection) -> tuple[int, Any] | None:
    """When the kept learned blend was learned, and its JSON as stored (None: none kept, or
    its JSON unreadable)."""
    row = conn.execute("SELECT learned_at, blend FROM learned_blend WHERE id = 1").fetchone()
    if row is None:
        return None
    try:
        return int(row[0]), json.loads(row[1])
    except (ValueError, TypeError):
        return None


def store_learned_blend(conn: sqlite3.Connection, learned_at: int, blend: dict[str, Any]) -> None:
    """Keep a learned blend (one: the latest), as :func:`stored_learned_blend` reads it."""
    with transaction(conn):
        conn.execute("INSERT OR REPLACE INTO learned_blend (id, learned_at, blend) "
                     "VALUES (1, ?, ?)", (learned_at, json.dumps(blend)))  # fmt: skip


def inputs_marker(conn: sqlite3.Connection) -> str:
    """Changes whenever what a mix is made from changes: the catalog, the bans, the listens
    and a server's songs (the analysis and the model have markers of their own)."""
    # (max(id) where rows are only ever added: a count would read a million listens)
    row = conn.execute(
        "SELECT (SELECT max(id) FROM tracks), (SELECT max(updated_at) FROM tracks), "
        "(SELECT count(*) FROM bans), (SELECT max(id) FROM listens), "
        "(SELECT count(*) FROM listens WHERE track_id IS NULL), "
        "(SELECT max(synced_at) FROM server_songs)"
    ).fetchone()
    return ":".join(map(str, row))
