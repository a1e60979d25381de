"""The ``documents``, ``crawls``, ``terms`` and ``terms_state`` tables: review text and the
terms distilled from it, per library artist and album."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from mydiscover.db.connection import transaction
from mydiscover.history.tables import load_history
from mydiscover.library.match import artist_key, title_key
from mydiscover.library.values import first_value, tag_values
from mydiscover.text.sources import Document, Entity


def library_entities(conn: sqlite3.Connection) -> list[Entity]:
    """The library's artists and albums, most listened and least covered first."""
    names: dict[str, str] = {}
    albums: dict[tuple[str, str], str] = {}
    rows = conn.execute(
        "SELECT DISTINCT coalesce(album_artist, artist), album FROM tracks "
        "WHERE status = 'ok' AND coalesce(album_artist, artist) IS NOT NULL"
    )
    for artist, album in rows:
        key = artist_key(artist)
        if not key:
            continue
        names.setdefault(key, first_value(artist))
        if album and title_key(album):
            albums.setdefault((key, title_key(album)), album)
    plays = {artist.key: artist.plays for artist in load_history(conn).artists}
    covered: dict[tuple[str, str], int] = dict(
        ((a, b), n)
        for a, b, n in conn.execute(
            "SELECT artist_key, album_key, count(*) FROM documents GROUP BY 1, 2"
        )
    )
    entities = [Entity(name, "", key, "") for key, name in names.items()]
    entities += [
        Entity(names[key], album, key, album_key) for (key, album_key), album in albums.items()
    ]
    entities.sort(
        key=lambda e: (
            covered.get((e.artist_key, e.album_key), 0),
            -plays.get(e.artist_key, 0),
            e.kind,
            e.artist_key,
            e.album_key,
        )
    )
    return entities


def crawled_since(conn: sqlite3.Connection, source: str, since: int) -> set[tuple[str, str]]:
    """The entities ``source`` was asked about (successfully) since ``since``."""
    rows = conn.execute(
        "SELECT artist_key, album_key FROM crawls WHERE source = ? AND crawled_at >= ? "
        "AND error IS NULL",
        (source, since),
    )
    return {(artist, album) for artist, album in rows}


def store_documents(
    conn: sqlite3.Connection,
    entity: Entity,
    documents: Iterable[Document],
    now: int,
    crawl: tuple[str, str | None] | None = None,
) -> int:
    """Store an entity's documents (replacing same-URL ones) and, with ``crawl`` = (source,
    error), record the crawl, in one transaction. Returns how many documents were stored."""
    stored = 0
    with transaction(conn):
        for document in documents:
            if not document.text.strip():
                continue
            conn.execute(
                "INSERT OR REPLACE INTO documents (artist_key, album_key, source, url, title, "
                "text, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entity.artist_key, entity.album_key, document.source, document.url,
                 document.title, document.text, now),
            )  # fmt: skip
            stored += 1
        if crawl is not None:
            conn.execute(
                "INSERT OR REPLACE INTO crawls VALUES (?, ?, ?, ?, ?, ?)",
                (entity.artist_key, entity.album_key, crawl[0], now, stored, crawl[1]),
            )
    return stored


def entity_texts(conn: sqlite3.Connection) -> dict[tuple[str, str], list[str]]:
    """Every stored document's text, per (artist key, album key)."""
    texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for artist, album, text in conn.execute(
        "SELECT artist_key, album_key, text FROM documents ORDER BY id"
    ):
        texts[(artist, album)].append(text)
    return texts


def genre_tags(conn: sqlite3.Connection) -> dict[tuple[str, str], list[str]]:
    """The genre tags of the library's files, per artist and per album."""
    tags: dict[tuple[str, str], list[str]] = defaultdict(list)
    rows = conn.execute(
        "SELECT coalesce(album_artist, artist), album, genre FROM tracks "
        "WHERE status = 'ok' AND genre IS NOT NULL AND genre != ''"
    )
    for artist, album, genre in rows:
        key = artist_key(artist)
        if not key:
            continue
        genres = tag_values(genre)
        tags[(key, "")].extend(genres)
        if album and title_key(album):
            tags[(key, title_key(album))].extend(genres)
    return tags


def track_genres(conn: sqlite3.Connection, track_ids: Collection[int]) -> list[str]:
    """The genre tags of these tracks' files (each value once, in order of appearance): what
    a reason about a few tracks reads, not the whole library's genres."""
    rows = conn.execute("SELECT genre FROM tracks WHERE id IN (SELECT value FROM json_each(?)) "
                        "AND genre IS NOT NULL AND genre != ''",
                        (json.dumps([int(track) for track in track_ids]),))  # fmt: skip
    return list(dict.fromkeys(value for (genre,) in rows for value in tag_values(genre)))


def has_documents(conn: sqlite3.Connection, entity: tuple[str, str]) -> bool:
    """Whether any fetched document (review, article, wiki text) is about ``entity``."""
    return conn.execute("SELECT 1 FROM documents WHERE artist_key = ? AND album_key = ? LIMIT 1",
                        entity).fetchone() is not None  # fmt: skip


def documents_marker(conn: sqlite3.Connection) -> str:
    """Changes whenever the documents or the library's genre tags change."""
    count, last, newest = conn.execute(
        "SELECT count(*), coalesce(max(id), 0), coalesce(max(fetched_at), 0) FROM documents"
    ).fetchone()
    genres = conn.execute(
        "SELECT count(*), coalesce(max(updated_at), '') FROM tracks WHERE genre IS NOT NULL"
    ).fetchone()
    return f"{count}:{last}:{newest}:{genres[0]}:{genres[1]}"


def replace_terms(
    conn: sqlite3.Connection,
    rows: Iterable[tuple[str, str, str, float]],
    words: Iterable[tuple[str, str, int]],
    state: dict[str, Any],
) -> None:
    """Replace every entity's terms and word counts, and record what they were built from."""
    with transaction(conn):
        conn.execute("DELETE FROM terms")
        conn.executemany("INSERT INTO terms VALUES (?, ?, ?, ?)", rows)
        conn.execute("DELETE FROM term_entities")
        conn.executemany("INSERT INTO term_entities VALUES (?, ?, ?)", words)
        conn.execute("DELETE FROM terms_state")
        conn.execute(
            "INSERT INTO terms_state (id, documents_marker, entities, build_id) "
            "VALUES (1, :documents_marker, :entities, :build_id)",
            state,
        )


def terms_build_id(conn: sqlite3.Connection) -> str | None:
    """The id of the last terms build, or None before the first."""
    row = conn.execute("SELECT build_id FROM terms_state").fetchone()
    return row[0] if row else None


def database_file(conn: sqlite3.Connection) -> Path | None:
    """The file of the connection's main database (None in memory)."""
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main" and file:
            return Path(file)
    return None


def stored_terms(conn: sqlite3.Connection) -> dict[tuple[str, str], dict[str, float]]:
    """Every entity's stored terms and weights."""
    terms: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for artist, album, term, weight in conn.execute("SELECT * FROM terms"):
        terms[(artist, album)][term] = weight
    return terms


def entity_words(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    """How many words each entity's terms were drawn from."""
    rows = conn.execute("SELECT artist_key, album_key, words FROM term_entities")
    return {(artist, album): words for artist, album, words in rows}


def text_summary(conn: sqlite3.Connection) -> dict[str, Any]:
    """Documents per source, entities covered, crawl errors, and the terms' state."""
    sources = [
        {"source": source, "documents": n, "entities": e}
        for source, n, e in conn.execute(
            "SELECT source, count(*), count(DISTINCT artist_key || '/' || album_key) "
            "FROM documents GROUP BY source ORDER BY 2 DESC"
        )
    ]
    errors = conn.execute("SELECT count(*) FROM crawls WHERE error IS NOT NULL").fetchone()[0]
    state = conn.execute("SELECT entities, built_at FROM terms_state").fetchone()
    return {
        "sources": sources,
        "crawl_errors": errors,
        "terms": {"entities": state[0], "built_at": state[1]} if state else None,
    }


def terms_stale(conn: sqlite3.Connection) -> bool:
    """Whether the stored documents changed since the terms were last built (or never were)."""
    row = conn.execute("SELECT documents_marker FROM terms_state").fetchone()
    return row is None or row[0] != documents_marker(conn)
