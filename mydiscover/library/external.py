"""Cataloguing tracks another program already knows (beets): its paths and tags are taken as
they are, with no scan of the files' tags; each file's stat still says when it changes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from mydiscover.db.connection import transaction
from mydiscover.library.tables import (
    insert_tracks,
    kept_by_path,
    load_index,
    mark_missing,
    update_tracks,
)
from mydiscover.library.tags import Tags
from mydiscover.library.walk import FoundFile


class ExternalTrack(NamedTuple):
    """A file and its tags as the other program has them."""

    path: bytes
    root: bytes
    tags: Tags


@dataclass
class ExternalReport:
    """What cataloguing did."""

    added: int = 0
    updated: int = 0
    missing: int = 0  # the other program knows the file, the disk does not


def catalog_external(conn: sqlite3.Connection, tracks: Iterable[ExternalTrack]) -> ExternalReport:
    """Add or refresh the tracks by path, in one transaction; returns the ids by path too."""
    report = ExternalReport()
    index = load_index(conn)
    kept = kept_by_path(conn)
    new, changed, gone = [], [], []
    for track in tracks:
        try:
            stat = os.stat(track.path)
        except OSError:
            report.missing += 1
            if track.path in index:
                gone.append(index[track.path].id)
            continue
        state = FoundFile(track.path, track.root, stat.st_size, stat.st_mtime_ns, stat.st_dev,
                          stat.st_ino)  # fmt: skip
        known = index.get(track.path)
        if known is None:
            new.append((state, track.tags, None))
        else:
            # What the other program does not know (a rating, a play count the file's tags
            # gave a scan) is kept.
            rating, plays = kept[track.path]
            tags = track.tags._replace(rating=track.tags.rating if track.tags.rating is not None
                                       else rating,
                                       play_count=track.tags.play_count or plays)  # fmt: skip
            changed.append((known.id, state, tags, None))
    with transaction(conn):
        insert_tracks(conn, new)
        update_tracks(conn, changed)
        mark_missing(conn, gone)
    report.added, report.updated = len(new), len(changed)
    return report


def track_ids(conn: sqlite3.Connection, paths: Iterable[bytes]) -> dict[bytes, int]:
    """The catalogued id of each path (those catalogued)."""
    index = load_index(conn)
    return {path: index[path].id for path in paths if path in index}
