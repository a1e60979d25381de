"""What every command shares: the two consoles, the --db/--config options, error reporting."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mydiscover.config import ENV_CONFIG, ENV_DB, Settings, exposed_secret_warning, load_settings
from mydiscover.db import open_database
from mydiscover.errors import MydiscoverError

#: Data goes to stdout, so it pipes cleanly; progress, logs and errors go to stderr.
# No emoji codes: escape() leaves a title's ":fire:" alone, which rich would draw as an emoji
# (and its table of codes cost every command 2 ms to import).
out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)  # one message, one line, in logs too

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar=ENV_DB,
        help="The database file. Default: mydiscover.db in your XDG data folder.",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar=ENV_CONFIG,
        help="The TOML config file. Default: config.toml in your XDG config folder.",
        show_default=False,
    ),
]
_HELD = "If another command holds the database (a scan, an analysis), wait for it instead of"
WaitOption = Annotated[bool, typer.Option("--wait", help=f"{_HELD} refusing.")]
#: For the commands that run every stage: a stage refused by the lock is skipped, not fatal.
StagesWaitOption = Annotated[bool, typer.Option("--wait", help=f"{_HELD} skipping that stage.")]
DatasetFormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="hetrec-2k (a folder with user_artists.dat and artists.dat), lastfm-1k "
        "(per-listen TSV), lastfm-360k (user, artist MBID, artist, plays TSV), listenbrainz "
        "(JSON lines: a file, a folder, or a listens dump's .tar.zst / .tar.xz), mlhd (MLHD "
        "or MLHD+: tar archives of one file per listener), or auto to recognise it. Any file "
        "may be gzip, bzip2, xz or zstd compressed.",
    ),
]
OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Skip every network step (history, reviews).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn mydiscover's own errors into one line on stderr and exit code 1."""
    try:
        yield
    except MydiscoverError as exc:
        raise fail(str(exc)) from None


@contextmanager
def interruptible(message: str) -> Iterator[None]:
    """Turn Ctrl-C (or a SIGTERM) into ``message`` on stderr and exit code 130."""
    try:
        yield
    except KeyboardInterrupt:
        err.print(message, highlight=False)
        raise typer.Exit(130) from None


def settings_from(db: Path | None, config: Path | None) -> Settings:
    """The settings, with the command's flags taking precedence."""
    return load_settings(database=db, config_file=config)


def warn_if_config_exposed(settings: Settings, secret: str) -> None:
    """Warn on stderr when the config file a ``secret`` ("an API key", "a token") was read
    from may be read by other users of the machine."""
    if warning := exposed_secret_warning(settings, secret):
        err.print(f"warning: {escape(warning)}", highlight=False)


def read_summary(
    db: Path | None, config: Path | None, summarize: Callable[[sqlite3.Connection], dict[str, Any]]
) -> dict[str, Any]:
    """Open the existing database read-only in spirit, and return ``summarize(conn)``, with the
    database's path added."""
    with reported_errors():
        settings = settings_from(db, config)
        conn = connect(settings, create=False)
        try:
            return {"database": str(settings.database), **summarize(conn)}
        finally:
            conn.close()


def overview_table(title: str) -> Table:
    """A two-column (label, value) table, as the status commands print."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    return table


def print_json(data: dict[str, Any]) -> None:
    """Print ``data`` as JSON on stdout."""
    import json  # (here: most commands print no JSON)

    out.print_json(json.dumps(data))


def connect(settings: Settings, *, create: bool = True) -> sqlite3.Connection:
    """Open the settings' database (see :func:`mydiscover.db.open_database`)."""
    return open_database(settings.database, create=create)


def find_track(conn: sqlite3.Connection, query: str) -> int:
    """The id of the track a path or an "Artist - Title" names."""
    from mydiscover.history.tables import load_matcher
    from mydiscover.library.tables import track_id_at
    from mydiscover.library.walk import normalize_root

    if os.path.lexists(query):
        track_id = track_id_at(conn, normalize_root(query))
        if track_id is None:
            raise fail(f"{query} is not in the catalog: run 'mydiscover scan' on its folder")
        return track_id
    artist, separator, title = query.partition(" - ")
    if not separator:
        raise fail(f'no file {query!r}; to name a track, write "Artist - Title"')
    found = load_matcher(conn).match(artist, title)
    if found is None:
        raise fail(f"no track {query!r} in the catalog")
    return found.track_id
