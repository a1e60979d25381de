"""How the catalog holds a tag with several values ("Slowdive; Mojave 3"), for every reader.

No mutagen here: the stages that read the catalog's values need not load the tag reader.
"""

from __future__ import annotations

from typing import NamedTuple

#: Values joined when a tag holds several (two artists, two genres).
MULTI_VALUE_SEPARATOR = "; "


def first_value(text: str) -> str:
    """The first of a tag's values (``"A; B"`` -> ``"A"``): a track's main artist or MBID."""
    return text.split(MULTI_VALUE_SEPARATOR)[0]


def tag_values(text: str) -> list[str]:
    """A tag's values, stripped, the empty ones left out (``"Rock; Pop"`` -> both)."""
    return [value.strip() for value in text.split(MULTI_VALUE_SEPARATOR) if value.strip()]


class Tags(NamedTuple):
    """What the catalog stores about one file's content; ``None`` where the file does not say."""

    format: str
    duration: float | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bits_per_sample: int | None = None
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    album_artist: str | None = None
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    disc_total: int | None = None
    date: str | None = None
    year: int | None = None
    genre: str | None = None
    mb_recording_id: str | None = None
    mb_release_id: str | None = None
    mb_artist_id: str | None = None
    mb_album_artist_id: str | None = None
    isrc: str | None = None
    rating: float | None = None
    play_count: int | None = None
