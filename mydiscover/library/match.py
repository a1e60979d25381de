"""Name normalisation and matching: the one place that decides when two spellings name the same
thing, and which catalogued track a listen (or a public entity) is.

Keys are built for recall without false friends: accents, case, Unicode forms, punctuation,
"feat." credits, a leading "The", and edition suffixes such as "(Remastered 2011)" or
"- Single Version" are folded away; words that make a different recording ("Live", "Remix",
"Acoustic") are kept.
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from mydiscover.library.values import first_value

#: How close two titles by the same artist must be for a fuzzy match (difflib's ratio).
FUZZY_THRESHOLD = 0.9


def normalize_name(text: str | None) -> str:
    """Fold case, Unicode compatibility forms and white space, so equal names compare equal."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split())


# "(feat. X)" up to its closing bracket (a "[... Remix]" after it is kept), or a bare
# "feat. X" up to a bracket, a " - " or the end.
_FEATURING = re.compile(
    r"\s*[\(\[]\s*(?:feat|ft|featuring)\b\.?\s[^\)\]]*[\)\]]"
    r"|\s+(?:feat|ft|featuring)\b\.?\s.*?(?=\s[\(\[]|\s-\s|$)",
    re.IGNORECASE,
)
#: Words that make another recording of a song: a fuzzy match must not add or drop them.
_VERSION_WORDS = frozenset(
    {"live", "remix", "mix", "edit", "acoustic", "demo", "instrumental", "unplugged", "reprise",
     "karaoke", "cover", "dub", "version", "session", "orchestral", "rework", "bootleg"}
)  # fmt: skip
_DIGITS = re.compile(r"\d+")
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
    bare = text.casefold()
    if not bare.isascii():  # ASCII has no accents (and NFKD leaves it as it is): most names
        decomposed = unicodedata.normalize("NFKD", bare)
        bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    bare = _APOSTROPHES.sub("", bare).replace("&", " and ").replace("+", " and ")
    return " ".join(_PUNCTUATION.sub(" ", bare).split())


@lru_cache(maxsize=262_144)
def artist_key(artist: str | None) -> str:
    """The matching key of an artist credit: its first artist, without featured guests."""
    if not artist:
        return ""
    first = first_value(artist)  # the catalog joins several artists
    first = _FEATURING.sub("", first).strip() or first
    key = _fold(first)
    if not key:  # a name of punctuation only ("!!!") is its own key
        return normalize_name(first)
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
    if not key:
        return normalize_name(stripped)
    return key[4:] if key.startswith("the ") and len(key) > 4 else key


def _fuzzy_signature(key: str) -> _Signature:
    """What two titles must share to be fuzzy-matched: their numbers ("Part 2", "No. 5")
    and their version words ("live", "remix")."""
    return tuple(_DIGITS.findall(key)), frozenset(key.split()) & _VERSION_WORDS


_Signature = tuple[tuple[str, ...], frozenset[str]]
#: Per artist: title lengths (sorted) and, in the same order, (title, signature, track id).
_FuzzyIndex = tuple[list[int], list[tuple[str, _Signature, int]]]


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
        self._fuzzy_cache: dict[str, _FuzzyIndex] = {}
        for track in sorted(tracks):  # by id, so ties always resolve the same way
            if track.mb_recording_id:
                self._by_mbid[track.mb_recording_id.lower()].append(track.id)
            artist, title = artist_key(track.artist), title_key(track.title)
            if artist and title:
                self._by_name[(artist, title)].append((track.id, title_key(track.album)))
                self._titles_by_artist[artist].setdefault(title, []).append(track.id)

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._by_name.values())

    def artist_keys(self) -> set[str]:
        """The artist keys of the tracks here: only a listen by one of them can match by name."""
        return set(self._titles_by_artist)

    def recording_ids(self) -> set[str]:
        """The tracks' MusicBrainz recording IDs (lower case)."""
        return set(self._by_mbid)

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
        index = self._fuzzy_index(akey)
        if index is None:
            return None
        lengths, entries = index
        # difflib's ratio is at most 2 * shorter / (sum of lengths): only titles of close
        # length can reach the threshold, and they are a slice of the length-sorted list.
        bound = FUZZY_THRESHOLD / (2 - FUZZY_THRESHOLD)
        low = bisect.bisect_left(lengths, math.ceil(len(tkey) * bound))
        high = bisect.bisect_right(lengths, math.floor(len(tkey) / bound))
        signature = _fuzzy_signature(tkey)
        matcher = difflib.SequenceMatcher(b=tkey, autojunk=False)
        best: tuple[float, int] | None = None
        for candidate, candidate_signature, track_id in entries[low:high]:
            if candidate_signature != signature:
                continue  # "Part 1" is not "Part 2", and "Song (Live)" is not "Song"
            matcher.set_seq1(candidate)
            if matcher.quick_ratio() < FUZZY_THRESHOLD:
                continue
            ratio = matcher.ratio()
            if ratio >= FUZZY_THRESHOLD and (best is None or ratio > best[0]):
                best = (ratio, track_id)
        return Match(best[1], "fuzzy") if best else None

    def _fuzzy_index(self, akey: str) -> _FuzzyIndex | None:
        """The artist's titles sorted by length, with their signatures (built once)."""
        if akey not in self._fuzzy_cache:
            titles = self._titles_by_artist.get(akey)
            if not titles:
                return None
            entries = sorted(
                ((title, _fuzzy_signature(title), ids[0]) for title, ids in titles.items()),
                key=lambda entry: (len(entry[0]), entry[0]),
            )
            self._fuzzy_cache[akey] = ([len(entry[0]) for entry in entries], entries)
        return self._fuzzy_cache[akey]


#: The most two copies of one recording (a file and a server's song) may differ in length.
DURATION_TOLERANCE = 3.0


class TagCandidate(NamedTuple):
    """A track that has the wanted artist and title: which (a track id, a server's song id),
    its length in seconds, its album's title key and its track number."""

    ref: int | str
    duration: float | None
    album: str
    number: int | None


def closest_candidate(
    candidates: Iterable[TagCandidate], album: str | None, number: int | None,
    duration: float | None,
) -> TagCandidate | None:  # fmt: skip
    """Of tracks with the same artist and title, the one that is this track: within
    :data:`DURATION_TOLERANCE` of its ``duration``, then the same album first, then the same
    track number, then the closest length (the same song on two albums, a second apart, goes
    to the album named). ``None`` when none is close enough in length."""
    wanted_album = title_key(album)

    def gap(candidate: TagCandidate) -> float:
        if candidate.duration and duration:
            return abs(candidate.duration - duration)
        return 0.0

    def rank(candidate: TagCandidate) -> tuple[bool, bool, float]:
        other_number = number is not None and candidate.number != number
        return candidate.album != wanted_album, other_number, gap(candidate)

    fitting = [candidate for candidate in candidates if gap(candidate) <= DURATION_TOLERANCE]
    return min(fitting, key=rank) if fitting else None
