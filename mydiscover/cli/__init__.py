"""The ``mydiscover`` command: one typer app, one module per command group."""

from __future__ import annotations

import logging
import sqlite3
import sys

import typer
from rich.markup import escape

from mydiscover import __version__
from mydiscover.cli import (
    analyze,
    cf,
    doctor,
    evaluate,
    explore,
    history,
    init,
    reviews,
    scan,
    serve,
    similar,
    status,
    subsonic,
    update,
    weekly,
)

app = typer.Typer(
    name="mydiscover",
    help="Discover Weekly for the music you own: catalog your library, then get 30 tracks a "
    "week you have not heard yet but will love.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
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


app.command("scan")(scan.scan)
app.command("status")(status.status)
app.command("analyze")(analyze.analyze)
app.command("similar")(similar.similar)
app.command("weekly")(weekly.weekly)
app.command("update")(update.update)
app.command("init")(init.init)
app.command("doctor")(doctor.doctor)
app.command("ban")(weekly.ban)
app.command("explore")(explore.explore)
app.command("serve")(serve.serve)
app.add_typer(history.app, name="history")
app.add_typer(cf.app, name="cf")
app.add_typer(reviews.app, name="reviews")
app.add_typer(subsonic.app, name="subsonic")
app.command("terms")(reviews.terms_command)
app.add_typer(evaluate.app, name="eval")


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
