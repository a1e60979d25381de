"""Reading tags and stream info from real files of every supported format."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutagen import id3
from mutagen.flac import FLAC

from mydiscover.library.tags import (
    UnreadableAudio,
    clean_text,
    parse_number_pair,
    parse_rating,
    parse_year,
    read_tags,
)
from tests.library_factory import FORMATS, make_track, write_audio

FULL_TAGS = {
    "title": "Título — Ünïcode",
    "artist": ["Slowdive", "Neil Halstead"],
    "album": "Souvlaki",
    "album_artist": "Slowdive",
    "track": "3/12",
    "disc": "1/2",
    "date": "1993-05-17",
    "genre": "Shoegaze",
    "mb_recording_id": "8E8D1D2A-5B62-4F3E-9D7C-1A2B3C4D5E6F",
    "mb_release_id": "0f0e0d0c-0b0a-0908-0706-050403020100",
    "mb_artist_id": "6a3b4c5d-6e7f-8091-a2b3-c4d5e6f70819",
    "isrc": "GBAAA9300123",
}
EXPECTED_FORMAT = {".wav": "wav", ".flac": "flac", ".ogg": "vorbis", ".opus": "opus",
                   ".mp3": "mp3", ".aiff": "aiff", ".m4a": "aac", ".wma": "wma",
                   ".wv": "wavpack", ".ape": "ape"}  # fmt: skip


@pytest.mark.parametrize("ext", FORMATS)
def test_every_format_reads_tags_and_stream_info(tmp_path: Path, ext: str) -> None:
    path = make_track(tmp_path / f"song{ext}", seconds=1.0, **FULL_TAGS)

    tags = read_tags(path)

    assert tags.format == EXPECTED_FORMAT[ext]
    assert tags.title == "Título — Ünïcode"
    assert tags.artist == "Slowdive; Neil Halstead"
    assert tags.album == "Souvlaki"
    assert tags.album_artist == "Slowdive"
    assert (tags.track_number, tags.track_total) == (3, 12)
    assert (tags.disc_number, tags.disc_total) == (1, 2)
    assert tags.date == "1993-05-17"
    assert tags.year == 1993
    assert tags.genre == "Shoegaze"
    assert tags.mb_recording_id == "8e8d1d2a-5b62-4f3e-9d7c-1a2b3c4d5e6f"
    assert tags.mb_release_id == "0f0e0d0c-0b0a-0908-0706-050403020100"
    assert tags.mb_artist_id == "6a3b4c5d-6e7f-8091-a2b3-c4d5e6f70819"
    assert tags.isrc == "GBAAA9300123"
    assert tags.duration == pytest.approx(1.0, abs=0.1)
    assert tags.channels in (1, 2)


@pytest.mark.parametrize("ext", [".mp3", ".flac", ".wv"])
def test_rating_and_play_count(tmp_path: Path, ext: str) -> None:
    # POPM for ID3, FMPS_Rating / FMPS_Playcount for Vorbis comments and APEv2.
    path = make_track(tmp_path / f"rated{ext}", title="x", rating=0.8, play_count=17)

    tags = read_tags(path)

    assert tags.rating == pytest.approx(0.8, abs=0.01)
    assert tags.play_count == 17


def test_untagged_file_still_has_stream_info(tmp_path: Path) -> None:
    tags = read_tags(write_audio(tmp_path / "bare.flac", seconds=2.0))

    assert tags.title is None and tags.artist is None
    assert tags.duration == pytest.approx(2.0, abs=0.01)
    assert tags.sample_rate == 22050
    assert tags.bits_per_sample == 16


def test_utf8_mislabelled_as_latin1_is_repaired(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "mojibake.mp3")
    tags = id3.ID3()
    # What many old taggers did: UTF-8 bytes in a frame declared Latin-1 (encoding 0).
    tags.add(id3.TPE1(encoding=0, text="Björk".encode().decode("latin-1")))
    tags.add(id3.TIT2(encoding=0, text="Beyoncé"))  # genuine Latin-1 stays as it is
    tags.add(id3.TCON(encoding=0, text="(17)"))  # ID3v1 genre number
    tags.save(path)

    read = read_tags(path)

    assert read.artist == "Björk"
    assert read.title == "Beyoncé"
    assert read.genre == "Rock"


def test_utf16_tags_and_nul_padding(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "utf16.mp3")
    tags = id3.ID3()
    tags.add(id3.TIT2(encoding=1, text="日本語のタイトル\x00"))
    tags.add(id3.TALB(encoding=2, text="  Spaced   out  "))
    tags.save(path)

    read = read_tags(path)

    assert read.title == "日本語のタイトル"
    assert read.album == "Spaced out"


def test_vorbis_track_total_in_separate_field(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "t.flac")
    audio = FLAC(path)
    audio["TRACKNUMBER"] = "07"
    audio["TRACKTOTAL"] = "10"
    audio["DISCNUMBER"] = "2"
    audio["TOTALDISCS"] = "3"
    audio.save()

    read = read_tags(path)

    assert (read.track_number, read.track_total, read.disc_number, read.disc_total) == (
        7,
        10,
        2,
        3,
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"this is not audio at all, just text" * 10, "text"),
        (b"fLaC\x00\x00\x00\x22" + b"\x00" * 10, "truncated header"),
    ],
)
def test_unreadable_files_raise_one_line_reason(tmp_path: Path, content: bytes, reason) -> None:
    path = tmp_path / "broken.flac"
    path.write_bytes(content)

    with pytest.raises(UnreadableAudio) as caught:
        read_tags(path)

    message = str(caught.value)
    assert message and "\n" not in message, reason


def test_truncated_mp3_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "cut.mp3", seconds=1.0)
    path.write_bytes(path.read_bytes()[:100])

    with pytest.raises(UnreadableAudio):
        read_tags(path)


def test_missing_file_reports_os_reason(tmp_path: Path) -> None:
    with pytest.raises(UnreadableAudio, match="No such file"):
        read_tags(tmp_path / "nope.mp3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3/12", (3, 12)), ("3", (3, None)), (" 07 / 10", (7, 10)), ("A1", (None, None)),
     ("", (None, None)), (None, (None, None)), ("0/0", (None, None))],
)  # fmt: skip
def test_parse_number_pair(text, expected) -> None:
    assert parse_number_pair(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1993-05-17", 1993), ("1993", 1993), ("17.05.1993", 1993), ("0000", None),
     ("12345", None), (None, None)],
)  # fmt: skip
def test_parse_year(text, expected) -> None:
    assert parse_year(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.8", 0.8), ("4", 0.8), ("80", 0.8), ("204", 0.8), ("0", None), ("-1", None),
     ("x", None), ("300", None)],
)  # fmt: skip
def test_parse_rating_understands_every_scale(text, expected) -> None:
    assert parse_rating(text) == (pytest.approx(expected) if expected else None)


def test_clean_text() -> None:
    assert clean_text(b"bytes \xff value") == "bytes \ufffd value"
    assert clean_text("\ud800lone surrogate") == "?lone surrogate"
    assert clean_text("   ") is None


def test_file_with_a_lying_extension_is_read_by_its_content(tmp_path: Path) -> None:
    flac = make_track(tmp_path / "real.flac", title="Really FLAC")
    liar = flac.rename(tmp_path / "liar.mp3")

    tags = read_tags(liar)

    assert (tags.format, tags.title) == ("flac", "Really FLAC")


def test_involved_people_frames_and_binary_asf_values_are_not_text(tmp_path: Path) -> None:
    from mutagen.asf import ASF, ASFBoolAttribute, ASFByteArrayAttribute

    mp3 = write_audio(tmp_path / "credits.mp3")
    tags = id3.ID3()
    tags.add(id3.TIT2(encoding=3, text="Credited"))
    tags.add(id3.TIPL(encoding=3, people=[["producer", "Brian Eno"]]))  # Picard writes these
    tags.add(id3.TMCL(encoding=3, people=[["guitar", "Neil Halstead"]]))
    tags.save(mp3)
    wma = make_track(tmp_path / "binary.wma", title="Binary")
    audio = ASF(wma)
    audio["WM/AlbumTitle"] = [ASFByteArrayAttribute(b"\x00\xffbin")]
    audio["Author"] = [ASFBoolAttribute(True)]
    audio.save()

    assert read_tags(mp3).title == "Credited"
    binary = read_tags(wma)
    assert (binary.title, binary.album, binary.artist) == ("Binary", None, None)


def test_absurd_numbers_are_dropped_not_stored(tmp_path: Path) -> None:
    assert parse_number_pair("99999999999999999999") == (None, None)
    assert parse_number_pair("12/99999999999") == (12, None)
    path = write_audio(tmp_path / "count.mp3")
    tags = id3.ID3()
    tags.add(id3.POPM(email="x", rating=255, count=2**70))
    tags.save(path)

    read = read_tags(path)

    assert (read.rating, read.play_count) == (1.0, None)


def test_the_walk_and_the_tag_reader_know_the_same_audio_files():
    from mydiscover.library import tags
    from mydiscover.library.walk import AUDIO_EXTENSIONS

    assert set(tags._KINDS_BY_EXTENSION) == AUDIO_EXTENSIONS
