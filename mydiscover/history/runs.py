"""Service imports as runs over a time window, resumable where they stopped.

A run fixes its window before its first request and saves, with each page's listens, how far
it got; an interrupted run resumes with the same window, and the next run starts shortly
before where the last one ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from mydiscover.history.tables import ImportState

#: Listens reach a service late: a scrobble is sent once the track has played, and offline
#: players send theirs when they next sync. Each run therefore looks back this far before
#: where the previous one ended; what was already imported is recognised and not added twice.
LATE_LISTENS = 24 * 3600


class RunWindow(NamedTuple):
    """The listens one run imports: ``start`` to ``end`` (UTC seconds, both included; no
    ``start`` on a first import), and how far the run got (``None`` before its first page)."""

    start: int | None
    end: int
    cursor: int | None


def run_window(state: ImportState, now: Callable[[], float]) -> RunWindow:
    """The window of an unfinished run, to resume it unchanged, or else that of a new run:
    from shortly before the last import's end up to now."""
    if state.run_to is not None:
        return RunWindow(state.run_from, state.run_to, state.run_cursor)
    start = None if state.imported_until is None else state.imported_until - LATE_LISTENS
    return RunWindow(start, int(now()), None)


def saved_state(
    source: str, account: str, state: ImportState, window: RunWindow, cursor: int | None
) -> tuple[Any, ...]:
    """The parameters of ``SAVE_STATE_SQL`` after a page: the run's window and where the next
    page starts, or, once the run is done (``cursor`` is ``None``), all imported up to its end."""
    if cursor is None:
        return (source, account, window.end, None, None, None)
    return (source, account, state.imported_until, window.start, window.end, cursor)
