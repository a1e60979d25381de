"""Recognising a moved or renamed file as a track the catalog already knows.

A track keeps its id (and with it its analysis and listening history) when its file moves. A
new path is matched to a track that vanished from disk by the strongest evidence available:

Candidates are the tracks this scan found gone, those marked missing before, and those
catalogued outside the scanned roots whose file no longer exists (a drive mounted elsewhere).

1. the same file-system object: device, inode, size and mtime all equal (``mv`` on one disk);
2. the same MusicBrainz recording on the same release (a retagged or re-encoded copy);
3. the same artist, album, title, disc, track number and duration to the second (a copy on
   another disk without MusicBrainz tags).

A match is taken only when exactly one unclaimed vanished track fits, and each vanished track
is claimed at most once: two vanished copies of a song never merge into one, and of two new
copies of one vanished song, one (the first by path) inherits its identity and the other is new.
"""

from __future__ import annotations

import errno
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from mydiscover.library.match import normalize_name
from mydiscover.library.tables import StoredTrack
from mydiscover.library.tags import Tags
from mydiscover.library.walk import FoundFile

_Key = tuple[object, ...]


def _keys(
    state: tuple[int | None, int | None, int, int],
    title: str | None,
    artist: str | None,
    album: str | None,
    disc: int | None,
    track: int | None,
    duration: float | None,
    recording: str | None,
    release: str | None,
) -> Iterator[_Key]:
    device, inode, size, mtime_ns = state
    if inode:
        yield ("inode", device, inode, size, mtime_ns)
    if recording:
        yield ("musicbrainz", recording, release)
    if title and duration:
        yield (
            "tags",
            normalize_name(artist),
            normalize_name(album),
            normalize_name(title),
            disc,
            track,
            round(duration),
        )


_KINDS = ("inode", "musicbrainz", "tags")


def _keys_of_track(track: StoredTrack) -> Iterator[_Key]:
    return _keys(
        (track.device, track.inode, track.size, track.mtime_ns),
        track.title,
        track.artist,
        track.album,
        track.disc_number,
        track.track_number,
        track.duration,
        track.mb_recording_id,
        track.mb_release_id,
    )


def _keys_of_arrival(state: FoundFile, tags: Tags | None) -> dict[str, _Key]:
    file_state = (state.device, state.inode, state.size, state.mtime_ns)
    if tags is None:
        keys = _keys(file_state, *(None,) * 8)
    else:
        keys = _keys(
            file_state,
            tags.title,
            tags.artist,
            tags.album,
            tags.disc_number,
            tags.track_number,
            tags.duration,
            tags.mb_recording_id,
            tags.mb_release_id,
        )
    return {str(key[0]): key for key in keys}


class MoveDetector:
    """Matches the files that arrived in a scan against the tracks that vanished from it."""

    def __init__(
        self, vanished: Iterable[StoredTrack], elsewhere: Iterable[StoredTrack] = ()
    ) -> None:
        """``vanished`` tracks are known to be gone; ``elsewhere`` are catalogued outside the
        scanned roots and count only once their file is found to be gone too."""
        self._by_key: dict[_Key, list[int]] = defaultdict(list)
        self._unverified: dict[int, bytes] = {track.id: track.path for track in elsewhere}
        self._present: set[int] = set()
        for track in [*vanished, *elsewhere]:
            for key in _keys_of_track(track):
                self._by_key[key].append(track.id)
        self.claimed: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def resolve(self, arrivals: Sequence[tuple[FoundFile, Tags | None]]) -> list[int | None]:
        """For each arrival, the id of the vanished track it is, or ``None`` for a new track.

        All inode matches are taken before any MusicBrainz match, and those before any tag
        match, so a copy never takes the identity of a file that was moved; within one kind,
        arrivals are taken in path order, so the outcome does not depend on reading order.
        """
        claims: list[int | None] = [None] * len(arrivals)
        if not self._by_key:
            return claims
        keys = [_keys_of_arrival(state, tags) for state, tags in arrivals]
        order = sorted(range(len(arrivals)), key=lambda index: arrivals[index][0].path)
        for kind in _KINDS:
            for index in order:
                key = keys[index].get(kind)
                if claims[index] is not None or key is None:
                    continue
                candidates = [
                    track_id
                    for track_id in self._by_key.get(key, ())
                    if track_id not in self.claimed and not self._still_there(track_id)
                ]
                if len(candidates) == 1:
                    self.claimed.add(candidates[0])
                    claims[index] = candidates[0]
        return claims

    def _still_there(self, track_id: int) -> bool:
        """Whether a track from outside the scanned roots still has its file (checked once).

        Only "no such file" counts as gone: a file we may not look at is still there.
        """
        path = self._unverified.pop(track_id, None)
        if path is not None:
            try:
                os.lstat(path)
                self._present.add(track_id)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                    self._present.add(track_id)
        return track_id in self._present
