"""``mydiscover --help``, drawn as typer draws it, at half the cost.

typer's renderer (``typer.rich_utils``) imports rich's Markdown, markdown-it and rich's
tracebacks whatever it draws, and listing the commands makes every command's click command
from its function's signature: together 2.3x the CPU of ``import typer, rich`` before anything
is drawn (bench/bench_startup.py). The root's help needs none of it: its text is one paragraph
of plain words, its options are flags, and each command's line is the first paragraph of its
docstring (a group's: its typer app's help), kept in SUMMARIES so that no command's module is
imported (17 modules: about 25 ms). The text is the same as typer's, panels, columns and summaries
alike (tests/test_cli.py compares the two); every other command's help is typer's own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.console import Console
from rich.highlighter import RegexHighlighter
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.theme import Theme

if TYPE_CHECKING:
    from typer import _click as click

#: Each command's line in the root's list: the first paragraph of its help, its lines joined
#: (tests/test_cli.py checks each against the command's own).
SUMMARIES = {
    "scan": "Catalog the audio files in your music folders.",
    "status": "Show what is in the database: tracks, missing, errors, formats and total duration.",
    "analyze": "Analyse the audio of new, changed or outdated tracks: tempo, key, loudness, "
    "danceability and a CNN embedding (musicnn).",
    "similar": "Show the tracks that sound most like TRACK (by the CNN embedding), with BPM and "
    "key.",
    "weekly": "This week's 30 tracks from your library that you have not been listening to, "
    "chosen by collaborative filtering, review text and audio together, in an order that "
    "flows.",
    "update": "Bring every stage up to date: new files scanned, new listens imported, new tracks "
    "analysed, the CF model fitted or you folded in again, new artists' reviews fetched, the "
    "terms rebuilt and the weekly's blend learned from your history (once in 28 days). Only "
    "what is new is done; meant for a timer (see plugins/navidrome/).",
    "init": "Set mydiscover up: music folders, your Last.fm or ListenBrainz account, a public "
    "dataset and where playlists go. Asks for what the flags do not give (unless --yes), then "
    "writes the config file, readable by you alone.",
    "doctor": "Check the environment: audio libraries, the CNN model, the database, the config "
    "file's permissions and the configured services; exit 1 when something must be fixed.",
    "ban": "Never offer TRACK in a weekly again (or, with --undo, allow it again).",
    "explore": "The artists you neither own nor play that you would love most, each with the "
    "reason and its MusicBrainz link, and their most listened recordings to start with.",
    "serve": "Serve a web page to hear and steer this week's weekly (love, skip, never again), "
    "see your taste map, past weeklies and every stage, and refresh them; with --upstream, "
    "answer Subsonic clients' Instant Mix (similar songs, similar artists, top songs, sonic "
    "similarity) from mydiscover's models and pass everything else to your server.",
    "terms": "The words that describe ARTIST (or --album), weighted by TF-IDF; with --similar, "
    "the library's artists whose words are nearest.",
    "history": "Bring in your listening history (Last.fm, ListenBrainz, export files) and see it.",
    "cf": "Collaborative filtering: import public co-listening data, fit the ALS model on it, and "
    "score your library from your listening history.",
    "reviews": "Public review text about your artists and albums (Wikipedia, Last.fm, your own "
    "feeds), crawled politely, and the terms that describe them.",
    "subsonic": "Sync with a Subsonic / Navidrome server: its plays and stars as history, and the "
    "weekly pushed to it as a playlist.",
    "eval": "Measure recommendation quality offline.",
}

# typer's styles, so that the root's help looks like every other command's.
THEME = Theme({"option": "bold cyan", "switch": "bold green", "usage": "yellow"})


class _OptionHighlighter(RegexHighlighter):
    """typer's: options, switches and "Usage: " coloured."""

    highlights = [  # noqa: RUF012 (rich's own class attribute)
        r"(^|\W)(?P<switch>\-\w+)(?![a-zA-Z0-9])",
        r"(^|\W)(?P<option>\-\-[\w\-]+)(?![a-zA-Z0-9])",
        r"(?P<usage>Usage: )",
    ]


def print_root_help(group: click.Group, ctx: click.Context) -> None:
    """Print the root's help on stdout: usage, the app's help, its options, then its commands
    with their SUMMARIES."""
    # typer's variables: the help's width, and colours forced on (or off) off a terminal.
    width = os.environ.get("TERMINAL_WIDTH")
    forced = any(os.environ.get(name) for name in ("GITHUB_ACTIONS", "FORCE_COLOR", "PY_COLORS"))
    console = Console(theme=THEME, highlighter=_OptionHighlighter(),
                      width=int(width) if width and width.isdigit() else None,
                      force_terminal=False if os.environ.get("_TYPER_FORCE_DISABLE_TERMINAL")
                      else True if forced else None)  # fmt: skip
    console.print(Padding(console.highlighter(group.get_usage(ctx)), 1), style="bold")
    if group.help:
        console.print(Padding(Text(" ".join(group.help.split())), (0, 1, 1, 1)))
    options = _table(highlight=True)
    for param in group.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        long_names = ",".join(name for name in param.opts if "--" in name)
        short_names = ",".join(name for name in param.opts if "--" not in name)
        no_text = (Text() for _ in range(3))  # (a string would be parsed for markup)
        options.add_row(console.highlighter(long_names), console.highlighter(short_names),
                        *no_text, Text(getattr(param, "help", None) or ""))  # fmt: skip
    console.print(Panel(options, border_style="dim", title=Text("Options"), title_align="left"))
    listing = _table(highlight=False)
    names = group.list_commands(ctx)
    listing.add_column(style="bold cyan", no_wrap=True, width=max(map(len, names)))
    listing.add_column(justify="left", no_wrap=False, ratio=10)
    for name in names:
        listing.add_row(Text(name), Text(SUMMARIES[name]))
    console.print(Panel(listing, border_style="dim", title=Text("Commands"), title_align="left"))


def _table(*, highlight: bool) -> Table:
    # typer's tables: no box, no header, a space between columns (the options' table has six
    # columns: long and short names, their negatives, the type, the help).
    return Table(highlight=highlight, show_header=False, expand=True, box=None,
                 show_lines=False, leading=0, pad_edge=False, padding=(0, 1))  # fmt: skip
