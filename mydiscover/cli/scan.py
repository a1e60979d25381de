"""``mydiscover scan``: catalog music folders into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    Progress,
    SpinnerColumn,
    TaskID,
)
from rich.table import Table

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    ThrottledRedraw,
    WaitOption,
    connect,
    err,
    fail,
    out,
    reported_errors,
    settings_from,
    threadless_progress,
)
from mydiscover.config import Settings
from mydiscover.db.connection import check_database_path
from mydiscover.db.listens import rematch_unmatched
from mydiscover.db.lock import exclusive_lock
from mydiscover.db.summary import recorded_errors
from mydiscover.library.scan import scan_library
from mydiscover.library.walk import normalize_root

#: Exit status of a scan stopped by Ctrl-C, as shells report SIGINT.
EXIT_INTERRUPTED = 130


class RichScanProgress:
    """The scan's progress on stderr: a counter while walking, then a bar with rate and ETA.

    It redraws from the scan's own calls (see :class:`ThrottledRedraw`).
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._walk_task: TaskID = progress.add_task("Looking for music", total=None)
        self._read_task: TaskID | None = None
        self._redraw = ThrottledRedraw(progress)

    def walking(self, files_found: int) -> None:
        """Show how many audio files the walk has found so far."""
        self._progress.update(self._walk_task, completed=files_found)
        self._redraw()

    def reading(self, total: int) -> None:
        """Switch from the walk counter to the reading bar."""
        self._progress.update(self._walk_task, visible=False)
        self._read_task = self._progress.add_task("Reading tags", total=total)
        self._redraw(force=True)

    def advance(self, count: int) -> None:
        """Move the reading bar."""
        if self._read_task is not None:
            self._progress.advance(self._read_task, count)
            self._redraw()


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
        roots = [normalize_root(str(folder)) for folder in folders or settings.music_roots]
        if not roots:
            raise fail(
                "no folders given, and the config file has no music_roots "
                f"({settings.config_file}); try: mydiscover scan ~/Music"
            )
        check_database_path(settings.database)
        rematched = 0
        with exclusive_lock(settings.database, "a scan", wait=wait):
            conn = connect(settings)
            try:
                show_progress = err.is_terminal and not quiet
                with threadless_progress(
                    SpinnerColumn(), unit="files", shown=show_progress
                ) as progress:
                    report = scan_library(
                        conn, roots, jobs=jobs, progress=RichScanProgress(progress)
                    )
                if not report.interrupted and (report.new or report.changed or report.moved):
                    # New files may be what earlier listens were waiting for.
                    rematched = rematch_unmatched(conn)
            finally:
                conn.close()
    if report.interrupted:
        err.print(
            f"Scan interrupted: {report.summary()} so far; run the same scan again to carry on."
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if not quiet:
        err.print(f"Scanned: {report.summary()}.", highlight=False)
        if rematched:
            err.print(f"{rematched} earlier listens now match a track.", highlight=False)
        if report.errors:
            err.print("See what failed with: mydiscover scan --errors", style="dim")
    if errors:
        _print_errors(settings)
    if report.errors:
        raise typer.Exit(1)


def _one_field(text: str) -> str:
    """Text safe for one tab-separated field: tabs and line breaks written as escapes."""
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _print_errors(settings: Settings) -> None:
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
