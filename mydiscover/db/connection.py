"""Opening the one database file: WAL, foreign keys, a busy timeout, and schema upgrades."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mydiscover.db.schema import APPLICATION_ID, migrate
from mydiscover.errors import DatabaseError

#: The page cache's ceiling, in KiB.
CACHE_KIB = 256 * 1024
#: How long a writer waits for another writer before giving up, in milliseconds.
BUSY_TIMEOUT_MS = 30_000


def open_database(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (creating it if allowed) the database at ``path`` and bring its schema up to date.

    The connection is in autocommit mode: writers group their statements with
    :func:`transaction`, so each batch is one short transaction.
    """
    path = Path(path)
    check_database_path(path)
    if not path.exists():
        if not create:
            raise DatabaseError(f"no database at {path}: run 'mydiscover scan' first")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create folder {path.parent}: {exc.strerror}") from exc
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    try:
        _configure(conn)
        _check_application_id(conn, path)
        migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DatabaseError(f"cannot use database {path}: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def check_database_path(path: Path) -> None:
    """Refuse a database path that is a folder, before anything is created beside it."""
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder; give the path of a database file inside it")


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":  # e.g. a network filesystem without shared memory
        conn.execute("PRAGMA journal_mode = DELETE")
    # NORMAL is durable across application crashes in WAL mode; only a power cut can lose
    # the last commit, never corrupt the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    # A large import updates its indexes in random order; with SQLite's default 2 MB page
    # cache that is mostly system time (a million listens: 46 s, 39 s with 256 MB). The
    # cache grows only as pages are used, so small commands pay nothing for the ceiling.
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")


def _check_application_id(conn: sqlite3.Connection, path: Path) -> None:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id not in (0, APPLICATION_ID):
        raise DatabaseError(f"{path} is an SQLite file of another application, not mydiscover's")
    if app_id == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise DatabaseError(f"{path} already holds tables that are not mydiscover's")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one write transaction, taken at once so it cannot deadlock later.

    Commits on success; rolls back on any exception, Ctrl-C included, and re-raises it.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def inspect_database(path: Path) -> tuple[int, str]:
    """A database's schema version and SQLite's ``quick_check`` verdict ("ok" when sound),
    read without changing the file (opened read-only). Raises ``sqlite3.Error``."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        conn.close()
    return int(version), str(verdict)


def use_read_cache(conn: sqlite3.Connection, kib: int) -> None:
    """Let the connection cache up to ``kib`` KiB of pages (reads of a large library)."""
    conn.execute(f"PRAGMA cache_size = -{int(kib)}")
