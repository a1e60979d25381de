"""Reading tags on every core, starting while the walk is still finding files.

The walk is one core's work; the reading is every core's. Handing files to worker processes as
soon as they are found keeps the other cores busy during the walk instead of after it.

The workers are a small pool of our own rather than ``multiprocessing.Pool`` or
``ProcessPoolExecutor``: each has its own pipe, so a worker that dies (killed, out of memory),
even half-way through sending a result, is noticed at once and reported, never waited on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Any

from mydiscover.errors import MydiscoverError
from mydiscover.library.tags import Tags, UnreadableAudio, read_tags

#: Fewer files than this are read in-process: starting workers would cost more than it saves.
MIN_FILES_FOR_WORKERS = 64
#: Files a worker reads per task while the walk goes on: large enough that handing tasks over
#: costs little (32 made the whole scan 12% slower), small enough to start the workers early.
#: What is left when the walk ends is split evenly, so every worker finishes at about the same
#: time.
CHUNK_SIZE = 128
#: Tasks handed to a worker before its first result is back, so it never waits for the parent.
TASKS_IN_FLIGHT = 2

ReadResult = tuple[bytes, Tags | None, str | None]


def read_one(path: bytes) -> ReadResult:
    """Read one file for the catalog: its tags, or the one-line reason it could not be read."""
    try:
        return path, read_tags(path), None
    except UnreadableAudio as exc:
        return path, None, str(exc)


def read_many(paths: list[bytes]) -> list[ReadResult]:
    """Read a chunk of files (one worker task)."""
    return [read_one(path) for path in paths]


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class WorkerCrashed(MydiscoverError):
    """A worker process died (killed, out of memory) while reading tags."""


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any) -> None:
        self.conn, child_end = context.Pipe()
        self.process = context.Process(target=_work, args=(child_end,), daemon=True)
        self.process.start()
        child_end.close()  # so the parent sees end-of-file if the worker dies
        self.in_flight = 0


class TagReader:
    """Takes files to read one at a time and gives back their results as they finish.

    Use as a context manager: leaving it stops the workers, at once if an exception (Ctrl-C
    included) is on its way out.
    """

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs or default_jobs()
        self.submitted = 0
        self._pending: list[bytes] = []
        self._tasks: deque[list[bytes]] = deque()
        self._workers: list[_Worker] = []
        self._finished: list[ReadResult] = []

    def __enter__(self) -> TagReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for worker in self._workers:
            if exc_type is None and worker.process.is_alive():
                worker.conn.send(None)  # the worker's signal to exit
            else:
                worker.process.terminate()
        for worker in self._workers:
            worker.process.join()
            worker.conn.close()

    def submit(self, path: bytes) -> None:
        """Queue a file; reading starts on the workers as soon as there is enough to share."""
        self._pending.append(path)
        self.submitted += 1
        if len(self._pending) >= CHUNK_SIZE and self._use_workers():
            self._queue_tasks(CHUNK_SIZE)
            # Take in what is done, so no worker sits waiting to hand over its result.
            self._collect(timeout=0)

    def ready(self) -> Iterator[ReadResult]:
        """The results that have already come back, without waiting for more."""
        if self._workers:
            self._collect(timeout=0)
        finished, self._finished = self._finished, []
        yield from finished

    def results(self) -> Iterator[ReadResult]:
        """Every remaining result, in the order they finish. Call after the last submit."""
        yield from self.ready()
        if not self._use_workers():
            pending, self._pending = self._pending, []
            yield from map(read_one, pending)
            return
        self._queue_tasks(max(1, -(-len(self._pending) // self.jobs)))
        while self._tasks or any(worker.in_flight for worker in self._workers):
            self._collect(timeout=None)
            finished, self._finished = self._finished, []
            yield from finished

    def _use_workers(self) -> bool:
        return bool(self._workers) or (self.jobs > 1 and self.submitted >= MIN_FILES_FOR_WORKERS)

    def _queue_tasks(self, size: int) -> None:
        pending, self._pending = self._pending, []
        self._tasks.extend(pending[start : start + size] for start in range(0, len(pending), size))
        if not self._workers:
            context = _worker_context()
            self._workers = [_Worker(context) for _ in range(self.jobs)]
        self._hand_out()

    def _hand_out(self) -> None:
        for worker in self._workers:
            while self._tasks and worker.in_flight < TASKS_IN_FLIGHT:
                try:
                    worker.conn.send(self._tasks[0])
                except OSError as exc:  # its end of the pipe is gone: it died
                    raise _crashed() from exc
                self._tasks.popleft()
                worker.in_flight += 1

    def _collect(self, timeout: float | None) -> None:
        """Take in the results that are ready (waiting up to ``timeout`` for one)."""
        busy = {worker.conn: worker for worker in self._workers if worker.in_flight}
        deaths = {worker.process.sentinel: worker for worker in busy.values()}
        for ready in wait([*busy, *deaths], timeout):
            worker = busy.get(ready) or deaths[ready]  # type: ignore[call-overload]
            try:
                if ready in deaths and not worker.conn.poll():
                    raise EOFError
                self._finished.extend(worker.conn.recv())
            except (EOFError, OSError) as exc:
                raise _crashed() from exc
            worker.in_flight -= 1
        self._hand_out()


def _crashed() -> WorkerCrashed:
    return WorkerCrashed(
        "a tag-reading process died (killed, or out of memory?); what was read is saved: "
        "run the scan again to carry on"
    )


def _work(conn: Connection) -> None:
    """A worker's life: read the chunks it is sent until it is sent ``None``."""
    # Ctrl-C is the parent's to handle: it saves what came back, then stops the workers with
    # SIGTERM, whose handler a forked worker must not inherit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            paths = conn.recv()
        except EOFError:  # the parent is gone
            return
        if paths is None:
            return
        conn.send(read_many(paths))


def _worker_context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds, with everything already imported; it is only safe
    # while no other thread runs (one could hold a lock the child inherits), so the command
    # line draws its progress without a thread. Otherwise forkserver, which is always safe.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context()
