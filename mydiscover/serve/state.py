"""What ``mydiscover serve`` keeps between requests: the settings, the models loaded once (and
again when the database changes), the server's song ids, and the page's refresh job."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mydiscover.audio.run import AnalysisRun
from mydiscover.config import Settings
from mydiscover.db import open_database
from mydiscover.errors import MydiscoverError
from mydiscover.pipeline import SilentView, StageInterrupted, refresh
from mydiscover.recommend.radio import Radio

#: Seconds between two checks of whether the database changed under the loaded models.
RECHECK_SECONDS = 10.0


@dataclass(frozen=True)
class SongMap:
    """The upstream server's song ids for the library's tracks, both ways, and which library
    rows the server has (a mask over the radio's library)."""

    song_of: dict[int, str]
    track_of: dict[str, int]
    rows: np.ndarray


@dataclass
class RefreshJob:
    """The page's refresh: whether it runs, the step it is in, and the lines it said."""

    running: bool = False
    step: str = ""
    done: int = 0
    total: int = 0
    lines: list[str] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0

    def to_json(self) -> dict[str, object]:
        """As ``/api/refresh`` gives it."""
        return {
            "running": self.running,
            "step": self.step,
            "done": self.done,
            "total": self.total,
            "lines": self.lines[-50:],
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class ServeState:
    """One per process; thread-safe (requests run in a thread pool)."""

    def __init__(self, settings: Settings, upstream: str = "") -> None:
        self.settings = settings
        self.upstream = upstream.rstrip("/")
        self.job = RefreshJob()
        self._lock = threading.Lock()
        self._radio: Radio | None = None
        self._songs = SongMap({}, {}, np.zeros(0, bool))
        self._marker = ""
        self._checked_at = 0.0

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of this request's own (SQLite connections stay in their thread)."""
        conn = open_database(self.settings.database, create=False)
        try:
            yield conn
        finally:
            conn.close()

    def radio(self) -> tuple[Radio, SongMap]:
        """The loaded models and song ids, loaded again first if the database changed."""
        with self._lock:
            now = time.monotonic()
            if self._radio is None or now - self._checked_at > RECHECK_SECONDS:
                self._checked_at = now
                with self.connection() as conn:
                    marker = self._database_marker(conn)
                    if self._radio is None or marker != self._marker:
                        self._radio = Radio.load(conn, self.settings.database)
                        self._songs = self._song_map(conn, self._radio)
                        self._marker = marker
            return self._radio, self._songs

    def forget_models(self) -> None:
        """Load the models again at the next need (after a ban, a refresh)."""
        with self._lock:
            self._checked_at = 0.0
            self._marker = ""

    def _database_marker(self, conn: sqlite3.Connection) -> str:
        from mydiscover.audio.tables import taste_map_marker
        from mydiscover.cf.store import model_path
        from mydiscover.recommend.tables import inputs_marker

        model = model_path(self.settings.database)
        fitted = model.stat().st_mtime_ns if model.exists() else 0
        return f"{inputs_marker(conn)}:{taste_map_marker(conn)}:{fitted}"

    def _song_map(self, conn: sqlite3.Connection, radio: Radio) -> SongMap:
        from mydiscover.history.tables import server_song_ids

        song_of: dict[int, str] = {}
        if self.upstream:
            for server in (self.upstream, f"{self.upstream}/"):  # as 'subsonic sync' had it
                song_of.update(server_song_ids(conn, server))
        rows = np.isin(radio.library.ids, np.fromiter(song_of, dtype=np.int64, count=len(song_of)))
        return SongMap(song_of, {song: track for track, song in song_of.items()}, rows)

    def start_refresh(self) -> bool:
        """Start the pipeline's refresh in the background (False: one already runs)."""
        with self._lock:
            if self.job.running:
                return False
            self.job = RefreshJob(running=True, step="starting", started_at=time.time())
        threading.Thread(target=self._refresh, name="mydiscover-refresh", daemon=True).start()
        return True

    def _refresh(self) -> None:
        job = self.job
        try:
            refresh(self.settings, _JobView(job), offline=False)
            job.lines.append("done")
        except StageInterrupted as stopped:
            job.lines.append(str(stopped))
        except MydiscoverError as error:
            job.lines.append(f"error: {error}")
        finally:
            job.running = False
            job.step = ""
            job.finished_at = time.time()
            self.forget_models()


class _JobView(SilentView):
    """A pipeline view that keeps the lines and the analysis's count in the job."""

    def __init__(self, job: RefreshJob) -> None:
        self.job = job

    def analysis_progress(self) -> AbstractContextManager[_JobAnalysis]:
        """The analysis counts into the job."""
        self.job.step = "analysing"
        return nullcontext(_JobAnalysis(self.job))

    def working(self, label: str) -> AbstractContextManager[None]:
        """The step's name."""
        self.job.step = label
        return nullcontext()

    def bytes_read(self, label: str) -> AbstractContextManager[Callable[[int, int], None]]:
        """The step's name, and how far it read."""
        self.job.step = label

        def read(done: int, total: int) -> None:
            self.job.done, self.job.total = done, total

        return nullcontext(read)

    def said(self, line: str) -> None:
        """Kept."""
        self.job.lines.append(line)

    def detail(self, line: str) -> None:
        """Kept."""
        self.job.lines.append(line)

    def note(self, line: str) -> None:
        """Kept."""
        self.job.lines.append(line)

    def warned(self, line: str) -> None:
        """Kept."""
        self.job.lines.append(f"warning: {line}")

    def failed(self, line: str) -> None:
        """Kept."""
        self.job.lines.append(f"failed: {line}")


class _JobAnalysis:
    def __init__(self, job: RefreshJob) -> None:
        self.job = job

    def started(self, pending: int) -> None:
        """The count to reach."""
        self.job.done, self.job.total = 0, pending

    def stored(self, run: AnalysisRun, track: object, error: str | None) -> None:
        """One more."""
        self.job.done = run.done


def music_roots(settings: Settings, conn: sqlite3.Connection) -> list[Path]:
    """The folders files may be served from: the configured music roots and those scanned,
    resolved (a link out of them is out of them)."""
    import os

    from mydiscover.library.tables import catalog_roots

    roots = [*settings.music_roots, *(Path(os.fsdecode(r)) for r in catalog_roots(conn))]
    return [Path(os.path.realpath(root)) for root in roots]
