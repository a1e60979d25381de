"""Listening-history export files, recognised by their content, never by their name.

Formats:

- ``lastfm-csv``: lastfm-to-csv exports: no header; artist, album, title, ``DD Mon YYYY HH:MM``
  (UTC); a now-playing row has no date.
- ``lastfm-json``: Last.fm API pages (``{"recenttracks": {"track": [...]}}``, one page or a
  list of pages, ``extended`` or not), and lastfm-backup's flat list of
  ``{"artist", "name", "album", "date"}``.
- ``listenbrainz``: ListenBrainz exports: the zip (``listens/<year>/<month>.jsonl``), a JSONL
  file, or the older single JSON array.
- ``maloja``: Maloja's export (``{"scrobbles": [{"time", "track": {"artists", "title",
  "album"}}]}``).
- ``csv``: mydiscover's own CSV, with a header row: ``listened_at,artist,title`` and optionally
  ``album`` and ``mb_recording_id``; ``listened_at`` in UTC seconds or ISO 8601 (a time
  without a zone is UTC).

Text files may be UTF-8 (with or without a byte-order mark); a CSV that is not UTF-8 is read
as Windows-1252, the usual encoding of spreadsheets that are not.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from mydiscover.errors import MydiscoverError
from mydiscover.history.listen import Listen, SkippedRow, clean, clean_mbid
from mydiscover.library.values import MULTI_VALUE_SEPARATOR

Record = Listen | SkippedRow

#: The first listen anyone could have scrobbled (Audioscrobbler, 2002) and a bound in the
#: future: timestamps outside are broken rows.
EARLIEST = 1_000_000_000  # 2001-09-09
LATEST = 4_102_444_800  # 2100-01-01


class UnknownFormat(MydiscoverError):
    """The file is not a listening-history export this version can read."""


def detect_format(path: Path) -> str:
    """The export format of ``path``, judged by its content."""
    with open(path, "rb") as handle:
        head = handle.read(65536)
    if head.startswith(b"PK\x03\x04"):
        return "listenbrainz"
    text = _decode(head).lstrip("\ufeff \t\r\n")
    if not text:
        raise UnknownFormat(f"{path} is empty")
    if text[0] in "[{":
        return _detect_json(path, text)
    first = next(csv.reader(io.StringIO(text.splitlines()[0])), [])
    if {"listened_at", "artist", "title"} <= {column.strip().lower() for column in first}:
        return "csv"
    if len(first) == 4 and (not first[3] or _LASTFM_CSV_DATE.match(first[3].strip())):
        return "lastfm-csv"
    raise UnknownFormat(f"{path} is not a listening-history export mydiscover knows")


def _detect_json(path: Path, text: str) -> str:
    first_line = text.splitlines()[0]
    try:
        first = json.loads(first_line)
    except ValueError:
        first = None
    if isinstance(first, dict) and "listened_at" in first:
        return "listenbrainz"  # JSONL: one listen a line
    if '"recenttracks"' in text[:4096]:
        return "lastfm-json"
    if '"scrobbles"' in text[:4096]:
        return "maloja"
    if '"listened_at"' in text or '"track_metadata"' in text:
        return "listenbrainz"
    if re.search(r'"name"\s*:', text) and re.search(r'"date"\s*:', text):
        return "lastfm-json"  # lastfm-backup's flat list
    raise UnknownFormat(f"{path} is JSON, but not a listening-history export mydiscover knows")


def read_export(path: Path, fmt: str | None = None) -> tuple[str, Iterator[Record]]:
    """The format of ``path`` and its records, read lazily (a large file is streamed)."""
    fmt = fmt or detect_format(path)
    readers: dict[str, Callable[[Path], Iterator[Record]]] = {
        "lastfm-csv": _read_lastfm_csv,
        "lastfm-json": _read_lastfm_json,
        "listenbrainz": _read_listenbrainz,
        "maloja": _read_maloja,
        "csv": _read_own_csv,
    }
    if fmt not in readers:
        raise UnknownFormat(f"unknown format {fmt!r} (known: {', '.join(sorted(readers))})")
    return fmt, readers[fmt](path)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 4:  # a character cut by the sample's end
            return data[: exc.start].decode("utf-8-sig")
        return data.decode("cp1252", "replace")


#: A longer line is not a listen: it is skipped without ever being held whole in memory.
MAX_LINE_BYTES = 1 << 20


def _decode_line(raw: bytes) -> str:
    # Line by line, so one stray Windows-1252 byte late in a UTF-8 file costs only its line.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _lines_of(stream: IO[bytes]) -> Iterator[str]:
    """The lines of a binary stream as text, a byte-order mark dropped, over-long lines
    replaced by an empty one (so line numbers stay right)."""
    first = True
    while raw := stream.readline(MAX_LINE_BYTES):
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the over-long line
            raw = b"\n"
        if first:
            raw, first = raw.removeprefix(b"\xef\xbb\xbf"), False
        yield _decode_line(raw)


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines as text (UTF-8, or Windows-1252 for a line that is not)."""
    with open(path, "rb") as handle:
        yield from _lines_of(handle)


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: exports hold every oddity."""
    return value if isinstance(value, dict) else {}


def _checked_time(value: Any) -> int | None:
    try:
        seconds = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if EARLIEST <= seconds <= LATEST else None


def _listen(
    where: str,
    when: Any,
    artist: Any,
    title: Any,
    album: Any = None,
    recording: Any = None,
    artist_id: Any = None,
    release: Any = None,
) -> Record:
    seconds = _checked_time(when)
    if seconds is None:
        return SkippedRow(where, f"no valid time ({when!r})")
    artist_text, title_text = clean(artist), clean(title)
    if not artist_text or not title_text:
        return SkippedRow(where, "no artist or no title")
    return Listen(
        seconds,
        artist_text,
        title_text,
        clean(album),
        clean_mbid(recording),
        clean_mbid(artist_id),
        clean_mbid(release),
    )


# --- lastfm-to-csv -----------------------------------------------------------------------

_LASTFM_CSV_DATE = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4},? \d{2}:\d{2}$")


def _read_lastfm_csv(path: Path) -> Iterator[Record]:
    for number, row in enumerate(csv.reader(_text_lines(path)), start=1):
        where = f"line {number}"
        if not row or not any(row):
            continue
        if len(row) != 4:
            yield SkippedRow(where, f"{len(row)} fields, expected 4")
            continue
        artist, album, title, date = row
        if not date.strip():
            continue  # a now-playing row: not a finished listen
        try:
            moment = datetime.strptime(date.strip().replace(",", ""), "%d %b %Y %H:%M")
        except ValueError:
            yield SkippedRow(where, f"unreadable date {date!r}")
            continue
        yield _listen(where, moment.replace(tzinfo=timezone.utc).timestamp(), artist, title, album)


# --- Last.fm JSON --------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    try:
        return json.loads(_decode(path.read_bytes()))
    except ValueError as exc:
        raise UnknownFormat(f"{path} is not valid JSON: {exc}") from exc


def _read_lastfm_json(path: Path) -> Iterator[Record]:
    data = _load_json(path)
    pages = data if isinstance(data, list) else [data]
    for page_number, page in enumerate(pages, start=1):
        if isinstance(page, dict) and "recenttracks" in page:
            yield from lastfm_page_listens(page, f"page {page_number}")
        elif isinstance(page, dict):  # lastfm-backup: one flat scrobble per item
            yield _listen(
                f"item {page_number}",
                page.get("date"),
                page.get("artist"),
                page.get("name"),
                page.get("album"),
            )
        else:
            yield SkippedRow(f"item {page_number}", "not an object")


def lastfm_page_listens(page: dict[str, Any], where: str) -> Iterator[Record]:
    """The listens of one ``user.getRecentTracks`` JSON page (now-playing entries skipped)."""
    tracks = _object(page.get("recenttracks")).get("track") or []
    if isinstance(tracks, dict):  # Last.fm sends a lone track as an object, not a list
        tracks = [tracks]
    for index, track in enumerate(tracks, start=1):
        if not isinstance(track, dict):
            yield SkippedRow(f"{where}, track {index}", "not an object")
            continue
        if _object(track.get("@attr")).get("nowplaying") == "true" or "date" not in track:
            continue
        artist = track.get("artist") or {}
        album = track.get("album") or {}
        if not isinstance(artist, dict):
            artist = {"#text": artist}
        if not isinstance(album, dict):
            album = {"#text": album}
        date = track.get("date")
        yield _listen(
            f"{where}, track {index}",
            date.get("uts") if isinstance(date, dict) else date,
            artist.get("#text") or artist.get("name"),
            track.get("name"),
            album.get("#text"),
            track.get("mbid"),
            artist.get("mbid"),
            album.get("mbid"),
        )


# --- ListenBrainz ---------------------------------------------------------------------------


def listenbrainz_listen(item: Any, where: str) -> Record:
    """A listen from one ListenBrainz listen object (API, JSONL export or JSON array)."""
    if not isinstance(item, dict):
        return SkippedRow(where, "not an object")
    meta = item.get("track_metadata")
    if not isinstance(meta, dict):
        return SkippedRow(where, "no track_metadata")
    mapping = _object(meta.get("mbid_mapping")) or _object(item.get("mbid_mapping"))
    info = _object(meta.get("additional_info"))
    artist_ids = mapping.get("artist_mbids") or info.get("artist_mbids") or [None]
    return _listen(
        where,
        item.get("listened_at"),
        meta.get("artist_name"),
        meta.get("track_name"),
        meta.get("release_name"),
        mapping.get("recording_mbid") or info.get("recording_mbid"),
        artist_ids[0] if isinstance(artist_ids, list) and artist_ids else None,
        mapping.get("release_mbid") or info.get("release_mbid"),
    )


def _jsonl(lines: Iterator[str], name: str) -> Iterator[Record]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            yield SkippedRow(f"{name} line {number}", "not valid JSON")
            continue
        yield listenbrainz_listen(item, f"{name} line {number}")


def _read_listenbrainz(path: Path) -> Iterator[Record]:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"PK\x03\x04":
        yield from _read_listenbrainz_zip(path)
        return
    lines = _text_lines(path)
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip("\ufeff \t").startswith("["):  # the older single-array export
        data = _load_json(path)
        for index, item in enumerate(data if isinstance(data, list) else [], start=1):
            yield listenbrainz_listen(item, f"listen {index}")
        return
    yield from _jsonl(_chain_first(first, lines), path.name)


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _read_listenbrainz_zip(path: Path) -> Iterator[Record]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UnknownFormat(f"{path} is not a readable zip file: {exc}") from exc
    with archive:
        names = sorted(
            name
            for name in archive.namelist()
            if name.endswith((".jsonl", ".json")) and "listens" in name
        )
        if not names:
            raise UnknownFormat(f"{path} holds no listens/*.jsonl: not a ListenBrainz export")
        for name in names:
            with archive.open(name) as member:
                yield from _jsonl(_lines_of(member), name)


# --- Maloja ------------------------------------------------------------------------------


def _read_maloja(path: Path) -> Iterator[Record]:
    data = _load_json(path)
    scrobbles = data.get("scrobbles") if isinstance(data, dict) else None
    if not isinstance(scrobbles, list):
        raise UnknownFormat(f"{path}: no 'scrobbles' list: not a Maloja export")
    for index, scrobble in enumerate(scrobbles, start=1):
        where = f"scrobble {index}"
        track = scrobble.get("track") if isinstance(scrobble, dict) else None
        if not isinstance(track, dict):
            yield SkippedRow(where, "no track")
            continue
        artists = track.get("artists") or []
        album = track.get("album") or {}
        if isinstance(artists, list):
            artists = MULTI_VALUE_SEPARATOR.join(
                str(artist) for artist in artists if artist is not None
            )
        yield _listen(
            where,
            scrobble.get("time"),
            artists,
            track.get("title"),
            (album.get("albumtitle") or album.get("name")) if isinstance(album, dict) else None,
        )


# --- mydiscover's own CSV ----------------------------------------------------------------------


def parse_time(text: str) -> int | None:
    """UTC seconds from ``1699990000`` or ISO 8601 (``2023-11-14T19:26:40Z``, or no zone: UTC)."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _checked_time(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return _checked_time(moment.timestamp())


def _read_own_csv(path: Path) -> Iterator[Record]:
    reader = csv.DictReader(_text_lines(path))
    if reader.fieldnames:
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    for number, row in enumerate(reader, start=2):
        where = f"line {number}"
        when = parse_time(row.get("listened_at") or "")
        if when is None:
            yield SkippedRow(where, f"unreadable listened_at {row.get('listened_at')!r}")
            continue
        yield _listen(
            where,
            when,
            row.get("artist"),
            row.get("title"),
            row.get("album"),
            row.get("mb_recording_id"),
        )
