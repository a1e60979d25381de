"""Reading tags and stream information with mutagen into one flat :class:`Tags` record.

Every tag family (ID3, Vorbis comments, APEv2, ASF, MP4) is first flattened to a dict of
lower-case key -> list of strings, then one key map per family picks the fields. Adding a field
is one line in each map, not a new code path per format.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

import mutagen
from mutagen.aac import AAC
from mutagen.aiff import AIFF
from mutagen.asf import (
    ASF,
    ASFDWordAttribute,
    ASFQWordAttribute,
    ASFUnicodeAttribute,
    ASFWordAttribute,
)
from mutagen.flac import FLAC
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from mutagen.wavpack import WavPack

from mydiscover.files import open_regular_file
from mydiscover.library.values import MULTI_VALUE_SEPARATOR, Tags

_OGG = (OggVorbis, OggOpus, OggFLAC, OggSpeex)
#: The mutagen classes a file with this ending is expected to be, most likely first.
_KINDS_BY_EXTENSION: dict[str, tuple[type, ...]] = {
    ".mp3": (MP3,),
    ".flac": (FLAC,),
    ".ogg": _OGG,
    ".oga": _OGG,
    ".opus": (OggOpus,),
    ".m4a": (MP4,),
    ".m4b": (MP4,),
    ".mp4": (MP4,),
    ".alac": (MP4,),
    ".aac": (AAC, MP4),
    ".wav": (WAVE,),
    ".aif": (AIFF,),
    ".aiff": (AIFF,),
    ".aifc": (AIFF,),
    ".wma": (ASF,),
    ".asf": (ASF,),
    ".wv": (WavPack,),
    ".ape": (MonkeysAudio,),
}

_ALL_KINDS = tuple(dict.fromkeys(kind for kinds in _KINDS_BY_EXTENSION.values() for kind in kinds))


#: mutagen's class name -> the format name stored in the catalog.
_FORMAT_BY_CLASS = {
    "MP3": "mp3",
    "EasyMP3": "mp3",
    "FLAC": "flac",
    "OggFLAC": "flac",
    "OggVorbis": "vorbis",
    "OggOpus": "opus",
    "OggSpeex": "speex",
    "AAC": "aac",
    "WAVE": "wav",
    "AIFF": "aiff",
    "ASF": "wma",
    "WavPack": "wavpack",
    "MonkeysAudio": "ape",
    "TrueAudio": "tta",
    "Musepack": "musepack",
    "DSF": "dsf",
    "DSDIFF": "dsdiff",
}


class UnreadableAudio(Exception):
    """The file could not be read as audio; the message says why, in one line."""


# Field -> keys to try, in order, in the flattened view of each tag family.
_COMMON_FIELDS = {
    "mb_recording_id": ["musicbrainz_trackid"],
    "mb_release_id": ["musicbrainz_albumid"],
    "mb_artist_id": ["musicbrainz_artistid"],
    "mb_album_artist_id": ["musicbrainz_albumartistid"],
    "isrc": ["isrc"],
    "rating": ["fmps_rating", "rating"],
    "play_count": ["fmps_playcount", "play_count", "playcount"],
}
_VORBIS_KEYS = {
    "title": ["title"],
    "artist": ["artist"],
    "album": ["album"],
    "album_artist": ["albumartist", "album artist", "album_artist"],
    "track": ["tracknumber"],
    "track_total": ["tracktotal", "totaltracks"],
    "disc": ["discnumber"],
    "disc_total": ["disctotal", "totaldiscs"],
    "date": ["date", "originaldate", "year"],
    "genre": ["genre"],
    **_COMMON_FIELDS,
}
_APE_KEYS = {**_VORBIS_KEYS, "track": ["track"], "disc": ["disc"], "date": ["year", "date"]}
_ID3_KEYS = {
    "title": ["tit2"],
    "artist": ["tpe1"],
    "album": ["talb"],
    "album_artist": ["tpe2"],
    "track": ["trck"],
    "disc": ["tpos"],
    "date": ["tdrc", "tdor"],
    "genre": ["tcon"],
    "mb_recording_id": ["ufid:http://musicbrainz.org"],
    "mb_release_id": ["txxx:musicbrainz album id"],
    "mb_artist_id": ["txxx:musicbrainz artist id"],
    "mb_album_artist_id": ["txxx:musicbrainz album artist id"],
    "isrc": ["tsrc"],
    "rating": ["popm:rating", "txxx:fmps_rating"],
    "play_count": ["popm:count", "txxx:fmps_playcount"],
}
_MP4_FREEFORM = "----:com.apple.itunes:"
_MP4_KEYS = {
    "title": ["©nam"],
    "artist": ["©art"],
    "album": ["©alb"],
    "album_artist": ["aart"],
    "track": ["trkn"],
    "disc": ["disk"],
    "date": ["©day"],
    "genre": ["©gen", "gnre"],
    "mb_recording_id": [_MP4_FREEFORM + "musicbrainz track id"],
    "mb_release_id": [_MP4_FREEFORM + "musicbrainz album id"],
    "mb_artist_id": [_MP4_FREEFORM + "musicbrainz artist id"],
    "mb_album_artist_id": [_MP4_FREEFORM + "musicbrainz album artist id"],
    "isrc": [_MP4_FREEFORM + "isrc"],
    "rating": [_MP4_FREEFORM + "fmps_rating"],
    "play_count": [_MP4_FREEFORM + "fmps_playcount"],
}
_ASF_KEYS = {
    "title": ["title"],
    "artist": ["author", "wm/albumartist"],
    "album": ["wm/albumtitle"],
    "album_artist": ["wm/albumartist"],
    "track": ["wm/tracknumber", "wm/track"],
    "disc": ["wm/partofset"],
    "date": ["wm/year", "wm/originalreleaseyear"],
    "genre": ["wm/genre"],
    "mb_recording_id": ["musicbrainz/track id"],
    "mb_release_id": ["musicbrainz/album id"],
    "mb_artist_id": ["musicbrainz/artist id"],
    "mb_album_artist_id": ["musicbrainz/album artist id"],
    "isrc": ["wm/isrc"],
    "rating": ["fmps/rating", "wm/shareduserrating"],
    "play_count": ["fmps/playcount"],
}


def clean_text(value: object) -> str | None:
    """A tag value as clean one-line text, or ``None`` when nothing is left.

    Repairs the commonest encoding accident: UTF-8 bytes stored in a frame labelled Latin-1
    (they decode to mojibake like ``BjÃ¶rk``). Drops NULs and lone surrogates, which SQLite
    cannot store as text.
    """
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if text.isascii():
        return " ".join(text.replace("\x00", " ").split()) or None
    if max(text) <= "\xff":
        # Genuine Latin-1 text such as "Beyoncé" is not valid UTF-8 and stays as it is.
        with contextlib.suppress(UnicodeError):
            text = text.encode("latin-1").decode("utf-8")
    text = text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8").strip()
    return " ".join(text.split()) or None


def _join(values: Iterable[object]) -> str | None:
    cleaned: list[str] = []
    for value in values:
        text = clean_text(value)
        if text and text not in cleaned:
            cleaned.append(text)
    return MULTI_VALUE_SEPARATOR.join(cleaned) or None


# At most five digits: no release has 100,000 tracks, and SQLite integers have a limit.
_NUMBER_PAIR = re.compile(r"^\s*(\d{1,5})(?!\d)\s*(?:/\s*(\d{1,5})(?!\d))?")

#: The largest count stored; anything above is a broken tag, not a count.
MAX_COUNT = 2**31 - 1


def parse_number_pair(text: str | None) -> tuple[int | None, int | None]:
    """``"3/12"`` -> ``(3, 12)``; ``"3"`` -> ``(3, None)``; junk -> ``(None, None)``."""
    match = _NUMBER_PAIR.match(text or "")
    if not match:
        return None, None
    number = int(match.group(1))
    total = int(match.group(2)) if match.group(2) else None
    return (number or None), (total or None)


def parse_year(date: str | None) -> int | None:
    """The year a date tag names, if it names a plausible one."""
    match = re.search(r"(?<!\d)(\d{4})(?!\d)", date or "")
    if match and 1000 <= int(match.group(1)) <= 2999:
        return int(match.group(1))
    return None


def parse_rating(text: str | None) -> float | None:
    """A rating on 0..1, whatever scale the tag used (0-1, 0-5 stars, 0-100, POPM's 0-255)."""
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    if value is None or value <= 0:
        return None
    for scale in (1, 5, 100, 255):
        if value <= scale:
            return round(value / scale, 4)
    return None


def parse_count(text: str | None) -> int | None:
    """A play count tag as a non-negative integer (FMPS stores it as a decimal)."""
    try:
        count = int(float(text)) if text is not None else None
    except (ValueError, OverflowError):
        return None
    return count if count is not None and 0 <= count <= MAX_COUNT else None


def _flatten_id3(tags: Any) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for frame in tags.values():
        frame_id = frame.FrameID
        if frame_id == "TXXX":
            flat["txxx:" + frame.desc.lower()] = list(frame.text)
        elif frame_id == "UFID":
            flat["ufid:" + frame.owner.lower()] = [frame.data]
        elif frame_id == "POPM":
            if getattr(frame, "rating", 0) and "popm:rating" not in flat:
                flat["popm:rating"] = [str(frame.rating)]
            if getattr(frame, "count", None) is not None and "popm:count" not in flat:
                flat["popm:count"] = [str(frame.count)]
        elif frame_id == "TCON":
            flat["tcon"] = list(frame.genres)
        elif frame_id.startswith("T") and hasattr(frame, "text"):  # not TIPL/TMCL pairs
            flat[frame_id.lower()] = [str(text) for text in frame.text]
    return flat


def _flatten_vorbis(tags: Any) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for key, value in tags:  # (key, value) pairs; one pass, unlike the dict interface
        flat.setdefault(key.lower(), []).append(value)
    return flat


def _flatten_ape(tags: Any) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for key, value in tags.items():
        if value.kind == 0:  # text; binary and external-reference items carry no tag text
            flat[key.lower()] = list(value)
    return flat


def _flatten_asf(tags: Any) -> dict[str, list[str]]:
    # Text and whole numbers only: byte arrays, GUIDs and booleans are not tag text.
    return {
        key.lower(): [str(item.value) for item in values if item.TYPE in _ASF_TEXT_TYPES]
        for key, values in tags.items()
    }


_ASF_TEXT_TYPES = frozenset(
    cls.TYPE
    for cls in (ASFUnicodeAttribute, ASFDWordAttribute, ASFQWordAttribute, ASFWordAttribute)
)


def _flatten_mp4(tags: Any) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for key, values in tags.items():
        if key in ("trkn", "disk"):
            flat[key] = [f"{number}/{total}" for number, total in values]
        elif key == "gnre":  # ID3v1 genre number + 1, from old iTunes files
            flat[key] = [_id3v1_genre(values[0] - 1)] if values else []
        elif key.startswith("----:"):
            flat[key.lower()] = [bytes(value).decode("utf-8", "replace") for value in values]
        elif key.startswith("©") or key == "aART":
            flat[key.lower()] = [str(value) for value in values if isinstance(value, str)]
    return flat


def _id3v1_genre(index: int) -> str:
    from mutagen._constants import GENRES

    return GENRES[index] if 0 <= index < len(GENRES) else ""


_FAMILIES: list[tuple[str, Callable[[Any], dict[str, list[str]]], dict[str, list[str]]]] = [
    ("ID3", _flatten_id3, _ID3_KEYS),
    ("VComment", _flatten_vorbis, _VORBIS_KEYS),
    ("APEv2", _flatten_ape, _APE_KEYS),
    ("ASFTags", _flatten_asf, _ASF_KEYS),
    ("MP4Tags", _flatten_mp4, _MP4_KEYS),
]


def _family(tags: Any) -> tuple[Callable[[Any], dict[str, list[str]]], dict[str, list[str]]]:
    for cls in type(tags).__mro__:
        for name, flatten, keys in _FAMILIES:
            if cls.__name__ == name:
                return flatten, keys
    raise UnreadableAudio(f"unsupported tag type {type(tags).__name__}")


def _format_name(audio: Any) -> str:
    name = type(audio).__name__
    if name == "MP4":
        codec = getattr(audio.info, "codec", "") or ""
        return "alac" if codec.startswith("alac") else "aac"
    return _FORMAT_BY_CLASS.get(name, name.lower())


def _positive_int(value: object) -> int | None:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_COUNT else None


def tags_from_mutagen(audio: Any) -> Tags:
    """Build a :class:`Tags` from an opened ``mutagen.FileType``."""
    info = audio.info
    length = getattr(info, "length", None)
    fields: dict[str, Any] = {
        "format": _format_name(audio),
        "duration": round(float(length), 3) if length else None,
        "bitrate": _positive_int(getattr(info, "bitrate", None)),
        "sample_rate": _positive_int(getattr(info, "sample_rate", None)),
        "channels": _positive_int(getattr(info, "channels", None)),
        "bits_per_sample": _positive_int(getattr(info, "bits_per_sample", None)),
    }
    if audio.tags is None:
        return Tags(**fields)

    flatten, keys = _family(audio.tags)
    flat = flatten(audio.tags)

    def first(field: str) -> str | None:
        for key in keys.get(field, ()):
            if flat.get(key):
                return clean_text(flat[key][0])
        return None

    for field in ("title", "album", "date", "isrc"):
        fields[field] = first(field)
    for field in ("artist", "album_artist", "genre"):
        fields[field] = next((_join(flat[key]) for key in keys[field] if flat.get(key)), None)
    for field in ("mb_recording_id", "mb_release_id", "mb_artist_id", "mb_album_artist_id"):
        value = first(field)
        fields[field] = value.lower() if value else None
    fields["track_number"], track_total = parse_number_pair(first("track"))
    fields["disc_number"], disc_total = parse_number_pair(first("disc"))
    fields["track_total"] = track_total or parse_number_pair(first("track_total"))[0]
    fields["disc_total"] = disc_total or parse_number_pair(first("disc_total"))[0]
    fields["year"] = parse_year(fields["date"])
    fields["rating"] = parse_rating(first("rating"))
    fields["play_count"] = parse_count(first("play_count"))
    return Tags(**fields)


def _open_audio(path: bytes | str) -> Any:
    """Open the file with the mutagen class its extension names, else by sniffing its content.

    Going straight to the expected class skips mutagen's scoring of every known format, which
    is a quarter of the cost of reading a small file. A file whose extension lies (FLAC data
    in a ``.mp3``) still opens, through the sniffing fallback. Only a regular file is read:
    a FIFO put where a track was would block the scan for good.
    """
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    kinds = _KINDS_BY_EXTENSION.get(ext, ())
    with open_regular_file(path) as handle:
        try:
            audio = kinds[0](handle) if len(kinds) == 1 else mutagen.File(handle, options=kinds)
        except mutagen.MutagenError as exc:
            if _os_error(exc) is not None:
                raise  # unreadable whatever its format
            sniffed = _sniff(handle, kinds)
            if sniffed is None:
                raise
            return sniffed
        return audio if audio is not None else _sniff(handle, kinds)


def _os_error(exc: BaseException) -> OSError | None:
    """The operating-system error (an input/output error) behind a mutagen error."""
    cause = exc.__cause__ or exc.__context__
    return cause if isinstance(cause, OSError) and cause.errno is not None else None


def _sniff(handle: BinaryIO, tried: tuple[type, ...]) -> Any:
    """Open the file as whichever other format its first bytes say it is, ignoring its name."""
    try:
        handle.seek(0)
        header = handle.read(128)
        scored = [(kind.score("", handle, header), kind) for kind in _ALL_KINDS]
    except OSError:
        return None
    for score, kind in sorted(scored, key=lambda pair: -pair[0]):
        if score <= 0:
            break
        if kind in tried:
            continue
        try:
            handle.seek(0)
            return kind(handle)
        except Exception:  # the next candidate may fit
            continue
    return None


def read_tags(path: bytes | str) -> Tags:
    """Read one file's tags and stream info; raise :class:`UnreadableAudio` with a short reason."""
    try:
        audio = _open_audio(path)
    except mutagen.MutagenError as exc:
        os_error = _os_error(exc)
        if os_error is not None:
            raise UnreadableAudio(os_error.strerror or str(os_error)) from exc
        raise UnreadableAudio(_one_line(exc) or "not a readable audio file") from exc
    except OSError as exc:
        raise UnreadableAudio(exc.strerror or _one_line(exc)) from exc
    except Exception as exc:  # mutagen's parsers raise assorted errors on hostile input
        raise UnreadableAudio(f"corrupt file ({type(exc).__name__}: {_one_line(exc)})") from exc
    if audio is None:
        raise UnreadableAudio("not a recognised audio file")
    try:
        tags = tags_from_mutagen(audio)
    except UnreadableAudio:
        raise
    except Exception as exc:
        raise UnreadableAudio(f"unreadable tags ({type(exc).__name__}: {_one_line(exc)})") from exc
    _check_pcm_size(tags, path)
    return tags


#: Uncompressed formats, whose header's duration fixes the file's size.
_PCM_FORMATS = frozenset({"wav", "aiff"})
#: Slack for headers, tags and padding chunks, beyond which a file is "too short".
_PCM_SLACK = 0.01


def _check_pcm_size(tags: Tags, path: bytes | str) -> None:
    """Refuse an uncompressed file whose header claims more audio than the file holds (a RIFF
    header claiming 4 GB over no data read as a 6.8-hour track)."""
    if tags.format not in _PCM_FORMATS or not tags.duration:
        return
    if not (tags.sample_rate and tags.channels and tags.bits_per_sample):
        return
    claimed = tags.duration * tags.sample_rate * tags.channels * tags.bits_per_sample / 8
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise UnreadableAudio(exc.strerror or _one_line(exc)) from exc
    if claimed > size * (1 + _PCM_SLACK) + 4096:
        held = size * 8 / (tags.sample_rate * tags.channels * tags.bits_per_sample)
        raise UnreadableAudio(
            f"damaged or truncated: the header claims {tags.duration:,.0f} s of audio, the "
            f"file holds at most {held:,.0f} s"
        )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
