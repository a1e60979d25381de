"""``mydiscover status``: what the database holds."""

from __future__ import annotations

import sqlite3
from typing import Any

from rich.markup import escape
from rich.table import Table

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    JsonOption,
    out,
    overview_table,
    print_json,
    read_summary,
)
from mydiscover.display import format_bytes, format_duration


def status(
    db: DbOption = None, config: ConfigOption = None, json_output: JsonOption = False
) -> None:
    """Show what is in the database: tracks, missing, errors, formats and total duration."""
    summary = read_summary(db, config, _summary)
    if json_output:
        print_json(summary)
        return

    overview = overview_table("mydiscover library")
    overview.add_row("Tracks", f"{summary['available']:,}")
    overview.add_row("Missing", f"{summary['missing']:,}")
    overview.add_row("Errors", f"{summary['errors']:,}")
    overview.add_row("Analysed", f"{summary['analysed']:,}")
    overview.add_row("Total duration", format_duration(summary["duration_seconds"]))
    overview.add_row("Total size", format_bytes(summary["bytes"]))
    last = summary["last_scan"]
    if last:
        overview.add_row("Last scan", f"{last['finished_at']} ({last['outcome']})")
    overview.add_row("Database", escape(summary["database"]))
    overview.add_row("Schema version", str(summary["schema_version"]))
    out.print(overview)

    if summary["formats"]:
        formats = Table(title="Formats", title_justify="left")
        formats.add_column("Format")
        formats.add_column("Tracks", justify="right")
        formats.add_column("Duration", justify="right")
        formats.add_column("Size", justify="right")
        for row in summary["formats"]:
            formats.add_row(
                row["format"],
                f"{row['tracks']:,}",
                format_duration(row["duration_seconds"]),
                format_bytes(row["bytes"]),
            )
        out.print(formats)
    if summary["errors"]:
        out.print("See them with: mydiscover scan --errors", style="dim")


def _summary(conn: sqlite3.Connection) -> dict[str, Any]:
    """The library's numbers with the analysis's."""
    from mydiscover.audio.tables import audio_summary
    from mydiscover.library.tables import library_summary

    return {**library_summary(conn), **audio_summary(conn)}
