"""A small pool of worker processes, fed while the caller is still finding work.

Our own rather than ``multiprocessing.Pool`` or ``ProcessPoolExecutor``: each worker has its
own pipe, so a worker that dies (killed, out of memory), even half-way through sending a
result, is noticed at once and reported, never waited on; and a worker stuck on one task
longer than the pool's ``timeout`` is killed and replaced, its task reported as timed out.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from types import TracebackType
from typing import Any, Generic, TypeVar

from mydiscover.errors import MydiscoverError

#: Chunks handed to a worker before its first result is back, so it never waits for the parent.
TASKS_IN_FLIGHT = 2
#: prctl(2)'s option asking the kernel to signal this process when its parent dies.
_PR_SET_PDEATHSIG = 1

Item = TypeVar("Item")
Result = TypeVar("Result")


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class WorkerCrashed(MydiscoverError):
    """A worker process died (killed, out of memory) while working."""


class _Worker:
    """One worker process, the parent's end of its pipe, and the chunks it was handed."""

    def __init__(self, context: Any, task: Callable[[list[Any]], list[Any]]) -> None:
        self.conn, child_end = context.Pipe()
        # A forked worker's parent is this process; a forkserver's is the server, which itself
        # ends with this process.
        parent = os.getpid() if context.get_start_method() == "fork" else None
        self.process = context.Process(target=_work, args=(child_end, task, parent), daemon=True)
        self.process.start()
        child_end.close()  # so the parent sees end-of-file if the worker dies
        self.queued: deque[list[Any]] = deque()  # handed out, no result back yet
        self.started = 0.0  # when it began the first of them (monotonic)

    def stop_now(self) -> None:
        """Kill the worker and wait for it to be gone."""
        self.process.kill()
        self.process.join()
        self.conn.close()


class WorkerPool(Generic[Item, Result]):
    """Takes items one at a time and gives back their results as they finish.

    ``task`` turns a chunk of items into their results; it runs in worker processes once
    there are ``min_items`` items to share, in chunks of ``chunk_size`` (and in this process
    below that, where starting workers would cost more than it saves, one item at a time so
    each result comes back as soon as it is ready). With a ``timeout``, a worker that spends
    longer than that on one chunk is killed and replaced, the chunk's results are
    ``on_timeout(chunk, timeout)``, and the chunks it had been handed are handed out again
    (work done in this process has no timeout: give ``min_items=1`` to always use workers).
    Use as a context manager: leaving it stops the workers, at once if an exception (Ctrl-C
    included) is on its way out.
    """

    def __init__(
        self,
        task: Callable[[list[Item]], list[Result]],
        jobs: int | None = None,
        *,
        chunk_size: int,
        min_items: int,
        timeout: float | None = None,
        on_timeout: Callable[[list[Item], float], list[Result]] | None = None,
    ) -> None:
        if (timeout is None) != (on_timeout is None):
            raise ValueError("a timeout needs on_timeout, and on_timeout a timeout")
        self.task = task
        self.jobs = jobs or default_jobs()
        self.chunk_size = chunk_size
        self.min_items = min_items
        self.timeout = timeout
        self.on_timeout = on_timeout
        self.submitted = 0
        self._pending: list[Item] = []
        self._tasks: deque[list[Item]] = deque()
        self._workers: list[_Worker] = []
        self._finished: list[Result] = []
        self._context: Any = None

    def __enter__(self) -> WorkerPool[Item, Result]:
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

    def submit(self, item: Item) -> None:
        """Queue an item; work starts on the workers as soon as there is enough to share."""
        self._pending.append(item)
        self.submitted += 1
        if len(self._pending) >= self.chunk_size and self._use_workers():
            self._queue_tasks(self.chunk_size)
            # Take in what is done, so no worker sits waiting to hand over its result.
            self._collect(timeout=0)

    def ready(self) -> Iterator[Result]:
        """The results that have already come back, without waiting for more."""
        if self._workers:
            self._collect(timeout=0)
        finished, self._finished = self._finished, []
        yield from finished

    def results(self) -> Iterator[Result]:
        """Every remaining result, in the order they finish. Call after the last submit."""
        yield from self.ready()
        if not self._use_workers():
            pending, self._pending = self._pending, []
            for item in pending:
                yield from self.task([item])
            return
        self._queue_tasks(max(1, -(-len(self._pending) // self.jobs)))
        while self._tasks or any(worker.queued for worker in self._workers):
            self._collect(timeout=None)
            finished, self._finished = self._finished, []
            yield from finished

    def _use_workers(self) -> bool:
        return bool(self._workers) or self.submitted >= self.min_items

    def _queue_tasks(self, size: int) -> None:
        pending, self._pending = self._pending, []
        self._tasks.extend(pending[start : start + size] for start in range(0, len(pending), size))
        if not self._workers:
            self._context = _worker_context()
            self._workers = [_Worker(self._context, self.task) for _ in range(self.jobs)]
        self._hand_out()

    def _hand_out(self) -> None:
        for worker in self._workers:
            while self._tasks and len(worker.queued) < TASKS_IN_FLIGHT:
                try:
                    worker.conn.send(self._tasks[0])
                except OSError as exc:  # its end of the pipe is gone: it died
                    raise _crashed() from exc
                if not worker.queued:
                    worker.started = time.monotonic()
                worker.queued.append(self._tasks.popleft())

    def _collect(self, timeout: float | None) -> None:
        """Take in the results that are ready (waiting up to ``timeout`` for one, and no
        longer than the first worker's deadline)."""
        busy = {worker.conn: worker for worker in self._workers if worker.queued}
        deaths = {worker.process.sentinel: worker for worker in busy.values()}
        for ready in wait([*busy, *deaths], self._wait_limit(timeout, busy.values())):
            worker = busy.get(ready) or deaths[ready]  # type: ignore[call-overload]
            if not worker.queued:  # its result came in through the other handle
                continue
            try:
                if ready in deaths and not worker.conn.poll():
                    raise EOFError
                self._finished.extend(worker.conn.recv())
            except (EOFError, OSError) as exc:
                raise _crashed() from exc
            worker.queued.popleft()
            worker.started = time.monotonic()  # it is on its next chunk, if it has one
        self._stop_overdue()
        self._hand_out()

    def _wait_limit(self, timeout: float | None, busy: Any) -> float | None:
        if self.timeout is None or not busy:
            return timeout
        first_deadline = min(worker.started for worker in busy) + self.timeout
        until_deadline = max(0.0, first_deadline - time.monotonic())
        return until_deadline if timeout is None else min(timeout, until_deadline)

    def _stop_overdue(self) -> None:
        """Replace each worker past its deadline: its chunk timed out, the rest go back."""
        if self.timeout is None or self.on_timeout is None:
            return
        now = time.monotonic()
        for index, worker in enumerate(self._workers):
            overdue = worker.queued and now - worker.started > self.timeout
            if not overdue or worker.conn.poll():  # a result that is in is taken next time
                continue
            worker.stop_now()
            stuck, *waiting = worker.queued
            self._finished.extend(self.on_timeout(stuck, self.timeout))
            self._tasks.extendleft(reversed(waiting))
            self._workers[index] = _Worker(self._context, self.task)


def _crashed() -> WorkerCrashed:
    return WorkerCrashed(
        "a worker process died (killed, or out of memory?); what was done is saved: "
        "run the command again to carry on"
    )


def _end_with_parent(parent: int | None) -> bool:
    """Have the kernel kill this worker when its parent dies (Linux); False if the parent
    died already. Elsewhere the worker notices the parent is gone at its next read."""
    if not sys.platform.startswith("linux"):
        return True
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # A parent that died before the prctl call sent no signal: this process was re-parented.
    return parent is None or os.getppid() == parent


def _work(conn: Connection, task: Callable[[list[Any]], list[Any]], parent: int | None) -> None:
    """A worker's life: do the chunks it is sent until it is sent ``None``."""
    # Ctrl-C is the parent's to handle: it saves what came back, then stops the workers with
    # SIGTERM, whose handler a forked worker must not inherit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _end_with_parent(parent):
        return
    while True:
        try:
            paths = conn.recv()
        except EOFError:  # the parent is gone
            return
        if paths is None:
            return
        conn.send(task(paths))


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
