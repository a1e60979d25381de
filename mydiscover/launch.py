"""The ``mydiscover`` command's entry point: signals handled before anything heavy is imported.

Importing the command line (typer, rich, numpy) takes a good part of a second; a Ctrl-C or a
service manager's SIGTERM in that time must end the program with one line, as it does later,
not with a traceback of the import.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Run the ``mydiscover`` command line."""
    # A service manager's stop (SIGTERM) ends work as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        from mydiscover.cli import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    command_line()
