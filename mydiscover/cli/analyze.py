"""``mydiscover analyze``: give every catalogued track a sound fingerprint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import Progress

from mydiscover.audio.run import DEFAULT_TIMEOUT_SECONDS
from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    ThrottledRedraw,
    WaitOption,
    connect,
    err,
    reported_errors,
    settings_from,
    threadless_progress,
)
from mydiscover.db.connection import check_database_path

if TYPE_CHECKING:
    from mydiscover.audio.run import AnalysisRun
    from mydiscover.db.audio import PendingTrack

EXIT_INTERRUPTED = 130


def analyze(
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes. [default: one per core]"),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Analyse at most this many tracks this time."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=1, metavar="SECONDS", help="Give up on a track after this long."
        ),
    ] = DEFAULT_TIMEOUT_SECONDS,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    wait: WaitOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Analyse the audio of new, changed or outdated tracks: tempo, key, loudness,
    danceability and a CNN embedding (musicnn).

    A track is analysed in at most 60 s of excerpts (three 20-s windows of a long track), so a
    20-minute live recording costs what a song does. Each result is saved as it comes: Ctrl-C
    loses only the tracks in flight, and the next run carries on. A file that cannot be decoded
    is recorded with the reason and tried again once it changes; so is one that takes longer
    than --timeout (its worker is stopped and another takes its place).
    """
    from mydiscover.audio.run import AnalysisInterrupted, run_analysis

    with reported_errors():
        settings = settings_from(db, config)
        check_database_path(settings.database)
        conn = connect(settings, create=False)
        try:
            with threadless_progress(unit="tracks", shown=err.is_terminal and not quiet) as bar:
                run = run_analysis(conn, settings.database, _ProgressBar(bar), jobs=jobs,
                                   limit=limit, timeout=timeout, wait=wait)  # fmt: skip
        except AnalysisInterrupted as stopped:
            err.print(f"Analysis interrupted after {stopped.run.done} of {stopped.run.pending} "
                      "tracks; run it again to carry on.", highlight=False)  # fmt: skip
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            conn.close()
    if not quiet and not run.pending:
        err.print("Nothing to analyse: every available track is up to date.")
    elif not quiet:
        err.print(
            f"Analysed {run.done} tracks in {run.seconds:.1f} s "
            f"({run.done / max(run.seconds, 1e-9):.2f} tracks/s); "
            f"{len(run.failed)} could not be analysed.",
            highlight=False,
        )
        for path, reason in run.failed[:5]:
            err.print(f"  {escape(path)}: {escape(reason)}", style="dim", highlight=False)
    if run.failed:
        raise typer.Exit(1)


class _ProgressBar:
    """The run's progress as a rich bar on stderr, redrawn without a thread (workers fork)."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.redraw = ThrottledRedraw(bar)
        self.task = bar.add_task("Analysing audio", total=None)

    def started(self, pending: int) -> None:
        """Set the bar's total."""
        self.bar.update(self.task, total=pending)

    def stored(self, run: AnalysisRun, track: PendingTrack, error: str | None) -> None:
        """Advance the bar by one."""
        self.bar.advance(self.task)
        self.redraw()
