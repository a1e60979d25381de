"""Where review text comes from: one small module per source, all behind the polite fetcher.

A per-entity source answers ``documents(entity)`` for one artist or album; a feed source reads
the user's configured feeds and pages and attributes what it finds to library entities.
"""

from __future__ import annotations

from typing import NamedTuple


class Entity(NamedTuple):
    """An artist (``album == ""``) or an album of the library, to find text about."""

    artist: str
    album: str
    artist_key: str
    album_key: str

    @property
    def kind(self) -> str:
        """``artist`` or ``album``."""
        return "album" if self.album_key else "artist"

    def label(self) -> str:
        """How people name it: "Artist" or "Artist - Album"."""
        return f"{self.artist} - {self.album}" if self.album_key else self.artist


class Document(NamedTuple):
    """Text about an entity, with where it came from."""

    source: str
    url: str
    title: str
    text: str
