"""The worker pool: results as they come, whatever the job count, and a stuck worker replaced."""

from __future__ import annotations

import os
import time

from mydiscover.workers import WorkerPool

#: Long enough to be sure the pool stopped waiting: far past the pool's timeout below.
STUCK_SECONDS = 30.0
TIMEOUT_SECONDS = 1.0


def worker_pids(items: list[str]) -> list[tuple[str, int]]:
    """Each item with the process that did it; ``"stuck"`` never finishes in time."""
    if "stuck" in items:
        time.sleep(STUCK_SECONDS)
    return [(item, os.getpid()) for item in items]


def gave_up(items: list[str], seconds: float) -> list[tuple[str, int]]:
    """What the pool reports for a chunk it stopped waiting for."""
    return [(f"{item}: over {seconds:g} s", 0) for item in items]


def test_a_stuck_worker_is_replaced_and_its_queued_chunks_handed_out_again() -> None:
    started = time.monotonic()
    with WorkerPool(
        worker_pids, 1, chunk_size=1, min_items=1, timeout=TIMEOUT_SECONDS, on_timeout=gave_up
    ) as pool:
        for item in ("stuck", "next", "last"):
            pool.submit(item)
        results = list(pool.results())

    assert time.monotonic() - started < STUCK_SECONDS / 2
    assert [item for item, _ in results] == ["stuck: over 1 s", "next", "last"]
    # "next" was queued on the stuck worker: a fresh worker did it, in another process.
    assert {pid for _, pid in results[1:]} - {0, os.getpid()}


calls: list[list[str]] = []


def remember(items: list[str]) -> list[str]:
    """Records each call, so a test sees when the work was done."""
    calls.append(items)
    return items


def test_work_done_in_process_comes_back_one_item_at_a_time() -> None:
    calls.clear()
    with WorkerPool(remember, 1, chunk_size=4, min_items=100) as pool:
        for item in ("a", "b", "c"):
            pool.submit(item)
        results = pool.results()

        assert next(results) == "a" and calls == [["a"]]  # b and c not started yet
        assert list(results) == ["b", "c"]


def test_one_job_still_uses_a_worker_process_once_there_is_enough_work() -> None:
    with WorkerPool(worker_pids, 1, chunk_size=1, min_items=1) as pool:
        pool.submit("only")
        ((_, pid),) = pool.results()

    assert pid != os.getpid()
