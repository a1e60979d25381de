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
copies of one vanished song, one inherits its identity and the other is new.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator

from mydiscover.db.tracks import FileState, StoredTrack
from mydiscover.library.match import normalize_name
from mydiscover.library.tags import Tags

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


class MoveDetector:
    """Matches newly found files against the tracks that vanished, each claimed at most once."""

    def __init__(
        self, vanished: Iterable[StoredTrack], elsewhere: Iterable[StoredTrack] = ()
    ) -> None:
        """``vanished`` tracks are known to be gone; ``elsewhere`` are catalogued outside the
        scanned roots and count only once their file is found to be gone too."""
        self._by_key: dict[_Key, list[int]] = defaultdict(list)
        self._unverified: dict[int, bytes] = {track.id: track.path for track in elsewhere}
        self._present: set[int] = set()
        for track in [*vanished, *elsewhere]:
            for key in _keys(
                (track.device, track.inode, track.size, track.mtime_ns),
                track.title,
                track.artist,
                track.album,
                track.disc_number,
                track.track_number,
                track.duration,
                track.mb_recording_id,
                track.mb_release_id,
            ):
                self._by_key[key].append(track.id)
        self.claimed: set[int] = set()

    def claim(self, state: FileState, tags: Tags | None) -> int | None:
        """The id of the vanished track this new file is, or ``None`` if it is a new track."""
        if not self._by_key:
            return None
        file_state = (state.device, state.inode, state.size, state.mtime_ns)
        if tags is None:
            keys: Iterable[_Key] = _keys(file_state, *(None,) * 8)
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
        for key in keys:
            candidates = [
                tid
                for tid in self._by_key.get(key, ())
                if tid not in self.claimed and not self._still_there(tid)
            ]
            if len(candidates) == 1:
                self.claimed.add(candidates[0])
                return candidates[0]
        return None

    def _still_there(self, track_id: int) -> bool:
        """Whether a track from outside the scanned roots still has its file (checked once)."""
        if track_id in self._unverified and os.path.lexists(self._unverified.pop(track_id)):
            self._present.add(track_id)
        return track_id in self._present
