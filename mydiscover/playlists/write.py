"""Writing a playlist in one of the formats, with paths as the player needs them.

Path modes: ``absolute``; ``relative`` to the playlist file's folder (Navidrome, most players);
``music-root``, relative to the music folder the track was found in (MPD's playlist folder).
File names that are not valid UTF-8 keep their bytes in M3U (written with surrogate escapes:
players need them to open the file) and are percent-encoded byte for byte in XSPF/JSPF URIs.
JSON gives each track both: ``location``, the exact URI (``file://`` when absolute, a relative
URI reference otherwise, percent-encoded byte for byte), and ``path``, text for people (bytes
that are not UTF-8 shown as ``\\xNN``).

XSPF and JSPF follow ListenBrainz's conventions (https://musicbrainz.org/doc/jspf), so the
playlist can go to ListenBrainz or troi: a track with a MusicBrainz recording ID carries it as
its identifier (``https://musicbrainz.org/recording/<mbid>``), its artist's as the track
extension's ``artist_identifiers``; the playlist its creator and date; the reasons, score and
lead signal ride in the extension's ``additional_metadata``; no field is written empty. Their
locations are URIs that readers resolve against the playlist file, so they take ``absolute``
or ``relative`` paths, not ``music-root`` (an M3U convention of MPD's playlist folder).

Every output is valid for a strict parser whatever the names and tags hold: tags lose what the
format cannot carry (lone surrogates; in XML, control characters and U+FFFE/U+FFFF; in M3U,
line breaks and control characters). A path M3U cannot name safely (a line break or other
control character, or a relative path starting with '#', which readers take for a directive)
is never written raw: the track is left out and :attr:`Rendered.skipped` says so.
"""

from __future__ import annotations

import json
import os
import unicodedata
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from mydiscover.paths import display_path

if TYPE_CHECKING:
    from mydiscover.recommend.service import WeekPlaylist

FORMATS = ("m3u", "xspf", "jspf", "json")
#: Who made the playlist, as XSPF/JSPF name it.
CREATOR = "mydiscover"
#: The namespaces of ListenBrainz's JSPF extensions, and of MusicBrainz's identifiers.
JSPF_PLAYLIST = "https://musicbrainz.org/doc/jspf#playlist"
JSPF_TRACK = "https://musicbrainz.org/doc/jspf#track"
MUSICBRAINZ = "https://musicbrainz.org"
PATH_MODES = ("absolute", "relative", "music-root")
#: File names of the encoding they were found in: undecodable bytes as surrogates.
_FS = "surrogateescape"
#: Unicode categories of control characters and line breaks: what an M3U line cannot hold.
_BREAKS = ("Cc", "Zl", "Zp")


@dataclass(frozen=True)
class Entry:
    """One track of a playlist."""

    path: bytes
    root: bytes
    artist: str
    title: str
    album: str
    duration: float | None
    score: float
    lead: str | None
    reasons: dict[str, str]
    recording_mbid: str = ""
    artist_mbid: str = ""

    def explanation(self) -> str:
        """The reasons as one line: "because you play Slowdive; reviews say 'dreamy'"."""
        return "; ".join(self.reasons.values())


def weekly_entries(playlist: WeekPlaylist) -> list[Entry]:
    """The weekly's picks as playlist entries, in order, from the library rows they point at
    and their files (a pick whose file left the catalog meanwhile is left out)."""
    library, files = playlist.library, playlist.files
    return [
        Entry(file.path, file.root, library.artists[p.row],
              library.titles[p.row] or os.path.basename(file.path_text),
              library.albums[p.row], _seconds(library.durations[p.row]), p.score, p.lead,
              p.reasons, file.recording_mbid, library.mbids[p.row])
        for p in playlist.weekly.picks
        if (file := files.get(p.track_id)) is not None
    ]  # fmt: skip


def _seconds(value: float) -> float | None:
    return None if value != value else float(value)  # NaN: unknown


@dataclass(frozen=True)
class Skipped:
    """A track the playlist leaves out because the format cannot name its file safely."""

    entry: Entry
    reason: str

    def message(self) -> str:
        """One line for people: which file (its line breaks and control characters shown as
        escapes, so the warning stays one line), and why."""
        shown = "".join(
            c.encode("unicode_escape").decode() if unicodedata.category(c) in _BREAKS else c
            for c in display_path(self.entry.path)
        )
        return f"left out {shown}: {self.reason}"


@dataclass(frozen=True)
class Rendered:
    """A playlist file's bytes, the tracks it holds and those it had to leave out."""

    data: bytes
    entries: list[Entry]
    skipped: list[Skipped]


def check_options(fmt: str, mode: str, has_output: bool) -> None:
    """Refuse a format or path mode this module does not write, with a one-line ValueError."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
    if mode not in PATH_MODES:
        raise ValueError(f"unknown path mode {mode!r}: choose from {', '.join(PATH_MODES)}")
    if mode == "relative" and not has_output:
        raise ValueError("--paths relative needs --output FILE (paths are relative to it)")
    if mode == "music-root" and fmt in ("xspf", "jspf"):
        raise ValueError(f"--paths music-root is for M3U in MPD's playlist folder: {fmt.upper()} "
                         "readers resolve locations against the playlist file (use absolute, "
                         "or relative with --output)")  # fmt: skip


def playlist_path(entry: Entry, mode: str, playlist_folder: Path | None) -> bytes:
    """The entry's path as the playlist should name it."""
    if mode == "absolute":
        return entry.path
    if mode == "music-root":
        return os.path.relpath(entry.path, entry.root)
    if playlist_folder is None:
        raise ValueError("relative paths need the playlist's own place: give --output FILE")
    return os.path.relpath(entry.path, os.fsencode(playlist_folder.resolve()))


def render(
    entries: list[Entry], fmt: str, name: str, mode: str, playlist_folder: Path | None,
    meta: dict[str, object] | None = None,
) -> Rendered:  # fmt: skip
    """The playlist file's bytes, with the entries it could not name safely left out
    (``meta``: for JSON, its fields; ``date``, an ISO 8601 time, dates XSPF and JSPF too)."""
    paths = [playlist_path(entry, mode, playlist_folder) for entry in entries]
    if fmt == "m3u":
        kept: list[tuple[Entry, bytes]] = []
        skipped: list[Skipped] = []
        for entry, path in zip(entries, paths, strict=True):
            reason = _m3u_refusal(path)
            if reason is None:
                kept.append((entry, path))
            else:
                skipped.append(Skipped(entry, reason))
        return Rendered(_m3u(kept, name), [entry for entry, _ in kept], skipped)
    absolute = mode == "absolute"  # XSPF, JSPF and JSON percent-encode: every path is safe
    date = str((meta or {}).get("date") or "")
    if fmt == "xspf":
        return Rendered(_xspf(entries, paths, name, date, absolute=absolute), entries, [])
    if fmt == "jspf":
        return Rendered(_jspf(entries, paths, name, date, absolute=absolute), entries, [])
    if fmt == "json":
        return Rendered(_json(entries, paths, name, meta or {}, absolute=absolute), entries, [])
    raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")


def _m3u_refusal(path: bytes) -> str | None:
    """Why ``path`` cannot be an M3U line, or None when it can."""
    # Line breaks of every kind: readers split on \n and \r, and some on U+2028 or NEL too.
    if any(unicodedata.category(c) in _BREAKS for c in os.fsdecode(path)):
        return "its name holds a line break or control character, which M3U cannot hold"
    if path.startswith(b"#"):
        return "its path starts with '#', which M3U readers take for a directive"
    return None


def _m3u(tracks: list[tuple[Entry, bytes]], name: str) -> bytes:
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(name)}"]
    for entry, path in tracks:
        seconds = round(entry.duration) if entry.duration else -1
        lines.append(f"#EXTINF:{seconds},{_one_line(entry.artist)} - {_one_line(entry.title)}")
        lines.append(os.fsdecode(path))
    return ("\n".join(lines) + "\n").encode("utf-8", _FS)


def _uri(path: bytes, absolute: bool) -> str:
    """A file URI (absolute) or a relative URI reference, percent-encoded byte for byte."""
    encoded = quote(path, safe="/")
    return f"file://{encoded}" if absolute else encoded


def _recording(entry: Entry) -> str:
    return f"{MUSICBRAINZ}/recording/{entry.recording_mbid}" if entry.recording_mbid else ""


def _xspf(
    entries: list[Entry], paths: list[bytes], name: str, date: str, *, absolute: bool
) -> bytes:
    namespace = "http://xspf.org/ns/0/"
    root = ElementTree.Element("playlist", version="1", xmlns=namespace)
    ElementTree.SubElement(root, "title").text = _xml_safe(name)
    ElementTree.SubElement(root, "creator").text = CREATOR
    if date:
        ElementTree.SubElement(root, "date").text = date
    tracks = ElementTree.SubElement(root, "trackList")
    for entry, path in zip(entries, paths, strict=True):
        track = ElementTree.SubElement(tracks, "track")
        ElementTree.SubElement(track, "location").text = _uri(path, absolute)
        if identifier := _recording(entry):
            ElementTree.SubElement(track, "identifier").text = identifier
        # In XSPF v1's order: title, creator, annotation, album, then duration.
        fields = {"title": entry.title, "creator": entry.artist,
                  "annotation": entry.explanation(), "album": entry.album}  # fmt: skip
        for tag, value in fields.items():
            if value:
                ElementTree.SubElement(track, tag).text = _xml_safe(value)
        if entry.duration:
            ElementTree.SubElement(track, "duration").text = str(round(entry.duration * 1000))
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _jspf(
    entries: list[Entry], paths: list[bytes], name: str, date: str, *, absolute: bool
) -> bytes:
    tracks = []
    for entry, path in zip(entries, paths, strict=True):
        track: dict[str, object] = {"location": [_uri(path, absolute)]}
        if identifier := _recording(entry):
            track["identifier"] = identifier  # one URI: ListenBrainz refuses a list here
        fields = {"title": entry.title, "creator": entry.artist, "album": entry.album,
                  "annotation": entry.explanation()}  # fmt: skip
        track.update({key: value for key, value in fields.items() if value})
        if entry.duration:
            track["duration"] = round(entry.duration * 1000)
        extension: dict[str, object] = {
            "additional_metadata": {"mydiscover": {"score": entry.score,
                                                   "lead_signal": entry.lead,
                                                   "reasons": entry.reasons}},
        }  # fmt: skip
        if entry.artist_mbid:
            extension["artist_identifiers"] = [f"{MUSICBRAINZ}/artist/{entry.artist_mbid}"]
        track["extension"] = {JSPF_TRACK: extension}
        tracks.append(track)
    return _jspf_playlist(name, date, tracks)


@dataclass(frozen=True)
class RecordingTrack:
    """A recording to look for (not a file of the library): ``mydiscover explore``'s JSPF."""

    recording_mbid: str
    title: str
    artist: str
    artist_mbid: str
    album: str
    duration: float | None
    annotation: str


def recordings_jspf(name: str, date: str, tracks: list[RecordingTrack]) -> bytes:
    """A JSPF playlist of MusicBrainz recordings by identifier, with no locations, as
    ListenBrainz imports it (https://musicbrainz.org/doc/jspf); no field written empty."""
    listed = []
    for track in tracks:
        item: dict[str, object] = {"identifier": f"{MUSICBRAINZ}/recording/{track.recording_mbid}"}
        fields = {"title": track.title, "creator": track.artist, "album": track.album,
                  "annotation": track.annotation}  # fmt: skip
        item.update({key: value for key, value in fields.items() if value})
        if track.duration:
            item["duration"] = round(track.duration * 1000)
        if track.artist_mbid:
            item["extension"] = {JSPF_TRACK: {
                "artist_identifiers": [f"{MUSICBRAINZ}/artist/{track.artist_mbid}"]}}  # fmt: skip
        listed.append(item)
    return _jspf_playlist(name, date, listed)


def _jspf_playlist(name: str, date: str, tracks: list[dict[str, object]]) -> bytes:
    """The JSPF document around its tracks: title, creator, date and ListenBrainz's playlist
    extension (private)."""
    playlist: dict[str, object] = {"title": name, "creator": CREATOR}
    if date:
        playlist["date"] = date
    playlist["extension"] = {JSPF_PLAYLIST: {"creator": CREATOR, "public": False}}
    playlist["track"] = tracks
    return _json_bytes({"playlist": playlist})


def _json(
    entries: list[Entry], paths: list[bytes], name: str, meta: dict[str, object], *,
    absolute: bool,
) -> bytes:  # fmt: skip
    tracks = [
        {"location": _uri(path, absolute), "path": display_path(path), "artist": e.artist,
         "title": e.title, "album": e.album, "duration": e.duration, "score": e.score,
         "lead_signal": e.lead, "reasons": e.reasons}
        for e, path in zip(entries, paths, strict=True)
    ]  # fmt: skip
    return _json_bytes({"name": name, **meta, "tracks": tracks})


def _json_bytes(body: object) -> bytes:
    """Strict UTF-8 JSON (json.dumps escapes control characters itself)."""
    return (json.dumps(_no_surrogates(body), ensure_ascii=False, indent=2) + "\n").encode()


def _no_surrogates(value: object) -> object:
    """``value`` with lone surrogates (what undecodable tag bytes become) dropped from every
    string in it: UTF-8 cannot encode them."""
    if isinstance(value, str):
        return "".join(c for c in value if not "\ud800" <= c <= "\udfff")
    if isinstance(value, dict):
        return {_no_surrogates(key): _no_surrogates(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_no_surrogates(item) for item in value]
    return value


def _one_line(text: str) -> str:
    """Text for one M3U line: runs of whitespace, line breaks and control characters become
    one space."""
    printable = "".join(" " if unicodedata.category(c) == "Cc" else c for c in _xml_safe(text))
    return " ".join(printable.split())


def _xml_safe(text: str) -> str:
    """Only the characters XML 1.0 can hold: no control characters but tab and line breaks,
    no lone surrogates, no U+FFFE or U+FFFF."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or " " <= c < "\ud800" or (c >= "\ue000" and c not in "\ufffe\uffff")
    )
