"""The files public datasets come in, read as streams of text lines: plain or compressed (gzip,
bzip2, xz, zstd, by the name's ending), alone or as the members of a tar archive (itself
compressed or not). A 1 GB archive is never unpacked to disk nor held in memory: its members
are read one after the other as the archive streams past.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import zstandard

from mydiscover.errors import DatasetError

#: Endings of a tar archive, compressed or not.
TAR_ENDINGS = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tar.zstd")


def _zstd(stream: IO[bytes]) -> IO[bytes]:
    # Across frames: a file written by a parallel compressor is several frames in a row.
    reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
    return io.BufferedReader(reader)  # type: ignore[arg-type]


# The decompressing readers are not closed on their own: the raw file under them is, by
# text_files' block, and with it every stream over it.
_DECOMPRESSORS: dict[str, Callable[[IO[bytes]], IO[bytes]]] = {
    ".gz": lambda stream: gzip.GzipFile(fileobj=stream),
    ".tgz": lambda stream: gzip.GzipFile(fileobj=stream),
    ".bz2": lambda stream: bz2.BZ2File(stream),
    ".xz": lambda stream: lzma.LZMAFile(stream),  # noqa: SIM115 (see above)
    ".zst": _zstd,
    ".zstd": _zstd,
}


def decompressed(stream: IO[bytes], name: str) -> IO[bytes]:
    """``stream`` decompressed as its ``name``'s ending says (as it is when none does)."""
    opener = _DECOMPRESSORS.get(Path(name).suffix.lower())
    return opener(stream) if opener else stream


def is_archive(path: Path) -> bool:
    """Whether ``path`` is named as a tar archive."""
    return path.name.lower().endswith(TAR_ENDINGS)


def bare_name(name: str) -> str:
    """A member's file name without its folders, compression and text endings:
    ``"MLHD_000/0a1b.txt.zst"`` -> ``"0a1b"``."""
    stem = Path(name).name
    for ending in (".zst", ".zstd", ".gz", ".bz2", ".xz", ".txt", ".listens", ".jsonl"):
        stem = stem.removesuffix(ending)
    return stem


@dataclass(frozen=True)
class TextFile:
    """One file of a dataset (a file itself, or a member of an archive) and its lines."""

    name: str
    lines: Iterator[str]


def _lines(stream: IO[bytes]) -> Iterator[str]:
    # Public dumps carry the odd broken byte; one bad name must not stop a long import.
    return iter(io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None))


#: What a damaged or truncated file raises while it is read.
_DAMAGE = (OSError, EOFError, lzma.LZMAError, tarfile.TarError, zstandard.ZstdError)


@contextmanager
def text_files(path: Path) -> Iterator[tuple[Iterator[TextFile], Callable[[], int]]]:
    """The text files in ``path`` (the file itself, or each regular member of a tar archive,
    each decompressed by its own name), and a function giving how many bytes of ``path`` were
    read so far (for a progress bar). A damaged or truncated file is one DatasetError."""
    try:
        raw = path.open("rb")
    except OSError as error:
        raise DatasetError(f"{path}: {error.strerror or error}") from None
    with raw:
        try:
            yield _files(raw, path), raw.tell
        except _DAMAGE as error:
            raise DatasetError(f"{path}: the file is damaged or truncated ({error})") from None


def _files(raw: IO[bytes], path: Path) -> Iterator[TextFile]:
    if not is_archive(path):
        yield TextFile(path.name, _lines(decompressed(raw, path.name)))
        return
    name = path.name.lower()
    outer = raw if name.endswith(".tar") else decompressed(raw, name)
    # Stream mode ("r|"): members in archive order, no seeking back, nothing unpacked.
    with tarfile.open(fileobj=outer, mode="r|") as archive:
        for member in archive:
            stream = archive.extractfile(member) if member.isfile() else None
            if stream is not None:
                member_stream = io.BufferedReader(_Sequential(stream))
                yield TextFile(member.name, _lines(decompressed(member_stream, member.name)))


class _Sequential(io.RawIOBase):
    """A stream read front to back only: a member of a tar read in stream mode, which
    TextIOWrapper would otherwise ask whether it can seek, and fail (Python 3.11)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        """It can be read."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer`` what the member has next."""
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
