"""The analyze stage's runner: every pending track through worker processes, each result
stored as it comes, under the analysis lock.

``mydiscover analyze`` and ``beet discover --analyze`` both run it, and only draw the progress
their own way (a bar; a line per item).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mydiscover.db.connection import transaction
from mydiscover.db.lock import exclusive_lock

if TYPE_CHECKING:  # numpy and the network load only when a run starts: faster start-up
    from mydiscover.audio.tables import PendingTrack

#: Seconds one track may take before its worker is stopped and the track recorded as failed:
#: a track takes seconds; a decoder stuck on a damaged or swapped file would take forever.
DEFAULT_TIMEOUT_SECONDS = 300.0


@dataclass
class AnalysisRun:
    """How far a run got: tracks to do, done (stored, failed ones included), the failures
    (path, reason) and the seconds spent."""

    pending: int
    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people."""
        if not self.pending:
            return "Nothing to analyse: every available track is up to date."
        rate = self.done / max(self.seconds, 1e-9)
        return (f"Analysed {self.done} tracks in {self.seconds:.1f} s ({rate:.2f} tracks/s); "
                f"{len(self.failed)} could not be analysed.")  # fmt: skip


class AnalysisProgress(Protocol):
    """What a runner tells its caller while it works."""

    def started(self, pending: int) -> None:
        """The run has found ``pending`` tracks to analyse (called once, even for 0)."""

    def stored(self, run: AnalysisRun, track: PendingTrack, error: str | None) -> None:
        """One track's result (or ``error``) is stored; ``run.done`` counts it."""


class AnalysisInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during a run: what was stored is kept; ``run`` says how far."""

    def __init__(self, run: AnalysisRun) -> None:
        super().__init__(f"interrupted after {run.done} of {run.pending} tracks")
        self.run = run


def run_analysis(
    conn: sqlite3.Connection,
    database: Path,
    progress: AnalysisProgress,
    *,
    only: Collection[int] | None = None,
    limit: int | None = None,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    wait: bool = False,
    holder: str = "an analysis",
) -> AnalysisRun:
    """Analyse the pending tracks (only those in ``only``, at most ``limit``), holding
    ``<database>.lock`` as ``holder`` (BusyError when another has it, unless ``wait``).

    Always in worker processes, even with one job: each result comes back, and is committed,
    as soon as it is ready, and a worker stuck longer than ``timeout`` on a track is stopped
    (the track recorded as failed). Raises :class:`AnalysisInterrupted` on Ctrl-C.
    """
    from mydiscover.audio.analyze import ANALYSIS_VERSION, analyze_many, timed_out
    from mydiscover.audio.tables import pending_tracks, store_analysis
    from mydiscover.workers import WorkerPool

    with exclusive_lock(database, holder, wait=wait):
        pending = pending_tracks(conn, ANALYSIS_VERSION)
        if only is not None:
            wanted = set(only)
            pending = [track for track in pending if track.id in wanted]
        pending = pending[:limit]
        run = AnalysisRun(pending=len(pending))
        progress.started(run.pending)
        if not pending:
            return run
        by_id = {track.id: track for track in pending}
        started = time.monotonic()
        try:
            with WorkerPool(analyze_many, jobs, chunk_size=1, min_items=1, timeout=timeout,
                            on_timeout=timed_out) as pool:  # fmt: skip
                for track in pending:
                    pool.submit((track.id, track.path))
                for track_id, analysis, error in pool.results():
                    track = by_id[track_id]
                    with transaction(conn):
                        store_analysis(conn, track, ANALYSIS_VERSION, analysis, error)
                    if error is not None:
                        run.failed.append((track.path_text, error))
                    run.done += 1
                    progress.stored(run, track, error)
        except KeyboardInterrupt:
            run.seconds = time.monotonic() - started
            raise AnalysisInterrupted(run) from None
        run.seconds = time.monotonic() - started
        return run
