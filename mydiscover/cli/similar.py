"""``mydiscover similar TRACK``: the tracks that sound nearest to one track."""

from __future__ import annotations

import os
import sqlite3
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    JsonOption,
    connect,
    fail,
    find_track,
    out,
    print_json,
    reported_errors,
    settings_from,
)
from mydiscover.paths import display_path


def similar(
    track: Annotated[
        str,
        typer.Argument(help='A file of your library, or "Artist - Title".', show_default=False),
    ],
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many.")] = 10,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show the tracks that sound most like TRACK (by the CNN embedding), with BPM and key."""
    import numpy as np  # here, not at the top: every other command starts faster without it

    from mydiscover.audio.tables import load_embeddings

    with reported_errors():
        settings = settings_from(db, config)
        conn = connect(settings, create=False)
        try:
            track_id = find_track(conn, track)
            ids, vectors = load_embeddings(conn)
            where = np.flatnonzero(ids == track_id)
            if not len(where):
                raise fail(f"{track!r} has not been analysed yet: run 'mydiscover analyze'")
            scores = vectors @ vectors[where[0]]
            order = [i for i in np.argsort(-scores) if ids[i] != track_id][:count]
            rows = _describe(conn, [int(ids[i]) for i in order], [float(scores[i]) for i in order])
        finally:
            conn.close()
    if json_output:
        print_json({"track_id": track_id, "similar": rows})
        return
    table = Table("#", "Artist", "Title", "BPM", "Key", "Similarity", title_justify="left")
    for rank, row in enumerate(rows, start=1):
        key = f"{row['key']} {row['scale']}" if row["key"] else "-"
        table.add_row(
            str(rank),
            escape(row["artist"] or "?"),
            escape(row["title"] or os.path.basename(row["path"])),
            f"{row['bpm']:.0f}" if row["bpm"] else "-",
            key,
            f"{row['similarity']:.3f}",
        )
    out.print(table)


def _describe(
    conn: sqlite3.Connection, ids: list[int], scores: list[float]
) -> list[dict[str, Any]]:
    from mydiscover.audio.tables import tempo_and_key
    from mydiscover.library.tables import load_tracks_by_id

    known = {track.id: track for track in load_tracks_by_id(conn, ids)}
    audio = tempo_and_key(conn, ids)
    return [
        {
            "track_id": track_id,
            "artist": known[track_id].artist,
            "title": known[track_id].title,
            "path": display_path(known[track_id].path),
            "bpm": audio[track_id][0],
            "key": audio[track_id][1],
            "scale": audio[track_id][2],
            "similarity": round(score, 4),
        }
        for track_id, score in zip(ids, scores, strict=True)
    ]
