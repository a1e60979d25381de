"""Readers for the public co-listening datasets users can download.

Each reader streams its files line by line into a :class:`MatrixBuilder`, so a file of tens of
millions of rows never exists in memory as Python objects. Supported:

- ``hetrec-2k``: HetRec 2011 Last.fm 2K (a folder with ``user_artists.dat`` and ``artists.dat``);
- ``lastfm-1k``: Last.fm 1K, one listen per line (user, time, artist MBID, artist, track MBID,
  track);
- ``lastfm-360k``: Last.fm 360K, one (user, artist MBID, artist, plays) per line;
- ``listenbrainz``: ListenBrainz listens as JSON lines (a file or a folder of them).

Files may be gzip, bzip2 or xz compressed (by extension).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from mydiscover.cf.matrix import CoListening, MatrixBuilder
from mydiscover.errors import DatasetError
from mydiscover.files import walk_files

#: Called with the bytes read so far and the total, for a progress bar.
ProgressCallback = Callable[[int, int], None]

FORMATS = ("hetrec-2k", "lastfm-1k", "lastfm-360k", "listenbrainz")
_OPENERS: dict[str, Callable[..., IO[bytes]]] = {
    ".gz": gzip.open,
    ".bz2": bz2.open,
    ".xz": lzma.open,
}
_REPORT_EVERY = 50_000  # lines between progress calls


def detect_format(path: Path) -> str:
    """Guess a dataset's format from its name and first line."""
    if path.is_dir():
        if (path / "user_artists.dat").exists():
            return "hetrec-2k"
        if any(_listenbrainz_files(path)):
            return "listenbrainz"
        raise DatasetError(f"{path}: no known dataset in this folder (see --help for formats)")
    with _open_text(path) as (lines, _):
        first = next(lines, "")
    if first.lstrip().startswith("{"):
        return "listenbrainz"
    fields = first.rstrip("\r\n").split("\t")
    if len(fields) == 6 and "T" in fields[1]:
        return "lastfm-1k"
    if len(fields) == 4 and fields[3].strip().isdigit():
        return "lastfm-360k"
    if path.name == "user_artists.dat":
        return "hetrec-2k"
    raise DatasetError(f"{path}: not a known dataset format; name one with --format")


def read_dataset(path: Path, fmt: str, progress: ProgressCallback | None = None) -> CoListening:
    """Read a dataset of format ``fmt`` (one of :data:`FORMATS`, or ``auto``) into a matrix."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if fmt == "auto":
        fmt = detect_format(path)
    readers: dict[str, Callable[[Path, MatrixBuilder, ProgressCallback], None]] = {
        "hetrec-2k": _read_hetrec,
        "lastfm-1k": _read_lastfm_1k,
        "lastfm-360k": _read_lastfm_360k,
        "listenbrainz": _read_listenbrainz,
    }
    if fmt not in readers:
        raise DatasetError(f"unknown dataset format {fmt!r}: choose from {', '.join(FORMATS)}")
    builder = MatrixBuilder()
    readers[fmt](path, builder, progress or (lambda done, total: None))
    if not builder.rows_read - builder.rows_skipped:
        raise DatasetError(f"{path}: no listening data found as {fmt}")
    return builder.build(
        {
            "source": str(path),
            "dataset_format": fmt,
            "rows_read": builder.rows_read,
            "rows_skipped": builder.rows_skipped,
        }
    )


@contextmanager
def _open_text(path: Path) -> Iterator[tuple[Iterator[str], Callable[[], int]]]:
    """Lines of a possibly compressed text file, and a function telling the bytes read so far."""
    try:
        raw = path.open("rb")
    except OSError as error:
        raise DatasetError(f"{path}: {error.strerror or error}") from None
    with raw:
        opener = _OPENERS.get(path.suffix.lower())
        stream: IO[bytes] = opener(raw) if opener else raw
        # Public dumps carry the odd broken byte; one bad name must not stop a 17M-line import.
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
        try:
            yield iter(text), raw.tell
        except (OSError, EOFError, lzma.LZMAError) as error:
            raise DatasetError(f"{path}: the file is damaged or truncated ({error})") from None


def _read_lines(
    path: Path,
    progress: ProgressCallback,
    handle_line: Callable[[str], None],
    *,
    done_before: int = 0,
    total: int | None = None,
) -> None:
    """Feed every line of ``path`` to ``handle_line``, reporting progress in bytes."""
    total = total if total is not None else path.stat().st_size
    with _open_text(path) as (lines, position):
        for number, line in enumerate(lines, 1):
            handle_line(line)
            if number % _REPORT_EVERY == 0:
                progress(done_before + position(), total)
        progress(done_before + position(), total)


def _read_hetrec(path: Path, builder: MatrixBuilder, progress: ProgressCallback) -> None:
    folder = path if path.is_dir() else path.parent
    names: dict[str, str] = {}

    def artist_line(line: str) -> None:
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) >= 2 and fields[0] != "id":
            names[fields[0]] = fields[1]

    def play_line(line: str) -> None:
        fields = line.split()
        if len(fields) != 3 or not fields[2].isdigit():
            return  # the header, or a damaged line
        builder.add(fields[0], names.get(fields[1], ""), "", float(fields[2]))

    _require(folder / "artists.dat")
    _require(folder / "user_artists.dat")
    _read_lines(folder / "artists.dat", lambda done, total: None, artist_line)
    _read_lines(folder / "user_artists.dat", progress, play_line)


def _read_lastfm_360k(path: Path, builder: MatrixBuilder, progress: ProgressCallback) -> None:
    def line_of(line: str) -> None:
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) == 4 and fields[3].isdigit():
            builder.add(fields[0], fields[2], fields[1], float(fields[3]))
        else:
            builder.rows_read += 1
            builder.rows_skipped += 1

    _read_lines(path, progress, line_of)


def _read_lastfm_1k(path: Path, builder: MatrixBuilder, progress: ProgressCallback) -> None:
    def line_of(line: str) -> None:
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) >= 4:
            builder.add(fields[0], fields[3], fields[2], 1.0)
        else:
            builder.rows_read += 1
            builder.rows_skipped += 1

    _read_lines(path, progress, line_of)


def _read_listenbrainz(path: Path, builder: MatrixBuilder, progress: ProgressCallback) -> None:
    files = sorted(_listenbrainz_files(path)) if path.is_dir() else [path]
    total = sum(file.stat().st_size for file in files)
    done = 0

    def line_of(line: str) -> None:
        listen = _json_object(line)
        metadata = listen.get("track_metadata") if listen else None
        if not isinstance(metadata, dict):
            if line.strip():
                builder.rows_read += 1
                builder.rows_skipped += 1
            return
        user = str(listen.get("user_name") or listen.get("user_id") or "")
        builder.add(user, str(metadata.get("artist_name") or ""), _artist_mbid(metadata), 1.0)

    for file in files:
        _read_lines(file, progress, line_of, done_before=done, total=total)
        done += file.stat().st_size


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _artist_mbid(metadata: dict[str, Any]) -> str:
    """The first artist MBID, from the MusicBrainz mapping or the submitted additional info."""
    for holder in (metadata.get("mbid_mapping"), metadata.get("additional_info")):
        if isinstance(holder, dict):
            mbids = holder.get("artist_mbids")
            if isinstance(mbids, list) and mbids and isinstance(mbids[0], str):
                return mbids[0]
    return ""


def _listenbrainz_files(folder: Path) -> Iterator[Path]:
    for file in walk_files(folder):
        name = file.name.lower()
        if any(
            name.endswith(ending + compression)
            for ending in (".jsonl", ".listens", ".json")
            for compression in ("", ".gz", ".bz2", ".xz")
        ):
            yield file


def _require(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(f"{path}: missing (HetRec 2K needs artists.dat and user_artists.dat)")
