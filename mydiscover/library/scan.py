"""``mydiscover scan``: keep the catalog in step with the music folders, doing only new work.

A scan has three phases:

1. walk the roots, one ``stat`` per file, and sort each file into unchanged (same size and
   mtime as catalogued), restored (catalogued as missing, back unchanged) or to-read;
2. read the tags of the files to read on every core, writing results in short batched
   transactions as they arrive, so an interrupted scan keeps what it read;
3. only after a complete walk and read, mark what vanished as missing (never deleting it) and
   record the problems met.

New files are matched against vanished tracks first (see :mod:`mydiscover.library.identity`),
so a moved or renamed file keeps its identity.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mydiscover.db import scans as scan_log
from mydiscover.db import tracks as catalog
from mydiscover.db import transaction
from mydiscover.db.tracks import FileState
from mydiscover.library.identity import MoveDetector
from mydiscover.library.reader import ReadResult, TagReader
from mydiscover.library.tags import Tags
from mydiscover.library.walk import FoundFile, WalkProblem, is_under, walk_root

#: A batch is written when it holds this many results, or when this many seconds have passed.
BATCH_SIZE = 2000
BATCH_SECONDS = 1.0


class ScanProgress(Protocol):
    """What a scan reports while it runs; the command line draws it, tests may record it."""

    def walking(self, files_found: int) -> None:
        """Called now and then during the walk with the number of audio files found so far."""

    def reading(self, total: int) -> None:
        """Called once when reading starts, with the number of files to read."""

    def advance(self, count: int) -> None:
        """Called as files are read."""


@dataclass
class ScanReport:
    """What a scan did, for the summary line, the exit code and the scan log."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    restored: int = 0
    missing: int = 0
    errors: int = 0
    interrupted: bool = False
    problems: list[tuple[bytes, bytes, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The counters by name, as the scan log stores them."""
        return {name: getattr(self, name) for name in scan_log.SCAN_COUNTERS}

    def summary(self) -> str:
        """One line: new / changed / unchanged / missing / errors, and moves when there were any."""
        parts = [f"{self.new} new", f"{self.changed} changed", f"{self.unchanged} unchanged"]
        if self.moved:
            parts.append(f"{self.moved} moved")
        if self.restored:
            parts.append(f"{self.restored} restored")
        parts += [f"{self.missing} missing", f"{self.errors} errors"]
        return ", ".join(parts)


@dataclass
class _Plan:
    """The outcome of the walk: what to read, what came back, what vanished."""

    #: path -> (the file, the id of the track it already is, if any)
    to_read: dict[bytes, tuple[FoundFile, int | None]] = field(default_factory=dict)
    restored: list[int] = field(default_factory=list)
    seen_ids: set[int] = field(default_factory=set)
    blocked_folders: list[bytes] = field(default_factory=list)


class _Silent:
    def walking(self, files_found: int) -> None:
        pass

    def reading(self, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass


def scan_library(
    conn: sqlite3.Connection,
    roots: Sequence[bytes],
    *,
    jobs: int | None = None,
    progress: ScanProgress | None = None,
) -> ScanReport:
    """Scan ``roots`` (absolute byte paths) into the catalog and report what changed.

    A Ctrl-C (``KeyboardInterrupt``) ends the scan early: what was read is kept, nothing is marked
    missing, and the report says ``interrupted``; the next scan carries on from there.
    """
    progress = progress or _Silent()
    report = ScanReport()
    scan_id = scan_log.start_scan(conn, roots)
    try:
        index = catalog.load_index(conn)
        with TagReader(jobs) as reader:
            plan = _walk(roots, index, report, progress, reader)
            if plan.restored:
                with transaction(conn):
                    report.restored = catalog.set_status(conn, plan.restored, "ok")
            vanished = [
                entry.id
                for path, entry in index.items()
                if entry.id not in plan.seen_ids
                and entry.status != "missing"
                and any(is_under(path, root) for root in roots)
                and not any(is_under(path, folder) for folder in plan.blocked_folders)
            ]
            elsewhere = [
                entry.id
                for path, entry in index.items()
                if entry.status != "missing" and not any(is_under(path, root) for root in roots)
            ]
            moves = _move_detector(conn, plan, vanished, elsewhere)
            progress.reading(reader.submitted)
            _store(conn, plan, reader.results(), moves, report, progress)
        with transaction(conn):
            gone = [track_id for track_id in vanished if track_id not in moves.claimed]
            report.missing = catalog.set_status(conn, gone, "missing")
            scan_log.replace_problems(conn, roots, report.problems)
    except KeyboardInterrupt:
        report.interrupted = True
    report.errors += len(report.problems)
    outcome = "interrupted" if report.interrupted else "complete"
    scan_log.finish_scan(conn, scan_id, outcome, report.counts())
    return report


def _walk(
    roots: Sequence[bytes],
    index: dict[bytes, catalog.IndexEntry],
    report: ScanReport,
    progress: ScanProgress,
    reader: TagReader,
) -> _Plan:
    """Sort every file found into unchanged, restored or to-read (handed to ``reader``)."""
    plan = _Plan()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    found = 0
    for root in roots:
        for item in walk_root(root, seen_dirs, seen_files):
            if isinstance(item, WalkProblem):
                report.problems.append((item.root, item.path, item.message))
                if item.blocks_folder:
                    plan.blocked_folders.append(item.path)
                continue
            found += 1
            if found % 1000 == 0:
                progress.walking(found)
            entry = index.get(item.path)
            if entry is not None:
                plan.seen_ids.add(entry.id)
            if entry is None or entry.size != item.size or entry.mtime_ns != item.mtime_ns:
                plan.to_read[item.path] = (item, entry.id if entry else None)
                reader.submit(item.path)
            elif entry.status == "missing":
                plan.restored.append(entry.id)
            elif entry.status == "error":
                report.errors += 1  # still the same unreadable file: not read again
            else:
                report.unchanged += 1
    progress.walking(found)
    return plan


def _move_detector(
    conn: sqlite3.Connection, plan: _Plan, vanished: list[int], elsewhere: list[int]
) -> MoveDetector:
    """A detector loaded with the tracks new files may turn out to be (none if nothing is new)."""
    if all(track_id is not None for _, track_id in plan.to_read.values()):
        return MoveDetector(())
    gone = vanished + catalog.missing_track_ids(conn)
    return MoveDetector(
        catalog.load_tracks_by_id(conn, gone), catalog.load_tracks_by_id(conn, elsewhere)
    )


def _store(
    conn: sqlite3.Connection,
    plan: _Plan,
    results: Iterator[ReadResult],
    moves: MoveDetector,
    report: ScanReport,
    progress: ScanProgress,
) -> None:
    """Write the read results in batched transactions, as they arrive."""
    inserts: list[tuple[FileState, Tags | None, str | None]] = []
    updates: list[tuple[int, FileState, Tags | None, str | None]] = []

    def flush() -> None:
        if inserts or updates:
            with transaction(conn):
                catalog.insert_tracks(conn, inserts)
                catalog.update_tracks(conn, updates)
            inserts.clear()
            updates.clear()

    last_flush = time.monotonic()
    try:
        for path, tags, error in results:
            found, track_id = plan.to_read[path]
            state = FileState(*found)
            if error is not None:
                report.errors += 1
            if track_id is not None:
                report.changed += 1
                updates.append((track_id, state, tags, error))
            elif (claimed := moves.claim(state, tags)) is not None:
                report.moved += 1
                updates.append((claimed, state, tags, error))
            else:
                report.new += 1
                inserts.append((state, tags, error))
            progress.advance(1)
            pending = len(inserts) + len(updates)
            if pending >= BATCH_SIZE or time.monotonic() - last_flush >= BATCH_SECONDS:
                flush()
                last_flush = time.monotonic()
    finally:
        # Runs on Ctrl-C too: results already read are kept, so the next scan resumes.
        flush()
