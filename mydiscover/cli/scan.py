"""``mydiscover scan``: catalog music folders into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    WaitOption,
    connect,
    err,
    fail,
    out,
    reported_errors,
    settings_from,
)
from mydiscover.cli.render import EXIT_INTERRUPTED, ConsoleView
from mydiscover.config import Settings
from mydiscover.db.connection import check_database_path


def scan(
    folders: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Music folders (or files) to scan. Default: music_roots from the config file.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Processes reading tags. [default: one per core]"),
    ] = None,
    wait: WaitOption = False,
    errors: Annotated[
        bool,
        typer.Option("--errors", help="List the files and folders that could not be read."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Catalog the audio files in your music folders.

    Reads tags and stream info (mp3, flac, ogg, opus, m4a/aac, wav, aiff, wma, wavpack, ape).
    Incremental: unchanged files cost one stat, moved files keep their identity, removed files
    are marked missing but never deleted. Hidden files and folders are skipped. Safe to stop with
    Ctrl-C: the next scan resumes.

    Exit status: 0 when everything was read, 1 when some files or folders could not be
    (see --errors), 130 when interrupted.
    """
    with reported_errors():
        settings = settings_from(db, config)
        if errors and not folders:
            _print_errors(settings)
            return
        roots = list(folders or settings.music_roots)
        if not roots:
            raise fail(
                "no folders given, and the config file has no music_roots "
                f"({settings.config_file}); try: mydiscover scan ~/Music"
            )
        from mydiscover.pipeline import StageInterrupted, scan_music

        check_database_path(settings.database)
        conn = connect(settings)
        try:
            scanned = scan_music(conn, settings.database, roots, ConsoleView(quiet=quiet),
                                 jobs=jobs, wait=wait)  # fmt: skip
        except StageInterrupted as stopped:
            err.print(escape(str(stopped)), highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            conn.close()
    if errors:
        _print_errors(settings)
    if scanned.report.errors:
        raise typer.Exit(1)


def _one_field(text: str) -> str:
    """Text safe for one tab-separated field: tabs and line breaks written as escapes."""
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _print_errors(settings: Settings) -> None:
    from mydiscover.library.tables import recorded_errors

    conn = connect(settings, create=False)
    try:
        rows = recorded_errors(conn)
    finally:
        conn.close()
    if not out.is_terminal:
        for path, message in rows:
            typer.echo(f"{_one_field(path)}\t{_one_field(message)}")
        return
    if not rows:
        err.print("No errors recorded.")
        return
    table = Table("Path", "Problem", title=f"{len(rows)} errors", title_justify="left")
    for path, message in rows:
        table.add_row(escape(path), escape(message))
    out.print(table)
