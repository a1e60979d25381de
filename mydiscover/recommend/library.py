"""Everything the weekly needs to know about the library and the user's history, loaded once
into arrays (a 100,000-track library is a few hundred MB of SQLite rows, read in one pass)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from mydiscover.audio.embed import EMBEDDING_SIZE
from mydiscover.library.match import artist_key, title_key
from mydiscover.recommend.tables import library_rows


@dataclass
class Library:
    """The available tracks, column by column (row i of every array is the same track)."""

    ids: np.ndarray  # int64
    paths: list[bytes]
    path_texts: list[str]
    roots: list[bytes]
    titles: list[str]
    artists: list[str]
    albums: list[str]
    mbids: list[str]  # artist MBIDs
    artist_keys: list[str]
    album_keys: list[str]  # "" when the track has no album
    durations: np.ndarray  # seconds, NaN unknown
    bpm: np.ndarray  # NaN unknown
    keys: list[str | None]  # "C", "F#"...
    scales: list[str | None]
    embeddings: np.ndarray  # [n, 200] unit length; zero rows where not analysed
    analysed: np.ndarray  # bool
    recording_mbids: list[str] = field(default_factory=list)  # "" unknown; empty: none loaded
    _codes: tuple[np.ndarray, dict[str, int]] | None = field(default=None, repr=False)
    _rows: dict[int, int] | None = field(default=None, repr=False)
    _centred: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def artist_codes(self) -> tuple[np.ndarray, dict[str, int]]:
        """Each row's artist as a number, and the numbers of the artist keys (made once): set
        operations on artists then run in NumPy, not in a loop over the rows."""
        if self._codes is None:
            index: dict[str, int] = {}
            codes = np.fromiter((index.setdefault(key, len(index)) for key in self.artist_keys),
                                dtype=np.int64, count=len(self.artist_keys))  # fmt: skip
            self._codes = (codes, index)
        return self._codes

    def by_artists(self, keys: set[str]) -> np.ndarray:
        """Which rows are by one of the artists ``keys`` (a bool mask)."""
        codes, index = self.artist_codes()
        wanted = np.fromiter((index[key] for key in keys if key in index), dtype=np.int64)
        return np.isin(codes, wanted)

    def centred_embeddings(self) -> np.ndarray:
        """The embeddings less the analysed tracks' mean, at unit length again (zero rows
        stay zero); made once, as the weekly and its cut-offs ask for them."""
        if self._centred is None:
            centred = self.embeddings.copy()
            if self.analysed.any():
                centred[self.analysed] -= self.embeddings[self.analysed].mean(axis=0)
            norms = np.linalg.norm(centred, axis=1, keepdims=True)
            self._centred = centred / np.where(norms == 0, 1, norms)
        return self._centred

    def row_of(self) -> dict[int, int]:
        """Track id -> row (made once: the weekly and its cut-offs ask for it)."""
        if self._rows is None:
            self._rows = {int(track): row for row, track in enumerate(self.ids.tolist())}
        return self._rows


def load_library(conn: sqlite3.Connection, only: Collection[int] | None = None) -> Library:
    """Every available track with its tags, descriptors and embedding (``only``: just these
    track ids, as a kept weekly needs: 30 rows, not 100,000)."""
    rows = library_rows(conn, only)
    count = len(rows)
    embeddings = np.zeros((count, EMBEDDING_SIZE), dtype=np.float32)
    analysed = np.array([record[12] is not None for record in rows], dtype=bool)
    if analysed.any():  # one buffer for every embedding: no array per track
        blobs = b"".join(record[12] for record in rows if record[12] is not None)
        embeddings[analysed] = np.frombuffer(blobs, dtype="<f4").reshape(-1, EMBEDDING_SIZE)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    embeddings /= np.where(norms == 0, 1, norms)
    artists = [r[5] for r in rows]
    albums = [r[6] for r in rows]
    return Library(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        paths=[r[1] for r in rows],
        path_texts=[r[2] for r in rows],
        roots=[r[3] for r in rows],
        titles=[r[4] for r in rows],
        artists=artists,
        albums=albums,
        mbids=[r[7].split("; ")[0] for r in rows],
        artist_keys=[artist_key(a) for a in artists],
        album_keys=[title_key(a) if a else "" for a in albums],
        durations=np.array([r[8] if r[8] is not None else np.nan for r in rows], dtype=float),
        bpm=np.array([r[9] if r[9] is not None else np.nan for r in rows], dtype=float),
        keys=[r[10] for r in rows],
        scales=[r[11] for r in rows],
        embeddings=embeddings,
        analysed=analysed,
        recording_mbids=[r[13] for r in rows],
    )
