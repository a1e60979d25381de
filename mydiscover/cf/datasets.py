"""Readers for the public co-listening datasets users can download.

Each reader streams its files line by line into a :class:`MatrixBuilder`, so a file of tens of
millions of rows never exists in memory as Python objects. Supported:

- ``hetrec-2k``: HetRec 2011 Last.fm 2K (a folder with ``user_artists.dat`` and ``artists.dat``);
- ``lastfm-1k``: Last.fm 1K, one listen per line (user, time, artist MBID, artist, track MBID,
  track);
- ``lastfm-360k``: Last.fm 360K, one (user, artist MBID, artist, plays) per line;
- ``listenbrainz``: ListenBrainz listens as JSON lines: a file, a folder of them, or a listens
  dump as published (full or incremental: a tar archive of ``.listens`` files with its
  ``index.json``);
- ``mlhd``: MLHD or MLHD+ (the Music Listening Histories Dataset): one file per listener, named
  by its UUID, of ``timestamp, artist MBIDs, release MBID, recording MBID`` lines, in tar
  archives (one, or a folder of them) or unpacked. It has no names: its artists are known by
  MusicBrainz ID only.

Files and archive members may be gzip, bzip2, xz or zstd compressed (by their names' endings).
:class:`~mydiscover.cf.matrix.ImportFilters` keep recent listening only, drop rare artists and
listeners of few artists, or keep a random sample of the listeners, as the rows stream past.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mydiscover.cf.archives import bare_name, is_archive, text_files
from mydiscover.cf.matrix import CoListening, ImportFilters, MatrixBuilder
from mydiscover.errors import DatasetError
from mydiscover.files import walk_files

#: Called with the bytes read so far and the total, for a progress bar.
ProgressCallback = Callable[[int, int], None]
#: Handles one line of a dataset's file.
LineHandler = Callable[[str], None]

FORMATS = ("hetrec-2k", "lastfm-1k", "lastfm-360k", "listenbrainz", "mlhd")
#: Formats whose rows carry no date: ``since`` cannot filter them.
UNDATED = frozenset({"hetrec-2k", "lastfm-360k"})
_REPORT_EVERY = 50_000  # lines between progress calls
_COMPRESSIONS = ("", ".gz", ".bz2", ".xz", ".zst")


def detect_format(path: Path) -> str:
    """Guess a dataset's format from its name and first line (an archive's: its first
    member's)."""
    if path.is_dir():
        if (path / "user_artists.dat").exists():
            return "hetrec-2k"
        if any(_listenbrainz_files(path)):
            return "listenbrainz"
        first = min(walk_files(path), default=None)
        if first is not None and (is_archive(first) or _is_mlhd_line(_first_line(first)[1])):
            return "mlhd"
        raise DatasetError(f"{path}: no known dataset in this folder (see --help for formats)")
    if is_archive(path):
        return _archive_format(path)
    first = _first_line(path)[1]
    if first.lstrip().startswith("{"):
        return "listenbrainz"
    if _is_mlhd_line(first):
        return "mlhd"
    fields = first.rstrip("\r\n").split("\t")
    if len(fields) == 6 and "T" in fields[1]:
        return "lastfm-1k"
    if len(fields) == 4 and fields[3].strip().isdigit():
        return "lastfm-360k"
    if path.name == "user_artists.dat":
        return "hetrec-2k"
    raise DatasetError(f"{path}: not a known dataset format; name one with --format")


def read_dataset(
    path: Path,
    fmt: str,
    progress: ProgressCallback | None = None,
    filters: ImportFilters | None = None,
) -> CoListening:
    """Read a dataset of format ``fmt`` (one of :data:`FORMATS`, or ``auto``) into a matrix,
    through ``filters``."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if fmt == "auto":
        fmt = detect_format(path)
    readers: dict[str, Callable[[Path, MatrixBuilder, ProgressCallback], None]] = {
        "hetrec-2k": _read_hetrec,
        "lastfm-1k": _read_lastfm_1k,
        "lastfm-360k": _read_lastfm_360k,
        "listenbrainz": _read_listenbrainz,
        "mlhd": _read_mlhd,
    }
    if fmt not in readers:
        raise DatasetError(f"unknown dataset format {fmt!r}: choose from {', '.join(FORMATS)}")
    filters = filters or ImportFilters()
    if filters.since is not None and fmt in UNDATED:
        raise DatasetError(f"{fmt} holds play counts without dates: --since cannot apply")
    builder = MatrixBuilder(filters)
    readers[fmt](path, builder, progress or (lambda done, total: None))
    if not builder.rows_kept:
        after = " (after the filters)" if builder.rows_filtered else ""
        raise DatasetError(f"{path}: no listening data found as {fmt}{after}")
    return builder.build({"source": str(path), "dataset_format": fmt})


def _first_line(path: Path) -> tuple[str, str]:
    """The first file's name and first line (in an archive: its first member's)."""
    with text_files(path) as (files, _):
        for file in files:
            return file.name, next(file.lines, "")
    return path.name, ""


def _archive_format(path: Path, members: int = 20) -> str:
    """An archive's format, from its first members: a ListenBrainz dump has its index.json
    and .listens files (beside COPYING, TIMESTAMP...), MLHD its listeners' files."""
    with text_files(path) as (files, _):
        for file, _ in zip(files, range(members), strict=False):
            if _is_listens_file(file.name) or file.name.endswith("index.json"):
                return "listenbrainz"
            if _is_mlhd_line(next(file.lines, "")):
                return "mlhd"
    raise DatasetError(f"{path}: an archive of no known dataset; name its format with --format")


def _is_mlhd_line(line: str) -> bool:
    """``timestamp <tab> artist MBIDs <tab> release MBID <tab> recording MBID``."""
    fields = line.rstrip("\r\n").split("\t")
    return len(fields) == 4 and fields[0].isdigit() and any(len(f) >= 36 for f in fields[1:])


def _read_files(
    path: Path,
    progress: ProgressCallback,
    handler_for: Callable[[str], LineHandler | None],
    *,
    done_before: int = 0,
    total: int | None = None,
) -> None:
    """Feed the lines of each text file in ``path`` (the file, or each archive member) to the
    handler ``handler_for`` gives for its name (None: skipped), with progress in bytes."""
    total = total if total is not None else path.stat().st_size
    with text_files(path) as (files, position):
        number = 0
        for file in files:
            handle_line = handler_for(file.name)
            if handle_line is None:
                continue
            for line in file.lines:
                handle_line(line)
                number += 1
                if number % _REPORT_EVERY == 0:
                    progress(done_before + position(), total)
        progress(done_before + position(), total)


def _read_lines(path: Path, progress: ProgressCallback, handle_line: LineHandler) -> None:
    """Feed every line of ``path`` to ``handle_line``."""
    _read_files(path, progress, lambda name: handle_line)


def _read_all(
    files: list[Path], progress: ProgressCallback, handler_for: Callable[[str], LineHandler | None]
) -> None:
    """:func:`_read_files` over several files, with one progress over all of them."""
    total = sum(file.stat().st_size for file in files)
    done = 0
    for file in files:
        _read_files(file, progress, handler_for, done_before=done, total=total)
        done += file.stat().st_size


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
            builder.skip()

    _read_lines(path, progress, line_of)


def _read_lastfm_1k(path: Path, builder: MatrixBuilder, progress: ProgressCallback) -> None:
    def line_of(line: str) -> None:
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) >= 4:
            builder.add(fields[0], fields[3], fields[2], 1.0, when=_iso_seconds(fields[1]))
        else:
            builder.skip()

    _read_lines(path, progress, line_of)


def _read_listenbrainz(path: Path, builder: MatrixBuilder, progress: ProgressCallback) -> None:
    def line_of(line: str) -> None:
        listen = _json_object(line)
        metadata = listen.get("track_metadata") if listen else None
        if not isinstance(metadata, dict):
            if line.strip():
                builder.skip()
            return
        user = str(listen.get("user_name") or listen.get("user_id") or "")
        when = listen.get("listened_at")
        builder.add(user, str(metadata.get("artist_name") or ""), _artist_mbid(metadata), 1.0,
                    when=when if isinstance(when, int) else None)  # fmt: skip

    def listens_only(name: str) -> LineHandler | None:
        # A dump's archive also holds index.json (where each listener's listens lie, for
        # reading one listener: read in order, it is not needed), COPYING, TIMESTAMP...
        return line_of if _is_listens_file(name) else None

    if path.is_dir():
        _read_all(sorted(_listenbrainz_files(path)), progress, listens_only)
    else:  # a file of listens whatever its name, or a dump's archive
        _read_all([path], progress, listens_only if is_archive(path) else lambda name: line_of)


def _read_mlhd(path: Path, builder: MatrixBuilder, progress: ProgressCallback) -> None:
    """MLHD's files, one per listener named by its UUID: each line a listen of the first
    artist MBID it names (an artist credit may name several, comma separated)."""

    def listener(name: str) -> LineHandler | None:
        user = bare_name(name)
        if not user or name.lower().endswith((".csv", ".md", ".sha256", ".json")):
            return None  # MLHD's profile tables, checksums and notes: no listens

        def line_of(line: str) -> None:
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 2 or not fields[0].isdigit():
                if line.strip():
                    builder.skip()
                return
            builder.add(user, "", fields[1].split(",")[0].strip(), 1.0, when=int(fields[0]))

        return line_of

    _read_all(sorted(walk_files(path)) if path.is_dir() else [path], progress, listener)


def _iso_seconds(text: str) -> int | None:
    """UTC seconds of an ISO 8601 time ("2009-05-04T23:08:57Z"); None if it is not one."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(when.replace(tzinfo=when.tzinfo or dt.timezone.utc).timestamp())


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


def _is_listens_file(name: str) -> bool:
    lowered = Path(name).name.lower()
    return lowered != "index.json" and any(
        lowered.endswith(ending + compression)
        for ending in (".jsonl", ".listens", ".json")
        for compression in _COMPRESSIONS
    )


def _listenbrainz_files(folder: Path) -> Iterator[Path]:
    """A folder's listens files, and the ListenBrainz dump archives in it."""
    for file in walk_files(folder):
        if _is_listens_file(file.name) or (is_archive(file) and "listenbrainz" in file.name):
            yield file


def _require(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(f"{path}: missing (HetRec 2K needs artists.dat and user_artists.dat)")
