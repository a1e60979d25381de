"""Files as the whole project handles them: the one atomic write, the one safe open for
reading, and a walk that no depth of folders can break.

Every file mydiscover writes (playlists, the config, the CF dataset and model, term vectors,
the HTTP cache) goes through :func:`atomic_file` or :func:`atomic_write`:

- the data goes to a temporary file of its own in the target's folder (named after the
  target and the writing process, so two concurrent writers never share one), is flushed and
  ``fsync``-ed, then renamed over the target, and the folder is ``fsync``-ed: after a crash or
  a power cut the target holds the old content or the new, never a mix;
- a target that is a symbolic link stays a link: its final target is replaced;
- a rewrite keeps the file's permission bits; a new file gets ``mode`` (0600 for secrets),
  or what the umask allows;
- a failed or interrupted write (Ctrl-C included) removes its temporary file, and temporary
  files left by a writer that was killed (``kill -9``) are removed by the next write.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mydiscover.errors import MydiscoverError

#: Temporary files are ``.<target name>.<pid>.<random>.partial`` beside the target.
_SUFFIX = ".partial"
#: Bytes of the target's name kept in a temporary file's name: with the rest it stays under
#: the 255 bytes a file name may have, so a long target name can still be written.
_NAME_BYTES = 200


def atomic_write(
    path: Path | str, data: bytes, *, mode: int | None = None, private: bool = False
) -> None:
    """Replace the file at ``path`` with ``data`` atomically (see the module's docstring)."""
    with atomic_file(path, mode=mode, private=private) as handle:
        handle.write(data)


def write_output(path: Path | None, data: bytes) -> None:
    """A command's output: to stdout without ``path``, else into the file at ``path``,
    atomically (a failed or interrupted write leaves the old file whole). MydiscoverError
    when the file cannot be written."""
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        atomic_write(path, data)
    except OSError as error:
        raise MydiscoverError(f"cannot write {path}: {error.strerror or error}") from None


@contextlib.contextmanager
def atomic_file(
    path: Path | str, *, mode: int | None = None, private: bool = False
) -> Iterator[BinaryIO]:
    """A binary file to write the new content of ``path`` into; it replaces ``path`` when the
    block ends without an exception, and is removed otherwise.

    ``mode`` is the permission of a new file, less the umask as ``open`` applies it (an
    existing file keeps its own); without it, a new file gets 0666 less the umask.
    ``private`` (for secrets) makes the file 0600 whatever it was before. Raises ``OSError``
    as the file system reports it.
    """
    if private:
        mode = 0o600
    target = Path(os.path.realpath(path))  # a symlink stays: its target is what is replaced
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    stem = _temporary_stem(target.name)
    _remove_abandoned(folder, stem)
    temporary, fd = _create_temporary(folder, stem, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            kept = None if private else _existing_mode(target)
            if kept is not None:
                os.fchmod(handle.fileno(), kept)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(folder)


def _temporary_stem(name: str) -> str:
    """``.<name>.``, the start of the target's temporary names: the name cut to
    :data:`_NAME_BYTES` bytes (surrogate escapes keep a cut multi-byte character's bytes)."""
    return f".{os.fsdecode(os.fsencode(name)[:_NAME_BYTES])}."


def _create_temporary(folder: Path, stem: str, mode: int) -> tuple[Path, int]:
    # The kernel applies the umask at creation: reading it with os.umask() would set it to 0
    # for a moment, under every other thread of the process.
    while True:
        # (os.urandom is what secrets.token_hex draws from; importing secrets, for hmac and
        # OpenSSL, cost every command 3 ms.)
        temporary = folder / f"{stem}{os.getpid()}.{os.urandom(4).hex()}{_SUFFIX}"
        try:
            return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue


def _existing_mode(target: Path) -> int | None:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return None


def _fsync_folder(folder: Path) -> None:
    # The rename is durable only once the folder itself is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # a platform or file system without folder handles
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_abandoned(folder: Path, stem: str) -> None:
    """Remove the temporary files of ``stem`` whose writer no longer runs."""
    # Exactly stem, pid, 8 hex digits: a target "x" must not take "x.2024"'s files for its own.
    pattern = re.compile(re.escape(stem) + r"(\d+)\.[0-9a-f]{8}" + re.escape(_SUFFIX))
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        found = pattern.fullmatch(entry)
        if found and not _running(int(found.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(folder / entry)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


def temporary_files(folder: Path | str) -> list[Path]:
    """The temporary files of unfinished writes in ``folder`` (for checks and tests)."""
    return sorted(p for p in Path(folder).glob(f".*{_SUFFIX}") if p.is_file())


def walk_files(top: Path) -> Iterator[Path]:
    """Every regular file below ``top``, at any depth, in a stable order.

    Iterative (``Path.rglob`` and ``os.walk`` recurse, and a folder nested a thousand deep
    raised RecursionError); symbolic links to folders are not followed, so a loop cannot trap
    the walk; folders that cannot be read are skipped.
    """
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(Path(entry.path))
                elif entry.is_file():
                    yield Path(entry.path)
            except OSError:
                continue
        stack.extend(reversed(subfolders))  # popped in name order


# --- reading what the catalog names --------------------------------------------------------


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a socket or a folder, not a file of data."""


def open_regular_file(path: bytes | str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading, refusing (:class:`NotRegularFile`, an ``OSError``
    whose ``strerror`` is "not a regular file") anything but a regular file."""
    # Through open() rather than os.fdopen(), so the file object keeps its name (mutagen
    # reads the extension from it).
    return open(path, "rb", opener=_open_regular)


def check_regular_file(path: bytes | str | os.PathLike[str]) -> None:
    """Raise :class:`NotRegularFile` (or the ``OSError`` opening it gives) unless ``path`` is a
    readable regular file: for decoders that open the file by name themselves."""
    open_regular_file(path).close()


def _open_regular(path: bytes | str, flags: int) -> int:
    # O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting.
    fd = os.open(path, flags | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", os.fsdecode(path))
        # Reads from here on are ordinary blocking ones.
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd
