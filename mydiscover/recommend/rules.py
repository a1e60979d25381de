"""The weekly's rules: which tracks may be picked, and how many per artist and album.

Candidates: available tracks of a sensible length, never played or not for ``rest_days``,
not banned, not skipped on the web page for ``skip_rest_days``, not in the last
``recent_weeks`` weeklies. Picks: by blended score (with a small
jitter seeded by the ISO week, so next week differs even with nothing new), at most
``per_artist`` per artist and ``per_album`` per album, and a share of new artists (the user
has never played) beside deeper cuts from known ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mydiscover.history.tables import History
from mydiscover.recommend.library import Library


@dataclass(frozen=True)
class Rules:
    """The weekly's settings."""

    size: int = 30
    per_artist: int = 2
    per_album: int = 1
    min_seconds: float = 30.0  # shorter: intros, interludes, skits
    max_seconds: float = 15 * 60.0
    rest_days: int = 365  # a track played within this many days is not new enough
    recent_weeks: int = 4
    skip_rest_days: int = 182  # a track skipped on the web page is not offered for this long
    new_artist_share: float = 0.5
    jitter: float = 0.03  # noise on the blended score, of its spread, seeded by the week


def candidate_mask(
    library: Library,
    history: History,
    excluded: set[int],
    rules: Rules,
    now: int,
) -> np.ndarray:
    """Which library rows may be picked (``excluded``: banned, skipped and recently picked
    track ids)."""
    rested = now - rules.rest_days * 86_400
    durations = np.nan_to_num(library.durations, nan=(rules.min_seconds + rules.max_seconds) / 2)
    mask = (durations >= rules.min_seconds) & (durations <= rules.max_seconds)
    mask &= ~np.isin(library.ids, np.fromiter(excluded, dtype=np.int64))
    # Played tracks rest until their last listen is old enough; undated plays (tags, a
    # server's counts) never say when, so those tracks are not offered.
    recent = [t for t in history.track_plays if history.last_played.get(t, rested) >= rested]
    mask &= ~np.isin(library.ids, np.array(recent, dtype=np.int64))
    return mask


def choose(
    library: Library,
    scores: np.ndarray,
    candidates: np.ndarray,
    known_artists: set[str],
    rules: Rules,
    seed: int,
) -> list[int]:
    """The picked rows, best first, following the caps and the new-artist share. ``scores``
    is NaN where nothing scored a row."""
    rng = np.random.default_rng(seed)
    scored = candidates & ~np.isnan(scores)
    # The jitter is relative to the spread of the scores, whatever their scale.
    spread = float(np.std(scores[scored])) if scored.any() else 0.0
    noisy = scores + rules.jitter * spread * rng.standard_normal(len(scores))
    # Unscored candidates come last, at random: they fill what the scored ones and the caps
    # leave (a library whose scored tracks are by two artists still gets its 30).
    rest = np.flatnonzero(candidates & ~scored)
    best_first = np.flatnonzero(scored)[np.argsort(-noisy[scored], kind="stable")]
    ranked = np.concatenate([best_first, rest[rng.permutation(len(rest))]])
    rank_of = np.empty(len(scores), dtype=np.int64)
    rank_of[ranked] = np.arange(len(ranked))
    new_artist = ~library.by_artists(known_artists)
    quota_new = math.ceil(rules.size * rules.new_artist_share)
    per_artist: dict[str, int] = {}
    per_album: dict[tuple[str, str], int] = {}
    picked: list[int] = []

    def place(row: int) -> bool:
        """Pick ``row`` if the caps allow it."""
        artist = library.artist_keys[row] or f"row {row}"
        album = (artist, library.album_keys[row])
        if per_artist.get(artist, 0) >= rules.per_artist:
            return False
        if album[1] and per_album.get(album, 0) >= rules.per_album:
            return False
        picked.append(row)
        per_artist[artist] = per_artist.get(artist, 0) + 1
        per_album[album] = per_album.get(album, 0) + 1
        return True

    # New and known artists are two pools with their own quotas; no artist (so no album) is
    # in both, so the caps of one never touch the other, and each is filled on its own.
    left: list[np.ndarray] = []
    for pool, quota in ((ranked[new_artist[ranked]], quota_new),
                        (ranked[~new_artist[ranked]], rules.size - quota_new)):  # fmt: skip
        placed, seen = 0, 0
        for row in pool.tolist():
            if placed == quota:
                break
            seen += 1
            placed += place(row)
        left.append(pool[seen:])
    # A pool that ran dry: the other's next best fill the rest, in rank order.
    rest_of = np.concatenate(left)
    for row in rest_of[np.argsort(rank_of[rest_of], kind="stable")].tolist():
        if len(picked) == rules.size:
            break
        place(row)
    return sorted(picked, key=lambda row: rank_of[row])
