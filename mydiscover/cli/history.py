"""``mydiscover history``: bring listening history in, and see what it holds."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    JsonOption,
    connect,
    err,
    fail,
    out,
    overview_table,
    print_json,
    read_summary,
    reported_errors,
    settings_from,
    warn_if_config_exposed,
)
from mydiscover.cli.render import EXIT_INTERRUPTED, ConsoleView
from mydiscover.config import ENV_LASTFM_KEY, Settings, lastfm_api_key
from mydiscover.config import listenbrainz_token as config_listenbrainz_token
from mydiscover.history.report import ImportProgress, ImportReport

app = typer.Typer(
    help="Bring in your listening history (Last.fm, ListenBrainz, export files) and see it.",
    no_args_is_help=True,
)


def _run_import(settings: Settings, label: str, run: Callable[..., ImportReport]) -> ImportReport:
    """Run an import with a progress bar and its outcome line; Ctrl-C ends it with what was
    saved."""
    from mydiscover.pipeline import StageInterrupted, import_history

    conn = connect(settings)
    try:
        return import_history(conn, label, ConsoleView(), lambda progress: run(conn, progress))
    except StageInterrupted as stopped:
        err.print(escape(str(stopped)), highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        conn.close()


def _account(user: str | None, service: str, key: str) -> str:
    """The account to import (the one given, else the config file's), or one line why none."""
    if not user:
        raise fail(f"no {service} user given, and none in the config file ([{key}] user)")
    return user


@app.command("import")
def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Export files: lastfm-to-csv CSV, Last.fm JSON pages, ListenBrainz zip or "
            "JSONL, Maloja JSON, or mydiscover CSV (listened_at,artist,title[,album]"
            "[,mb_recording_id]). The format is recognised from the content.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Skip detection: lastfm-csv, lastfm-json, listenbrainz, maloja or csv.",
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import listening history from export files. Importing a file twice adds nothing."""
    from mydiscover.history.importer import import_files

    with reported_errors():
        settings = settings_from(db, config)
        failures: list[tuple[Path, str]] = []

        def run(conn: sqlite3.Connection, progress: ImportProgress) -> ImportReport:
            report, failed = import_files(conn, files, fmt=fmt, progress=progress)
            failures.extend(failed)
            return report

        _run_import(settings, "Import", run)
    for _path, reason in failures:
        err.print(f"[bold red]error:[/] {escape(reason)}", highlight=False)
    if failures:
        raise typer.Exit(1)


@app.command("lastfm")
def lastfm_command(
    user: Annotated[
        str | None,
        typer.Argument(help="Last.fm user name. Default: [lastfm] user in the config file."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import scrobbles from Last.fm (incremental: a second run fetches only new ones).

    Needs an API key: [lastfm] api_key in the config file, or MYDISCOVER_LASTFM_API_KEY.
    """
    from mydiscover.config import missing_api_key_message
    from mydiscover.history.lastfm import import_lastfm

    with reported_errors():
        settings = settings_from(db, config)
        user = _account(user or settings.lastfm.user, "Last.fm", "lastfm")
        api_key = lastfm_api_key(settings)
        if not api_key:
            raise fail(missing_api_key_message(settings.config_file))
        if not os.environ.get(ENV_LASTFM_KEY):
            warn_if_config_exposed(settings, "a Last.fm API key")
        api_url = settings.lastfm.api_url
        _run_import(
            settings,
            f"Last.fm {user}",
            lambda conn, progress: import_lastfm(
                conn, user, api_key, api_url=api_url, progress=progress
            ),
        )


@app.command("listenbrainz")
def listenbrainz_command(
    user: Annotated[
        str | None,
        typer.Argument(
            help="ListenBrainz user name. Default: [listenbrainz] user in the config file."
        ),
    ] = None,
    ask_token: Annotated[
        bool,
        typer.Option(
            "--ask-token",
            help="Ask for a user token (for private listens) at a prompt that does not show "
            "it. Otherwise the token comes from MYDISCOVER_LISTENBRAINZ_TOKEN or [listenbrainz] "
            "token in the config file; never from the command line, where every user of the "
            "machine could read it in the process list.",
        ),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import listens from ListenBrainz (incremental: a second run fetches only new ones)."""
    from mydiscover.history.listenbrainz import import_listenbrainz

    with reported_errors():
        settings = settings_from(db, config)
        user = _account(user or settings.listenbrainz.user, "ListenBrainz", "listenbrainz")
        token = listenbrainz_token(settings, ask_token)
        api_url = settings.listenbrainz.api_url
        _run_import(
            settings,
            f"ListenBrainz {user}",
            lambda conn, progress: import_listenbrainz(
                conn, user, token, api_url=api_url, progress=progress
            ),
        )


def listenbrainz_token(settings: Settings, ask: bool) -> str | None:
    """The user token: asked for at a hidden prompt, else from the environment, else from
    the config file (with a warning when others can read it); None without one."""
    if ask:
        return str(typer.prompt("ListenBrainz user token", hide_input=True)).strip() or None
    token, from_config = config_listenbrainz_token(settings)
    if from_config:
        warn_if_config_exposed(settings, "a ListenBrainz token")
    return token


def _date(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d")


@app.command("status")
def status_command(
    db: DbOption = None, config: ConfigOption = None, json_output: JsonOption = False
) -> None:
    """Show the listening history: listens, sources, dates, match rate, unmatched artists."""
    from mydiscover.history.tables import history_summary

    summary = read_summary(db, config, history_summary)
    if json_output:
        print_json(summary)
        return
    overview = overview_table("Listening history")
    overview.add_row("Listens", f"{summary['listens']:,}")
    rate = summary["match_rate"]
    overview.add_row("Matched to your library", "-" if rate is None else f"{rate:.1%}")
    overview.add_row(
        "From - to", f"{_date(summary['first_listened_at'])} - {_date(summary['last_listened_at'])}"
    )
    tags = summary["tag_play_counts"]
    overview.add_row("Play counts in tags", f"{tags['plays']:,} plays on {tags['tracks']:,} tracks")
    out.print(overview)
    if summary["sources"]:
        sources = Table("Source", "Listens", "Matched", title="Sources", title_justify="left")
        for row in summary["sources"]:
            sources.add_row(row["source"], f"{row['listens']:,}", f"{row['matched']:,}")
        out.print(sources)
    if summary["top_unmatched_artists"]:
        unmatched = Table("Artist", "Listens", title="Top unmatched artists", title_justify="left")
        for row in summary["top_unmatched_artists"]:
            unmatched.add_row(escape(row["artist"]), f"{row['listens']:,}")
        out.print(unmatched)
