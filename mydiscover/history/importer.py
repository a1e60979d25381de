"""Importing export files into the listening history."""

from __future__ import annotations

import csv
import sqlite3
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from mydiscover.history.files import UnknownFormat, read_export
from mydiscover.history.listen import Listen, SkippedRow
from mydiscover.history.report import ImportProgress, ImportReport, SilentProgress
from mydiscover.history.tables import ListenWriter, load_matcher

#: Skipped records kept as examples for the user.
SKIPPED_EXAMPLES = 5


def take_records(
    records: Iterable[Listen | SkippedRow], writer: ListenWriter, report: ImportReport, label: str
) -> int:
    """Queue the listens in ``writer``, count the skipped records; returns the listens seen."""
    listens = 0
    for record in records:
        if isinstance(record, SkippedRow):
            report.skipped += 1
            if len(report.skipped_examples) < SKIPPED_EXAMPLES:
                report.skipped_examples.append((f"{label}, {record.where}", record.reason))
        else:
            writer.add(record)
            listens += 1
    return listens


def import_files(
    conn: sqlite3.Connection,
    paths: Sequence[Path],
    *,
    fmt: str | None = None,
    progress: ImportProgress | None = None,
) -> tuple[ImportReport, list[tuple[Path, str]]]:
    """Import export files; returns the report and the files that could not be read, with why.

    A file that is not a known export, or cannot be read, does not stop the others. Importing
    a file twice adds nothing: listens are unique on time, artist and title.
    """
    progress = progress or SilentProgress()
    report = ImportReport()
    failures: list[tuple[Path, str]] = []
    matcher = load_matcher(conn)
    progress.start(len(paths), "files")
    for path in paths:
        try:
            detected, records = read_export(path, fmt)
            writer = ListenWriter(conn, f"file:{detected}", matcher)
            try:
                listens = take_records(records, writer, report, path.name)
            finally:
                writer.flush()  # on Ctrl-C too: a re-import fills in the rest
                report.take_counts(writer)
        except UnknownFormat as exc:
            failures.append((path, str(exc)))
            listens = 0
        except OSError as exc:
            failures.append((path, f"cannot read {path}: {exc.strerror or exc}"))
            listens = 0
        except (ValueError, RuntimeError, zlib.error, csv.Error, zipfile.BadZipFile) as exc:
            # A damaged file (a bad zip member, an unclosed CSV quote): what it gave so far is
            # kept, and the other files go on.
            failures.append((path, f"{path} is damaged: {type(exc).__name__}: {exc}"))
            listens = 0
        progress.advance(1, listens)
    return report, failures
