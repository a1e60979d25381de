"""``mydiscover explore``: the artists beyond your library you would love most."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    print_json,
    reported_errors,
    settings_from,
)

if TYPE_CHECKING:
    from mydiscover.cf.explore import Discovery
    from mydiscover.config import Settings


CountOption = Annotated[int, typer.Option("--count", "-n", min=1, max=500, help="Artists.")]
RecordingsOption = Annotated[
    int,
    typer.Option(
        "--recordings",
        min=0,
        max=25,
        help="Each artist's most listened recordings to name, from ListenBrainz (0: none).",
    ),
]
JspfOutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Also write the recordings as a JSPF playlist of MusicBrainz IDs to FILE "
        "(for ListenBrainz or troi).",
    ),
]
NoNetworkOption = Annotated[
    bool, typer.Option("--offline", help="No network: artists only, no recordings.")
]


def explore(
    count: CountOption = 20,
    recordings: RecordingsOption = 3,
    output: JspfOutputOption = None,
    offline: NoNetworkOption = False,
    json_output: JsonOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The artists you neither own nor play that you would love most, each with the reason
    and its MusicBrainz link, and their most listened recordings to start with.

    From the CF model (your folded-in taste against the public co-listening data) and the
    similarity services' lists ('mydiscover cf enrich'), on one scale. A list to look for, not
    to play: never mixed into the weekly. Needs a fitted model ('mydiscover cf fit').
    """
    from mydiscover.cf.explore import explore as find_discoveries
    from mydiscover.cf.store import fitted_model
    from mydiscover.cf.tables import (
        library_tracks,
        similar_lists,
        similar_to_user_artists,
        user_artist_plays,
    )

    if output is not None and (offline or not recordings):
        raise fail("-o writes the artists' recordings: it does not go with --offline or "
                   "--recordings 0")  # fmt: skip
    with reported_errors():
        settings = settings_from(db, config)
        model = fitted_model(settings.database)
        if model is None:
            raise fail("no CF model yet: 'mydiscover cf import PATH' then 'mydiscover cf fit'")
        conn = connect(settings, create=False)
        try:
            found = find_discoveries(model, user_artist_plays(conn), library_tracks(conn),
                                     similar_to_user_artists(conn), similar_lists(conn),
                                     count)  # fmt: skip
        finally:
            conn.close()
        if not found:
            raise fail("the model has no artist you neither own nor play")
        if recordings and not offline:
            _add_recordings(settings, found, recordings)
    if output is not None:
        _write_jspf(output, found)
    if json_output:
        print_json({"artists": [discovery.to_json() for discovery in found]})
    else:
        _print_table(found)


def _add_recordings(settings: Settings, found: list[Discovery], per_artist: int) -> None:
    from mydiscover.cf.explore import POPULARITY_INTERVAL, add_recordings
    from mydiscover.http import ApiSession

    api_url = settings.listenbrainz.api_url
    session = ApiSession(api_url, min_interval=POPULARITY_INTERVAL, max_retries=1)
    with err.status("explore: asking ListenBrainz for recordings", spinner="dots") as status:
        problems = add_recordings(
            session, found, per_artist,
            lambda d: status.update(f"explore: recordings of {escape(d.name)}"),
        )  # fmt: skip
    for problem in problems[:3]:
        err.print(f"[yellow]warning:[/] no recordings for {escape(problem)}", highlight=False)
    if len(problems) > 3:
        err.print(f"[yellow]warning:[/] and {len(problems) - 3} more artists without recordings",
                  highlight=False)  # fmt: skip


def _write_jspf(output: Path, found: list[Discovery]) -> None:
    from mydiscover.files import write_output
    from mydiscover.playlists.write import RecordingTrack, recordings_jspf

    tracks = [
        RecordingTrack(r.mbid, r.title, d.name, d.mbid, r.album, r.seconds, d.reason)
        for d in found for r in d.recordings
    ]  # fmt: skip
    if not tracks:
        raise fail(f"no recordings to write to {output} (--offline, --recordings 0, or none "
                   "of the artists has recordings on ListenBrainz)")  # fmt: skip
    today = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with reported_errors():
        write_output(output, recordings_jspf("Explore, by mydiscover", today, tracks))
    err.print(f"{len(tracks)} recordings of {len(found)} artists -> {escape(str(output))}",
              highlight=False)  # fmt: skip


def _print_table(found: list[Discovery]) -> None:
    """A table on a terminal; in a pipe, one tab-separated line an artist (a table there
    would cut long names to the pipe's assumed width)."""
    if not out.is_terminal:
        for position, d in enumerate(found, start=1):
            start = "; ".join(r.title for r in d.recordings)
            fields = [str(position), d.name, d.reason, start, d.link]
            print("\t".join(" ".join(field.split()) for field in fields))
        return
    table = Table("#", "Artist", "Why", "Start with", "MusicBrainz", title="Explore",
                  title_justify="left")  # fmt: skip
    for position, discovery in enumerate(found, start=1):
        start = "; ".join(r.title for r in discovery.recordings)
        table.add_row(str(position), escape(discovery.name), escape(discovery.reason),
                      escape(start or "-"), discovery.link or "-")  # fmt: skip
    out.print(table)
