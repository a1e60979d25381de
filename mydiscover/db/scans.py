"""The scan log (``scans``) and the problems that did not become tracks (``scan_errors``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping

from mydiscover.paths import display_path

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
SCAN_COUNTERS = ("new", "changed", "unchanged", "moved", "restored", "missing", "errors")


def start_scan(conn: sqlite3.Connection, roots: Iterable[bytes]) -> int:
    """Log the start of a scan of ``roots``; returns its id."""
    cursor = conn.execute(
        f"INSERT INTO scans (started_at, roots) VALUES ({_NOW}, ?)",
        (json.dumps([display_path(root) for root in roots]),),
    )
    return int(cursor.lastrowid or 0)


def finish_scan(
    conn: sqlite3.Connection, scan_id: int, outcome: str, counts: Mapping[str, int]
) -> None:
    """Record how a scan ended and what it counted."""
    assignments = ", ".join(f"{name} = :{name}" for name in SCAN_COUNTERS)
    conn.execute(
        f"UPDATE scans SET finished_at = {_NOW}, outcome = :outcome, {assignments} WHERE id = :id",
        {
            **{name: counts.get(name, 0) for name in SCAN_COUNTERS},
            "outcome": outcome,
            "id": scan_id,
        },
    )


def replace_problems(
    conn: sqlite3.Connection, roots: Iterable[bytes], problems: Iterable[tuple[bytes, bytes, str]]
) -> None:
    """Forget the problems recorded under ``roots`` and store this scan's (root, path, message)."""
    conn.executemany("DELETE FROM scan_errors WHERE root = ?", [(root,) for root in roots])
    conn.executemany(
        "INSERT INTO scan_errors (root, path, path_text, message) VALUES (?, ?, ?, ?)",
        [(root, path, display_path(path), message) for root, path, message in problems],
    )
