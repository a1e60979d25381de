"""Playlist files: formats, path modes, and file names that are not UTF-8."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from mydiscover.playlists.write import Entry, playlist_path, render

LATIN1 = b"/music/Bj\xf6rk/Hom\xe9genic/01 Hunter.flac"  # a Latin-1 file name, not UTF-8


def entry(path: bytes, **fields) -> Entry:
    values = {"root": b"/music", "artist": "Björk", "title": "Hunter", "album": "Homogenic",
              "duration": 255.4, "score": 0.5, "lead": "cf",
              "reasons": {"cf": "because you play Portishead"}}  # fmt: skip
    return Entry(path, **{**values, **fields})


def test_m3u_keeps_the_bytes_of_a_non_utf8_file_name():
    data = render([entry(LATIN1)], "m3u", "Discover Weekly 2026-W48", "absolute", None)
    lines = data.split(b"\n")
    assert lines[:3] == [b"#EXTM3U", b"#PLAYLIST:Discover Weekly 2026-W48",
                         "#EXTINF:255,Björk - Hunter".encode()]  # fmt: skip
    assert lines[3] == LATIN1


def test_xspf_and_jspf_percent_encode_the_bytes():
    xspf = ElementTree.fromstring(render([entry(LATIN1)], "xspf", "W", "absolute", None))
    location = xspf.find("{http://xspf.org/ns/0/}trackList/{http://xspf.org/ns/0/}track/"
                         "{http://xspf.org/ns/0/}location").text  # fmt: skip
    assert location == "file:///music/Bj%F6rk/Hom%E9genic/01%20Hunter.flac"
    jspf = json.loads(render([entry(LATIN1)], "jspf", "W", "absolute", None))
    track = jspf["playlist"]["track"][0]
    assert track["location"] == [location] and track["duration"] == 255400
    assert track["annotation"] == "because you play Portishead"


def test_path_modes():
    item = entry(b"/music/a/b.flac")
    assert playlist_path(item, "absolute", None) == b"/music/a/b.flac"
    assert playlist_path(item, "music-root", None) == b"a/b.flac"
    assert playlist_path(item, "relative", Path("/music/lists")) == b"../a/b.flac"
    with pytest.raises(ValueError, match="--output"):
        playlist_path(item, "relative", None)


def test_control_characters_do_not_break_the_xml():
    data = render([entry(b"/m/x.flac", title="Bad\x07Title")], "xspf", "W", "absolute", None)
    title = ElementTree.fromstring(data).find(".//{http://xspf.org/ns/0/}track/"
                                              "{http://xspf.org/ns/0/}title")  # fmt: skip
    assert title.text == "BadTitle"


def test_unknown_duration_is_minus_one_in_m3u_and_absent_in_jspf():
    assert b"#EXTINF:-1," in render(
        [entry(b"/m/x.flac", duration=None)], "m3u", "W", "absolute", None
    )
    jspf = json.loads(render([entry(b"/m/x.flac", duration=None)], "jspf", "W", "absolute", None))
    assert "duration" not in jspf["playlist"]["track"][0]
