"""The taste map: every analysed track's embedding projected to two dimensions (PCA), stored
when the analysis changes so the web page draws 100,000 tracks without projecting them."""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from dataclasses import dataclass

import numpy as np

from mydiscover.audio.tables import (
    load_embeddings,
    store_taste_map,
    stored_taste_map,
    taste_map_marker,
)

#: The share of points clipped at each edge when the projection is scaled to the unit square:
#: a few outliers would otherwise squeeze the rest into a corner.
EDGE_SHARE = 0.005


@dataclass(frozen=True)
class TasteMap:
    """Track ids [n] and their places [n, 2] on the unit square (row i is track ids[i])."""

    track_ids: np.ndarray
    points: np.ndarray

    def __len__(self) -> int:
        return len(self.track_ids)


def project(embeddings: np.ndarray) -> np.ndarray:
    """The first two principal components of ``embeddings`` [n, d], scaled to [0, 1] each."""
    if len(embeddings) == 0:
        return np.zeros((0, 2), np.float32)
    mean = embeddings.mean(axis=0, dtype=np.float64)
    centred = embeddings - mean.astype(embeddings.dtype)
    # The d x d covariance, not an SVD of the n x d rows: 200 x 200 whatever the library.
    covariance = (centred.T @ centred).astype(np.float64) / max(len(embeddings) - 1, 1)
    _, vectors = np.linalg.eigh(covariance)  # eigenvalues ascending: the last two lead
    axes = vectors[:, [-1, -2]]
    # A component's sign is arbitrary: fix it so the map does not flip between two builds.
    axes *= np.where(axes[np.abs(axes).argmax(axis=0), [0, 1]] < 0, -1.0, 1.0)
    places = centred @ axes.astype(centred.dtype)
    low = np.quantile(places, EDGE_SHARE, axis=0)
    high = np.quantile(places, 1 - EDGE_SHARE, axis=0)
    scaled = (places - low) / np.where(high > low, high - low, 1.0)
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def taste_map(conn: sqlite3.Connection) -> TasteMap:
    """The stored taste map, made again first if the analysis changed since it was made (a
    read-only database gets it made without being stored)."""
    marker = taste_map_marker(conn)
    stored = stored_taste_map(conn, marker)
    if stored is not None:
        return TasteMap(*stored)
    track_ids, embeddings = load_embeddings(conn)
    made = TasteMap(track_ids, project(embeddings))
    with suppress(sqlite3.OperationalError):  # read-only or busy: made again next time
        store_taste_map(conn, marker, made.track_ids, made.points)
    return made
