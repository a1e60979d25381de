"""What the database holds, in numbers: the data behind ``mydiscover status``."""

from __future__ import annotations

import sqlite3
from typing import Any

from mydiscover.db.scans import SCAN_COUNTERS
from mydiscover.db.schema import schema_version


def library_summary(conn: sqlite3.Connection) -> dict[str, Any]:
    """Track counts by status, formats, total duration and size, and the last scan."""
    by_status = dict(conn.execute("SELECT status, count(*) FROM tracks GROUP BY status"))
    totals = conn.execute(
        "SELECT coalesce(sum(duration), 0), coalesce(sum(size), 0) FROM tracks WHERE status = 'ok'"
    ).fetchone()
    formats = [
        {"format": fmt, "tracks": count, "duration_seconds": round(duration, 1), "bytes": size}
        for fmt, count, duration, size in conn.execute(
            "SELECT coalesce(format, 'unknown'), count(*), coalesce(sum(duration), 0), "
            "sum(size) FROM tracks WHERE status = 'ok' GROUP BY 1 ORDER BY 2 DESC, 1"
        )
    ]
    problems = conn.execute("SELECT count(*) FROM scan_errors").fetchone()[0]
    analysed, undecodable = conn.execute(
        "SELECT count(track_audio.embedding), count(track_audio.error) FROM track_audio "
        "JOIN tracks ON tracks.id = track_audio.track_id WHERE tracks.status = 'ok'"
    ).fetchone()
    last = conn.execute(
        f"SELECT started_at, finished_at, outcome, {', '.join(SCAN_COUNTERS)} FROM scans "
        "WHERE outcome != 'running' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    last_scan = None
    if last is not None:
        last_scan = dict(
            zip(("started_at", "finished_at", "outcome", *SCAN_COUNTERS), last, strict=True)
        )
    return {
        "schema_version": schema_version(conn),
        "tracks": sum(by_status.values()),
        "available": by_status.get("ok", 0),
        "missing": by_status.get("missing", 0),
        "unreadable": by_status.get("error", 0),
        "scan_problems": problems,
        "errors": by_status.get("error", 0) + problems,
        "duration_seconds": round(totals[0], 1),
        "bytes": totals[1],
        "formats": formats,
        "analysed": analysed,
        "undecodable": undecodable,
        "last_scan": last_scan,
    }


def recorded_errors(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every error on record as (path, message): unreadable tracks, then other problems."""
    rows = conn.execute(
        "SELECT path_text, error FROM tracks WHERE status = 'error' "
        "UNION ALL SELECT path_text, message FROM scan_errors ORDER BY 1"
    )
    return [(path, message) for path, message in rows]
