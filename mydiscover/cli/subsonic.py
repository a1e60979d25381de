"""``mydiscover subsonic``: live beside a Navidrome-style server (the Subsonic API)."""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    connect,
    err,
    fail,
    interruptible,
    reported_errors,
    settings_from,
    warn_if_config_exposed,
)

if TYPE_CHECKING:
    from mydiscover.config import Settings
    from mydiscover.subsonic import SubsonicClient

ENV_PASSWORD = "MYDISCOVER_SUBSONIC_PASSWORD"
PLAYLIST_NAME = "Discover Weekly"

app = typer.Typer(
    help="Sync with a Subsonic / Navidrome server: its plays and stars as history, and the "
    "weekly pushed to it as a playlist.",
    no_args_is_help=True,
)


@app.command("sync")
def sync_command(
    url: Annotated[
        str | None, typer.Option(help="The server, e.g. http://nas:4533. Default: [subsonic] url.")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Default: [subsonic] user.")] = None,
    push: Annotated[
        bool, typer.Option(help="Push this week's weekly as the server playlist.")
    ] = True,
    playlist: Annotated[
        str, typer.Option(help="The playlist's name on the server.")
    ] = PLAYLIST_NAME,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Match the server's songs to your library (MusicBrainz ID, then tags and duration), keep
    its play counts and stars as history, then push this week's weekly as one playlist that
    is replaced in place every week. The password comes from [subsonic] password in the config
    file (keep it 0600) or MYDISCOVER_SUBSONIC_PASSWORD, never from the command line; a server
    that refuses tokens gets it over http only with [subsonic] allow_plain_password = true."""
    from mydiscover.history.subsonic import sync_server
    from mydiscover.subsonic import SubsonicClient

    with reported_errors(), interruptible("subsonic sync: interrupted; the previous sync is kept."):
        settings = settings_from(db, config)
        url = url or settings.subsonic.url
        user = user or settings.subsonic.user
        password = os.environ.get(ENV_PASSWORD) or settings.subsonic.password
        if not url or not user:
            raise fail("no server: give --url and --user, or [subsonic] url and user in the config")
        if not password:
            raise fail(f"no password: set [subsonic] password in {settings.config_file} "
                       f"(chmod 600) or {ENV_PASSWORD}")  # fmt: skip
        if not os.environ.get(ENV_PASSWORD):
            warn_if_config_exposed(settings, "a password")
        # A server that refuses tokens gets the password over http only where the config
        # says so: it travels as hex, which anyone on the way can read.
        client = SubsonicClient(
            url, user, password, allow_plain_password=settings.subsonic.allow_plain_password
        )
        conn = connect(settings)
        try:
            with err.status(f"reading the songs of {escape(client.host)}", spinner="dots"):
                report = sync_server(conn, client, url)
            err.print(f"{client.host}: {report.summary()}.", highlight=False)
            if push:
                _push(conn, client, url, playlist, settings)
        finally:
            conn.close()


def _push(
    conn: sqlite3.Connection, client: SubsonicClient, server: str, name: str, settings: Settings
) -> None:
    """Push this week's weekly (the one the week keeps: made now with the defaults if none
    was) as the server playlist."""
    from mydiscover.history.tables import server_song_ids
    from mydiscover.playlists.write import weekly_entries
    from mydiscover.recommend.service import this_week, weekly_playlist, weekly_user

    week = this_week()
    playlist = weekly_playlist(conn, settings.database, week=week, user=weekly_user(settings))
    made, entries = playlist.weekly, weekly_entries(playlist)
    for warning in made.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    on_server = server_song_ids(conn, server)
    songs = [on_server[pick.track_id] for pick in made.picks if pick.track_id in on_server]
    playlist_id = client.replace_playlist(name, songs)
    missing = [escape(f"{entry.artist} - {entry.title}")
               for pick, entry in zip(made.picks, entries, strict=True)
               if pick.track_id not in on_server]  # fmt: skip
    err.print(
        f"{client.host}: playlist {name!r} ({playlist_id}) now holds Discover Weekly {week}: "
        f"{len(songs)} tracks" + (f"; {len(missing)} not on the server: " + ", ".join(missing)
                                  if missing else ""),
        highlight=False,
    )  # fmt: skip
