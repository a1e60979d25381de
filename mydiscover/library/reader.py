"""Reading tags on every core, starting while the walk is still finding files.

The walk is one core's work; the reading is every core's. Handing files to worker processes as
soon as they are found keeps the other cores busy during the walk instead of after it.
"""

from __future__ import annotations

from mydiscover.library.tags import Tags, UnreadableAudio, read_tags
from mydiscover.workers import WorkerPool

#: Fewer files than this are read in-process: starting workers would cost more than it saves.
MIN_FILES_FOR_WORKERS = 64
#: Files a worker reads per task while the walk goes on: large enough that handing tasks over
#: costs little (32 made the whole scan 12% slower), small enough to start the workers early.
#: What is left when the walk ends is split evenly, so every worker finishes at about the same
#: time.
CHUNK_SIZE = 128

ReadResult = tuple[bytes, Tags | None, str | None]
TagReader = WorkerPool[bytes, ReadResult]


def read_one(path: bytes) -> ReadResult:
    """Read one file for the catalog: its tags, or the one-line reason it could not be read."""
    try:
        return path, read_tags(path), None
    except UnreadableAudio as exc:
        return path, None, str(exc)


def read_many(paths: list[bytes]) -> list[ReadResult]:
    """Read a chunk of files (one worker task)."""
    return [read_one(path) for path in paths]


def tag_reader(jobs: int | None = None) -> TagReader:
    """A pool that reads tags."""
    return WorkerPool(read_many, jobs, chunk_size=CHUNK_SIZE, min_items=MIN_FILES_FOR_WORKERS)
