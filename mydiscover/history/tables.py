"""The history's tables: ``listens`` and ``history_imports`` (listening history and where
imports stand), ``server_songs`` (a Subsonic server's songs matched to local tracks) and
``feedback`` (loves and skips said on the web page)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from mydiscover.db.connection import transaction
from mydiscover.history.listen import Listen
from mydiscover.library.match import CatalogEntry, Match, TrackMatcher, artist_key, title_key
from mydiscover.library.values import first_value

#: Listens written per transaction: big batches, sorted, keep the indexes' pages close (a crash
#: loses at most the batch in flight, which the next import of the same files adds again).
BATCH_SIZE = 50_000
#: The same song within this many seconds, from another source, is the same listen:
#: lastfm-to-csv keeps only the minute, so its listens would otherwise be doubled by the same
#: history from the API. (Within one source only exact repeats are dropped: a short song
#: played twice in a row is two listens.)
SAME_LISTEN_SECONDS = 59

_INSERT_SQL = f"""
INSERT OR IGNORE INTO listens (listened_at, artist, title, album, mb_recording_id,
    mb_artist_id, mb_release_id, source, artist_key, title_key, track_id, matched_by)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
WHERE NOT EXISTS (
    SELECT 1 FROM listens WHERE artist_key = ?9 AND title_key = ?10
    AND listened_at BETWEEN ?1 - {SAME_LISTEN_SECONDS} AND ?1 + {SAME_LISTEN_SECONDS}
    AND source != ?8
)
"""


def load_matcher(conn: sqlite3.Connection) -> TrackMatcher:
    """A matcher over every catalogued track, missing ones included (their history stays)."""
    rows = conn.execute("SELECT id, artist, title, album, mb_recording_id FROM tracks")
    return TrackMatcher(CatalogEntry(*row) for row in rows)


class ListenWriter:
    """Adds listens in batched transactions, matching each to a track as it goes.

    Matching is cached per distinct (artist, title, album, recording): a history repeats its
    favourite songs thousands of times.
    """

    def __init__(self, conn: sqlite3.Connection, source: str, matcher: TrackMatcher) -> None:
        self.conn = conn
        self.source = source
        self.matcher = matcher
        self.added = 0
        self.duplicates = 0
        self.matched = 0
        self._batch: list[tuple[Any, ...]] = []
        self._cache: dict[tuple[str, str, str | None, str | None], Match | None] = {}

    def add(self, listen: Listen) -> None:
        """Queue one listen; it is written with its batch."""
        key = (listen.artist, listen.title, listen.album, listen.mb_recording_id)
        if key in self._cache:
            match = self._cache[key]
        else:
            match = self._cache[key] = self.matcher.match(*key)
        self._batch.append(
            (
                *listen,
                self.source,
                artist_key(listen.artist),
                title_key(listen.title),
                match.track_id if match else None,
                match.method if match else None,
            )
        )
        if len(self._batch) >= BATCH_SIZE:
            self.flush()

    def add_all(self, listens: Iterable[Listen]) -> None:
        """Queue many listens."""
        for listen in listens:
            self.add(listen)

    def flush(self, extra: str | None = None, params: tuple[Any, ...] = ()) -> None:
        """Write the queued listens in one transaction, with ``extra`` SQL in the same one
        (an import's progress, so listens and progress are saved together or not at all)."""
        batch, self._batch = self._batch, []
        # In the order of the unique index (artist key, title key, time), which the other
        # big index also starts with: each batch then touches neighbouring pages, not pages
        # all over the B-trees (the store's cost per listen stays flat as the history grows).
        batch.sort(key=_index_order)
        with transaction(self.conn):
            before = self.conn.total_changes
            self.conn.executemany(_INSERT_SQL, batch)
            added = self.conn.total_changes - before
            if extra:
                self.conn.execute(extra, params)
        self.added += added
        self.duplicates += len(batch) - added
        self.matched += sum(1 for row in batch if row[10] is not None)


def _index_order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return row[8], row[9], row[0]  # artist_key, title_key, listened_at


#: A matcher over at most this many artists has its listens selected by key (an index), not
#: every unmatched listen read: what one scan brings is a handful.
TARGETED_ARTISTS = 500


def rematch_unmatched(conn: sqlite3.Connection, matcher: TrackMatcher | None = None) -> int:
    """Try the listens no track matched yet against ``matcher`` (default: the whole catalog as
    it is now); returns how many found their track (new files were scanned, tags were fixed).
    A small matcher (a scan's new tracks) reads only the listens it could match."""
    matcher = matcher or load_matcher(conn)
    found: list[tuple[int, str, int]] = []
    cache: dict[tuple[Any, ...], Match | None] = {}
    for listen_id, *key in _unmatched_listens(conn, matcher):
        cache_key = tuple(key)
        if cache_key not in cache:
            cache[cache_key] = matcher.match(*key)
        match = cache[cache_key]
        if match is not None:
            found.append((match.track_id, match.method, listen_id))
    with transaction(conn):
        conn.executemany("UPDATE listens SET track_id = ?, matched_by = ? WHERE id = ?", found)
    return len(found)


def _unmatched_listens(conn: sqlite3.Connection, matcher: TrackMatcher) -> Iterable[tuple]:
    """The unmatched listens ``matcher`` might match: by its artists' keys and its recording
    IDs when it is small, else all of them."""
    columns = "id, artist, title, album, mb_recording_id"
    artists = matcher.artist_keys()
    if len(artists) > TARGETED_ARTISTS:
        yield from conn.execute(f"SELECT {columns} FROM listens WHERE track_id IS NULL")
        return
    seen: set[int] = set()
    wanted = [("artist_key", sorted(artists)), ("lower(mb_recording_id)",
                                                sorted(matcher.recording_ids()))]  # fmt: skip
    for column, values in wanted:
        for start in range(0, len(values), 500):  # under SQLite's limit of bound parameters
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT {columns} FROM listens WHERE track_id IS NULL AND "
                                f"{column} IN ({marks})", chunk)  # fmt: skip
            for row in rows:
                if row[0] not in seen:
                    seen.add(row[0])
                    yield row


class ImportState(NamedTuple):
    """Where a service import stands (see the ``history_imports`` table)."""

    imported_until: int | None
    run_from: int | None
    run_to: int | None
    run_cursor: int | None


def import_state(conn: sqlite3.Connection, source: str, account: str) -> ImportState:
    """The state of the import of ``account`` from ``source`` (all ``None`` the first time)."""
    row = conn.execute(
        "SELECT imported_until, run_from, run_to, run_cursor FROM history_imports "
        "WHERE source = ? AND account = ?",
        (source, account),
    ).fetchone()
    return ImportState(*(row or (None, None, None, None)))


#: Upsert of an import's state, run inside a listen batch's transaction.
SAVE_STATE_SQL = (
    "INSERT INTO history_imports (source, account, imported_until, run_from, run_to, run_cursor) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, account) DO UPDATE SET "
    "imported_until = excluded.imported_until, run_from = excluded.run_from, "
    "run_to = excluded.run_to, run_cursor = excluded.run_cursor, "
    "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
)


def history_summary(conn: sqlite3.Connection, top: int = 10) -> dict[str, Any]:
    """Listens, sources, date range, match rate, top unmatched artists, tag play counts."""
    total, matched, first, last = conn.execute(
        "SELECT count(*), count(track_id), min(listened_at), max(listened_at) FROM listens"
    ).fetchone()
    sources = [
        {"source": source, "listens": count, "matched": hits}
        for source, count, hits in conn.execute(
            "SELECT source, count(*), count(track_id) FROM listens GROUP BY source ORDER BY 2 DESC"
        )
    ]
    unmatched = [
        {"artist": artist, "listens": count}
        for artist, count in conn.execute(
            "SELECT min(artist), count(*) FROM listens WHERE track_id IS NULL "
            "GROUP BY artist_key ORDER BY 2 DESC, 1 LIMIT ?",
            (top,),
        )
    ]
    tag_tracks, tag_plays = conn.execute(
        "SELECT count(*), coalesce(sum(play_count), 0) FROM tracks WHERE play_count > 0"
    ).fetchone()
    imports = [
        {"source": source, "account": account, "imported_until": until, "unfinished": run}
        for source, account, until, run in conn.execute(
            "SELECT source, account, imported_until, run_to IS NOT NULL FROM history_imports "
            "ORDER BY 1, 2"
        )
    ]
    return {
        "listens": total,
        "matched": matched,
        "match_rate": round(matched / total, 4) if total else None,
        "first_listened_at": first,
        "last_listened_at": last,
        "sources": sources,
        "top_unmatched_artists": unmatched,
        "tag_play_counts": {"tracks": tag_tracks, "plays": tag_plays},
        "imports": [{**row, "unfinished": bool(row["unfinished"])} for row in imports],
    }


class ArtistPlays(NamedTuple):
    """How much the user plays one artist, across every source of history."""

    key: str
    name: str
    mbid: str
    plays: int


@dataclass
class History:
    """The user's listening up to a time: plays per track and per artist."""

    track_plays: dict[int, int]  # track id -> listens (and tag play counts)
    last_played: dict[int, int]  # track id -> UTC seconds of the last listen
    artists: list[ArtistPlays]

    @property
    def empty(self) -> bool:
        """No history at all."""
        return not self.track_plays and not self.artists


#: A starred song counts as this many plays, and so does a track loved on the web page.
STARRED_PLAYS = 3
#: Plays without a date, per track: the play count in its tags, what a Subsonic server
#: counted (a star as STARRED_PLAYS), or a love (as a star), whichever is more.
UNDATED_PLAYS_SQL = f"""
SELECT t.id, coalesce(t.artist, t.album_artist), coalesce(t.mb_artist_id, t.mb_album_artist_id, ''),
       max(coalesce(t.play_count, 0), coalesce(s.plays, 0), coalesce(f.plays, 0)) AS plays
FROM tracks t LEFT JOIN (
    SELECT track_id, max(max(play_count, starred * {STARRED_PLAYS})) AS plays
    FROM server_songs WHERE track_id IS NOT NULL GROUP BY track_id
) s ON s.track_id = t.id
LEFT JOIN (
    SELECT track_id, {STARRED_PLAYS} AS plays FROM feedback WHERE kind = 'love'
) f ON f.track_id = t.id
WHERE t.status != 'error'
  AND max(coalesce(t.play_count, 0), coalesce(s.plays, 0), coalesce(f.plays, 0)) > 0
"""


class Feedback(StrEnum):
    """What the listener can say of a track on the web page."""

    LOVE = "love"  # counts as a star: STARRED_PLAYS plays in the history
    SKIP = "skip"  # not offered again for a while (recommend's rules say how long)


def record_feedback(conn: sqlite3.Connection, track_id: int, kind: Feedback, now: int) -> None:
    """Keep what the listener said of a track (it replaces what they said before)."""
    with transaction(conn):
        conn.execute("INSERT OR REPLACE INTO feedback (track_id, kind, said_at) VALUES (?, ?, ?)",
                     (track_id, kind.value, now))  # fmt: skip


def feedback_of(conn: sqlite3.Connection, track_ids: Collection[int]) -> dict[int, Feedback]:
    """What the listener last said of each of these tracks (those they said something of)."""
    rows = conn.execute(
        "SELECT track_id, kind FROM feedback WHERE track_id IN (SELECT value FROM json_each(?))",
        (json.dumps([int(track) for track in track_ids]),),
    )
    return {int(track): Feedback(kind) for track, kind in rows}


def skipped_since(conn: sqlite3.Connection, since: int) -> set[int]:
    """Track ids the listener skipped at ``since`` (UTC seconds) or later."""
    rows = conn.execute("SELECT track_id FROM feedback WHERE kind = 'skip' AND said_at >= ?",
                        (since,))  # fmt: skip
    return {int(track) for (track,) in rows}


def load_history(conn: sqlite3.Connection, before: int | None = None) -> History:
    """The user's history, all of it or only the listens before ``before`` (UTC seconds)."""
    limit = "" if before is None else " WHERE listened_at < ?"
    params: tuple[int, ...] = () if before is None else (before,)
    track_plays: dict[int, int] = {}
    last_played: dict[int, int] = {}
    for track, plays, last in conn.execute(
        "SELECT track_id, count(*), max(listened_at) FROM listens"
        + (limit + " AND" if limit else " WHERE")
        + " track_id IS NOT NULL GROUP BY track_id",
        params,
    ):
        track_plays[track] = plays
        last_played[track] = last
    totals: dict[str, list] = {}
    for key, name, mbid, plays in conn.execute(
        "SELECT artist_key, min(artist), max(coalesce(mb_artist_id, '')), count(*) FROM listens"
        + limit
        + " GROUP BY artist_key",
        params,
    ):
        totals[key] = [name, first_value(mbid), plays]
    if before is None:  # undated plays (tags, servers, stars) count only for "now"
        for track, name, mbid, plays in conn.execute(UNDATED_PLAYS_SQL):
            # A track scrobbled once but played 40 times on the server has played 40 times:
            # the larger count wins, and only what it adds goes to the artist.
            extra = plays - track_plays.get(track, 0)
            if extra <= 0:
                continue
            track_plays[track] = plays
            key = artist_key(name)
            if key:
                entry = totals.setdefault(key, [name, first_value(mbid), 0])
                entry[2] += extra
    artists = [ArtistPlays(key, name, mbid, plays) for key, (name, mbid, plays) in totals.items()]
    return History(track_plays, last_played, artists)


def tracks_played_between(conn: sqlite3.Connection, start: int, end: int) -> set[int]:
    """Ids of the tracks with a listen at ``start`` or later and before ``end`` (UTC s)."""
    rows = conn.execute(
        "SELECT DISTINCT track_id FROM listens WHERE track_id IS NOT NULL "
        "AND listened_at >= ? AND listened_at < ?",
        (start, end),
    )
    return {track for (track,) in rows}


def histories_before(conn: sqlite3.Connection, cutoffs: list[int]) -> list[History]:
    """``load_history(conn, before=cutoff)`` for each of the ascending ``cutoffs``, from one
    pass over each covering index with a count per cut-off (``sum(listened_at < cutoff)``),
    grouped in the index's own order: 0.5 s on a million listens, where grouping by the span
    a listen falls in sorted every listen in a temporary B-tree (3.9 s)."""
    if not cutoffs:
        return []
    counts = ", ".join(f"sum(listened_at < {int(cutoff)})" for cutoff in cutoffs)
    lasts = ", ".join(f"max(CASE WHEN listened_at < {int(cutoff)} THEN listened_at END)"
                      for cutoff in cutoffs)  # fmt: skip
    tracks: list[tuple[int, ...]] = conn.execute(
        f"SELECT track_id, {counts}, {lasts} FROM listens "
        "WHERE track_id IS NOT NULL AND listened_at < ? GROUP BY track_id",
        (cutoffs[-1],),
    ).fetchall()
    # Per spelling of an artist (name and MBID), as listens_artist holds them: the name and
    # MBID of each cut-off's history are those of its own listens, as load_history's are.
    spellings: list[tuple] = conn.execute(
        f"SELECT artist_key, artist, coalesce(mb_artist_id, ''), {counts} FROM listens "
        "WHERE listened_at < ? GROUP BY artist_key, artist, mb_artist_id",
        (cutoffs[-1],),
    ).fetchall()
    histories = []
    count = len(cutoffs)
    for index in range(count):
        track_plays = {row[0]: row[1 + index] for row in tracks if row[1 + index]}
        last_played = {row[0]: row[1 + count + index] for row in tracks if row[1 + index]}
        totals: dict[str, list] = {}
        for key, name, mbid, *plays in spellings:
            if not plays[index]:
                continue
            entry = totals.setdefault(key, [name, mbid, 0])
            entry[0], entry[1] = min(entry[0], name), max(entry[1], mbid)
            entry[2] += plays[index]
        artist_plays = [ArtistPlays(key, name, first_value(mbid), plays)
                        for key, (name, mbid, plays) in totals.items()]  # fmt: skip
        histories.append(History(track_plays, last_played, artist_plays))
    return histories


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


def listen_counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """How many listens there are, and how many are matched to a track."""
    total, matched = conn.execute("SELECT count(*), count(track_id) FROM listens").fetchone()
    return int(total), int(matched)


def played_track_ids(conn: sqlite3.Connection) -> set[int]:
    """Every track with a listen."""
    rows = conn.execute("SELECT DISTINCT track_id FROM listens WHERE track_id IS NOT NULL")
    return {int(track) for (track,) in rows}
