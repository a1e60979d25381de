"""Everything the weekly needs to know about the library and the user's history, loaded once
into arrays (a 100,000-track library is a few hundred MB of SQLite rows, read in one pass)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from mydiscover.audio.embed import EMBEDDING_SIZE
from mydiscover.collector import collector_paused
from mydiscover.library.match import artist_key, title_key
from mydiscover.library.values import first_value
from mydiscover.recommend.tables import library_rows, library_size


@dataclass
class Library:
    """The available tracks, column by column (row i of every array is the same track)."""

    ids: np.ndarray  # int64
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
    _codes: tuple[np.ndarray, dict[str, int]] | None = field(default=None, repr=False)
    _album_codes: tuple[np.ndarray, list[tuple[str, str]]] | None = field(default=None, repr=False)
    _rows: dict[int, int] | None = field(default=None, repr=False)
    _centring: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

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

    def album_codes(self) -> tuple[np.ndarray, list[tuple[str, str]]]:
        """Each row's (artist key, album key) pair as a number, and the pairs by number (made
        once): what is known per album is then spread over its tracks by one indexing."""
        if self._album_codes is None:
            index: dict[tuple[str, str], int] = {}
            pairs = zip(self.artist_keys, self.album_keys, strict=True)
            codes = np.fromiter((index.setdefault(pair, len(index)) for pair in pairs),
                                dtype=np.int64, count=len(self.artist_keys))  # fmt: skip
            self._album_codes = (codes, list(index))
        return self._album_codes

    def by_artists(self, keys: set[str]) -> np.ndarray:
        """Which rows are by one of the artists ``keys`` (a bool mask)."""
        codes, index = self.artist_codes()
        wanted = np.fromiter((index[key] for key in keys if key in index), dtype=np.int64)
        return np.isin(codes, wanted)

    def centring(self) -> tuple[np.ndarray, np.ndarray]:
        """The analysed tracks' mean embedding, and each analysed row's length once the mean
        is taken out (1 elsewhere); made once, as the weekly and its cut-offs ask for them.

        Centred rows are then made only where needed (:meth:`centred`), and similarities to
        centred rows follow from the stored ones (:meth:`centred_similarity`): a centred copy
        of 100,000 embeddings cost a weekly a sixth of its time.
        """
        if self._centring is None:
            count = int(self.analysed.sum())
            mean = (self.analysed.astype(np.float32) @ self.embeddings) / max(count, 1)
            # |e - m|^2 = |e|^2 - 2 e.m + |m|^2 (|e| is 1, or 0 for an embedding of zeros)
            own = np.einsum("ij,ij->i", self.embeddings, self.embeddings)
            squared = own - 2.0 * (self.embeddings @ mean) + float(mean @ mean)
            lengths = np.sqrt(np.maximum(squared, 1e-12))
            self._centring = (mean, np.where(self.analysed, lengths, 1.0).astype(np.float32))
        return self._centring

    def centred(self, rows: np.ndarray) -> np.ndarray:
        """These analysed rows' embeddings less the analysed tracks' mean, at unit length."""
        mean, lengths = self.centring()
        return (self.embeddings[rows] - mean) / lengths[rows, None]

    def centred_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Every row's centred embedding (:meth:`centred`) against each of ``vectors``: one
        product with the stored embeddings (only the analysed rows mean anything)."""
        mean, lengths = self.centring()
        against = vectors.T.astype(self.embeddings.dtype)  # float64 would copy every row
        return (self.embeddings @ against - mean @ against) / lengths[:, None]

    def row_of(self) -> dict[int, int]:
        """Track id -> row (made once: the weekly and its cut-offs ask for it)."""
        if self._rows is None:
            self._rows = {int(track): row for row, track in enumerate(self.ids.tolist())}
        return self._rows


#: Rows read at a time: the library's rows, an embedding blob each, are never all held.
CHUNK_ROWS = 10_000
EMBEDDING_BYTES = EMBEDDING_SIZE * 4  # little-endian float32
BLOB = 9  # the embedding's column in library_rows
#: The columns (of library_rows less the blob) whose values repeat from track to track: the
#: artist, album, artist MBID, key and scale.
SHARED = frozenset({2, 3, 4, 7, 8})


def load_library(conn: sqlite3.Connection, only: Collection[int] | None = None) -> Library:
    """Every available track with its tags, descriptors and embedding (``only``: just these
    track ids, as a kept weekly needs: 30 rows, not 100,000). An embedding of the wrong size
    (a damaged row) counts as not analysed."""
    # (the chunks' rows made it sweep the growing columns again and again: 0.15 s of a
    # weekly's 1.8 s)
    with collector_paused():
        return _read_library(conn, only)


def _read_library(conn: sqlite3.Connection, only: Collection[int] | None) -> Library:
    expected = library_size(conn, only)
    cursor = library_rows(conn, only)
    columns: list[list] = [[] for _ in range(len(cursor.description) - 1)]  # all but the blob
    # Every row's embedding, zeros where none, written in place chunk by chunk: the chunks
    # and a copy of them all would double the peak (800 MB at 500,000 tracks).
    embeddings = np.zeros((expected, EMBEDDING_SIZE), dtype="<f4")
    extra: list[np.ndarray] = []  # rows beyond the count (a scan added tracks meanwhile)
    analysed: list[bool] = []
    shared: dict[object, object] = {}  # one object per distinct value: see below
    while chunk := cursor.fetchmany(CHUNK_ROWS):
        values = list(zip(*chunk, strict=True))
        blobs = values.pop(BLOB)
        for index, (column, more) in enumerate(zip(columns, values, strict=True)):
            # Artists, albums, keys and MBIDs repeat from track to track: SQLite gives
            # each row its own copy, one object per distinct value is kept (a third of the
            # library's memory at 500,000 tracks).
            column.extend([shared.setdefault(v, v) for v in more] if index in SHARED else more)
        found = [blob is not None and len(blob) == EMBEDDING_BYTES for blob in blobs]
        if all(found):  # (every track analysed, as a library soon is: no test per row)
            joined = b"".join(blobs)
        else:
            joined = b"".join(blob if ok else bytes(EMBEDDING_BYTES)
                              for blob, ok in zip(blobs, found, strict=True))  # fmt: skip
        vectors = np.frombuffer(joined, dtype="<f4").reshape(-1, EMBEDDING_SIZE)
        start = len(analysed)
        fits = max(0, min(len(vectors), expected - start))
        embeddings[start : start + fits] = vectors[:fits]
        if fits < len(vectors):
            extra.append(vectors[fits:].copy())
        analysed += found
    if extra or len(analysed) < expected:
        embeddings = np.concatenate([embeddings[: len(analysed)], *extra])
    # (einsum: np.linalg.norm would square every value into a copy as large as the array)
    norms = np.sqrt(np.einsum("ij,ij->i", embeddings, embeddings))[:, None]
    embeddings /= np.where(norms == 0, 1, norms)
    ids, titles, artists, albums, mbids, durations, bpm, keys, scales = columns
    return Library(
        ids=np.array(ids, dtype=np.int64),
        titles=titles,
        artists=artists,
        albums=albums,
        mbids=[first_value(mbid) for mbid in mbids],
        artist_keys=[artist_key(a) for a in artists],
        album_keys=[title_key(a) if a else "" for a in albums],
        durations=np.array([d if d is not None else np.nan for d in durations], dtype=float),
        bpm=np.array([b if b is not None else np.nan for b in bpm], dtype=float),
        keys=keys,
        scales=scales,
        embeddings=embeddings,
        analysed=np.array(analysed, dtype=bool),
    )
