"""The weekly's rules: which tracks may be picked, and how many per artist and album.

Candidates: available tracks of a sensible length, never played or not for ``rest_days``,
not banned, not in the last ``recent_weeks`` weeklies. Picks: by blended score (with a small
jitter seeded by the ISO week, so next week differs even with nothing new), at most
``per_artist`` per artist and ``per_album`` per album, and a share of new artists (the user
has never played) beside deeper cuts from known ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mydiscover.db.listens import History
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
    new_artist_share: float = 0.5
    jitter: float = 0.03  # relative noise on the blended score, seeded by the week


def candidate_mask(
    library: Library,
    history: History,
    excluded: set[int],
    rules: Rules,
    now: int,
) -> np.ndarray:
    """Which library rows may be picked (``excluded``: banned and recently picked track ids)."""
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
    """The picked rows, best first, following the caps and the new-artist share."""
    rng = np.random.default_rng(seed)
    noisy = scores * (1.0 + rules.jitter * rng.standard_normal(len(scores)))
    # Unscored candidates come last, at random: they fill what the scored ones and the caps
    # leave (a library whose scored tracks are by two artists still gets its 30).
    rest = np.flatnonzero(candidates & (scores <= 0))
    noisy[rest] = -1.0 - rng.random(len(rest))
    rows = np.concatenate([np.flatnonzero(candidates & (scores > 0)), rest])
    ranked = rows[np.argsort(-noisy[rows], kind="stable")]
    quota_new = math.ceil(rules.size * rules.new_artist_share)
    quotas = {True: quota_new, False: rules.size - quota_new}
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

    overflow: list[int] = []
    for row in ranked.tolist():
        if len(picked) == rules.size:
            break
        new = library.artist_keys[row] not in known_artists
        if quotas[new] <= 0:
            overflow.append(row)
        elif place(row):
            quotas[new] -= 1
    for row in overflow:  # one pool ran dry: the other fills the rest
        if len(picked) == rules.size:
            break
        place(row)
    order = {row: rank for rank, row in enumerate(ranked.tolist())}
    return sorted(picked, key=order.__getitem__)
