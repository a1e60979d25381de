"""The co-listening matrix: listeners x artists play counts, as one compact file.

Rows are anonymous public listeners, columns are artists keyed by the same normalised name that
history matching uses (``artist_key``), with a display name and a MusicBrainz ID where the data
has one. The file is a NumPy ``.npz`` (CSR arrays plus the column labels), loaded without
unpickling anything.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from mydiscover.errors import MydiscoverError
from mydiscover.files import atomic_file
from mydiscover.library.match import artist_key

#: Bump when the file layout changes; older files are then refused with a clear message.
MATRIX_FORMAT = 1


@dataclass
class CoListening:
    """Play counts of public listeners (rows) for artists (columns), with the columns' labels."""

    plays: sp.csr_matrix
    keys: list[str]
    names: list[str]
    mbids: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """A short digest of the matrix and its labels: a model names the data it was fitted on."""
        digest = hashlib.sha256()
        for part in (self.plays.indptr, self.plays.indices, self.plays.data):
            digest.update(np.ascontiguousarray(part).tobytes())
        digest.update("\0".join(self.keys).encode())
        return digest.hexdigest()[:16]

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


class MatrixBuilder:
    """Collects (listener, artist, plays) rows into a sparse matrix without a Python object per row.

    Rows go into typed arrays (12 bytes each); only the distinct listener and artist names are
    kept as strings. Repeated (listener, artist) pairs add up, so a per-listen file can be fed
    one listen at a time.
    """

    def __init__(self) -> None:
        self._users: dict[str, int] = {}
        self._items: dict[str, int] = {}
        self._names: list[str] = []
        self._mbids: list[str] = []
        self._rows = array("i")
        self._cols = array("i")
        self._plays = array("f")
        self.rows_read = 0
        self.rows_skipped = 0

    def add(self, user: str, artist: str, mbid: str, plays: float) -> None:
        """Count ``plays`` of ``artist`` by ``user``; rows lacking either are skipped."""
        self.rows_read += 1
        key = artist_key(artist)
        if not key or plays <= 0 or not user:
            self.rows_skipped += 1
            return
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = len(self._names)
            self._names.append(artist.strip())
            self._mbids.append(mbid)
        elif mbid and not self._mbids[item]:
            self._mbids[item] = mbid
        row = self._users.get(user)
        if row is None:
            row = self._users[user] = len(self._users)
        self._rows.append(row)
        self._cols.append(item)
        self._plays.append(plays)

    def build(self, meta: dict[str, Any]) -> CoListening:
        """The matrix of everything added (duplicate pairs summed)."""
        shape = (len(self._users), len(self._names))
        rows = np.frombuffer(self._rows, dtype=np.int32)
        cols = np.frombuffer(self._cols, dtype=np.int32)
        plays = np.frombuffer(self._plays, dtype=np.float32)
        matrix = sp.coo_matrix((plays, (rows, cols)), shape=shape).tocsr()
        matrix.sum_duplicates()
        matrix.data = matrix.data.astype(np.float32)
        keys = [""] * len(self._items)
        for key, index in self._items.items():
            keys[index] = key
        return CoListening(matrix, keys, self._names, self._mbids, meta)
