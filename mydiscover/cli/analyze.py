"""``mydiscover analyze``: give every catalogued track a sound fingerprint."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from mydiscover.audio.run import DEFAULT_TIMEOUT_SECONDS  # a light module: no numpy
from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    WaitOption,
    connect,
    err,
    reported_errors,
    settings_from,
)
from mydiscover.cli.render import EXIT_INTERRUPTED, ConsoleView
from mydiscover.db.connection import check_database_path


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
    from mydiscover.pipeline import StageInterrupted, analyze_tracks

    with reported_errors():
        settings = settings_from(db, config)
        check_database_path(settings.database)
        conn = connect(settings, create=False)
        try:
            failed = analyze_tracks(conn, settings.database, ConsoleView(quiet=quiet), jobs=jobs,
                                    limit=limit, timeout=timeout, wait=wait)  # fmt: skip
        except StageInterrupted as stopped:
            err.print(escape(str(stopped)), highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            conn.close()
    if failed:
        raise typer.Exit(1)
