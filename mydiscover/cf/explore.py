"""Explore: the artists you do not own (and have not played) that you would love most, with
the recordings to start with.

The candidates are every artist of the public co-listening model, scored by your folded-in
preference (the score CF gives your own tracks), and the artists the similarity services list
beside yours that the model lacks, on the model's scale (the best match x your preference for
the artist they were listed beside: :func:`mydiscover.cf.score.listed_scores`). Artists with a
track in your library, or in your history, are left out: this is what to look for, not what
you have. A model artist needs :data:`MIN_LISTENERS` listeners in the public data, so one
stranger's oddity does not lead the list.

Recordings come from ListenBrainz's popularity API (the artist's most listened recordings,
by MusicBrainz ID), for the artists whose MBID is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mydiscover.cf.score import because_of, fold_in_user, listed_scores
from mydiscover.cf.store import FittedModel
from mydiscover.cf.tables import ArtistPlays, LibraryTrack, Listed, SimilarArtist
from mydiscover.http import ApiSession, ServiceError
from mydiscover.library.match import artist_key

#: Listeners a model artist needs in the public data to be offered.
MIN_LISTENERS = 5
MUSICBRAINZ = "https://musicbrainz.org"
#: ListenBrainz asks clients to keep to its rate limits: seconds between two requests.
POPULARITY_INTERVAL = 0.5


@dataclass(frozen=True)
class Recording:
    """One of an artist's most listened recordings on ListenBrainz."""

    mbid: str
    title: str
    album: str
    seconds: float | None
    listeners: int

    def to_json(self) -> dict[str, Any]:
        """The recording for ``--json``, with its MusicBrainz link."""
        return {"mbid": self.mbid, "title": self.title, "album": self.album,
                "seconds": self.seconds, "listeners": self.listeners,
                "musicbrainz": f"{MUSICBRAINZ}/recording/{self.mbid}"}  # fmt: skip


@dataclass
class Discovery:
    """An artist to explore: its score on the model's scale, why, where it came from ("cf",
    or "similar" for the similarity services' lists) and, once fetched, recordings."""

    name: str
    mbid: str
    score: float
    reason: str
    source: str
    recordings: list[Recording] = field(default_factory=list)

    @property
    def link(self) -> str:
        """The artist's MusicBrainz page ("" without an MBID)."""
        return f"{MUSICBRAINZ}/artist/{self.mbid}" if self.mbid else ""

    def to_json(self) -> dict[str, Any]:
        """The discovery for ``--json``."""
        return {"artist": self.name, "mbid": self.mbid or None, "musicbrainz": self.link or None,
                "score": self.score, "reason": self.reason, "source": self.source,
                "recordings": [r.to_json() for r in self.recordings]}  # fmt: skip


def explore(
    model: FittedModel,
    history: list[ArtistPlays],
    library: list[LibraryTrack],
    listed_beside: dict[str, Listed],
    own_lists: dict[str, list[SimilarArtist]],
    count: int,
) -> list[Discovery]:
    """The ``count`` artists, neither owned nor played, the user would like most."""
    user_factors, user_plays = fold_in_user(model, history)
    factors = model.als.item_factors
    assert factors is not None
    owned_items, _ = model.lookup(
        [t.mbid for t in library], [artist_key(t.artist) for t in library]
    )
    scores = (factors @ user_factors).astype(np.float64)
    blocked = user_plays > 0
    blocked[owned_items[owned_items >= 0]] = True
    if len(model.popularity) == len(scores):  # models saved before listeners were kept lack it
        blocked |= model.popularity < MIN_LISTENERS
    scores[blocked] = -np.inf
    best = np.argsort(-scores, kind="stable")[:count]
    best = best[np.isfinite(scores[best])]
    mbids = _item_mbids(model)
    found = [
        Discovery(model.names[item], mbids[item], float(scores[item]),
                  f"listeners who play {mine} play them", "cf")
        for item, mine in zip(best.tolist(), because_of(model, best, user_plays), strict=True)
    ]  # fmt: skip
    found += _listed(model, history, user_factors, listed_beside, own_lists, library)
    found.sort(key=lambda discovery: -discovery.score)
    return found[:count]


def _listed(
    model: FittedModel,
    history: list[ArtistPlays],
    user_factors: np.ndarray,
    listed_beside: dict[str, Listed],
    own_lists: dict[str, list[SimilarArtist]],
    library: list[LibraryTrack],
) -> list[Discovery]:
    """The artists the similarity services list beside the user's that the model lacks (and
    the user neither owns nor plays), scored on the model's scale."""
    known = {artist_key(track.artist) for track in library} | {a.key for a in history}
    keys = [key for key in listed_beside if key not in known]
    items, _ = model.lookup([""] * len(keys), keys)
    lacking = {key for key, item in zip(keys, items.tolist(), strict=True) if item < 0}
    scored = listed_scores(model, history, user_factors, listed_beside, lacking)
    names = {artist.key: artist.name for artist in history}
    mbids = {s.key: s.mbid for lists in own_lists.values() for s in lists if s.mbid}
    return [
        Discovery(listed_beside[key].name, mbids.get(key, ""), listed.score,
                  f"listed beside {names.get(listed.beside, listed.beside)}, which you play, "
                  "by the similarity services", "similar")
        for key, listed in scored.items()
    ]  # fmt: skip


def _item_mbids(model: FittedModel) -> list[str]:
    """Each model artist's MusicBrainz ID ("" where the public data gave none)."""
    mbids = [""] * len(model.names)
    for mbid, item in zip(model.lookups.mbids.tolist(), model.lookups.mbid_items.tolist(),
                          strict=True):  # fmt: skip
        mbids[item] = str(mbid)
    return mbids


def add_recordings(
    session: ApiSession,
    discoveries: list[Discovery],
    per_artist: int,
    on_artist: Callable[[Discovery], None] | None = None,
) -> list[str]:
    """Fill each discovery's recordings (those with an MBID) with its ``per_artist`` most
    listened on ListenBrainz; returns one line per artist whose recordings could not be had."""
    problems: list[str] = []
    for discovery in discoveries:
        if on_artist is not None:
            on_artist(discovery)
        if not discovery.mbid:
            continue
        try:
            body, _ = session.get_json(f"1/popularity/top-recordings-for-artist/{discovery.mbid}")
        except ServiceError as error:
            problems.append(f"{discovery.name}: {error}")
            continue
        if isinstance(body, dict) and "error" in body:
            problems.append(f"{discovery.name}: ListenBrainz: {body['error']}")
            continue
        discovery.recordings = _recordings(body)[:per_artist]
    return problems


def _recordings(body: Any) -> list[Recording]:
    """The popularity API's list of recordings, in its order (most listened first)."""
    found: list[Recording] = []
    for row in body if isinstance(body, list) else []:
        if not isinstance(row, dict) or not row.get("recording_mbid"):
            continue
        length = row.get("length")
        found.append(Recording(
            str(row["recording_mbid"]), str(row.get("recording_name") or ""),
            str(row.get("release_name") or ""),
            length / 1000 if isinstance(length, (int, float)) and length > 0 else None,
            int(row.get("total_user_count") or 0),
        ))  # fmt: skip
    return found
