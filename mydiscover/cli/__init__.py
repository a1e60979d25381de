"""The ``mydiscover`` command: one typer app, one module per command group."""

from __future__ import annotations

import signal
from types import FrameType

import typer

from mydiscover import __version__
from mydiscover.cli import (
    analyze,
    cf,
    doctor,
    evaluate,
    history,
    init,
    reviews,
    scan,
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
app.add_typer(history.app, name="history")
app.add_typer(cf.app, name="cf")
app.add_typer(reviews.app, name="reviews")
app.add_typer(subsonic.app, name="subsonic")
app.command("terms")(reviews.terms_command)
app.add_typer(evaluate.app, name="eval")


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Entry point of the ``mydiscover`` console script."""
    # A service manager's stop (SIGTERM) ends work as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    app()
