"""``mydiscover serve``: the web page, and Subsonic answers in front of a music server."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

import typer
from rich.markup import escape

from mydiscover.cli.common import ConfigOption, DbOption, err, reported_errors, settings_from


def serve(
    host: Annotated[
        str,
        typer.Option(
            help="The address to listen on. Beyond 127.0.0.1 the server asks for a "
            "token (MYDISCOVER_SERVE_TOKEN, or one made up and shown at start)."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8765,
    upstream: Annotated[
        str,
        typer.Option(
            help="Your Subsonic server (Navidrome, gonic, Airsonic, supysonic), e.g. "
            "http://nas:4533: point your clients at this server instead, and Instant "
            "Mix comes from mydiscover (run 'mydiscover subsonic sync' first).",
            show_default=False,
        ),
    ] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve a web page to hear and steer this week's weekly (love, skip, never again), see
    your taste map, past weeklies and every stage, and refresh them; with --upstream, answer
    Subsonic clients' Instant Mix (similar songs, similar artists, top songs, sonic
    similarity) from mydiscover's models and pass everything else to your server."""
    from mydiscover.serve.run import Served, plan
    from mydiscover.serve.run import serve as run

    def ready(served: Served) -> None:
        err.print(
            f"Serving {escape(str(settings.database))} at {escape(served.address)}", highlight=False
        )
        if served.upstream:
            err.print(
                f"Subsonic clients: use {escape(served.base)} as the "
                f"server (answers for {escape(served.upstream)})",
                highlight=False,
            )
        err.print("Ctrl-C stops it.", style="dim", highlight=False)

    with reported_errors(), suppress(KeyboardInterrupt):  # Ctrl-C is how it stops
        settings = settings_from(db, config)
        run(settings, plan(host, port, upstream), ready)
    err.print("stopped", highlight=False)
