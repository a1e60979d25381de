"""Real audio files for tests and benchmarks: written with soundfile or PyAV, tagged with mutagen.

Each format gets the tag family real taggers (Picard, beets) write for it, so the reader is
tested against the same frames and atoms it meets in a real library.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import mutagen
import numpy as np
import soundfile
from mutagen import apev2, id3
from mutagen.asf import ASF
from mutagen.mp4 import MP4, MP4FreeForm

#: Formats soundfile writes (via libsndfile): extension -> (format, subtype, sample rate).
_SNDFILE = {
    ".wav": ("WAV", "PCM_16", 22050),
    ".flac": ("FLAC", "PCM_16", 22050),
    ".ogg": ("OGG", "VORBIS", 22050),
    ".opus": ("OGG", "OPUS", 48000),
    ".mp3": ("MP3", "MPEG_LAYER_III", 22050),
    ".aiff": ("AIFF", "PCM_16", 22050),
}
#: Formats PyAV's bundled FFmpeg encodes: extension -> (container, codec).
_FFMPEG = {".m4a": ("ipod", "aac"), ".wma": ("asf", "wmav2"), ".wv": ("wv", "wavpack")}
FORMATS = (*_SNDFILE, *_FFMPEG, ".ape")


def tone(seconds: float, sample_rate: int, frequency: float = 440.0) -> np.ndarray:
    """A quiet sine tone, float32 mono."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.2 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def write_audio(path: Path, seconds: float = 0.5, frequency: float = 440.0) -> Path:
    """Write a real, decodable audio file in the format its extension names."""
    ext = path.suffix.lower()
    if ext in _SNDFILE:
        fmt, subtype, rate = _SNDFILE[ext]
        soundfile.write(path, tone(seconds, rate, frequency), rate, format=fmt, subtype=subtype)
    elif ext in _FFMPEG:
        _write_ffmpeg(path, seconds, frequency)
    elif ext == ".ape":
        _write_monkeys_audio_header(path, seconds)
    else:
        raise ValueError(f"no writer for {ext}")
    return path


def _write_ffmpeg(path: Path, seconds: float, frequency: float) -> None:
    import av

    container_format, codec = _FFMPEG[path.suffix.lower()]
    rate = 44100
    samples = np.tile(tone(seconds, rate, frequency), (2, 1))
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "stereo"
        if codec == "wmav2":
            stream.bit_rate = 128_000
        sample_format = "s16p" if codec == "wavpack" else "fltp"
        for start in range(0, samples.shape[1], 2048):
            block = np.ascontiguousarray(samples[:, start : start + 2048])
            if sample_format == "s16p":
                block = (block * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(block, format=sample_format, layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _write_monkeys_audio_header(path: Path, seconds: float) -> None:
    """A Monkey's Audio (3.99) descriptor and header with no frames.

    No encoder for APE is on PyPI; tag reading needs only the header, which is the real layout.
    """
    rate, channels, bits = 44100, 2, 16
    blocks_per_frame = 73728 * 4
    total_blocks = int(seconds * rate)
    descriptor = (
        b"MAC " + struct.pack("<HH", 3990, 0) + struct.pack("<7I", 52, 24, 0, 0, 0, 0, 0)
    ) + bytes(16)  # MD5 of the (absent) audio
    header = struct.pack(
        "<HHIIIHHI", 2000, 0, blocks_per_frame, total_blocks, 1, bits, channels, rate
    )
    path.write_bytes(descriptor + header)


def tag(path: Path, **fields: Any) -> Path:
    """Write tags the way common taggers do for the file's format.

    Fields: title, artist (str or list), album, album_artist, track ("3/12"), disc, date, genre,
    mb_recording_id, mb_release_id, mb_artist_id, isrc, rating (0..1), play_count.
    """
    ext = path.suffix.lower()
    if ext in (".mp3", ".wav", ".aiff"):
        _tag_id3(path, fields)
    elif ext in (".flac", ".ogg", ".opus"):
        _tag_vorbis(path, fields)
    elif ext == ".m4a":
        _tag_mp4(path, fields)
    elif ext == ".wma":
        _tag_asf(path, fields)
    elif ext in (".wv", ".ape"):
        _tag_ape(path, fields)
    else:
        raise ValueError(f"no tagger for {ext}")
    return path


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _tag_id3(path: Path, fields: dict[str, Any]) -> None:
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    frames = {"title": id3.TIT2, "artist": id3.TPE1, "album": id3.TALB, "album_artist": id3.TPE2,
              "track": id3.TRCK, "disc": id3.TPOS, "date": id3.TDRC, "genre": id3.TCON,
              "isrc": id3.TSRC}  # fmt: skip
    txxx = {"mb_release_id": "MusicBrainz Album Id", "mb_artist_id": "MusicBrainz Artist Id"}
    for name, value in fields.items():
        if name in frames:
            tags.add(frames[name](encoding=3, text=_as_list(value)))
        elif name in txxx:
            tags.add(id3.TXXX(encoding=3, desc=txxx[name], text=_as_list(value)))
        elif name == "mb_recording_id":
            tags.add(id3.UFID(owner="http://musicbrainz.org", data=str(value).encode()))
    if "rating" in fields or "play_count" in fields:
        rating = round(float(fields.get("rating", 0)) * 255)
        tags.add(id3.POPM(email="no@email", rating=rating, count=int(fields.get("play_count", 0))))
    audio.save()


_VORBIS_KEYS = {"title": "TITLE", "artist": "ARTIST", "album": "ALBUM",
                "album_artist": "ALBUMARTIST", "track": "TRACKNUMBER", "disc": "DISCNUMBER",
                "date": "DATE", "genre": "GENRE", "mb_recording_id": "MUSICBRAINZ_TRACKID",
                "mb_release_id": "MUSICBRAINZ_ALBUMID", "mb_artist_id": "MUSICBRAINZ_ARTISTID",
                "isrc": "ISRC", "rating": "FMPS_RATING",
                "play_count": "FMPS_PLAYCOUNT"}  # fmt: skip


def _tag_vorbis(path: Path, fields: dict[str, Any]) -> None:
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    for name, value in fields.items():
        audio[_VORBIS_KEYS[name]] = _as_list(value)
    audio.save()


def _tag_ape(path: Path, fields: dict[str, Any]) -> None:
    keys = {**_VORBIS_KEYS, "title": "Title", "artist": "Artist", "album": "Album",
            "album_artist": "Album Artist", "track": "Track", "disc": "Disc", "date": "Year",
            "genre": "Genre"}  # fmt: skip
    try:
        tags = apev2.APEv2(path)
    except apev2.APENoHeaderError:
        tags = apev2.APEv2()
    for name, value in fields.items():
        tags[keys[name]] = "\0".join(_as_list(value))
    tags.save(path)


def _tag_mp4(path: Path, fields: dict[str, Any]) -> None:
    audio = MP4(path)
    if audio.tags is None:
        audio.add_tags()
    atoms = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb", "album_artist": "aART",
             "date": "\xa9day", "genre": "\xa9gen"}  # fmt: skip
    freeform = {"mb_recording_id": "MusicBrainz Track Id", "mb_release_id": "MusicBrainz Album Id",
                "mb_artist_id": "MusicBrainz Artist Id", "isrc": "ISRC"}  # fmt: skip
    for name, value in fields.items():
        if name in atoms:
            audio[atoms[name]] = _as_list(value)
        elif name in freeform:
            key = "----:com.apple.iTunes:" + freeform[name]
            audio[key] = [MP4FreeForm(v.encode()) for v in _as_list(value)]
        elif name in ("track", "disc"):
            number, _, total = str(value).partition("/")
            audio["trkn" if name == "track" else "disk"] = [(int(number), int(total or 0))]
    audio.save()


def _tag_asf(path: Path, fields: dict[str, Any]) -> None:
    audio = ASF(path)
    keys = {"title": "Title", "artist": "Author", "album": "WM/AlbumTitle",
            "album_artist": "WM/AlbumArtist", "track": "WM/TrackNumber", "disc": "WM/PartOfSet",
            "date": "WM/Year", "genre": "WM/Genre", "mb_recording_id": "MusicBrainz/Track Id",
            "mb_release_id": "MusicBrainz/Album Id", "mb_artist_id": "MusicBrainz/Artist Id",
            "isrc": "WM/ISRC"}  # fmt: skip
    for name, value in fields.items():
        audio[keys[name]] = _as_list(value)
    audio.save()


def make_track(path: Path, seconds: float = 0.5, frequency: float = 440.0, **fields: Any) -> Path:
    """Write an audio file and tag it; parent folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(path, seconds, frequency)
    return tag(path, **fields) if fields else path
