"""Reading tags on every core, starting while the walk is still finding files.

The walk is one core's work; the reading is every core's. Handing files to worker processes as
soon as they are found keeps the other cores busy during the walk instead of after it.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from mydiscover.errors import MydiscoverError
from mydiscover.library.tags import Tags, UnreadableAudio, read_tags

#: Fewer files than this are read in-process: starting workers would cost more than it saves.
MIN_FILES_FOR_WORKERS = 64
#: Files a worker reads per task while the walk goes on: large enough that handing tasks over
#: costs little (32 made the whole scan 12% slower), small enough to start the workers early.
#: What is left when the walk ends is split evenly, so every worker finishes at about the same
#: time.
CHUNK_SIZE = 128

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


class TagReader:
    """Takes files to read one at a time and gives back their results as they finish.

    Use as a context manager: leaving it stops the workers, without waiting for queued work
    if an exception (Ctrl-C included) is on its way out.
    """

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs or default_jobs()
        self.submitted = 0
        self._pending: list[bytes] = []
        self._executor: ProcessPoolExecutor | None = None
        self._chunks_out = 0
        self._done: queue.SimpleQueue[Future[list[ReadResult]]] = queue.SimpleQueue()

    def __enter__(self) -> TagReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=exc_type is not None)

    def submit(self, path: bytes) -> None:
        """Queue a file; reading starts on the workers as soon as there is enough to share."""
        self._pending.append(path)
        self.submitted += 1
        if len(self._pending) >= CHUNK_SIZE and self._use_workers():
            self._send(CHUNK_SIZE)

    def ready(self) -> Iterator[ReadResult]:
        """The results that have already come back, without waiting for more."""
        while self._chunks_out:
            try:
                future = self._done.get_nowait()
            except queue.Empty:
                return
            yield from self._unpack(future)

    def results(self) -> Iterator[ReadResult]:
        """Every remaining result, in the order they finish. Call after the last submit."""
        if not self._use_workers():
            pending, self._pending = self._pending, []
            yield from map(read_one, pending)
            return
        self._send(max(1, -(-len(self._pending) // self.jobs)))
        while self._chunks_out:
            yield from self._unpack(self._done.get())

    def _unpack(self, future: Future[list[ReadResult]]) -> list[ReadResult]:
        self._chunks_out -= 1
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise WorkerCrashed(
                "a tag-reading process died (killed, or out of memory?); what was read is "
                "saved: run the scan again to carry on"
            ) from exc

    def _use_workers(self) -> bool:
        return self._executor is not None or (
            self.jobs > 1 and self.submitted >= MIN_FILES_FOR_WORKERS
        )

    def _send(self, chunk_size: int) -> None:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.jobs, mp_context=_worker_context(), initializer=_init_worker
            )
        for start in range(0, len(self._pending), chunk_size):
            future = self._executor.submit(read_many, self._pending[start : start + chunk_size])
            future.add_done_callback(self._done.put)
            self._chunks_out += 1
        self._pending = []


def _init_worker() -> None:
    # Workers leave Ctrl-C to the parent, which saves what they returned and then stops them
    # with SIGTERM; a forked worker must not inherit the parent's handler for that.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
