"""What an import did, and how it reports progress while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mydiscover.history.tables import ListenWriter


class ImportProgress(Protocol):
    """What an import reports while it runs; the command line draws it."""

    def start(self, total: int | None, unit: str) -> None:
        """Called once the amount of work is known (pages, or files); ``None`` if it is not."""

    def advance(self, done: int, listens: int) -> None:
        """Called after each page or file, with the listens it held."""


class SilentProgress:
    """An :class:`ImportProgress` that shows nothing."""

    def start(self, total: int | None, unit: str) -> None:
        """Nothing to show."""

    def advance(self, done: int, listens: int) -> None:
        """Nothing to show."""


@dataclass
class ImportReport:
    """Counts of one import, for its summary line."""

    added: int = 0
    duplicates: int = 0
    matched: int = 0
    skipped: int = 0
    interrupted: bool = False
    #: Up to a few (where, reason) examples of skipped records, to show the user.
    skipped_examples: list[tuple[str, str]] = field(default_factory=list)

    def take_counts(self, writer: ListenWriter) -> None:
        """Add what ``writer`` stored (added, already there, matched) to this report."""
        self.added += writer.added
        self.duplicates += writer.duplicates
        self.matched += writer.matched

    def summary(self) -> str:
        """One line: added, already there, matched to the library, skipped."""
        line = (
            f"{self.added} listens added, {self.duplicates} already there; "
            f"{self.matched} of those read match a track of your library"
        )
        return f"{line}, {self.skipped} skipped" if self.skipped else line
