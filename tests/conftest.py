"""Shared fixtures: a temporary library folder, a real SQLite database, the CLI as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mydiscover.db import open_database
from mydiscover.library.scan import ScanReport, scan_library
from mydiscover.library.walk import normalize_root


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """An empty music folder."""
    folder = tmp_path / "Music"
    folder.mkdir()
    return folder


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's database lives (not created yet)."""
    return tmp_path / "data" / "mydiscover.db"


@pytest.fixture
def conn(db_path: Path) -> Iterator:
    """An open, migrated database."""
    connection = open_database(db_path)
    yield connection
    connection.close()


def scan(conn, *roots: Path | bytes, jobs: int | None = None) -> ScanReport:
    """Scan the given roots into ``conn`` through the library API."""
    return scan_library(conn, [normalize_root(root) for root in roots], jobs=jobs)


def tracks(conn) -> dict[bytes, dict]:
    """Every track row as a dict, keyed by raw path."""
    cursor = conn.execute("SELECT * FROM tracks")
    names = [column[0] for column in cursor.description]
    return {row[1]: dict(zip(names, row, strict=True)) for row in cursor}


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose XDG folders and HOME are inside the test's temp dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYDISCOVER_")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"),
        XDG_DATA_HOME=str(tmp_path / "home" / ".local" / "share"),
        XDG_CACHE_HOME=str(tmp_path / "home" / ".cache"),
        COLUMNS="200",
    )
    return env


def run_cli(env: dict[str, str], *args: str | bytes, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m mydiscover ARGS`` and capture its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "mydiscover", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def interruptible_child() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: a shell's background job (``cmd &``)
    starts with SIGINT ignored, and Python then keeps ignoring it; restore the default, as an
    interactive terminal would have it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class RecordingProgress:
    """An ImportProgress that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, total, unit) -> None:
        self.calls.append(("start", total, unit))

    def advance(self, done, listens) -> None:
        self.calls.append(("advance", done, listens))
