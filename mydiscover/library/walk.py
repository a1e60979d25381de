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

from mydiscover.library.tags import AUDIO_EXTENSIONS

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
        if is_audio_name(root) and _first_visit(seen_files, root_stat):
            yield _found(root, root, root_stat)
        return
    if not stat.S_ISDIR(root_stat.st_mode):
        yield WalkProblem(root, root, "music root is neither a folder nor a file", True)
        return
    if not _first_visit(seen_dirs, root_stat):
        return  # the same folder as an earlier root

    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listing = sorted(entries, key=lambda entry: entry.name, reverse=True)
        except OSError as exc:
            yield WalkProblem(folder, root, f"cannot list folder: {_describe(exc)}", True)
            continue
        for entry in listing:  # reverse-sorted, so the stack pops subfolders in name order
            if entry.name.startswith(b"."):
                continue
            yield from _visit(entry, root, stack, seen_dirs, seen_files)


def _visit(
    entry: os.DirEntry[bytes],
    root: bytes,
    stack: list[bytes],
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
) -> Iterator[FoundFile | WalkProblem]:
    is_audio = is_audio_name(entry.name)
    if not is_audio and not entry.is_dir():  # is_dir follows symlinks; False when broken
        return
    try:
        entry_stat = entry.stat()  # follows symlinks
    except OSError as exc:
        if is_audio or entry.is_symlink():
            yield WalkProblem(entry.path, root, _link_or_stat_problem(entry, exc), False)
        return
    if stat.S_ISDIR(entry_stat.st_mode):
        if _first_visit(seen_dirs, entry_stat):
            stack.append(entry.path)
        else:
            yield WalkProblem(
                entry.path, root, "skipped: symlink loop or a folder already scanned", False
            )
    elif not stat.S_ISREG(entry_stat.st_mode):
        yield WalkProblem(entry.path, root, "not a regular file", False)
    elif _first_visit(seen_files, entry_stat):
        yield _found(entry.path, root, entry_stat)


def _link_or_stat_problem(entry: os.DirEntry[bytes], exc: OSError) -> str:
    if entry.is_symlink():
        try:
            target = os.fsdecode(os.readlink(entry.path))
        except OSError:
            target = "?"
        return f"broken symbolic link to {target}: {_describe(exc)}"
    return f"cannot stat: {_describe(exc)}"


def _first_visit(seen: set[tuple[int, int]], st: os.stat_result) -> bool:
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def _found(path: bytes, root: bytes, st: os.stat_result) -> FoundFile:
    return FoundFile(path, root, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
