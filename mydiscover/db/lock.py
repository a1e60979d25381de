"""An advisory lock beside the database, so two scans of one catalog never run at once.

SQLite already keeps the file consistent under concurrent writers; this lock keeps the *work*
sane: two scans would read the same files twice and race to mark each other's finds missing.
The lock is an ``flock`` on ``<database>.lock``, released by the kernel if the process dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mydiscover.errors import BusyError, DatabaseError


@contextmanager
def exclusive_lock(database: Path, purpose: str, *, wait: bool = False) -> Iterator[None]:
    """Hold ``<database>.lock`` for the block; refuse at once (or ``wait``) if another has it.

    ``purpose`` says who holds it, for the refusal message: "a scan", "an analysis".
    """
    lock_path = Path(f"{database}.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise DatabaseError(f"cannot create {lock_path}: {exc.strerror or exc}") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BusyError(
                f"{holder} is using {database}; wait for it to finish, or pass --wait"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{purpose} (pid {os.getpid()})")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
