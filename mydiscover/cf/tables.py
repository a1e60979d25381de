"""The ``cf_scores`` and ``cf_fold`` tables, and the history the user is folded in from."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, NamedTuple

from mydiscover.db.connection import transaction
from mydiscover.history.tables import ArtistPlays, load_history
from mydiscover.library.values import first_value


class LibraryTrack(NamedTuple):
    """What scoring needs of a catalogued track: who made it."""

    track_id: int
    artist: str
    mbid: str


class TrackScore(NamedTuple):
    """One row of ``cf_scores``."""

    track_id: int
    score: float
    percentile: float
    artist: str
    matched_by: str
    because: str | None


def user_artist_plays(conn: sqlite3.Connection) -> list[ArtistPlays]:
    """The user's plays per artist: every listen (matched to a track or not) and the play counts
    in the tags of tracks that no listen matched (those would count twice)."""
    return load_history(conn).artists


def history_marker(conn: sqlite3.Connection) -> str:
    """Changes whenever the history the user is folded in from changes."""
    listens, last = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM listens").fetchone()
    tagged = conn.execute(
        "SELECT coalesce(sum(play_count), 0) FROM tracks WHERE play_count > 0"
    ).fetchone()[0]
    loved = conn.execute("SELECT count(*) FROM feedback WHERE kind = 'love'").fetchone()[0]
    return f"{listens}:{last}:{tagged}:{loved}"


def library_tracks(conn: sqlite3.Connection) -> list[LibraryTrack]:
    """Every available track with its (first) artist and artist MBID."""
    rows = conn.execute(
        "SELECT id, coalesce(artist, album_artist, ''), "
        "coalesce(mb_artist_id, mb_album_artist_id, '') FROM tracks WHERE status = 'ok'"
    )
    return [LibraryTrack(track_id, artist, first_value(mbid)) for track_id, artist, mbid in rows]


def listened_artist_mbids(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every (artist name, artist MBID) pair the history's listens carry."""
    rows = conn.execute("SELECT DISTINCT artist, mb_artist_id FROM listens "
                        "WHERE mb_artist_id IS NOT NULL AND mb_artist_id != ''")  # fmt: skip
    return rows.fetchall()


def replace_scores(
    conn: sqlite3.Connection, scores: Iterable[TrackScore], state: dict[str, Any]
) -> None:
    """Replace every stored score, and record what they were computed from, in one transaction."""
    with transaction(conn):
        conn.execute("DELETE FROM cf_scores")
        conn.executemany("INSERT INTO cf_scores VALUES (?, ?, ?, ?, ?, ?)", scores)
        conn.execute("DELETE FROM cf_fold")
        conn.execute(
            "INSERT INTO cf_fold (id, model_fingerprint, history_marker, user_artists, "
            "matched_artists, scored_tracks, user_factors) VALUES (1, :model_fingerprint, "
            ":history_marker, :user_artists, :matched_artists, :scored_tracks, :user_factors)",
            state,
        )


def fold_state(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """What the stored scores were computed from, or None before the first fold-in."""
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute(
            "SELECT model_fingerprint, history_marker, user_artists, matched_artists, "
            "scored_tracks, folded_at FROM cf_fold WHERE id = 1"
        ).fetchone()
    finally:
        conn.row_factory = None
    return dict(row) if row else None


def top_artists(conn: sqlite3.Connection, count: int) -> list[dict[str, Any]]:
    """The library's artists with the best CF scores, with their track counts and reasons."""
    rows = conn.execute(
        "SELECT artist, max(score), max(percentile), count(*), max(because) FROM cf_scores "
        "GROUP BY artist ORDER BY max(score) DESC LIMIT ?",
        (count,),
    )
    return [
        {"artist": artist, "score": score, "percentile": percentile, "tracks": tracks,
         "because": because}
        for artist, score, percentile, tracks, because in rows
    ]  # fmt: skip


class SimilarArtist(NamedTuple):
    """An artist a similarity service lists beside another, with its similarity (0..1)."""

    key: str
    name: str
    mbid: str
    match: float


def artists_due(
    conn: sqlite3.Connection, source: str, artists: list[ArtistPlays], fresh_after: int
) -> list[ArtistPlays]:
    """The ``artists`` that ``source`` has not been asked about since ``fresh_after``."""
    fresh = {
        key
        for (key,) in conn.execute(
            "SELECT artist_key FROM similar_fetches WHERE source = ? AND fetched_at >= ?",
            (source, fresh_after),
        )
    }
    return [artist for artist in artists if artist.key not in fresh]


def store_similar(
    conn: sqlite3.Connection, source: str, artist: str, similar: list[SimilarArtist], now: int
) -> None:
    """Replace what ``source`` lists beside ``artist`` (a key), and note when it was asked."""
    with transaction(conn):
        conn.execute(
            "DELETE FROM similar_artists WHERE source = ? AND artist_key = ?", (source, artist)
        )
        conn.executemany(
            "INSERT OR REPLACE INTO similar_artists VALUES (?, ?, ?, ?, ?, ?)",
            [(source, artist, s.key, s.name, s.mbid or None, s.match) for s in similar],
        )
        conn.execute(
            "INSERT OR REPLACE INTO similar_fetches VALUES (?, ?, ?, ?)",
            (source, artist, now, len(similar)),
        )


class Listed(NamedTuple):
    """An artist the similarity services list: its name, and the user's artists (keys) it was
    listed beside, each with the best match."""

    name: str
    beside: list[tuple[str, float]]


def similar_to_user_artists(conn: sqlite3.Connection) -> dict[str, Listed]:
    """Every artist the similarity services list beside one of the user's artists."""
    listed: dict[str, Listed] = {}
    rows = conn.execute(
        "SELECT similar_key, min(similar_name), artist_key, max(match) FROM similar_artists "
        "GROUP BY similar_key, artist_key"
    )
    for similar, name, artist, match in rows:
        listed.setdefault(similar, Listed(name, [])).beside.append((artist, match))
    return listed


def similar_lists(conn: sqlite3.Connection) -> dict[str, list[SimilarArtist]]:
    """Every asked artist's own lists (all sources): whom the services list beside it."""
    lists: dict[str, list[SimilarArtist]] = {}
    rows = conn.execute(
        "SELECT artist_key, similar_key, min(similar_name), max(coalesce(similar_mbid, '')), "
        "max(match) FROM similar_artists GROUP BY artist_key, similar_key"
    )
    for artist, key, name, mbid, match in rows:
        lists.setdefault(artist, []).append(SimilarArtist(key, name, mbid, match))
    return lists


def fold_stale(conn: sqlite3.Connection) -> bool:
    """Whether the history changed since the user was last folded in (or never was)."""
    folded = fold_state(conn)
    return folded is None or folded["history_marker"] != history_marker(conn)
