"""The ``mydiscover`` command: one typer app, one module per command group."""

from __future__ import annotations

import importlib
import logging
import sqlite3
import sys
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from typer.core import TyperGroup

if TYPE_CHECKING:  # typer 0.28 carries its own click: the package would cost 35 ms to import
    from typer import _click as click

from mydiscover import __version__

#: Every command, in the order ``--help`` lists them: its name, and the module of
#: ``mydiscover.cli`` and the function (a command) or typer app (a group of them) behind it.
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("scan", "scan"), "status": ("status", "status"), "analyze": ("analyze", "analyze"),
    "similar": ("similar", "similar"), "weekly": ("weekly", "weekly"),
    "update": ("update", "update"), "init": ("init", "init"), "doctor": ("doctor", "doctor"),
    "ban": ("weekly", "ban"), "explore": ("explore", "explore"), "serve": ("serve", "serve"),
    "terms": ("reviews", "terms_command"), "history": ("history", "app"), "cf": ("cf", "app"),
    "reviews": ("reviews", "app"), "subsonic": ("subsonic", "app"), "eval": ("evaluate", "app"),
}  # fmt: skip
#: The settings every command's help is drawn with.
MARKUP = "markdown"


class LazyCommands(TyperGroup):
    """The root group: a command's module is imported, and its click command made, only when
    that command is run or listed. Building every command's options on every start cost a
    quarter of ``mydiscover status``'s CPU (bench/bench_startup.py)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, in the order of COMMANDS."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, made at its first use."""
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = _made(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Print ``mydiscover --help`` (see :mod:`mydiscover.cli.roothelp`: typer's look, half
        its cost); every command's own help is typer's."""
        from mydiscover.cli.roothelp import print_root_help

        print_root_help(self, ctx)


def _made(name: str) -> click.Command:
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(f"mydiscover.cli.{module}"), attribute)
    if isinstance(target, typer.Typer):
        target.rich_markup_mode = MARKUP  # (as add_typer under the root would have made it)
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer(
        rich_markup_mode=MARKUP, pretty_exceptions_enable=False, add_completion=False
    )
    single.command(name)(target)
    return typer.main.get_command(single)


app = typer.Typer(
    name="mydiscover",
    cls=LazyCommands,
    help="Discover Weekly for the music you own: catalog your library, then get 30 tracks a "
    "week you have not heard yet but will love.",
    no_args_is_help=True,
    rich_markup_mode=MARKUP,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mydiscover {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Discover Weekly for the music you own."""


class _WarningLine(logging.Handler):
    """Prints what the stages log at WARNING and above as one line on stderr ("warning: ...")."""

    def emit(self, record: logging.LogRecord) -> None:
        """Print the record's message."""
        from mydiscover.cli.common import err

        label = "warning" if record.levelno < logging.ERROR else "error"
        err.print(f"[yellow]{label}:[/] {escape(record.getMessage())}", highlight=False)


def _damaged_database(error: sqlite3.DatabaseError) -> str:
    """One line for an SQLite error no command expected, with what to do about it."""
    said = " ".join(str(error).split()) or type(error).__name__
    if any(word in said for word in ("malformed", "not a database", "corrupt")):
        return (
            f"the database is damaged ({said}): 'mydiscover doctor' checks it; restore a "
            "backup, or move the file away and run 'mydiscover scan' to start afresh"
        )
    return f"the database failed: {said}"


def _say_interrupted() -> None:
    from mydiscover.cli.common import err

    err.print("interrupted", highlight=False)


def main() -> None:
    """Run the command line (``mydiscover.launch`` installs the signal handling first)."""
    stages = logging.getLogger("mydiscover")
    stages.addHandler(_WarningLine(logging.WARNING))
    stages.propagate = False
    try:
        app()
    except KeyboardInterrupt:
        _say_interrupted()
        sys.exit(130)
    except SystemExit as leaving:
        # typer ends a Ctrl-C that no command caught (one during a command's first imports)
        # with exit 130 and no word: say it. The long commands say themselves what they kept.
        stopped = leaving.__context__
        if isinstance(stopped, typer.Exit) and isinstance(stopped.__cause__, KeyboardInterrupt):
            _say_interrupted()
        raise
    except sqlite3.DatabaseError as error:
        # Commands name their own failures; a database damaged under them (corrupt pages
        # read half-way through a scan, say) must still be one line, not a traceback.
        from mydiscover.cli.common import fail

        fail(_damaged_database(error))
        sys.exit(1)
