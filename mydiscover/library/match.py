"""Name normalisation and matching: the one place that decides when two spellings name the same
thing, and which catalogued track a listen (or a public entity) is.

Keys are built for recall without false friends: accents, case, Unicode forms, punctuation,
"feat." credits, a leading "The", and edition suffixes such as "(Remastered 2011)" or
"- Single Version" are folded away; words that make a different recording ("Live", "Remix",
"Acoustic") are kept.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

#: How close two titles by the same artist must be for a fuzzy match (difflib's ratio).
FUZZY_THRESHOLD = 0.9


def normalize_name(text: str | None) -> str:
    """Fold case, Unicode compatibility forms and white space, so equal names compare equal."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split())


_FEATURING = re.compile(r"[\(\[]?\s*\b(?:feat|ft|featuring)\b\.?\s.*$", re.IGNORECASE)
_EDITION_WORDS = (
    r"(?:\d{4}\s+)?(?:digital(?:ly)?\s+)?remaster(?:ed)?(?:\s+version)?(?:\s+\d{4})?"
    r"|(?:\d{4}\s+)?(?:mono|stereo)(?:\s+(?:version|mix))?"
    r"|(?:single|album|lp|original|radio)\s+(?:version|edit|mix)"
    r"|bonus\s+track|explicit|clean|deluxe(?:\s+edition)?|\d{4}"
)
_EDITION_SUFFIX = re.compile(
    rf"\s*(?:[\(\[]\s*(?:{_EDITION_WORDS})\s*[\)\]]|-\s+(?:{_EDITION_WORDS}))\s*$",
    re.IGNORECASE,
)
_PUNCTUATION = re.compile(r"[^\w\s]+")
_APOSTROPHES = re.compile(r"['\u2019\u02bc`]")  # straight and curly: "Don't" -> "dont"


def _fold(text: str) -> str:
    """Casefold, strip accents and punctuation, spell out ``&``, collapse white space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    bare = _APOSTROPHES.sub("", bare).replace("&", " and ").replace("+", " and ")
    return " ".join(_PUNCTUATION.sub(" ", bare).split())


@lru_cache(maxsize=262_144)
def artist_key(artist: str | None) -> str:
    """The matching key of an artist credit: its first artist, without featured guests."""
    if not artist:
        return ""
    first = artist.split("; ")[0]  # the catalog joins several artists with "; "
    first = _FEATURING.sub("", first).strip() or first
    key = _fold(first)
    return key[4:] if key.startswith("the ") and len(key) > 4 else key


@lru_cache(maxsize=262_144)
def title_key(title: str | None) -> str:
    """The matching key of a track or album title, without edition suffixes and guests."""
    if not title:
        return ""
    stripped = _FEATURING.sub("", title).strip() or title
    while True:  # "Song (Remastered 2011) [Mono]" carries two suffixes
        shorter = _EDITION_SUFFIX.sub("", stripped).strip()
        if shorter == stripped or not shorter:
            break
        stripped = shorter
    key = _fold(stripped)
    return key[4:] if key.startswith("the ") and len(key) > 4 else key


class CatalogEntry(NamedTuple):
    """What matching needs to know of a catalogued track."""

    id: int
    artist: str | None
    title: str | None
    album: str | None
    mb_recording_id: str | None


class Match(NamedTuple):
    """A track a listen was matched to, and by which rule."""

    track_id: int
    method: str  # "mbid", "name", "album" (name, tie broken by album) or "fuzzy"


class TrackMatcher:
    """Finds the catalogued track a listen is: MusicBrainz recording ID first, then the
    normalised artist and title (the album breaking ties), then a close title by the same
    artist."""

    def __init__(self, tracks: Iterable[CatalogEntry]) -> None:
        self._by_mbid: dict[str, list[int]] = defaultdict(list)
        self._by_name: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        self._titles_by_artist: dict[str, dict[str, list[int]]] = defaultdict(dict)
        for track in sorted(tracks):  # by id, so ties always resolve the same way
            if track.mb_recording_id:
                self._by_mbid[track.mb_recording_id.lower()].append(track.id)
            artist, title = artist_key(track.artist), title_key(track.title)
            if artist and title:
                self._by_name[(artist, title)].append((track.id, title_key(track.album)))
                self._titles_by_artist[artist].setdefault(title, []).append(track.id)

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._by_name.values())

    def match(
        self,
        artist: str | None,
        title: str | None,
        album: str | None = None,
        mb_recording_id: str | None = None,
    ) -> Match | None:
        """The track this listen is, or ``None`` when the catalog has no such track."""
        if mb_recording_id:
            ids = self._by_mbid.get(mb_recording_id.lower())
            if ids:
                return Match(ids[0], "mbid")
        akey, tkey = artist_key(artist), title_key(title)
        if not akey or not tkey:
            return None
        candidates = self._by_name.get((akey, tkey))
        if candidates:
            if len(candidates) > 1 and album:
                wanted = title_key(album)
                for track_id, album_key in candidates:
                    if album_key == wanted:
                        return Match(track_id, "album")
            return Match(candidates[0][0], "name")
        return self._fuzzy(akey, tkey)

    def _fuzzy(self, akey: str, tkey: str) -> Match | None:
        titles = self._titles_by_artist.get(akey)
        if not titles:
            return None
        matcher = difflib.SequenceMatcher(b=tkey, autojunk=False)
        best: tuple[float, int] | None = None
        for candidate, ids in titles.items():
            matcher.set_seq1(candidate)
            if matcher.real_quick_ratio() < FUZZY_THRESHOLD:
                continue
            if matcher.quick_ratio() < FUZZY_THRESHOLD:
                continue
            ratio = matcher.ratio()
            if ratio >= FUZZY_THRESHOLD and (best is None or ratio > best[0]):
                best = (ratio, ids[0])
        return Match(best[1], "fuzzy") if best else None
