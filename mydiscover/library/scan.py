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
from enum import Enum
from typing import Protocol

from mydiscover.db import transaction
from mydiscover.library import tables
from mydiscover.library.identity import MoveDetector
from mydiscover.library.reader import ReadResult, TagReader, tag_reader
from mydiscover.library.tables import TrackStatus
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
        return {name: getattr(self, name) for name in tables.SCAN_COUNTERS}

    def summary(self) -> str:
        """One line: new / changed / unchanged / missing / errors, and moves when there were any."""
        parts = [f"{self.new} new", f"{self.changed} changed", f"{self.unchanged} unchanged"]
        if self.moved:
            parts.append(f"{self.moved} moved")
        if self.restored:
            parts.append(f"{self.restored} restored")
        parts += [f"{self.missing} missing", f"{self.errors} errors"]
        return ", ".join(parts)


class _Reason(Enum):
    """Why a file is read."""

    NEW = "new"  # a path the catalog does not know
    CHANGED = "changed"  # a known path whose size or mtime changed
    REPLACED = "replaced"  # a known path now holding another file-system object
    RETRY = "retry"  # a known unreadable file, read again in case its cause was fixed


@dataclass
class _Plan:
    """The outcome of the walk: what to read, what came back, what vanished."""

    #: path -> (the file, the id of the track at that path if any, why it is read)
    to_read: dict[bytes, tuple[FoundFile, int | None, _Reason]] = field(default_factory=dict)
    restored: list[int] = field(default_factory=list)
    seen_ids: set[int] = field(default_factory=set)
    blocked_folders: list[bytes] = field(default_factory=list)


class SilentScanProgress:
    """A :class:`ScanProgress` that shows nothing."""

    def walking(self, files_found: int) -> None:
        """Nothing shown."""

    def reading(self, total: int) -> None:
        """Nothing shown."""

    def advance(self, count: int) -> None:
        """Nothing shown."""


def scan_library(
    conn: sqlite3.Connection,
    roots: Sequence[bytes],
    *,
    jobs: int | None = None,
    progress: ScanProgress | None = None,
) -> ScanReport:
    """Scan ``roots`` (absolute byte paths) into the catalog and report what changed.

    A Ctrl-C (``KeyboardInterrupt``) ends the scan early: what was read is kept, nothing is marked
    missing, and the report says ``interrupted``; the next scan carries on from there. Any other
    error is logged as a failed scan and raised.
    """
    progress = progress or SilentScanProgress()
    roots = _outermost(roots)
    report = ScanReport()
    scan_id = tables.start_scan(conn, roots)
    try:
        index = tables.load_index(conn)
        writer = _Writer(conn, report, progress)
        with tag_reader(jobs) as reader:
            # On a first scan no file can be a moved track, so results are stored as they come,
            # even while the walk goes on; otherwise arrivals wait for the move detection.
            first_scan = not index
            plan = _Plan()
            try:
                _walk(plan, roots, index, report, progress, reader, writer, first_scan)
            except KeyboardInterrupt:
                if first_scan:
                    writer.store_all(reader.ready(), plan.to_read)
                raise
            if plan.restored:
                with transaction(conn):
                    report.restored = tables.mark_restored(conn, plan.restored)
            vanished = _vanished(index, plan, roots)
            moves = _move_detector(conn, plan, index, vanished, roots)
            progress.reading(reader.submitted - writer.stored)
            writer.store_all(reader.results(), plan.to_read, moves)
        with transaction(conn):
            gone = [track_id for track_id in vanished if track_id not in moves.claimed]
            report.missing = tables.mark_missing(conn, gone)
            tables.replace_problems(conn, roots, report.problems)
    except KeyboardInterrupt:
        report.interrupted = True
    except BaseException:
        tables.finish_scan(conn, scan_id, "failed", report.counts())
        raise
    report.errors += len(report.problems)
    outcome = "interrupted" if report.interrupted else "complete"
    tables.finish_scan(conn, scan_id, outcome, report.counts())
    return report


def _outermost(roots: Sequence[bytes]) -> list[bytes]:
    """The roots without duplicates and without those inside another root."""
    unique = list(dict.fromkeys(roots))
    return [
        root
        for root in unique
        if not any(other != root and is_under(root, other) for other in unique)
    ]


def _walk(
    plan: _Plan,
    roots: Sequence[bytes],
    index: dict[bytes, tables.IndexEntry],
    report: ScanReport,
    progress: ScanProgress,
    reader: TagReader,
    writer: _Writer,
    store_while_walking: bool,
) -> None:
    """Sort every file found into ``plan``: unchanged, restored or to-read (given to ``reader``)."""
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
                if store_while_walking:
                    writer.store_all(reader.ready(), plan.to_read)
            entry = index.get(item.path)
            if entry is None:
                plan.to_read[item.path] = (item, None, _Reason.NEW)
                reader.submit(item.path)
                continue
            plan.seen_ids.add(entry.id)
            same_content = entry.size == item.size and entry.mtime_ns == item.mtime_ns
            if same_content and entry.status == TrackStatus.OK:
                report.unchanged += 1
            elif same_content and entry.status == TrackStatus.MISSING:
                plan.restored.append(entry.id)
                report.errors += entry.unreadable
            else:
                if not same_content and entry.inode and entry.inode != item.inode:
                    reason = _Reason.REPLACED
                else:
                    reason = _Reason.CHANGED if not same_content else _Reason.RETRY
                plan.to_read[item.path] = (item, entry.id, reason)
                reader.submit(item.path)
    progress.walking(found)


def _vanished(
    index: dict[bytes, tables.IndexEntry], plan: _Plan, roots: Sequence[bytes]
) -> list[int]:
    """Tracks under the roots that this scan did not find (and could have)."""
    return [
        entry.id
        for path, entry in index.items()
        if entry.id not in plan.seen_ids
        and entry.status != TrackStatus.MISSING
        and any(is_under(path, root) for root in roots)
        and not any(is_under(path, folder) for folder in plan.blocked_folders)
    ]


def _move_detector(
    conn: sqlite3.Connection,
    plan: _Plan,
    index: dict[bytes, tables.IndexEntry],
    vanished: list[int],
    roots: Sequence[bytes],
) -> MoveDetector:
    """A detector loaded with the tracks arriving files may turn out to be.

    Candidates: what vanished in this scan, what was missing before (and was not found again
    at its path), the tracks whose path now holds another file, and tracks outside the roots
    whose files are gone.
    """
    arriving = [
        (track_id, reason)
        for _, track_id, reason in plan.to_read.values()
        if reason in (_Reason.NEW, _Reason.REPLACED)
    ]
    if not arriving:
        return MoveDetector(())
    replaced = [track_id for track_id, reason in arriving if reason is _Reason.REPLACED]
    missing = [tid for tid in tables.missing_track_ids(conn) if tid not in plan.seen_ids]
    elsewhere = [
        entry.id
        for path, entry in index.items()
        if entry.status != TrackStatus.MISSING and not any(is_under(path, root) for root in roots)
    ]
    return MoveDetector(
        tables.load_tracks_by_id(conn, [*vanished, *missing, *replaced]),
        tables.load_tracks_by_id(conn, elsewhere),
    )


class _Writer:
    """Writes read results in batched transactions, and tells moved files from new ones."""

    def __init__(
        self, conn: sqlite3.Connection, report: ScanReport, progress: ScanProgress
    ) -> None:
        self.conn = conn
        self.report = report
        self.progress = progress
        self.stored = 0
        self._inserts: list[tuple[FoundFile, Tags | None, str | None]] = []
        self._updates: list[tuple[int, FoundFile, Tags | None, str | None]] = []
        self._last_flush = time.monotonic()
        self._settling = False

    def store_all(
        self,
        results: Iterator[ReadResult],
        to_read: dict[bytes, tuple[FoundFile, int | None, _Reason]],
        moves: MoveDetector | None = None,
    ) -> None:
        """Store results as they come; arrivals wait for ``moves`` when it has candidates.

        Arrivals held back are lost if the scan is interrupted before they are resolved: they
        are simply read again next time, which is better than giving a moved file a new
        identity.
        """
        arrivals: list[tuple[FoundFile, Tags | None, str | None, int | None]] = []
        try:
            for path, tags, error in results:
                found, track_id, reason = to_read[path]
                if moves and reason in (_Reason.NEW, _Reason.REPLACED):
                    arrivals.append((found, tags, error, track_id))
                    continue
                self._keep(found, tags, error, track_id, reason)
            if arrivals:
                self._settle(arrivals, moves)
        finally:
            # Runs on Ctrl-C too: results already read are kept, so the next scan resumes.
            self._flush()

    def _keep(
        self,
        state: FoundFile,
        tags: Tags | None,
        error: str | None,
        track_id: int | None,
        reason: _Reason,
    ) -> None:
        report = self.report
        if error is not None:
            report.errors += 1
        if track_id is None:
            report.new += 1
            self._inserts.append((state, tags, error))
        else:
            if reason is not _Reason.RETRY or error is None:
                report.changed += 1
            self._updates.append((track_id, state, tags, error))
        self._advance()

    def _settle(
        self,
        arrivals: list[tuple[FoundFile, Tags | None, str | None, int | None]],
        moves: MoveDetector | None,
    ) -> None:
        """Resolve the held-back arrivals against the vanished tracks, then store them."""
        claims = moves.resolve([(state, tags) for state, tags, _, _ in arrivals]) if moves else []
        taken = set(claims)
        moved: list[int] = []
        self._settling = True  # one transaction, so paths can be vacated and swapped safely
        for (state, tags, error, own_id), claim in zip(arrivals, claims, strict=True):
            if claim is not None and claim != own_id:
                self.report.moved += 1
                self.report.errors += error is not None
                moved.append(claim)
                self._updates.append((claim, state, tags, error))
                self._advance()
            elif own_id is not None and (claim == own_id or own_id not in taken):
                # The file that now stands at a known path: that track, changed.
                self._keep(state, tags, error, own_id, _Reason.CHANGED)
            else:
                self._keep(state, tags, error, None, _Reason.NEW)
        self._settling = False
        self._flush(vacate=moved)

    def _advance(self) -> None:
        self.stored += 1
        self.progress.advance(1)
        pending = len(self._inserts) + len(self._updates)
        if self._settling:
            return
        if pending >= BATCH_SIZE or time.monotonic() - self._last_flush >= BATCH_SECONDS:
            self._flush()

    def _flush(self, vacate: Sequence[int] = ()) -> None:
        # Take the batch first: if Ctrl-C lands after COMMIT, it is not written twice.
        inserts, self._inserts = self._inserts, []
        updates, self._updates = self._updates, []
        self._last_flush = time.monotonic()
        if not (inserts or updates):
            return
        with transaction(self.conn):
            if vacate:
                tables.vacate_paths(self.conn, [track_id for track_id, *_ in updates])
            tables.update_tracks(self.conn, updates)
            tables.insert_tracks(self.conn, inserts)
