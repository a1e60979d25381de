"""Writing a playlist in one of the formats, with paths as the player needs them.

Path modes: ``absolute``; ``relative`` to the playlist file's folder (Navidrome, most players);
``music-root``, relative to the music folder the track was found in (MPD's playlist folder).
File names that are not valid UTF-8 keep their bytes in M3U (written with surrogate escapes)
and are percent-encoded byte for byte in XSPF/JSPF URIs.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

FORMATS = ("m3u", "xspf", "jspf", "json")
PATH_MODES = ("absolute", "relative", "music-root")
#: File names of the encoding they were found in: undecodable bytes as surrogates.
_FS = "surrogateescape"


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

    def explanation(self) -> str:
        """The reasons as one line: "because you play Slowdive; reviews say 'dreamy'"."""
        return "; ".join(self.reasons.values())


def check_options(fmt: str, mode: str, has_output: bool) -> None:
    """Refuse a format or path mode this module does not write, with a one-line ValueError."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")
    if mode not in PATH_MODES:
        raise ValueError(f"unknown path mode {mode!r}: choose from {', '.join(PATH_MODES)}")
    if mode == "relative" and not has_output:
        raise ValueError("--paths relative needs --output FILE (paths are relative to it)")


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
) -> bytes:  # fmt: skip
    """The playlist file's bytes."""
    paths = [playlist_path(entry, mode, playlist_folder) for entry in entries]
    if fmt == "m3u":
        return _m3u(entries, paths, name)
    if fmt == "xspf":
        return _xspf(entries, paths, name, absolute=mode == "absolute")
    if fmt == "jspf":
        return _jspf(entries, paths, name, absolute=mode == "absolute")
    if fmt == "json":
        return _json(entries, paths, name, meta or {})
    raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")


def _m3u(entries: list[Entry], paths: list[bytes], name: str) -> bytes:
    lines = ["#EXTM3U", f"#PLAYLIST:{name}"]
    for entry, path in zip(entries, paths, strict=True):
        seconds = round(entry.duration) if entry.duration else -1
        lines.append(f"#EXTINF:{seconds},{_one_line(entry.artist)} - {_one_line(entry.title)}")
        lines.append(os.fsdecode(path))
    return ("\n".join(lines) + "\n").encode("utf-8", _FS)


def _uri(path: bytes, absolute: bool) -> str:
    """A file URI (absolute) or a relative URI reference, percent-encoded byte for byte."""
    encoded = quote(path, safe="/")
    return f"file://{encoded}" if absolute else encoded


def _xspf(entries: list[Entry], paths: list[bytes], name: str, *, absolute: bool) -> bytes:
    namespace = "http://xspf.org/ns/0/"
    root = ElementTree.Element("playlist", version="1", xmlns=namespace)
    ElementTree.SubElement(root, "title").text = name
    tracks = ElementTree.SubElement(root, "trackList")
    for entry, path in zip(entries, paths, strict=True):
        track = ElementTree.SubElement(tracks, "track")
        ElementTree.SubElement(track, "location").text = _uri(path, absolute)
        fields = {"title": entry.title, "creator": entry.artist, "album": entry.album,
                  "annotation": entry.explanation()}  # fmt: skip
        for tag, value in fields.items():
            if value:
                ElementTree.SubElement(track, tag).text = _xml_safe(value)
        if entry.duration:
            ElementTree.SubElement(track, "duration").text = str(round(entry.duration * 1000))
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _jspf(entries: list[Entry], paths: list[bytes], name: str, *, absolute: bool) -> bytes:
    tracks = []
    for entry, path in zip(entries, paths, strict=True):
        track: dict[str, object] = {"location": [_uri(path, absolute)], "title": entry.title,
                                    "creator": entry.artist, "album": entry.album,
                                    "annotation": entry.explanation()}  # fmt: skip
        if entry.duration:
            track["duration"] = round(entry.duration * 1000)
        tracks.append(track)
    return (json.dumps({"playlist": {"title": name, "track": tracks}}, ensure_ascii=False,
                       indent=2) + "\n").encode("utf-8", _FS)  # fmt: skip


def _json(entries: list[Entry], paths: list[bytes], name: str, meta: dict[str, object]) -> bytes:
    tracks = [
        {"path": os.fsdecode(path), "artist": e.artist, "title": e.title, "album": e.album,
         "duration": e.duration, "score": e.score, "lead_signal": e.lead, "reasons": e.reasons}
        for e, path in zip(entries, paths, strict=True)
    ]  # fmt: skip
    body = {"name": name, **meta, "tracks": tracks}
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8", _FS)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot hold control characters or lone surrogates."""
    return "".join(c for c in text if c in "\t\n\r" or (c >= " " and not "\ud800" <= c <= "\udfff"))
