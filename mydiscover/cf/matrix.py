"""The co-listening matrix: listeners x artists play counts, as one compact file.

Rows are anonymous public listeners, columns are artists keyed by the same normalised name that
history matching uses (``artist_key``), with a display name and a MusicBrainz ID where the data
has one. The file is a NumPy ``.npz`` (CSR arrays plus the column labels), loaded without
unpickling anything.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from mydiscover.errors import MydiscoverError
from mydiscover.files import atomic_file
from mydiscover.library.match import artist_key

#: Bump when the file layout changes; older files are then refused with a clear message.
MATRIX_FORMAT = 1
#: Keys of artists a dataset names by MusicBrainz ID only (MLHD): "mbid:<MBID>", which no
#: artist name's key can be (artist_key keeps no colon), so lookups find them by MBID only.
MBID_KEY_PREFIX = "mbid:"


@dataclass
class CoListening:
    """Play counts of public listeners (rows) for artists (columns), with the columns' labels."""

    plays: sp.csr_matrix
    keys: list[str]
    names: list[str]
    mbids: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """Listeners x artists."""
        return self.plays.shape

    @property
    def pairs(self) -> int:
        """The (listener, artist) play counts."""
        return int(self.plays.nnz)

    @property
    def popularity(self) -> np.ndarray:
        """Each artist's listeners."""
        return np.bincount(self.plays.indices, minlength=self.plays.shape[1])

    @property
    def fingerprint(self) -> str:
        """A short digest of the matrix and its labels: a model names the data it was fitted on."""
        digest = hashlib.sha256()
        for part in (self.plays.indptr, self.plays.indices, self.plays.data):
            digest.update(np.ascontiguousarray(part).tobytes())
        digest.update("\0".join(self.keys).encode())
        return digest.hexdigest()[:16]

    def named_by(self, known: Iterable[tuple[str, str]]) -> int:
        """:func:`name_by_mbid` on this matrix's artists."""
        return name_by_mbid(self.keys, self.names, self.mbids, known)

    def save(self, path: Path) -> None:
        """Write the matrix atomically (a crash leaves the previous file)."""
        meta = {**self.meta, "format": MATRIX_FORMAT, "fingerprint": self.fingerprint}
        with atomic_file(path) as handle:
            np.savez(
                handle,
                indptr=self.plays.indptr.astype(np.int64),
                indices=self.plays.indices.astype(np.int32),
                data=self.plays.data.astype(np.float32),
                shape=np.array(self.plays.shape, dtype=np.int64),
                keys=np.array(self.keys, dtype=np.str_),
                names=np.array(self.names, dtype=np.str_),
                mbids=np.array(self.mbids, dtype=np.str_),
                meta=np.array(json.dumps(meta)),
            )

    @classmethod
    def load(cls, path: Path) -> CoListening:
        """Read a matrix written by :meth:`save`."""
        with stored_arrays(path, MATRIX_FORMAT, "co-listening data", "co-listening matrix",
                           "mydiscover cf import") as (arrays, meta):  # fmt: skip
            shape = tuple(int(n) for n in arrays["shape"])
            plays = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                  shape=shape)  # fmt: skip
            return cls(plays, arrays["keys"].tolist(), arrays["names"].tolist(),
                       arrays["mbids"].tolist(), meta)  # fmt: skip


def name_by_mbid(
    keys: list[str], names: list[str], mbids: list[str], known: Iterable[tuple[str, str]]
) -> int:
    """Give the artists known by MBID only (MLHD) the names ``known`` (artist name, MBID
    pairs: the library's tags, the history's listens) has for their MBIDs, in place, so that
    tracks and listens without an MBID find them by name too; how many were named. A name
    whose key another artist already has is left out (two artists of one name stay apart)."""
    by_mbid = {mbid.lower(): name for name, mbid in known if name and mbid}
    taken = set(keys)
    named = 0
    for index, key in enumerate(keys):
        if not key.startswith(MBID_KEY_PREFIX):
            continue
        name = by_mbid.get(mbids[index].lower(), "")
        if name and (new := artist_key(name)) and new not in taken:
            keys[index], names[index] = new, name
            taken.add(new)
            named += 1
    return named


@contextmanager
def stored_arrays(
    path: Path, fmt: int, what: str, kind: str, command: str
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The arrays and header of an ``.npz`` file this version wrote (``fmt``), for the block;
    one-line MydiscoverErrors for a file that is missing (``no {what}``: run ``command``),
    from another version, or damaged (``not a readable {kind}``)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            if meta.get("format") != fmt:
                raise MydiscoverError(
                    f"{path} is from another mydiscover version: run '{command}' again"
                )
            yield arrays, meta
    except FileNotFoundError:
        raise MydiscoverError(f"no {what} at {path}: run '{command}' first") from None
    except (OSError, ValueError, KeyError) as error:
        raise MydiscoverError(f"{path} is not a readable {kind}: {error}") from None


@dataclass(frozen=True)
class ImportFilters:
    """What an import keeps of a dataset, applied as its rows stream past.

    ``since``: only listens at or after this moment (UTC seconds); ``min_listeners``: only
    artists with at least this many listeners, and ``min_items``: only listeners of at least
    this many artists (both applied once, in this order, once everything is read);
    ``sample_users``: this many listeners at most, drawn uniformly by a hash of their names
    (the same ones whatever the files' order), keeping memory to those listeners' rows.
    """

    since: int | None = None
    min_listeners: int = 1
    min_items: int = 1
    sample_users: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The filters that do something (not their defaults), for the matrix's header."""
        defaults = asdict(ImportFilters())
        return {key: value for key, value in asdict(self).items() if value != defaults[key]}


def _user_hash(user: str) -> int:
    return int.from_bytes(hashlib.blake2b(user.encode(), digest_size=8).digest(), "big")


class MatrixBuilder:
    """Collects (listener, artist, plays) rows into a sparse matrix without a Python object per
    row.

    Rows go into typed arrays (12 bytes each); only the distinct listener and artist names are
    kept as strings. Repeated (listener, artist) pairs add up, so a per-listen file can be fed
    one listen at a time; every COMPACT_ROWS rows the arrays are summed per pair, so memory
    follows the distinct pairs, not the listens.
    """

    #: Rows between two compactions (about 240 MB of arrays).
    COMPACT_ROWS = 20_000_000

    def __init__(self, filters: ImportFilters | None = None) -> None:
        self.filters = filters or ImportFilters()
        self._users: dict[str, int] = {}  # -1: left out of the sample
        self._user_names: list[str] = []  # by row
        self._user_rows = array("q")  # rows added, by listener's row: an eviction's count
        self._items: dict[str, int] = {}
        self._names: list[str] = []
        self._mbids: list[str] = []
        self._rows = array("i")
        self._cols = array("i")
        self._plays = array("f")
        self._sampled: list[tuple[int, int]] = []  # heap of (-hash, row): the sample so far
        self._evicted: set[int] = set()  # rows of listeners the sample let go
        self.rows_read = 0
        self.rows_skipped = 0  # unusable
        self.rows_filtered = 0  # left out by the filters

    @property
    def rows_kept(self) -> int:
        """Rows read that went into the matrix (as far as is known before build)."""
        return self.rows_read - self.rows_skipped - self.rows_filtered

    def skip(self) -> None:
        """Count a row that could not be read."""
        self.rows_read += 1
        self.rows_skipped += 1

    def add(self, user: str, artist: str, mbid: str, plays: float, when: int | None = None) -> None:
        """Count ``plays`` of ``artist`` (or, with no name, of the artist ``mbid``) by ``user``
        at ``when`` (UTC seconds, if known); rows lacking either are skipped."""
        self.rows_read += 1
        key = artist_key(artist) if artist else (MBID_KEY_PREFIX + mbid.lower() if mbid else "")
        if not key or plays <= 0 or not user:
            self.rows_skipped += 1
            return
        since = self.filters.since
        if since is not None and (when is None or when < since):
            self.rows_filtered += 1
            return
        row = self._users.get(user)
        if row is None:
            row = self._admit(user)
        if row < 0:
            self.rows_filtered += 1
            return
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = len(self._names)
            self._names.append(artist.strip() or mbid)  # no name: known by its MBID
            self._mbids.append(mbid)
        elif mbid and not self._mbids[item]:
            self._mbids[item] = mbid
        self._rows.append(row)
        self._cols.append(item)
        self._plays.append(plays)
        self._user_rows[row] += 1
        if len(self._rows) >= self.COMPACT_ROWS:
            self._compact()

    def _admit(self, user: str) -> int:
        """A new listener's row, or -1 when the sample keeps others (a bottom-k sample of the
        names' hashes: every listener is as likely to be in it, in any order of the files)."""
        size = self.filters.sample_users
        row = len(self._users)
        if size is not None:
            mark = -_user_hash(user)
            if len(self._sampled) < size:
                heapq.heappush(self._sampled, (mark, row))
            elif mark > self._sampled[0][0]:
                _, evicted = heapq.heapreplace(self._sampled, (mark, row))
                self._evicted.add(evicted)
                self._users[self._user_names[evicted]] = -1
                self.rows_filtered += self._user_rows[evicted]  # they are dropped
            else:
                row = -1
        self._users[user] = row
        self._user_names.append(user)
        self._user_rows.append(0)
        return row

    def _compact(self) -> None:
        """Sum the rows per (listener, artist) pair and drop the sample's evicted listeners."""
        matrix = self._matrix()
        self._rows, self._cols, self._plays = array("i"), array("i"), array("f")
        coo = matrix.tocoo()
        self._rows.frombytes(coo.row.astype(np.int32).tobytes())
        self._cols.frombytes(coo.col.astype(np.int32).tobytes())
        self._plays.frombytes(coo.data.astype(np.float32).tobytes())

    def _matrix(self) -> sp.csr_matrix:
        shape = (len(self._users), len(self._names))
        rows = np.frombuffer(self._rows, dtype=np.int32)
        cols = np.frombuffer(self._cols, dtype=np.int32)
        plays = np.frombuffer(self._plays, dtype=np.float32)
        if self._evicted:
            keep = ~np.isin(rows, np.fromiter(self._evicted, dtype=np.int32))
            rows, cols, plays = rows[keep], cols[keep], plays[keep]
        matrix = sp.coo_matrix((plays, (rows, cols)), shape=shape).tocsr()
        matrix.sum_duplicates()
        return matrix

    def build(self, meta: dict[str, Any]) -> CoListening:
        """The matrix of everything added (duplicate pairs summed), through the filters: the
        artists with too few listeners dropped, then the listeners of too few artists, then
        the listeners and artists left empty."""
        matrix = self._matrix()
        keys = [""] * len(self._items)
        for key, index in self._items.items():
            keys[index] = key
        items = np.arange(matrix.shape[1])
        if self.filters.min_listeners > 1:
            items = items[np.bincount(matrix.indices, minlength=matrix.shape[1])[items]
                          >= self.filters.min_listeners]  # fmt: skip
            matrix = matrix[:, items]
        if self.filters.min_items > 1:
            matrix = matrix[np.diff(matrix.indptr) >= self.filters.min_items]
        matrix = matrix[np.diff(matrix.indptr) > 0]  # listeners left with nothing
        heard = np.bincount(matrix.indices, minlength=matrix.shape[1]) > 0
        matrix, items = matrix[:, heard].tocsr(), items[heard]
        matrix.data = matrix.data.astype(np.float32)
        meta = {**meta, "rows_read": self.rows_read, "rows_skipped": self.rows_skipped,
                "rows_filtered": self.rows_filtered, "filters": self.filters.to_json()}  # fmt: skip
        return CoListening(matrix, [keys[i] for i in items], [self._names[i] for i in items],
                           [self._mbids[i] for i in items], meta)  # fmt: skip
