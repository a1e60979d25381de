"""``mydiscover weekly``: this week's Discover Weekly from your own library; and ``ban``."""

from __future__ import annotations

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
)
from mydiscover.cli.render import refresh_stages
from mydiscover.files import write_output

if TYPE_CHECKING:
    from mydiscover.config import Settings
    from mydiscover.playlists.deliver import Push
    from mydiscover.playlists.write import Entry
    from mydiscover.recommend.rules import Rules
    from mydiscover.recommend.weekly import Weekly

_WEEK = re.compile(r"^\d{4}-W\d{2}$")


SizeOption = Annotated[int, typer.Option("--size", "-n", min=1, max=500, help="Tracks.")]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the playlist to FILE instead of stdout."),
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="m3u, xspf, jspf or json.")]
PathsOption = Annotated[
    str,
    typer.Option(
        help="absolute, relative (to the playlist file: needs --output) or "
        "music-root (relative to the music folder, for MPD)."
    ),
]
ToPlaylistOption = Annotated[
    bool,
    typer.Option(
        "--to-playlist",
        help="Write to the config's [weekly] playlist file (paths "
        "relative to it): what the weekly timer runs.",
    ),
]
NavidromeOption = Annotated[
    Path | None,
    typer.Option(
        help="Write 'Discover Weekly.m3u' into this folder of your library for "
        "Navidrome's playlist import (paths relative to it)."
    ),
]
MpdOption = Annotated[
    str | None,
    typer.Option(
        "--mpd",
        metavar="HOST[:PORT]",
        help="Save the weekly as MPD's stored playlist 'Discover Weekly' there, replacing "
        "it in place (paths relative to the music folder, which must be MPD's; password: "
        "MYDISCOVER_MPD_PASSWORD). Nothing on stdout then, unless -o.",
        show_default=False,
    ),
]
ListenBrainzOption = Annotated[
    bool,
    typer.Option(
        "--listenbrainz",
        help="Put the weekly in your ListenBrainz playlist 'Discover Weekly' (created "
        "private the first time, replaced in place after): [listenbrainz] user in the "
        "config, the token from MYDISCOVER_LISTENBRAINZ_TOKEN or the config. Only tracks "
        "tagged with a MusicBrainz recording ID can go there. Nothing on stdout then, "
        "unless -o.",
    ),
]
JellyfinOption = Annotated[
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
]
ExplainOption = Annotated[
    bool, typer.Option("--explain", help="Print each pick with its reasons on stderr.")
]
WeightsOption = Annotated[
    str,
    typer.Option(
        help="Weights over the default blend's instead of a blend learned from your "
        "history, e.g. cf=1,text=0 (0 leaves a signal out)."
    ),
]
MinLengthOption = Annotated[float, typer.Option(min=0, help="Shortest track, in seconds.")]
MaxLengthOption = Annotated[float, typer.Option(min=1, help="Longest track, in seconds.")]
RestDaysOption = Annotated[
    int, typer.Option(min=0, help="A track played within this many days is not offered.")
]
WeekOption = Annotated[
    str | None, typer.Option(help="The ISO week, e.g. 2026-W48. Default: this week.")
]
NoUpdateOption = Annotated[
    bool, typer.Option("--no-update", help="Use what is stored: no scan, import or analysis.")
]
RefreshOption = Annotated[
    bool,
    typer.Option(
        "--refresh",
        help="Make this week's weekly anew, replacing the stored one (a week otherwise "
        "stays fixed: every later run returns the first weekly made in it).",
    ),
]
StatsOption = Annotated[
    bool, typer.Option("--stats", help="Show how past weeklies did (played picks) instead.")
]
StatsJsonOption = Annotated[bool, typer.Option("--json", help="With --stats: print JSON.")]


def weekly(
    size: SizeOption = 30,
    output: OutputOption = None,
    fmt: FormatOption = "m3u",
    paths: PathsOption = "absolute",
    to_playlist: ToPlaylistOption = False,
    navidrome: NavidromeOption = None,
    mpd: MpdOption = None,
    listenbrainz: ListenBrainzOption = False,
    jellyfin: JellyfinOption = None,
    explain: ExplainOption = False,
    weights: WeightsOption = "",
    min_length: MinLengthOption = 30.0,
    max_length: MaxLengthOption = 900.0,
    rest_days: RestDaysOption = 365,
    week: WeekOption = None,
    offline: OfflineOption = False,
    no_update: NoUpdateOption = False,
    wait: StagesWaitOption = False,
    refresh: RefreshOption = False,
    stats: StatsOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: StatsJsonOption = False,
) -> None:
    """This week's 30 tracks from your library that you have not been listening to, chosen by
    collaborative filtering, review text and audio together, in an order that flows.

    First every stale stage is brought up to date (as 'mydiscover update'), each with its
    progress on stderr (--offline: no network; --no-update: what is stored). The first weekly
    of a week is stored, and every later run in that week (any format or push, beets) returns
    exactly it, so plays of its picks count as hits; --refresh makes a new one. Writes an
    extended M3U to stdout, or to -o FILE safely."""
    from mydiscover.playlists.write import render

    pushes = _pushes(mpd, listenbrainz, jellyfin)
    if stats:
        _refuse_with_stats(output is not None, to_playlist, navidrome is not None, mpd is not None,
                           listenbrainz, jellyfin is not None, explain, refresh)  # fmt: skip
        _print_stats(db, config, json_output)
        return
    output, fmt, paths = _target(
        db, config, output, fmt, paths, to_playlist, navidrome,
        json_output=json_output, wait=wait, no_update=no_update,
    )  # fmt: skip
    _check_choices(week, weights)
    with reported_errors():
        settings = settings_from(db, config)
        if not no_update:
            refresh_stages(settings, offline=offline, wait=wait)
        rules = _rules(size, rest_days, min_length, max_length)
        result, entries = _make(settings, week, rules, weights, refresh)
    playlist = render(entries, fmt, result.name, paths, output and output.parent, result.meta())
    for skipped in playlist.skipped:
        _warn(skipped.message())
    _deliver(pushes, settings, result.name, entries)
    if output is not None or not pushes:  # pushed elsewhere: stdout stays empty
        with reported_errors():
            write_output(output, playlist.data)
    _report(result, playlist.entries, explain, output)


def _deliver(pushes: list[Push], settings: Settings, name: str, entries: list[Entry]) -> None:
    """Push the weekly wherever asked, a summary line (and any warnings) each."""
    for push in pushes:
        with reported_errors():
            delivered = push(settings, name, entries)
        for warning in delivered.warnings:
            _warn(warning)
        err.print(escape(delivered.summary), highlight=False)


def _pushes(mpd: str | None, listenbrainz: bool, jellyfin: str | None) -> list[Push]:
    """The pushes the options ask for, checked before any work."""
    from mydiscover.playlists.deliver import to_jellyfin, to_listenbrainz, to_mpd
    from mydiscover.playlists.mpd import parse_address

    pushes: list[Push] = []
    if mpd is not None:
        try:
            pushes.append(to_mpd(parse_address(mpd)))
        except ValueError as error:
            raise fail(str(error)) from None
    if listenbrainz:
        pushes.append(to_listenbrainz)
    if jellyfin is not None:
        pushes.append(to_jellyfin(jellyfin))
    return pushes


def _refuse_with_stats(*given: bool) -> None:
    """--stats makes no weekly: the options that shape or send one are refused with it."""
    names = ("-o", "--to-playlist", "--navidrome", "--mpd", "--listenbrainz", "--jellyfin",
             "--explain", "--refresh")  # fmt: skip
    if clashing := [name for name, on in zip(names, given, strict=True) if on]:
        raise fail(f"--stats shows how past weeklies did: it makes none, so it does not go "
                   f"with {', '.join(clashing)}")  # fmt: skip


def _target(
    db: Path | None, config: Path | None, output: Path | None, fmt: str, paths: str,
    to_playlist: bool, navidrome: Path | None, *, json_output: bool, wait: bool,
    no_update: bool,
) -> tuple[Path | None, str, str]:  # fmt: skip
    """Where the playlist goes, in which format and path mode, once the options are checked."""
    from mydiscover.playlists.write import check_options

    if json_output:
        raise fail("--json goes with --stats; for the weekly itself as JSON: --format json")
    if wait and no_update:
        raise fail("--wait is for the stages --no-update skips: give one or the other")
    if to_playlist:
        configured = settings_from(db, config).weekly.playlist
        if not configured:
            raise fail("no [weekly] playlist in the config file: 'mydiscover init' sets it")
        output, paths = Path(configured), "relative"
    if navidrome is not None:  # Navidrome: an M3U in the library, paths relative to it
        output, fmt, paths = navidrome / "Discover Weekly.m3u", "m3u", "relative"
    try:
        check_options(fmt, paths, output is not None)
    except ValueError as error:
        raise fail(str(error)) from None
    return output, fmt, paths


def _check_choices(week: str | None, weights: str) -> None:
    """The week and the weights, refused here, before any work."""
    from mydiscover.recommend.blend import parse_weights

    if week is not None and not _WEEK.match(week):
        raise fail(f"--week {week!r}: write an ISO week such as 2026-W48")
    try:
        parse_weights(weights)  # applied over the defaults later
    except ValueError as error:
        raise fail(str(error)) from None


def _rules(size: int, rest_days: int, min_length: float, max_length: float) -> Rules:
    from mydiscover.recommend.rules import Rules

    return Rules(size=size, rest_days=rest_days, min_seconds=min_length, max_seconds=max_length)


def _make(
    settings: Settings, week: str | None, rules: Rules, weights: str, refresh: bool
) -> tuple[Weekly, list[Entry]]:
    """The week's weekly (kept, or made now) and its playlist entries."""
    from mydiscover.playlists.write import weekly_entries
    from mydiscover.recommend.service import weekly_playlist, weekly_user

    conn = connect(settings)
    try:
        playlist = weekly_playlist(conn, settings.database, week=week,
                                   user=weekly_user(settings), rules=rules, weights=weights,
                                   refresh=refresh)  # fmt: skip
        return playlist.weekly, weekly_entries(playlist)
    finally:
        conn.close()


def _warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def _report(result: Weekly, entries: list[Entry], explain: bool, output: Path | None) -> None:
    for warning in result.warnings:
        _warn(warning)
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
    from mydiscover.recommend.tables import weekly_stats

    with reported_errors():
        conn = connect(settings_from(db, config), create=False)
        try:
            stats = weekly_stats(conn)
        finally:
            conn.close()
    if stats is None:
        raise fail("no weekly made yet: run 'mydiscover weekly'")
    if json_output:
        print_json(stats.to_json())
        return
    by_week = Table("Week", "Picks", "Played", "Hit rate", "Blend", title="Weeklies",
                    title_justify="left")  # fmt: skip
    for key, (picks, played) in stats.weeks.items():
        by_week.add_row(key, str(picks), str(played), f"{played / picks:.0%}",
                        escape(stats.blends.get(key, "")))  # fmt: skip
    by_signal = Table("Lead signal", "Picks", "Played", "Hit rate", title="By signal",
                      title_justify="left")  # fmt: skip
    for key, (picks, played) in sorted(stats.signals.items()):
        by_signal.add_row(key, str(picks), str(played), f"{played / picks:.0%}")
    out.print(by_week)
    out.print(by_signal)


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
