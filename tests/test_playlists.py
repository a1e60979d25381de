"""Playlist files: formats, path modes, and file names that are not UTF-8."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from lxml import etree

from mydiscover.paths import display_path
from mydiscover.playlists.write import (
    FORMATS,
    PATH_MODES,
    Entry,
    check_options,
    playlist_path,
    render,
)

LATIN1 = b"/music/Bj\xf6rk/Hom\xe9genic/01 Hunter.flac"  # a Latin-1 file name, not UTF-8


def entry(path: bytes, **fields) -> Entry:
    values = {"root": b"/music", "artist": "Björk", "title": "Hunter", "album": "Homogenic",
              "duration": 255.4, "score": 0.5, "lead": "cf",
              "reasons": {"cf": "because you play Portishead"}}  # fmt: skip
    return Entry(path, **{**values, **fields})


def test_m3u_keeps_the_bytes_of_a_non_utf8_file_name():
    data = render([entry(LATIN1)], "m3u", "Discover Weekly 2026-W48", "absolute", None).data
    lines = data.split(b"\n")
    assert lines[:3] == [b"#EXTM3U", b"#PLAYLIST:Discover Weekly 2026-W48",
                         "#EXTINF:255,Björk - Hunter".encode()]  # fmt: skip
    assert lines[3] == LATIN1


def test_xspf_and_jspf_percent_encode_the_bytes():
    xspf = ElementTree.fromstring(render([entry(LATIN1)], "xspf", "W", "absolute", None).data)
    location = xspf.find("{http://xspf.org/ns/0/}trackList/{http://xspf.org/ns/0/}track/"
                         "{http://xspf.org/ns/0/}location").text  # fmt: skip
    assert location == "file:///music/Bj%F6rk/Hom%E9genic/01%20Hunter.flac"
    jspf = json.loads(render([entry(LATIN1)], "jspf", "W", "absolute", None).data)
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
    data = render([entry(b"/m/x.flac", title="Bad\x07Title")], "xspf", "W", "absolute", None).data
    title = ElementTree.fromstring(data).find(".//{http://xspf.org/ns/0/}track/"
                                              "{http://xspf.org/ns/0/}title")  # fmt: skip
    assert title.text == "BadTitle"


def test_unknown_duration_is_minus_one_in_m3u_and_absent_in_jspf():
    m3u = render([entry(b"/m/x.flac", duration=None)], "m3u", "W", "absolute", None).data
    assert b"#EXTINF:-1," in m3u
    jspf = json.loads(
        render([entry(b"/m/x.flac", duration=None)], "jspf", "W", "absolute", None).data
    )
    assert "duration" not in jspf["playlist"]["track"][0]


INJECTION = b"/music/evil\n#EXTINF:0,Injected\nINJECTED.flac"


@pytest.mark.parametrize("mode", PATH_MODES)
def test_m3u_leaves_out_a_path_that_would_forge_lines(mode):
    hostile = [
        INJECTION,
        b"/music/a\rb.flac",
        b"/music/bell\x07.flac",
        b"/music/ls\xe2\x80\xa8.flac",
    ]
    good = entry(b"/music/good.flac")
    rendered = render([good, *map(entry, hostile)], "m3u", "W", mode, Path("/music"))
    assert rendered.data.count(b"#EXTINF") == 1 and b"Injected" not in rendered.data
    assert rendered.data.splitlines()[-1] == playlist_path(good, mode, Path("/music"))
    assert rendered.entries == [good]
    assert [s.entry.path for s in rendered.skipped] == hostile
    messages = [skipped.message() for skipped in rendered.skipped]
    assert messages[0].startswith("left out /music/evil\\n#EXTINF:0,Injected\\nINJECTED.flac: ")
    assert all(len(message.splitlines()) == 1 for message in messages)


@pytest.mark.parametrize("mode", ["relative", "music-root"])
def test_m3u_leaves_out_a_relative_path_read_as_a_directive(mode):
    rendered = render([entry(b"/music/#EXTINF:1,x.flac")], "m3u", "W", mode, Path("/music"))
    assert rendered.entries == [] and b"#EXTINF" not in rendered.data
    assert "'#'" in rendered.skipped[0].reason


def test_xspf_jspf_and_json_keep_such_tracks_with_exact_uris():
    for fmt in ("xspf", "jspf", "json"):
        rendered = render([entry(INJECTION)], fmt, "W", "absolute", None)
        assert rendered.skipped == [] and b"#EXTINF:0,Injected\n" not in rendered.data
    track = json.loads(render([entry(INJECTION)], "json", "W", "absolute", None).data)["tracks"][0]
    assert unquote_to_bytes(track["location"].removeprefix("file://")) == INJECTION
    assert track["path"] == INJECTION.decode()


#: Names and tags a hostile or broken library holds.
HOSTILE_TEXT = ["\ud800", "\udcff", "\ufffe", "\uffff", "\x00", "\x07", "\x1b[31m", "\r\n",
                "\u2028", "\x85", "]]>", "<&>'\"", "#EXTINF:1,x", "\U0001f3b5", "\t"]  # fmt: skip
HOSTILE_NAMES = [b"\xff\xfe", b"\xed\xa0\x80", b"\xef\xbf\xbe", b"%41", b"#x", b"a\x00b",
                 b"\\", b"a b?c#d", INJECTION.rsplit(b"/", 1)[1]]  # fmt: skip


def hostile_cases(count: int = 150) -> list[tuple[bytes, str]]:
    """(file name, tag) pairs: the fixed lists, then random code points and bytes."""
    chooser = random.Random(20260921)
    cases = [(name, text) for name in HOSTILE_NAMES for text in HOSTILE_TEXT[:3]]
    cases += [(b"n.flac", text) for text in HOSTILE_TEXT]
    for _ in range(count):
        text = "".join(chr(chooser.choice([chooser.randrange(0x110000), chooser.randrange(0x80)]))
                       for _ in range(chooser.randrange(1, 8)))  # fmt: skip
        name = bytes(chooser.randrange(1, 256) for _ in range(chooser.randrange(1, 8)))
        cases.append((name.replace(b"/", b"_"), text))
    return cases


def parse_strictly(fmt: str, data: bytes) -> None:
    """Fail unless ``data`` passes a strict parser of its format."""
    if fmt == "xspf":
        etree.fromstring(data)
    elif fmt in ("jspf", "json"):
        json.loads(data.decode("utf-8", "strict"))
    else:  # M3U keeps path bytes, but its tag lines must be text
        lines = data.split(b"\n")
        assert lines[-1] == b"" and all(
            line.decode("utf-8", "strict") for line in lines if line.startswith(b"#")
        )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", PATH_MODES)
def test_every_output_passes_a_strict_parser_for_any_name_and_tag(fmt, mode):
    for name, text in hostile_cases():
        path = b"/music/" + name
        item = entry(path, artist=text, title=text, album=text, reasons={"cf": text}, lead=text)
        rendered = render([item], fmt, f"W {text}", mode, Path("/music/lists"), {"note": text})
        parse_strictly(fmt, rendered.data)
        if fmt == "m3u" and rendered.entries:
            lines = rendered.data.split(b"\n")
            assert len(lines) == 5 and lines[3] == playlist_path(item, mode, Path("/music/lists"))
        elif fmt != "m3u":
            assert rendered.entries == [item]
        if fmt == "json":
            track = json.loads(rendered.data)["tracks"][0]
            exact = unquote_to_bytes(track["location"].removeprefix("file://"))
            assert exact == playlist_path(item, mode, Path("/music/lists"))
            assert track["path"] == display_path(exact)


def test_a_non_utf8_name_is_valid_json_with_its_bytes_in_the_location():
    latin1 = json.loads(render([entry(LATIN1)], "json", "W", "absolute", None).data)["tracks"][0]
    assert latin1["location"] == "file:///music/Bj%F6rk/Hom%E9genic/01%20Hunter.flac"
    assert latin1["path"] == display_path(LATIN1) == "/music/Bj\\xf6rk/Hom\\xe9genic/01 Hunter.flac"


RECORDING = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"
ARTIST = "b795a8a0-ed2b-4c8e-8be0-1b1b9a6e7d12"


def test_jspf_follows_listenbrainz_conventions():
    tagged = entry(b"/m/a.flac", recording_mbid=RECORDING, artist_mbid=ARTIST)
    bare = entry(b"/m/b.flac", album="", reasons={})
    data = render([tagged, bare], "jspf", "W", "absolute", None,
                  {"date": "2026-11-23T06:00:00+00:00"}).data  # fmt: skip
    playlist = json.loads(data)["playlist"]
    assert playlist["creator"] == "mydiscover" and playlist["date"] == "2026-11-23T06:00:00+00:00"
    assert playlist["extension"]["https://musicbrainz.org/doc/jspf#playlist"]["public"] is False
    first, second = playlist["track"]
    assert first["identifier"] == f"https://musicbrainz.org/recording/{RECORDING}"
    extension = first["extension"]["https://musicbrainz.org/doc/jspf#track"]
    assert extension["artist_identifiers"] == [f"https://musicbrainz.org/artist/{ARTIST}"]
    assert extension["additional_metadata"]["mydiscover"]["reasons"] == tagged.reasons
    assert "identifier" not in second and "annotation" not in second and "album" not in second
    assert "" not in [value for track in playlist["track"] for value in track.values()]


def test_xspf_carries_identifiers_creator_and_date_and_validates():
    tagged = entry(b"/m/a.flac", recording_mbid=RECORDING)
    data = render([tagged, entry(b"/m/b.flac", reasons={})], "xspf", "W", "absolute", None,
                  {"date": "2026-11-23T06:00:00+00:00"}).data  # fmt: skip
    root = etree.fromstring(data)
    ns = {"x": "http://xspf.org/ns/0/"}
    assert root.findtext("x:creator", namespaces=ns) == "mydiscover"
    assert root.findtext("x:date", namespaces=ns) == "2026-11-23T06:00:00+00:00"
    tracks = root.findall("x:trackList/x:track", ns)
    assert tracks[0].findtext("x:identifier", namespaces=ns) == (
        f"https://musicbrainz.org/recording/{RECORDING}")  # fmt: skip
    assert tracks[1].find("x:identifier", ns) is None and tracks[1].find("x:annotation", ns) is None
    # XSPF v1 orders a track's elements: location, identifier, title, creator, annotation, ...
    order = [etree.QName(child).localname for child in tracks[0]]
    assert order == ["location", "identifier", "title", "creator", "annotation", "album",
                     "duration"]  # fmt: skip


def test_music_root_paths_are_for_m3u_only():
    check_options("m3u", "music-root", False)
    for fmt in ("xspf", "jspf"):
        with pytest.raises(ValueError, match="music-root is for M3U"):
            check_options(fmt, "music-root", True)
