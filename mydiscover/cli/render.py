"""How the command line shows the stages' work on stderr: their progress (bars drawn only on a
terminal) and the pipeline's lines. Every command that runs a stage, and ``update``, draw it
the same way from here, so no command imports another."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from mydiscover.cli.common import err
from mydiscover.config import Settings

#: The exit status of a command stopped by Ctrl-C, as shells report SIGINT.
EXIT_INTERRUPTED = 130


class RateColumn(ProgressColumn):
    """A progress column showing the rate: "1,234 files/s", or "1.45 tracks/s" when slow."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        """Render the task's speed."""
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("")
        shown = f"{speed:,.0f} {self.unit}/s" if speed >= 10 else f"{speed:.2f} {self.unit}/s"
        return Text(shown, style="progress.data.speed")


class CountColumn(ProgressColumn):
    """Files done, out of the total once it is known."""

    def render(self, task: Task) -> Text:
        """Render ``done/total``, or ``done`` while the total is unknown."""
        done = f"{int(task.completed):,}"
        return Text(
            done if task.total is None else f"{done}/{int(task.total):,}", "progress.download"
        )


def threadless_progress(*columns: ProgressColumn, unit: str, shown: bool) -> Progress:
    """A progress display on stderr for commands that fork workers: description, bar, count,
    rate in ``unit``/s and ETA, redrawn only by :class:`ThrottledRedraw` (no thread)."""
    return Progress(
        *columns,
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        CountColumn(),
        RateColumn(unit),
        TimeRemainingColumn(),
        console=err,
        auto_refresh=False,
        transient=True,
        disable=not shown,
    )


class ThrottledRedraw:
    """Redraws a rich ``Progress`` made with ``auto_refresh=False`` at most every 0.1 s.

    Commands that fork worker processes draw progress this way, from their own calls rather
    than from rich's refresh thread: forking while another thread runs is unsafe.
    """

    INTERVAL = 0.1

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._last = 0.0

    def __call__(self, force: bool = False) -> None:
        """Redraw if the interval has passed (or ``force``)."""
        now = time.monotonic()
        if force or now - self._last >= self.INTERVAL:
            self._last = now
            self.progress.refresh()


if TYPE_CHECKING:
    from pathlib import Path

    from mydiscover.audio.run import AnalysisRun
    from mydiscover.audio.tables import PendingTrack
    from mydiscover.cf.matrix import CoListening


def dataset_progress(label: str) -> Progress:
    """A bytes-read progress bar on stderr (only on a terminal)."""
    return Progress(
        TextColumn(escape(label)),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@contextmanager
def bytes_read(label: str) -> Iterator[Callable[[int, int], None]]:
    """A bytes-read bar for the block, as the ``(done, total)`` callback readers call."""
    with dataset_progress(label) as bar:
        task = bar.add_task("read", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def read_public_data(path: Path, fmt: str) -> CoListening:
    """A dataset file or folder (or an imported ``.npz``), with a bytes-read bar."""
    from mydiscover.cf.fit import load_public_data

    with bytes_read(f"reading {path.name}") as progress:
        return load_public_data(path, fmt, progress)


def count_bar(label: str, unit: str) -> Progress:
    """A count progress bar on stderr (only on a terminal)."""
    return Progress(
        TextColumn(escape(label)),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


class RichScanProgress:
    """The scan's progress on stderr: a counter while walking, then a bar with rate and ETA.

    It redraws from the scan's own calls (see :class:`ThrottledRedraw`).
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._walk_task: TaskID = progress.add_task("Looking for music", total=None)
        self._read_task: TaskID | None = None
        self._redraw = ThrottledRedraw(progress)

    def walking(self, files_found: int) -> None:
        """Show how many audio files the walk has found so far."""
        self._progress.update(self._walk_task, completed=files_found)
        self._redraw()

    def reading(self, total: int) -> None:
        """Switch from the walk counter to the reading bar."""
        self._progress.update(self._walk_task, visible=False)
        self._read_task = self._progress.add_task("Reading tags", total=total)
        self._redraw(force=True)

    def advance(self, count: int) -> None:
        """Move the reading bar."""
        if self._read_task is not None:
            self._progress.advance(self._read_task, count)
            self._redraw()


@contextmanager
def scan_progress(shown: bool = True) -> Iterator[RichScanProgress]:
    """The scan's progress display for the block (nothing drawn unless ``shown`` on a terminal)."""
    shown = shown and err.is_terminal
    with threadless_progress(SpinnerColumn(), unit="files", shown=shown) as progress:
        yield RichScanProgress(progress)


class RichImportProgress:
    """Pages (or files) done and listens read, on stderr when it is a terminal."""

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self._task = progress.add_task(escape(label), total=None, listens=0, unit="")
        self._listens = 0

    def start(self, total: int | None, unit: str) -> None:
        """Set the total once it is known."""
        self._progress.update(self._task, total=total, unit=unit)

    def advance(self, done: int, listens: int) -> None:
        """Count a page or file."""
        self._listens += listens
        self._progress.update(self._task, advance=done, listens=self._listens)


@contextmanager
def import_progress(label: str) -> Iterator[RichImportProgress]:
    """An import's progress display for the block."""
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}", style="dim"),
        TextColumn("{task.fields[listens]:,} listens"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        yield RichImportProgress(bar, label)


class AnalysisBar:
    """The analysis's progress as a rich bar on stderr, redrawn without a thread (workers
    fork)."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.redraw = ThrottledRedraw(bar)
        self.task = bar.add_task("Analysing audio", total=None)

    def started(self, pending: int) -> None:
        """Set the bar's total."""
        self.bar.update(self.task, total=pending)

    def stored(self, run: AnalysisRun, track: PendingTrack, error: str | None) -> None:
        """Advance the bar by one."""
        self.bar.advance(self.task)
        self.redraw()


@contextmanager
def analysis_progress(shown: bool = True) -> Iterator[AnalysisBar]:
    """The analysis's progress display for the block."""
    with threadless_progress(unit="tracks", shown=shown and err.is_terminal) as bar:
        yield AnalysisBar(bar)


class ConsoleView:
    """The pipeline's view on stderr: rich progress on a terminal, one line per outcome."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet

    def scan_progress(self) -> AbstractContextManager[RichScanProgress]:
        """The scan's counter and bar."""
        return scan_progress(shown=not self.quiet)

    def import_progress(self, label: str) -> AbstractContextManager[RichImportProgress]:
        """An import's bar."""
        return import_progress(label)

    def analysis_progress(self) -> AbstractContextManager[AnalysisBar]:
        """The analysis's bar."""
        return analysis_progress(shown=not self.quiet)

    def bytes_read(self, label: str) -> AbstractContextManager[Callable[[int, int], None]]:
        """A reader's bytes-read bar."""
        return bytes_read(label)

    def working(self, label: str) -> AbstractContextManager[None]:
        """A spinner with ``label``."""
        return err.status(escape(label), spinner="dots")

    def said(self, line: str) -> None:
        """A step's outcome (unless quiet)."""
        if not self.quiet:
            err.print(escape(line), highlight=False)

    def detail(self, line: str) -> None:
        """A dim line under an outcome (unless quiet)."""
        if not self.quiet:
            err.print(escape(line), style="dim", highlight=False)

    def note(self, line: str) -> None:
        """A dim line: a step that did not run, and why (unless quiet)."""
        if not self.quiet:
            err.print(escape(line), style="dim", highlight=False)

    def warned(self, line: str) -> None:
        """``warning: ...``."""
        err.print(f"[yellow]warning:[/] {escape(line)}", highlight=False)

    def failed(self, line: str) -> None:
        """``error: ...``: a step that failed while the others go on."""
        err.print(f"[bold red]error:[/] {escape(line)}", highlight=False)


def refresh_stages(settings: Settings, *, offline: bool, wait: bool) -> None:
    """Bring every stale stage up to date (:func:`mydiscover.pipeline.refresh`) with its
    progress on stderr; Ctrl-C ends it in one line saying what was kept, exit code 130."""
    from mydiscover.pipeline import StageInterrupted, refresh

    try:
        refresh(settings, ConsoleView(), offline=offline, wait=wait)
    except StageInterrupted as stopped:
        err.print(escape(str(stopped)), highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
