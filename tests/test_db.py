"""The SQLite layer: pragmas, forward migrations, refusing what it must not touch."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mydiscover.db import SCHEMA_VERSION, open_database, transaction
from mydiscover.db.lock import exclusive_lock
from mydiscover.db.schema import APPLICATION_ID, migrate, schema_version
from mydiscover.errors import BusyError, DatabaseError


def test_new_database_is_configured(db_path: Path) -> None:
    conn = open_database(db_path)

    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert schema_version(conn) == SCHEMA_VERSION
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_older_database_upgrades_itself_and_keeps_its_data(db_path: Path) -> None:
    # Build a version-1 database the way mydiscover 1 would have, with a track in it.
    db_path.parent.mkdir(parents=True)
    old = sqlite3.connect(db_path, isolation_level=None)
    migrate(old, db_path, target=1)
    old.execute(
        "INSERT INTO tracks (path, path_text, root, size, mtime_ns, title) "
        "VALUES (x'2f612e6d7033', '/a.mp3', x'2f', 10, 1, 'Kept')"
    )
    old.close()

    conn = open_database(db_path)

    assert schema_version(conn) == SCHEMA_VERSION
    assert conn.execute("SELECT title FROM tracks").fetchall() == [("Kept",)]
    assert conn.execute("SELECT count(*) FROM scans").fetchone()[0] == 0  # the v2 table exists


def test_newer_database_is_refused(db_path: Path) -> None:
    open_database(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()

    with pytest.raises(DatabaseError, match="newer mydiscover"):
        open_database(db_path)


def test_other_applications_sqlite_file_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE photos (id INTEGER)")
    raw.close()

    with pytest.raises(DatabaseError, match="not mydiscover"):
        open_database(db_path)


def test_file_that_is_not_a_database_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is a text file, not SQLite" * 100)

    with pytest.raises(DatabaseError, match="cannot use database"):
        open_database(db_path)


def test_missing_database_not_created_when_asked_not_to(db_path: Path) -> None:
    with pytest.raises(DatabaseError, match="mydiscover scan"):
        open_database(db_path, create=False)
    assert not db_path.exists()


def test_transaction_rolls_back_on_error(conn) -> None:
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute(
            "INSERT INTO tracks (path, path_text, root, size, mtime_ns) "
            "VALUES (x'00', '', x'00', 0, 0)"
        )
        raise RuntimeError("boom")

    assert conn.execute("SELECT count(*) FROM tracks").fetchone()[0] == 0


def test_status_check_constraint_guards_bad_values(conn) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO tracks (path, path_text, root, size, mtime_ns, status) "
            "VALUES (x'00', '', x'00', 0, 0, 'deleted')"
        )


def test_second_lock_holder_is_refused_with_a_clear_message(db_path: Path) -> None:
    with (
        exclusive_lock(db_path, "a scan"),
        pytest.raises(BusyError, match=r"a scan \(pid \d+\) is using"),
        exclusive_lock(db_path, "a scan"),
    ):
        pass  # pragma: no cover - never reached


def test_waiting_lock_holder_gets_it_when_released(db_path: Path) -> None:
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with exclusive_lock(db_path, "a scan"):
            held.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    with exclusive_lock(db_path, "a scan", wait=True):
        order.append("second in")
    thread.join()

    assert order == ["first done", "second in"]


def test_the_schema_snapshot_is_the_schema_a_new_database_gets(conn):
    from mydiscover.db.schema import SNAPSHOT, schema_text

    assert SNAPSHOT.read_text(encoding="utf-8") == schema_text(conn), (
        "mydiscover/db/schema.sql is out of date: run python tools/schema_snapshot.py"
    )
