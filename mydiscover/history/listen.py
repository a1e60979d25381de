"""One listen, as every source is turned into."""

from __future__ import annotations

from typing import NamedTuple


class Listen(NamedTuple):
    """A play of a song at a moment (UTC seconds), as the source named it."""

    listened_at: int
    artist: str
    title: str
    album: str | None = None
    mb_recording_id: str | None = None
    mb_artist_id: str | None = None
    mb_release_id: str | None = None


class SkippedRow(NamedTuple):
    """A record of an export file that could not be read as a listen, and why."""

    where: str  # "line 12", "scrobble 40"
    reason: str


def clean(text: object) -> str | None:
    """A name from a source as clean text (``None`` when empty)."""
    if text is None:
        return None
    value = " ".join(str(text).replace("\x00", " ").split())
    return value or None


def clean_mbid(value: object) -> str | None:
    """A MusicBrainz ID in lower case, or ``None`` for an empty or malformed one."""
    text = clean(value)
    if text is None or len(text) != 36 or text.count("-") != 4:
        return None
    return text.lower()
