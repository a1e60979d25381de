"""``mydiscover weekly``: this week's Discover Weekly from your own library; and ``ban``."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    OfflineOption,
    StagesWaitOption,
    connect,
    err,
    fail,
    find_track,
    out,
    print_json,
    reported_errors,
    settings_from,
    warn_if_config_exposed,
)
from mydiscover.cli.render import refresh_stages

if TYPE_CHECKING:
    from mydiscover.config import Settings
    from mydiscover.playlists.write import Entry

_WEEK = re.compile(r"^\d{4}-W\d{2}$")


def weekly(
    size: Annotated[int, typer.Option("--size", "-n", min=1, max=500, help="Tracks.")] = 30,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the playlist to FILE instead of stdout."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="m3u, xspf, jspf or json.")] = "m3u",
    paths: Annotated[
        str,
        typer.Option(
            help="absolute, relative (to the playlist file: needs --output) or "
            "music-root (relative to the music folder, for MPD)."
        ),
    ] = "absolute",
    to_playlist: Annotated[
        bool,
        typer.Option(
            "--to-playlist",
            help="Write to the config's [weekly] playlist file (paths "
            "relative to it): what the weekly timer runs.",
        ),
    ] = False,
    navidrome: Annotated[
        Path | None,
        typer.Option(
            help="Write 'Discover Weekly.m3u' into this folder of your library for "
            "Navidrome's playlist import (paths relative to it)."
        ),
    ] = None,
    mpd: Annotated[
        str | None,
        typer.Option(
            "--mpd",
            metavar="HOST[:PORT]",
            help="Save the weekly as MPD's stored playlist 'Discover Weekly' there, replacing "
            "it in place (paths relative to the music folder, which must be MPD's; password: "
            "MYDISCOVER_MPD_PASSWORD). Nothing on stdout then, unless -o.",
            show_default=False,
        ),
    ] = None,
    listenbrainz: Annotated[
        bool,
        typer.Option(
            "--listenbrainz",
            help="Put the weekly in your ListenBrainz playlist 'Discover Weekly' (created "
            "private the first time, replaced in place after): [listenbrainz] user in the "
            "config, the token from MYDISCOVER_LISTENBRAINZ_TOKEN or the config. Only tracks "
            "tagged with a MusicBrainz recording ID can go there. Nothing on stdout then, "
            "unless -o.",
        ),
    ] = False,
    jellyfin: Annotated[
        str | None,
        typer.Option(
            "--jellyfin",
            metavar="URL",
            help="Put the weekly in your Jellyfin playlist 'Discover Weekly' on the server at "
            "URL (10.9 or later; created private the first time, replaced in place after): a "
            "user's access token from MYDISCOVER_JELLYFIN_TOKEN, or [jellyfin] user in the "
            "config with MYDISCOVER_JELLYFIN_PASSWORD. Nothing on stdout then, unless -o.",
            show_default=False,
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print each pick with its reasons on stderr.")
    ] = False,
    weights: Annotated[
        str,
        typer.Option(
            help="Weights over the default blend's instead of a blend learned from your "
            "history, e.g. cf=1,text=0 (0 leaves a signal out)."
        ),
    ] = "",
    min_length: Annotated[float, typer.Option(min=0, help="Shortest track, in seconds.")] = 30.0,
    max_length: Annotated[float, typer.Option(min=1, help="Longest track, in seconds.")] = 900.0,
    rest_days: Annotated[
        int, typer.Option(min=0, help="A track played within this many days is not offered.")
    ] = 365,
    week: Annotated[
        str | None, typer.Option(help="The ISO week, e.g. 2026-W48. Default: this week.")
    ] = None,
    offline: OfflineOption = False,
    no_update: Annotated[
        bool, typer.Option("--no-update", help="Use what is stored: no scan, import or analysis.")
    ] = False,
    wait: StagesWaitOption = False,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Make this week's weekly anew, replacing the stored one (a week otherwise "
            "stays fixed: every later run returns the first weekly made in it).",
        ),
    ] = False,
    stats: Annotated[
        bool, typer.Option("--stats", help="Show how past weeklies did (played picks) instead.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="With --stats: print JSON.")] = False,
) -> None:
    """This week's 30 tracks from your library that you have not been listening to, chosen by
    collaborative filtering, review text and audio together, in an order that flows.

    First every stale stage is brought up to date (as 'mydiscover update': new files, listens,
    analysis, CF, reviews), each with its progress on stderr; --offline skips the network,
    --no-update uses what is stored.

    The first weekly of a week is stored, and every later run in that week (any format, the
    Navidrome file, the Subsonic push, beets) returns exactly it, so plays of its picks count
    as its hits; --refresh makes a new one. Next week's is another. Writes an extended M3U to
    stdout, so `mydiscover weekly > discover.m3u` works.
    """
    from mydiscover.files import write_output
    from mydiscover.playlists.write import check_options, render, weekly_entries
    from mydiscover.recommend.blend import parse_weights
    from mydiscover.recommend.rules import Rules
    from mydiscover.recommend.service import weekly_playlist, weekly_user

    if stats:
        given = {"-o": output is not None, "--to-playlist": to_playlist,
                 "--navidrome": navidrome is not None, "--mpd": mpd is not None,
                 "--listenbrainz": listenbrainz, "--jellyfin": jellyfin is not None,
                 "--explain": explain, "--refresh": refresh}  # fmt: skip
        if clashing := [name for name, on in given.items() if on]:
            raise fail(f"--stats shows how past weeklies did: it makes none, so it does not go "
                       f"with {', '.join(clashing)}")  # fmt: skip
        _print_stats(db, config, json_output)
        return
    if json_output:
        raise fail("--json goes with --stats; for the weekly itself as JSON: --format json")
    if wait and no_update:
        raise fail("--wait is for the stages --no-update skips: give one or the other")
    if to_playlist:
        configured = settings_from(db, config).weekly.get("playlist")
        if not configured:
            raise fail("no [weekly] playlist in the config file: 'mydiscover init' sets it")
        output, paths = Path(configured), "relative"
    if navidrome is not None:  # Navidrome: an M3U in the library, paths relative to it
        output, fmt, paths = navidrome / "Discover Weekly.m3u", "m3u", "relative"
    try:
        check_options(fmt, paths, output is not None)
    except ValueError as error:
        raise fail(str(error)) from None
    mpd_address = None
    if mpd is not None:
        from mydiscover.playlists.mpd import parse_address

        try:
            mpd_address = parse_address(mpd)
        except ValueError as error:
            raise fail(str(error)) from None
    if week is not None and not _WEEK.match(week):
        raise fail(f"--week {week!r}: write an ISO week such as 2026-W48")
    try:
        parse_weights(weights)  # refused here, before any work; applied over the defaults
    except ValueError as error:
        raise fail(str(error)) from None
    with reported_errors():
        settings = settings_from(db, config)
        if not no_update:
            refresh_stages(settings, offline=offline, wait=wait)
        conn = connect(settings)
        try:
            result, library = weekly_playlist(
                conn, settings.database, week=week,
                user=weekly_user(settings),
                rules=Rules(size=size, rest_days=rest_days, min_seconds=min_length,
                            max_seconds=max_length),
                weights=weights, refresh=refresh,
            )  # fmt: skip
            entries = weekly_entries(library, result)
        finally:
            conn.close()
    folder = output.parent if output is not None else None
    playlist = render(entries, fmt, result.name, paths, folder, result.meta())
    for skipped in playlist.skipped:
        err.print(f"[yellow]warning:[/] {escape(skipped.message())}", highlight=False)
    if mpd_address is not None:
        with reported_errors():
            _push_to_mpd(mpd_address, result.name, entries)
    if listenbrainz:
        with reported_errors():
            _push_to_listenbrainz(settings, result.name, entries)
    if jellyfin is not None:
        with reported_errors():
            _push_to_jellyfin(settings, jellyfin, result.name, entries)
    pushed = mpd_address is not None or listenbrainz or jellyfin is not None
    if output is not None or not pushed:  # pushed elsewhere: stdout stays empty
        with reported_errors():
            write_output(output, playlist.data)
    _report(result, playlist.entries, explain, output)


def _push_to_mpd(address: tuple[str, int], name: str, entries: list[Entry]) -> None:
    """Save the entries as MPD's stored playlist "Discover Weekly" (see playlists.mpd)."""
    from mydiscover.playlists.mpd import push_to_mpd

    host, port = address
    pushed = push_to_mpd(host, port, "Discover Weekly", entries,
                         os.environ.get("MYDISCOVER_MPD_PASSWORD"))  # fmt: skip
    for path in pushed.unsendable:
        err.print(f"[yellow]warning:[/] left out of MPD's playlist {escape(path)}: its name is "
                  "not UTF-8, which the MPD protocol needs", highlight=False)  # fmt: skip
    err.print(f"MPD at {escape(host)}:{port}: stored playlist 'Discover Weekly' now holds {name}: "
              f"{pushed.added} tracks{_left_out(pushed.missing, 'not in its database')}",
              highlight=False)  # fmt: skip


def _push_to_listenbrainz(settings: Settings, name: str, entries: list[Entry]) -> None:
    """Put the entries in the user's ListenBrainz playlist "Discover Weekly"."""
    from mydiscover.config import listenbrainz_token
    from mydiscover.playlists.listenbrainz import DEFAULT_API_URL, push_to_listenbrainz

    user = settings.listenbrainz.get("user")
    token, from_config = listenbrainz_token(settings)
    if from_config:
        warn_if_config_exposed(settings, "a ListenBrainz token")
    if not user or not token:
        raise fail("--listenbrainz needs [listenbrainz] user in the config and a user token "
                   "(MYDISCOVER_LISTENBRAINZ_TOKEN, or [listenbrainz] token): "
                   "https://listenbrainz.org/settings/")  # fmt: skip
    pushed = push_to_listenbrainz(
        str(user), token, "Discover Weekly", entries, f"{name}, by mydiscover",
        api_url=str(settings.listenbrainz.get("api_url", DEFAULT_API_URL)),
    )  # fmt: skip
    how = "created" if pushed.created else "replaced"
    left = _left_out(pushed.untagged, "without a MusicBrainz recording ID")
    err.print(f"ListenBrainz: playlist 'Discover Weekly' ({pushed.playlist_mbid}) {how}, "
              f"holding {name}: {pushed.added} tracks{left}", highlight=False)  # fmt: skip


def _push_to_jellyfin(settings: Settings, url: str, name: str, entries: list[Entry]) -> None:
    """Put the entries in the user's Jellyfin playlist "Discover Weekly"."""
    from mydiscover.playlists.jellyfin import JellyfinClient, push_to_jellyfin

    token = os.environ.get("MYDISCOVER_JELLYFIN_TOKEN") or settings.jellyfin.get("token")
    if token and not os.environ.get("MYDISCOVER_JELLYFIN_TOKEN"):
        warn_if_config_exposed(settings, "a Jellyfin token")
    client = JellyfinClient(url, user=settings.jellyfin.get("user"), token=token,
                            password=os.environ.get("MYDISCOVER_JELLYFIN_PASSWORD"))  # fmt: skip
    pushed = push_to_jellyfin(client, "Discover Weekly", entries)
    how = "created" if pushed.created else "replaced"
    err.print(f"Jellyfin at {escape(client.host)}: playlist 'Discover Weekly' "
              f"({pushed.playlist_id}) {how}, holding {name}: {pushed.added} tracks"
              f"{_left_out(pushed.missing, 'not on the server')}", highlight=False)  # fmt: skip


def _left_out(names: list[str], why: str) -> str:
    """ "; 2 why: A, B" for a summary line ("" when none)."""
    return f"; {len(names)} {why}: " + ", ".join(escape(n) for n in names) if names else ""


def _report(result: object, entries: list, explain: bool, output: Path | None) -> None:
    from mydiscover.recommend.weekly import Weekly

    assert isinstance(result, Weekly)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    for note in result.notes:
        err.print(f"note: {escape(note)}", highlight=False)
    used = ", ".join(f"{name} ({count:,} tracks)" for name, count in result.signals.items())
    where = f" -> {escape(str(output))}" if output else ""
    err.print(f"{result.name}: {len(entries)} tracks from {used or 'no signal'}{where}",
              highlight=False)  # fmt: skip
    if not explain:
        return
    table = Table("#", "Track", "Why", title_justify="left", show_lines=False)
    for position, entry in enumerate(entries, start=1):
        table.add_row(str(position), escape(f"{entry.artist} - {entry.title}"),
                      escape(entry.explanation() or "-"))  # fmt: skip
    err.print(table)


def _print_stats(db: Path | None, config: Path | None, json_output: bool) -> None:
    from mydiscover.recommend.tables import weekly_feedback, weekly_sources

    with reported_errors():
        conn = connect(settings_from(db, config), create=False)
        try:
            rows = weekly_feedback(conn)
            blends = {week: str(made.get("blend") or "not recorded")
                      for week, made in weekly_sources(conn).items()}  # fmt: skip
        finally:
            conn.close()
    if not rows:
        raise fail("no weekly made yet: run 'mydiscover weekly'")
    weeks: dict[str, list[int]] = {}
    signals: dict[str, list[int]] = {}
    for row in rows:
        for bucket, key in ((weeks, row["week"]), (signals, row["signal"])):
            totals = bucket.setdefault(key, [0, 0])
            totals[0] += row["picks"]
            totals[1] += row["played"]
    if json_output:
        print_json({"weeks": _rates(weeks), "signals": _rates(signals), "blends": blends})
        return
    by_week = Table("Week", "Picks", "Played", "Hit rate", "Blend", title="Weeklies",
                    title_justify="left")  # fmt: skip
    for key, (picks, played) in weeks.items():
        by_week.add_row(key, str(picks), str(played), f"{played / picks:.0%}",
                        escape(blends.get(key, "")))  # fmt: skip
    by_signal = Table("Lead signal", "Picks", "Played", "Hit rate", title="By signal",
                      title_justify="left")  # fmt: skip
    for key, (picks, played) in sorted(signals.items()):
        by_signal.add_row(key, str(picks), str(played), f"{played / picks:.0%}")
    out.print(by_week)
    out.print(by_signal)


def _rates(totals: dict[str, list[int]]) -> list[dict[str, object]]:
    return [
        {"key": key, "picks": picks, "played": played, "hit_rate": played / picks}
        for key, (picks, played) in totals.items()
    ]


def ban(
    track: Annotated[
        str, typer.Argument(help='A file of your library, or "Artist - Title".', show_default=False)
    ],
    undo: Annotated[bool, typer.Option("--undo", help="Lift the ban.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Never offer TRACK in a weekly again (or, with --undo, allow it again)."""
    from mydiscover.recommend.tables import set_banned

    with reported_errors():
        conn = connect(settings_from(db, config), create=False)
        try:
            track_id = find_track(conn, track)
            set_banned(conn, track_id, not undo, int(time.time()))
        finally:
            conn.close()
    err.print(f"{escape(track)}: {'allowed again' if undo else 'banned from the weeklies'}",
              highlight=False)  # fmt: skip
