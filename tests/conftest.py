"""Shared fixtures: a temporary library folder, a real SQLite database, the CLI as a subprocess."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mydiscover.db import open_database


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
