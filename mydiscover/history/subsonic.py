"""Syncing with a Subsonic server: its songs matched to local tracks, and its plays and stars
kept as history.

A server's ``path`` is often synthetic (Navidrome reports "Artist/Album/01 - Title.mp3"
whatever the file is called), so songs are matched by MusicBrainz recording ID, then by
normalised artist and title within 3 s of the file's duration: among those, the same album
first, then the same track number, then the closest duration (the same song on two albums,
a second apart, goes to the album the server names).
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from mydiscover.history.tables import ServerSong, replace_server_songs
from mydiscover.library.match import TagCandidate, artist_key, closest_candidate, title_key
from mydiscover.library.tables import present_tracks
from mydiscover.subsonic import Song, SubsonicClient


@dataclass
class SyncReport:
    """What a sync found."""

    songs: int = 0
    matched_mbid: int = 0
    matched_tags: int = 0
    played: int = 0
    starred: int = 0
    #: False when the server's listing stopped early: the songs it did not list were kept.
    complete: bool = True

    def summary(self) -> str:
        """One line for people."""
        matched = self.matched_mbid + self.matched_tags
        listed = "on the server" if self.complete else "listed (the others kept from before)"
        return (
            f"{self.songs:,} songs {listed}, {matched:,} matched to your library "
            f"({self.matched_mbid:,} by MusicBrainz ID, {self.matched_tags:,} by tags); "
            f"{self.played:,} with plays, {self.starred:,} starred"
        )


class _Catalog:
    """The library's tracks indexed for server songs."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.by_mbid: dict[str, int] = {}
        self.by_name: dict[tuple[str, str], list[TagCandidate]] = defaultdict(list)
        for track in present_tracks(conn):
            if track.mb_recording_id:
                self.by_mbid[track.mb_recording_id.lower()] = track.id
            self.by_name[(artist_key(track.artist), title_key(track.title))].append(
                TagCandidate(track.id, track.duration, title_key(track.album), track.track_number)
            )

    def match(self, song: Song) -> tuple[int | None, str | None]:
        """The local track of a server song, and how it was matched."""
        if song.mbid and song.mbid.lower() in self.by_mbid:
            return self.by_mbid[song.mbid.lower()], "mbid"
        candidates = self.by_name.get((artist_key(song.artist), title_key(song.title)), [])
        found = closest_candidate(candidates, song.album, song.track, song.duration)
        return (int(found.ref), "tags") if found else (None, None)


def sync_server(
    conn: sqlite3.Connection,
    client: SubsonicClient,
    server: str,
    now: Callable[[], float] = time.time,
) -> SyncReport:
    """Fetch every song of the server (and the starred ones), match them, store them. When
    the server's listing is incomplete, the stored songs it did not list are kept: a song
    missing from a listing that stopped early is not a song gone from the server."""
    catalog = _Catalog(conn)
    starred = {song.id for song in client.starred()}
    report = SyncReport()
    rows: dict[str, ServerSong] = {}
    listing = client.songs()
    for song in listing:
        if song.id in rows:  # the listing gives each song once; this guard costs nothing
            continue
        report.songs += 1
        track, how = catalog.match(song)
        report.matched_mbid += how == "mbid"
        report.matched_tags += how == "tags"
        is_starred = song.starred or song.id in starred
        report.played += song.play_count > 0
        report.starred += is_starred
        rows[song.id] = ServerSong(song.id, track, how, song.play_count, is_starred)
    report.complete = listing.complete
    replace_server_songs(
        conn, server, rows.values(), int(now()), keep_unlisted=not listing.complete
    )
    return report
