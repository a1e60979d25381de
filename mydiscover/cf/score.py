"""Scoring the user's library with the public model: fold the user in, map artists, explain.

The user's plays per artist become one row over the model's artists (matched by MusicBrainz ID,
then by normalised name); one least-squares solve places the user among the public listeners;
every catalogued track then gets its artist's predicted preference, and the user's artist it is
most like ("because you play X").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from mydiscover.cf.models import single_threaded_blas
from mydiscover.cf.store import FittedModel
from mydiscover.cf.tables import (
    ArtistPlays,
    LibraryTrack,
    Listed,
    SimilarArtist,
    TrackScore,
    history_marker,
    library_tracks,
    replace_scores,
    similar_lists,
    similar_to_user_artists,
    user_artist_plays,
)
from mydiscover.collector import collector_paused
from mydiscover.errors import MydiscoverError
from mydiscover.library.match import artist_key


@dataclass(frozen=True)
class ArtistScores:
    """What the model says of each distinct artist of the library (the tracks' own artists):
    its score, its percentile, the name it is known by, how it was matched and the user's
    artist it is most like; NaN scores where it says nothing."""

    scores: np.ndarray
    percentiles: np.ndarray
    names: list[str]
    matched_by: list[str]
    because: list[str | None]


@dataclass(frozen=True)
class LibraryScores:
    """The user's scores for the library (each scored track's id and its artist's number in
    :class:`ArtistScores`), with how much of their history the model knew."""

    track_ids: np.ndarray
    track_artists: np.ndarray
    artists: ArtistScores
    user_artists: int
    matched_artists: int
    user_factors: np.ndarray

    def __len__(self) -> int:
        return len(self.track_ids)

    def rows(self) -> Iterator[TrackScore]:
        """Every scored track as a row of ``cf_scores``."""
        by = self.artists
        for track, artist in zip(self.track_ids.tolist(), self.track_artists.tolist(), strict=True):
            yield TrackScore(
                track, float(by.scores[artist]), float(by.percentiles[artist]),
                by.names[artist], by.matched_by[artist], by.because[artist],
            )  # fmt: skip


def fold_in_user(model: FittedModel, history: list[ArtistPlays]) -> tuple[np.ndarray, np.ndarray]:
    """The user's factors and their plays as a row over the model's items."""
    items, _ = model.lookup([a.mbid for a in history], [a.key for a in history])
    known = items >= 0
    plays = np.zeros(len(model.names), dtype=np.float32)
    np.add.at(plays, items[known], np.array([a.plays for a in history], np.float32)[known])
    if not plays.any():
        raise MydiscoverError(
            f"none of the {len(history)} artists in your listening history is in the public "
            "co-listening data: import a larger dataset, or more history"
            if history
            else "no listening history to fold in: import some with 'mydiscover history'"
        )
    factors = model.als.fold_in(sp.csr_matrix(plays[None, :]))[0]
    return factors, plays


def score_library(
    model: FittedModel,
    history: list[ArtistPlays],
    library: list[LibraryTrack],
    listed_beside: dict[str, Listed] | None = None,
    own_lists: dict[str, list[SimilarArtist]] | None = None,
) -> LibraryScores:
    """Fold the user in and score every library track whose artist the model knows.

    ``listed_beside`` (from the similarity services) maps an artist key to the user's artists
    it was listed beside, with the match, and ``own_lists`` an asked artist to whom it is
    listed beside: an artist the public data lacks then scores as the best ``match x the
    user's predicted preference`` (see :func:`listed_scores`).
    """
    # (tens of thousands of small tuples, one per track: the collector doubled the slowest
    # calls in bench_cf; and small products on many BLAS threads wait on each other: p95 of
    # 32-37 ms on a busy machine against a few ms on one thread)
    with collector_paused(), single_threaded_blas():
        return _score_library(model, history, library, listed_beside, own_lists)


def _score_library(
    model: FittedModel,
    history: list[ArtistPlays],
    library: list[LibraryTrack],
    listed_beside: dict[str, Listed] | None,
    own_lists: dict[str, list[SimilarArtist]] | None,
) -> LibraryScores:
    user_factors, user_plays = fold_in_user(model, history)
    item_factors = model.als.item_factors
    assert item_factors is not None
    # Each distinct (artist, MBID) of the library is looked up and scored once, and its tracks
    # take its score by one indexing: a library has about ten tracks per artist, and a loop
    # over 100,000 tracks was four fifths of the time (bench/bench_cf.py).
    index: dict[tuple[str, str], int] = {}
    track_artists = np.fromiter((index.setdefault((t.artist, t.mbid), len(index)) for t in library),
                                dtype=np.int64, count=len(library))  # fmt: skip
    pairs = list(index)
    keys = [artist_key(artist) for artist, _ in pairs]
    pair_items, by_mbid = model.lookup([mbid for _, mbid in pairs], keys)
    known = np.flatnonzero(pair_items >= 0)
    items, item_of = np.unique(pair_items[known], return_inverse=True)
    item_scores = item_factors[items] @ user_factors
    because_items = because_of(model, items, user_plays)
    unknown_pairs = np.flatnonzero(pair_items < 0).tolist()
    unknown = {keys[pair] for pair in unknown_pairs}
    listed = listed_scores(model, history, user_factors, listed_beside or {}, unknown, own_lists)
    listed_values = np.array([entry.score for entry in listed.values()], dtype=np.float32)
    percentile = _percentiles(np.concatenate([item_scores, listed_values]))
    scores = np.full(len(pairs), np.nan)
    percentiles = np.full(len(pairs), np.nan)
    names, matched_by = [artist for artist, _ in pairs], [""] * len(pairs)
    because: list[str | None] = [None] * len(pairs)
    scores[known] = item_scores[item_of]
    percentiles[known] = percentile[item_of]
    for pair, item in zip(known.tolist(), item_of.tolist(), strict=True):
        names[pair] = model.names[items[item]]
        matched_by[pair] = "mbid" if by_mbid[pair] else "name"
        because[pair] = because_items[item]
    rank = {key: len(items) + at for at, key in enumerate(listed)}
    heard = {artist.key: artist.name for artist in history}
    beside = listed_beside or {}
    for pair in unknown_pairs:
        if (key := keys[pair]) in listed:
            score, mine, _ = listed[key]
            scores[pair], percentiles[pair] = score, percentile[rank[key]]
            names[pair] = beside[key].name if key in beside else names[pair]
            matched_by[pair], because[pair] = "similar", heard.get(mine, mine)
    scored = ~np.isnan(scores[track_artists])
    track_ids = np.fromiter(map(itemgetter(0), library), np.int64, len(library))
    return LibraryScores(
        track_ids[scored], track_artists[scored],
        ArtistScores(scores, percentiles, names, matched_by, because),
        len(history), int(np.count_nonzero(user_plays)), user_factors,
    )  # fmt: skip


class ListedScore(NamedTuple):
    """A score for an artist the model lacks, on the model's scale: the best match x the
    user's predicted preference for an artist the model knows, that artist, and whether the
    user plays it."""

    score: float
    beside: str  # the user's artist key when ``yours``, else the public artist's name
    yours: bool


def listed_scores(
    model: FittedModel,
    history: list[ArtistPlays],
    user_factors: np.ndarray,
    listed_beside: dict[str, Listed],
    unknown: set[str],
    own_lists: dict[str, list[SimilarArtist]] | None = None,
) -> dict[str, ListedScore]:
    """Scores of artists the model lacks: from the user's artists they are listed beside, and
    from their own lists (``cf enrich`` asks about library artists the model lacks): any
    artist of the model listed there, the user's predicted preference for it x the match."""
    factors = model.als.item_factors
    assert factors is not None
    own_lists = own_lists or {}
    wanted = [key for key in unknown if key in listed_beside or key in own_lists]
    if not wanted:
        return {}
    items, _ = model.lookup([a.mbid for a in history], [a.key for a in history])
    preference = {
        artist.key: float(factors[item] @ user_factors)
        for artist, item in zip(history, items.tolist(), strict=True)
        if item >= 0
    }
    scores: dict[str, ListedScore] = {}
    for key in sorted(wanted):
        candidates = [
            ListedScore(match * preference[mine], mine, True)
            for mine, match in (listed_beside[key].beside if key in listed_beside else [])
            if mine in preference
        ]
        if own := own_lists.get(key):
            public, _ = model.lookup([s.mbid for s in own], [s.key for s in own])
            candidates += [
                ListedScore(s.match * float(factors[item] @ user_factors), s.name, False)
                for s, item in zip(own, public.tolist(), strict=True)
                if item >= 0
            ]
        if candidates:
            scores[key] = max(candidates, key=lambda listed: listed.score)
    return scores


def refresh_scores(conn: sqlite3.Connection, model: FittedModel) -> LibraryScores:
    """Fold the user in from the history stored now and replace the library's stored scores."""
    marker = history_marker(conn)
    result = score_library(model, user_artist_plays(conn), library_tracks(conn),
                           similar_to_user_artists(conn), similar_lists(conn))  # fmt: skip
    replace_scores(
        conn,
        result.rows(),
        {
            "model_fingerprint": model.fingerprint,
            "history_marker": marker,
            "user_artists": result.user_artists,
            "matched_artists": result.matched_artists,
            "scored_tracks": len(result),
            "user_factors": result.user_factors.astype("<f4").tobytes(),
        },
    )
    return result


def similar_items(model: FittedModel, item: int, count: int) -> list[tuple[int, float]]:
    """The model's nearest artists to ``item`` by cosine of their factors."""
    factors = _unit(model.als.item_factors)
    similarity = factors @ factors[item]
    similarity[item] = -np.inf
    best = np.argsort(-similarity)[:count]
    return [(int(index), float(similarity[index])) for index in best]


def find_item(model: FittedModel, name: str) -> int | None:
    """The model's item for an artist name or MusicBrainz ID."""
    items, _ = model.lookup([name.strip().lower()], [artist_key(name)])
    return int(items[0]) if items[0] >= 0 else None


def _percentiles(scores: np.ndarray) -> np.ndarray:
    """Each score's rank as a fraction: 1.0 for the best, towards 0 for the worst."""
    if len(scores) == 0:
        return scores
    ranks = np.empty(len(scores))
    ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return 1.0 - ranks / len(scores)


def because_of(model: FittedModel, items: np.ndarray, user_plays: np.ndarray) -> list[str | None]:
    """For each item, the user's artist that contributes most: cosine x how much they play it."""
    played = np.flatnonzero(user_plays)
    if not len(items) or not len(played):
        return [None] * len(items)
    assert model.als.item_factors is not None
    factors = model.als.item_factors
    mine = _unit(factors[played]).T
    weights = np.log1p(user_plays[played])
    reasons: list[str | None] = []
    for start in range(0, len(items), 4096):  # bounded memory for large libraries
        chunk = items[start : start + 4096]
        contribution = (_unit(factors[chunk]) @ mine) * weights
        best = played[np.argmax(contribution, axis=1)]
        reasons.extend(model.names[item] for item in best.tolist())
    return reasons


def _unit(factors: np.ndarray | None) -> np.ndarray:
    assert factors is not None, "fit first"
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    return factors / np.where(norms == 0, 1, norms)
