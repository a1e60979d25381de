"""How much of the library and of the listening history the CF model knows.

CF scores only what the public data knows (HetRec 2011 knows about half of a modern library),
so the user is shown the share: of the library's artists, of its tracks, and of their plays,
each known by MusicBrainz ID or by name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mydiscover.cf.store import FittedModel
from mydiscover.cf.tables import LibraryTrack, library_tracks, user_artist_plays
from mydiscover.history.tables import ArtistPlays
from mydiscover.library.match import artist_key


@dataclass(frozen=True)
class Known:
    """Of ``total`` (artists, tracks or plays), how many the model knows by MBID and by name."""

    total: int
    by_mbid: int
    by_name: int

    @property
    def share(self) -> float | None:
        """The share known (None: nothing to know)."""
        return (self.by_mbid + self.by_name) / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        """The counts and the share, for ``--json``."""
        share = self.share
        return {"total": self.total, "known": self.by_mbid + self.by_name,
                "by_mbid": self.by_mbid, "by_name": self.by_name,
                "share": None if share is None else round(share, 4)}  # fmt: skip


@dataclass(frozen=True)
class Coverage:
    """What the CF model knows of the library's artists and tracks and of the user's plays."""

    artists: Known
    tracks: Known
    plays: Known

    def line(self) -> str:
        """One line: "the CF model knows 48% of your library's artists (...)"."""

        def percent(known: Known) -> str:
            return "-" if known.share is None else f"{known.share:.0%}"

        return (f"the CF model knows {percent(self.artists)} of your library's "
                f"{self.artists.total:,} artists ({percent(self.tracks)} of its tracks, "
                f"{percent(self.plays)} of your plays)")  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """Each part's counts and share, for ``--json``."""
        return {"artists": self.artists.to_json(), "tracks": self.tracks.to_json(),
                "plays": self.plays.to_json()}  # fmt: skip


def coverage(
    model: FittedModel, tracks: Sequence[LibraryTrack], plays: list[ArtistPlays]
) -> Coverage:
    """The model's coverage of ``tracks`` (an artist counts as known by MBID if any of its
    tracks is, else by name if any is) and of the user's ``plays`` per artist."""
    keys = [artist_key(track.artist) for track in tracks]
    items, by_mbid = model.lookup([track.mbid for track in tracks], keys)
    known = items >= 0
    # Per artist, the best way it is known: 2 by MBID, 1 by name, 0 not.
    best: dict[str, int] = {}
    for key, found, mbid in zip(keys, known.tolist(), by_mbid.tolist(), strict=True):
        if key:
            best[key] = max(best.get(key, 0), 2 if found and mbid else int(found))
    ways = np.array(list(best.values()), dtype=np.int64)
    artist_items, artist_by_mbid = model.lookup([a.mbid for a in plays], [a.key for a in plays])
    counts = np.array([a.plays for a in plays], dtype=np.int64)
    played = artist_items >= 0
    return Coverage(
        Known(len(best), int(np.sum(ways == 2)), int(np.sum(ways == 1))),
        Known(len(tracks), int(np.sum(known & by_mbid)), int(np.sum(known & ~by_mbid))),
        Known(int(counts.sum()), int(counts[played & artist_by_mbid].sum()),
              int(counts[played & ~artist_by_mbid].sum())),
    )  # fmt: skip


def stored_coverage(conn: sqlite3.Connection, model: FittedModel) -> Coverage:
    """:func:`coverage` of the catalogued library and the stored history."""
    return coverage(model, library_tracks(conn), user_artist_plays(conn))


def lacking_artists(model: FittedModel, tracks: Sequence[LibraryTrack]) -> list[ArtistPlays]:
    """The library's artists the model does not know, those with the most tracks first (as
    ``ArtistPlays`` with the track count as plays: what ``cf enrich`` asks about)."""
    keys = [artist_key(track.artist) for track in tracks]
    items, _ = model.lookup([track.mbid for track in tracks], keys)
    lacking: dict[str, list[Any]] = {}
    for track, key, item in zip(tracks, keys, items.tolist(), strict=True):
        if key and item < 0:
            entry = lacking.setdefault(key, [track.artist, track.mbid, 0])
            entry[1] = entry[1] or track.mbid
            entry[2] += 1
    artists = [ArtistPlays(key, name, mbid, count) for key, (name, mbid, count) in lacking.items()]
    return sorted(artists, key=lambda artist: (-artist.plays, artist.key))
