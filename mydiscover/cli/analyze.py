"""``mydiscover analyze``: give every catalogued track a sound fingerprint."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    ThrottledRedraw,
    connect,
    err,
    reported_errors,
    settings_from,
    threadless_progress,
)
from mydiscover.db.connection import check_database_path, transaction
from mydiscover.db.lock import exclusive_lock

EXIT_INTERRUPTED = 130
#: Seconds one track may take before its worker is stopped and the track recorded as failed:
#: a track takes seconds; a decoder stuck on a damaged or swapped file would take forever.
DEFAULT_TIMEOUT_SECONDS = 300.0


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
    from mydiscover.audio.analyze import ANALYSIS_VERSION, analyze_many, timed_out
    from mydiscover.db.audio import pending_tracks, store_analysis
    from mydiscover.workers import WorkerPool

    with reported_errors():
        settings = settings_from(db, config)
        check_database_path(settings.database)
        with exclusive_lock(settings.database, "an analysis"):
            conn = connect(settings, create=False)
            try:
                pending = pending_tracks(conn, ANALYSIS_VERSION)[:limit]
                if not pending:
                    if not quiet:
                        err.print("Nothing to analyse: every available track is up to date.")
                    return
                by_id = {track.id: track for track in pending}
                failed: list[tuple[str, str]] = []
                started = time.monotonic()
                done = 0
                with (
                    threadless_progress(unit="tracks", shown=err.is_terminal and not quiet) as bar,
                    # Always in worker processes, even with -j 1: each result comes back (and
                    # is saved) as soon as it is ready, and a stuck worker can be stopped.
                    WorkerPool(
                        analyze_many,
                        jobs,
                        chunk_size=1,
                        min_items=1,
                        timeout=timeout,
                        on_timeout=timed_out,
                    ) as pool,
                ):
                    task = bar.add_task("Analysing audio", total=len(pending))
                    redraw = ThrottledRedraw(bar)
                    for track in pending:
                        pool.submit((track.id, track.path))
                    try:
                        for track_id, analysis, error in pool.results():
                            track = by_id[track_id]
                            with transaction(conn):
                                store_analysis(conn, track, ANALYSIS_VERSION, analysis, error)
                            if error is not None:
                                failed.append((track.path_text, error))
                            done += 1
                            bar.advance(task)
                            redraw()
                    except KeyboardInterrupt:
                        err.print(
                            f"Analysis interrupted after {done} of {len(pending)} tracks; "
                            "run it again to carry on."
                        )
                        raise typer.Exit(EXIT_INTERRUPTED) from None
            finally:
                conn.close()
    if not quiet:
        seconds = time.monotonic() - started
        err.print(
            f"Analysed {done} tracks in {seconds:.1f} s ({done / seconds:.2f} tracks/s); "
            f"{len(failed)} could not be analysed.",
            highlight=False,
        )
        for path, reason in failed[:5]:
            err.print(f"  {escape(path)}: {escape(reason)}", style="dim", highlight=False)
    if failed:
        raise typer.Exit(1)
