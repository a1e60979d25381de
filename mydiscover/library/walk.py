"""Walking music roots: every audio file once, with one ``stat`` each, and every problem named.

Paths are handled as bytes from start to end, so a file name that is not valid UTF-8 is found,
stored and opened like any other.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from typing import NamedTuple

from mydiscover.paths import display_path

#: File name endings scanned as audio (lower case, with the dot); library.tags knows how to
#: read each (a test keeps the two lists the same). Here, not there: walking needs no mutagen.
AUDIO_EXTENSIONS = frozenset({
    ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".m4b", ".mp4", ".alac", ".aac", ".wav",
    ".aif", ".aiff", ".aifc", ".wma", ".asf", ".wv", ".ape",
})  # fmt: skip
_AUDIO_EXTENSIONS_BYTES = frozenset(os.fsencode(ext) for ext in AUDIO_EXTENSIONS)


class FoundFile(NamedTuple):
    """An audio file on disk, with the ``stat`` fields change detection needs."""

    path: bytes
    root: bytes
    size: int
    mtime_ns: int
    device: int
    inode: int


class WalkProblem(NamedTuple):
    """Something under a root that could not be looked at, and why."""

    path: bytes
    root: bytes
    message: str
    #: True when a whole folder (or root) could not be listed: what was catalogued below it
    #: must not be taken for deleted.
    blocks_folder: bool


class _Subfolder(NamedTuple):
    """A folder still to list, with the (device, inode) of the folders above it."""

    path: bytes
    ancestors: frozenset[tuple[int, int]]


def normalize_root(root: str | bytes) -> bytes:
    """A root as an absolute, normalised byte path (``~`` expanded, symlinks kept)."""
    return os.path.abspath(os.path.expanduser(os.fsencode(root)))


def is_under(path: bytes, root: bytes) -> bool:
    """Whether ``path`` is ``root`` itself or lies below it."""
    return path == root or path.startswith(root.rstrip(b"/") + b"/")


def is_audio_name(name: bytes) -> bool:
    """Whether a file name has one of the scanned audio endings."""
    return os.path.splitext(name)[1].lower() in _AUDIO_EXTENSIONS_BYTES


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


def walk_root(
    root: bytes, seen_dirs: set[tuple[int, int]], seen_files: set[tuple[int, int]]
) -> Iterator[FoundFile | WalkProblem]:
    """Yield the audio files below ``root`` in a stable order, and the problems met on the way.

    Hidden files and folders (a leading dot: ``.Trash-1000``, macOS ``._song.mp3`` shadows) are
    skipped. Symbolic links are followed; ``seen_dirs`` and ``seen_files`` hold the
    (device, inode) pairs already visited, shared across roots, so a symlink loop, an alias of a
    folder or a hard-linked file is visited once.
    """
    try:
        root_stat = os.stat(root)
    except OSError as exc:
        # A root that is not there (a drive unplugged) holds nothing; one we may not open
        # might still hold everything it did.
        gone = exc.errno in (errno.ENOENT, errno.ENOTDIR)
        yield WalkProblem(root, root, f"cannot open music root: {_describe(exc)}", not gone)
        return
    if stat.S_ISREG(root_stat.st_mode):
        if not is_audio_name(root):
            yield WalkProblem(root, root, "not an audio file (by its name)", False)
        elif _first_visit(seen_files, root_stat):
            yield _found(root, root, root_stat)
        return
    if not stat.S_ISDIR(root_stat.st_mode):
        yield WalkProblem(root, root, "music root is neither a folder nor a file", True)
        return
    if not _first_visit(seen_dirs, root_stat):
        return  # the same folder as an earlier root

    # Each folder travels with the (device, inode) of the folders above it, to tell a symlink
    # loop (an error) from a second way into a folder scanned already (skipped quietly).
    stack = [_Subfolder(root, frozenset({(root_stat.st_dev, root_stat.st_ino)}))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listing = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            yield WalkProblem(folder, root, f"cannot list folder: {_describe(exc)}", True)
            continue
        subfolders: list[_Subfolder] = []
        for entry in listing:
            if entry.name.startswith(b"."):
                continue
            for item in _visit(entry, root, seen_dirs, seen_files, ancestors):
                if isinstance(item, _Subfolder):
                    subfolders.append(item)
                else:
                    yield item
        stack.extend(reversed(subfolders))  # popped in name order


def _visit(
    entry: os.DirEntry[bytes],
    root: bytes,
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
    ancestors: frozenset[tuple[int, int]],
) -> Iterator[FoundFile | WalkProblem | _Subfolder]:
    is_audio = is_audio_name(entry.name)
    if not is_audio and not entry.is_dir():  # is_dir follows symlinks; False when broken
        return
    try:
        entry_stat = entry.stat()  # follows symlinks
    except OSError as exc:
        yield from _stat_problem(entry, root, exc)
        return
    key = (entry_stat.st_dev, entry_stat.st_ino)
    if stat.S_ISDIR(entry_stat.st_mode):
        if key in ancestors:
            yield WalkProblem(entry.path, root, "skipped: symlink loop", False)
        elif _first_visit(seen_dirs, entry_stat):
            yield _Subfolder(entry.path, ancestors | {key})
    elif not stat.S_ISREG(entry_stat.st_mode):
        yield WalkProblem(entry.path, root, "not a regular file", False)
    elif _first_visit(seen_files, entry_stat):
        yield _found(entry.path, root, entry_stat)


def _stat_problem(entry: os.DirEntry[bytes], root: bytes, exc: OSError) -> Iterator[WalkProblem]:
    if entry.is_symlink() and exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
        try:
            target = display_path(os.readlink(entry.path))
        except OSError:
            target = "?"
        yield WalkProblem(
            entry.path, root, f"broken symbolic link to {target}: {_describe(exc)}", False
        )
    elif exc.errno != errno.ENOENT:  # ENOENT: deleted while we looked; nothing to say
        # We cannot tell what is there, so what was catalogued there is not taken for gone.
        yield WalkProblem(entry.path, root, f"cannot stat: {_describe(exc)}", True)


def _first_visit(seen: set[tuple[int, int]], st: os.stat_result) -> bool:
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def _found(path: bytes, root: bytes, st: os.stat_result) -> FoundFile:
    return FoundFile(path, root, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
