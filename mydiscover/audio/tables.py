"""The ``track_audio`` table (each track's descriptors and embedding) and ``taste_map`` (their
2-D projection)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, NamedTuple

from mydiscover.db.connection import transaction

if TYPE_CHECKING:  # numpy loads when embeddings are read or written, not for a count
    import numpy as np

    from mydiscover.audio.analyze import TrackAnalysis

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


class PendingTrack(NamedTuple):
    """A track whose audio needs analysing, and the file state the analysis will be of."""

    id: int
    path: bytes
    path_text: str
    size: int
    mtime_ns: int


def pending_tracks(conn: sqlite3.Connection, version: int) -> list[PendingTrack]:
    """Available tracks never analysed, changed since, or analysed by an older version.

    A file that failed is tried again only once it changes (or the analyser does).
    """
    rows = conn.execute(
        "SELECT tracks.id, tracks.path, tracks.path_text, tracks.size, tracks.mtime_ns "
        "FROM tracks LEFT JOIN track_audio ON track_audio.track_id = tracks.id "
        "WHERE tracks.status = 'ok' AND (track_audio.track_id IS NULL "
        "OR track_audio.version < ? OR track_audio.file_size != tracks.size "
        "OR track_audio.file_mtime_ns != tracks.mtime_ns) ORDER BY tracks.id",
        (version,),
    )
    return [PendingTrack(*row) for row in rows]


def store_analysis(
    conn: sqlite3.Connection,
    track: PendingTrack,
    version: int,
    analysis: TrackAnalysis | None,
    error: str | None,
) -> None:
    """Write one track's result (or why it failed), replacing any older one."""
    values: dict[str, object] = {
        "track_id": track.id,
        "version": version,
        "file_size": track.size,
        "file_mtime_ns": track.mtime_ns,
        "error": error,
    }
    if analysis is not None:
        values.update(analysis.descriptors._asdict())
        values["backend"] = analysis.backend
        values["analysed_seconds"] = analysis.analysed_seconds
        if analysis.embedding is not None:
            values["embedding"] = _blob(analysis.embedding.embedding)
            values["tag_scores"] = _blob(analysis.embedding.tags)
            values["patches"] = analysis.embedding.patches
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    conn.execute(
        f"INSERT OR REPLACE INTO track_audio ({columns}, analysed_at) VALUES ({marks}, {_NOW})",
        values,
    )


def _blob(vector: np.ndarray) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype="<f4").tobytes()


def load_embeddings(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """Ids [n] and unit-length embeddings [n, 200] of every available analysed track."""
    import numpy as np

    from mydiscover.audio.embed import EMBEDDING_SIZE

    rows = conn.execute(
        "SELECT track_audio.track_id, track_audio.embedding FROM track_audio "
        "JOIN tracks ON tracks.id = track_audio.track_id "
        "WHERE tracks.status = 'ok' AND track_audio.embedding IS NOT NULL "
        "ORDER BY track_audio.track_id"
    ).fetchall()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    if not rows:
        return ids, np.zeros((0, EMBEDDING_SIZE), np.float32)
    vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype="<f4").reshape(
        len(rows), EMBEDDING_SIZE
    )
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return ids, (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def audio_summary(conn: sqlite3.Connection) -> dict[str, int]:
    """How many available tracks are analysed, and how many could not be decoded."""
    analysed, undecodable = conn.execute(
        "SELECT count(track_audio.embedding), count(track_audio.error) FROM track_audio "
        "JOIN tracks ON tracks.id = track_audio.track_id WHERE tracks.status = 'ok'"
    ).fetchone()
    return {"analysed": analysed, "undecodable": undecodable}


def tempo_and_key(conn: sqlite3.Connection, ids: list[int]) -> dict[int, tuple]:
    """Each track's (bpm, key, scale) for the given ids (those analysed)."""
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT track_id, bpm, key, scale FROM track_audio WHERE track_id IN ({marks})", ids
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def taste_map_marker(conn: sqlite3.Connection) -> str:
    """Changes whenever the analysed tracks' embeddings change (the taste map's made_from)."""
    count, last, ids = conn.execute(
        "SELECT count(*), coalesce(max(analysed_at), ''), coalesce(sum(track_id), 0) "
        "FROM track_audio JOIN tracks ON tracks.id = track_audio.track_id "
        "WHERE tracks.status = 'ok' AND track_audio.embedding IS NOT NULL"
    ).fetchone()
    return f"{count}:{last}:{ids}"


def stored_taste_map(
    conn: sqlite3.Connection, made_from: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """The stored taste map's track ids and points if it was made from ``made_from``."""
    import numpy as np

    row = conn.execute(
        "SELECT track_ids, points FROM taste_map WHERE made_from = ?", (made_from,)
    ).fetchone()
    if row is None:
        return None
    track_ids = np.frombuffer(row[0], dtype="<i8")
    points = np.frombuffer(row[1], dtype="<f4")
    if len(points) != 2 * len(track_ids):  # damaged: made again
        return None
    return track_ids.astype(np.int64), points.reshape(-1, 2).astype(np.float32)


def store_taste_map(
    conn: sqlite3.Connection, made_from: str, track_ids: np.ndarray, points: np.ndarray
) -> None:
    """Keep the taste map made from ``made_from`` (one: the latest analysis's)."""
    import numpy as np

    ids = np.asarray(track_ids, "<i8").tobytes()
    places = np.asarray(points, "<f4").tobytes()
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO taste_map (id, made_from, track_ids, points) "
            "VALUES (1, ?, ?, ?)",
            (made_from, ids, places),
        )
