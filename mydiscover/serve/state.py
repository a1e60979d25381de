"""What ``mydiscover serve`` keeps between requests: the settings, the models loaded once (and
again when the database changes), the server's song ids, and the page's refresh job."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mydiscover.audio.run import AnalysisRun
from mydiscover.audio.tables import PendingTrack
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
        self._lock = threading.Lock()  # the refresh job's
        self._load_lock = threading.Lock()  # one load or check of the models at a time
        self._loaded: tuple[Radio, SongMap] | None = None
        self._stale = False
        self._marker = ""
        self._checked_at = 0.0
        self._upstream_checked = (-RECHECK_SECONDS, True)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of this request's own (SQLite connections stay in their thread)."""
        conn = open_database(self.settings.database, create=False)
        try:
            yield conn
        finally:
            conn.close()

    def radio(self) -> tuple[Radio, SongMap]:
        """The loaded models and song ids. The first call loads them, as does the first call
        after :meth:`forget_models`; otherwise a request never waits for the database: every
        RECHECK_SECONDS one of them starts a check in the background (a tenth of a second at
        100,000 tracks), which loads them again if the database changed."""
        loaded = self._loaded
        if loaded is None or self._stale:
            with self._load_lock:
                if self._loaded is None or self._stale:
                    self._check()
            assert self._loaded is not None
            return self._loaded
        if time.monotonic() - self._checked_at > RECHECK_SECONDS and self._load_lock.acquire(
            blocking=False
        ):
            self._checked_at = time.monotonic()  # (one check at a time)
            threading.Thread(target=self._check_in_background, daemon=True).start()
        return loaded

    def _check_in_background(self) -> None:
        try:
            self._check()
        except (MydiscoverError, sqlite3.Error):
            pass  # the models in use stay; the next check tries again
        finally:
            self._load_lock.release()

    def _check(self) -> None:
        """Load the models and song ids if the database changed (the load lock is held)."""
        self._checked_at = time.monotonic()
        with self.connection() as conn:
            marker = self._database_marker(conn)
            if self._loaded is None or self._stale or marker != self._marker:
                self._stale = False
                radio = Radio.load(conn, self.settings.database)
                self._loaded = (radio, self._song_map(conn, radio))
                self._marker = marker

    def upstream_answering(self) -> bool:
        """Whether the upstream server answers at all (any HTTP answer; checked at most every
        RECHECK_SECONDS, for the page to say when it does not)."""
        import requests

        now = time.monotonic()
        if now - self._upstream_checked[0] > RECHECK_SECONDS:
            session = requests.Session()
            session.trust_env = False  # the user's own server, never through an HTTP_PROXY
            try:
                session.get(f"{self.upstream}/rest/ping.view", timeout=3.0).close()
                answering = True
            except requests.RequestException:
                answering = False
            finally:
                session.close()
            self._upstream_checked = (now, answering)
        return self._upstream_checked[1]

    def forget_models(self) -> None:
        """Load the models again at the next need (after a ban, a refresh)."""
        self._stale = True

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

    def stored(self, run: AnalysisRun, track: PendingTrack, error: str | None) -> None:
        """One more."""
        self.job.done = run.done


def music_roots(settings: Settings, conn: sqlite3.Connection) -> list[Path]:
    """The folders files may be served from: the configured music roots and those scanned,
    resolved (a link out of them is out of them)."""
    from mydiscover.library.tables import catalog_roots

    roots = [*settings.music_roots, *(Path(os.fsdecode(r)) for r in catalog_roots(conn))]
    return [Path(os.path.realpath(root)) for root in roots]
