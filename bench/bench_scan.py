"""Benchmark ``mydiscover scan`` on a synthetic library and print a table of figures.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench,test]``)::

    python bench/bench_scan.py                 # 20,000 files, 3 repeats
    python bench/bench_scan.py --json          # also print every figure as one JSON line
    python bench/bench_scan.py --files 2000 --repeat 1   # a quick smoke run

The first run builds the library (20,000 small tagged .mp3/.flac/.ogg/.wav files under
``bench/.cache/library-20000``, which git ignores) and later runs reuse it. Each file is a copy
of one short template per format, re-tagged with its own title, artist, album and MusicBrainz
recording id, spread over 200 artist folders with one subfolder per album.

What is measured, each ``--repeat`` times (the table shows the median):

1. baseline: a bare ``mutagen.File(path)`` over every file on all cores, with a forkserver
   ``multiprocessing.Pool(2)`` and ``imap_unordered(chunksize=64)``; the path list is collected
   beforehand and not timed. This is roughly the best a tag reader in Python can do.
2. first scan: ``python -m mydiscover scan --db DB -q LIBRARY`` on a fresh database, timed
   wall-clock (interpreter start-up included), compared with the baseline (target >= 0.8), and
   the peak summed RSS of its process tree (the scan and its workers, sampled every 20 ms, the
   tree itself re-listed every 100 ms; target < 300 MB).
   The same first scan is also timed as ``scan_library()`` called in this process, like the
   baseline, which leaves out the interpreter's and typer's start-up (about 0.2 s).
3. rescan, nothing changed, on the same database: the same command (target >= 20,000 files/s),
   and ``scan_library()`` called in this process, which leaves out Python's start-up.

Before timing anything, one untimed ``mutagen`` pass reads every file, so all contenders find
the library in the page cache.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mutagen
from common import (
    TreeMemorySampler,
    add_common_arguments,
    add_repo_to_path,
    cache_folder,
    cli_environment,
    failure_report,
    print_table,
    usable_cores,
    verdict,
)

DEFAULT_FILES = 20_000
FORMATS = (".mp3", ".flac", ".ogg", ".wav")
ARTISTS = 200
TRACKS_PER_ALBUM = 12
TEMPLATE_SECONDS = 0.3
GENRES = ("Rock", "Jazz", "Electronic", "Folk", "Hip-Hop", "Classical", "Ambient", "Soul")
MARKER = ".bench-library-complete"  # hidden, so the scan skips it
BASELINE_CHUNKSIZE = 64
SAMPLE_INTERVAL = 0.02
TREE_REFRESH_EVERY = 5  # samples between listings of the process tree (100 ms)

FIRST_SCAN_MIN_RATIO = 0.8
PEAK_MEMORY_MAX_MB = 300.0
RESCAN_MIN_FILES_PER_SECOND = 20_000.0


# --- the library -----------------------------------------------------------------------------


def track_layout(index: int) -> tuple[str, dict[str, str]]:
    """The relative path and the tags of file number ``index``."""
    album = index // TRACKS_PER_ALBUM
    number = index % TRACKS_PER_ALBUM + 1
    artist = album % ARTISTS
    ext = FORMATS[index % len(FORMATS)]
    title = f"Track {index:05d}"
    relpath = f"Artist {artist:03d}/Album {album:04d}/{number:02d} - {title}{ext}"
    fields = {
        "title": title,
        "artist": f"Artist {artist:03d}",
        "album": f"Album {album:04d}",
        "track": f"{number}/{TRACKS_PER_ALBUM}",
        "date": "2001",
        "genre": GENRES[album % len(GENRES)],
        "mb_recording_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mydiscover-bench/{index}")),
    }
    return relpath, fields


def _library_factory() -> Any:
    add_repo_to_path()
    from tests import library_factory

    return library_factory


def _build_files(job: tuple[str, dict[str, bytes], range]) -> int:
    """Write and tag one slice of the library (runs in a build worker)."""
    root, templates, indices = job
    factory = _library_factory()
    made_dirs: set[Path] = set()
    for index in indices:
        relpath, fields = track_layout(index)
        path = Path(root) / relpath
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        path.write_bytes(templates[path.suffix])
        factory.tag(path, **fields)
    return len(indices)


def count_audio_files(root: Path) -> int:
    """How many audio files (of the benchmark's formats) lie under ``root``."""
    return len(collect_paths(root))


def ensure_library(root: Path, files: int, jobs: int) -> float | None:
    """Build the library unless a complete one of the right size is there.

    Returns the seconds the build took, or None when an existing library was reused.
    """
    marker = root / MARKER
    complete = marker.is_file() and marker.read_text().strip() == str(files)
    if complete and count_audio_files(root) == files:
        return None
    started = time.perf_counter()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    factory = _library_factory()
    with tempfile.TemporaryDirectory(prefix="bench-templates-") as tmp:
        templates: dict[str, bytes] = {}
        for ext in FORMATS:
            path = factory.write_audio(Path(tmp) / f"template{ext}", seconds=TEMPLATE_SECONDS)
            templates[ext] = path.read_bytes()
    step = 500
    work = [(str(root), templates, range(i, min(i + step, files))) for i in range(0, files, step)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        built = sum(pool.imap_unordered(_build_files, work))
    if built != files or count_audio_files(root) != files:
        raise RuntimeError(f"library build made {built} files, expected {files}")
    marker.write_text(f"{files}\n")
    return time.perf_counter() - started


def collect_paths(root: Path) -> list[str]:
    """Every audio file under ``root``, skipping hidden names the way the scan does."""
    paths: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        paths.extend(
            os.path.join(dirpath, name)
            for name in filenames
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in FORMATS
        )
    return paths


# --- the contenders --------------------------------------------------------------------------


def open_with_mutagen(path: str) -> bool:
    """The baseline's unit of work: parse one file with mutagen (runs in a pool worker)."""
    return mutagen.File(path) is not None


def mutagen_pass(paths: Sequence[str], jobs: int) -> float:
    """Seconds for a forkserver pool to open every path with mutagen (pool start-up included)."""
    context = multiprocessing.get_context("forkserver")
    started = time.perf_counter()
    with context.Pool(jobs) as pool:
        opened = sum(pool.imap_unordered(open_with_mutagen, paths, chunksize=BASELINE_CHUNKSIZE))
    elapsed = time.perf_counter() - started
    if opened != len(paths):
        raise RuntimeError(f"mutagen recognised {opened} of {len(paths)} files")
    return elapsed


class ScanFailed(RuntimeError):
    """The mydiscover CLI exited with an error."""


def run_cli_scan(
    db: Path, library: Path, env: dict[str, str], *, sample: bool
) -> tuple[float, float | None]:
    """Run ``mydiscover scan`` in a subprocess: wall seconds, and peak tree RSS in MB if sampled."""
    command = [sys.executable, "-m", "mydiscover", "scan", "--db", str(db), "-q", str(library)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    sampler = (
        TreeMemorySampler(process.pid, SAMPLE_INTERVAL, tree_refresh_every=TREE_REFRESH_EVERY)
        if sample
        else None
    )
    if sampler is not None:
        sampler.start()
    stdout, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    if sampler is not None:
        sampler.stop()
    if process.returncode != 0:
        raise ScanFailed(failure_report(command, process.returncode, stdout, stderr))
    peak = sampler.peak_mb if sampler is not None else None
    return elapsed, peak


def in_process_scan(db: Path, library: Path, files: int, *, first: bool) -> float:
    """Seconds for ``scan_library()`` (a first scan or an unchanged rescan), start-up left out."""
    from mydiscover.db import open_database
    from mydiscover.library.scan import scan_library
    from mydiscover.library.walk import normalize_root

    conn = open_database(db)
    try:
        started = time.perf_counter()
        report = scan_library(conn, [normalize_root(str(library))])
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    counted, expected = (report.new, "new") if first else (report.unchanged, "unchanged")
    if counted != files or report.interrupted:
        raise ScanFailed(f"in-process scan expected {files} {expected}, got: {report.summary()}")
    return elapsed


# --- the report ------------------------------------------------------------------------------


@dataclass
class Measurement:
    name: str
    files: int
    runs: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)

    @property
    def rate(self) -> float:
        return self.files / self.seconds


def repeat_runs(count: int, run: Callable[[], float], into: Measurement) -> None:
    for _ in range(count):
        into.runs.append(run())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark 'mydiscover scan' on a synthetic library of small tagged files."
    )
    parser.add_argument(
        "--files", type=int, default=DEFAULT_FILES, help="library size (default: %(default)s)"
    )
    parser.add_argument(
        "--library",
        type=Path,
        default=None,
        help="where to build / reuse the library (default: bench/.cache/library-FILES)",
    )
    add_common_arguments(
        parser,
        repeat_default=3,
        repeat_help="runs per measurement",
        json_help="also print all figures as JSON",
    )
    args = parser.parse_args(argv)
    if args.files < 1 or args.repeat < 1:
        parser.error("--files and --repeat must be at least 1")
    args.library = cache_folder(args.library, f"library-{args.files}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    files: int = args.files
    library: Path = args.library
    jobs = usable_cores()
    baseline_jobs = 2

    build_seconds = ensure_library(library, files, jobs)
    if build_seconds is None:
        print(f"library: reusing {files:,} files in {library}")
    else:
        print(f"library: built {files:,} files in {library} in {build_seconds:.1f} s")

    paths = collect_paths(library)
    mutagen_pass(paths, baseline_jobs)  # warm-up: page cache, forkserver, mutagen imports

    baseline = Measurement("baseline: mutagen.File, Pool(2)", files)
    first = Measurement("first scan (CLI, fresh DB)", files)
    first_inproc = Measurement("first scan (in-process)", files)
    peaks: list[float] = []
    rescan_cli = Measurement("rescan unchanged (CLI)", files)
    rescan_inproc = Measurement("rescan unchanged (in-process)", files)

    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        env = cli_environment(Path(tmp) / "config")
        db = Path(tmp) / "db-0" / "mydiscover.db"
        try:
            for attempt in range(args.repeat):
                # Interleaved, so drift in the machine's speed hits both alike.
                baseline.runs.append(mutagen_pass(paths, baseline_jobs))
                db = Path(tmp) / f"db-{attempt}" / "mydiscover.db"
                db.parent.mkdir()
                seconds, peak = run_cli_scan(db, library, env, sample=True)
                first.runs.append(seconds)
                peaks.append(peak or 0.0)
                fresh = Path(tmp) / f"inproc-{attempt}" / "mydiscover.db"
                first_inproc.runs.append(in_process_scan(fresh, library, files, first=True))
            repeat_runs(
                args.repeat, lambda: run_cli_scan(db, library, env, sample=False)[0], rescan_cli
            )
            repeat_runs(
                args.repeat,
                lambda: in_process_scan(db, library, files, first=False),
                rescan_inproc,
            )
        except ScanFailed as exc:
            print("error: the scan failed:", file=sys.stderr)
            print(exc, file=sys.stderr)
            return 1

    ratio = first.rate / baseline.rate
    ratio_inproc = first_inproc.rate / baseline.rate
    peak_mb = statistics.median(peaks)
    rows = [
        (
            baseline.name,
            f"{files:,}",
            f"{baseline.seconds:.2f}",
            f"{baseline.rate:,.0f}",
            "reference",
            "-",
            "-",
        ),
        (
            first.name,
            f"{files:,}",
            f"{first.seconds:.2f}",
            f"{first.rate:,.0f}",
            f"ratio {ratio:.2f}",
            f">= {FIRST_SCAN_MIN_RATIO:.2f} x baseline",
            verdict(ratio >= FIRST_SCAN_MIN_RATIO),
        ),
        (
            first_inproc.name,
            f"{files:,}",
            f"{first_inproc.seconds:.2f}",
            f"{first_inproc.rate:,.0f}",
            f"ratio {ratio_inproc:.2f}",
            f">= {FIRST_SCAN_MIN_RATIO:.2f} x baseline",
            verdict(ratio_inproc >= FIRST_SCAN_MIN_RATIO),
        ),
        (
            "first scan peak RSS (tree)",
            f"{files:,}",
            "-",
            "-",
            f"{peak_mb:.0f} MB (max {max(peaks):.0f})",
            f"< {PEAK_MEMORY_MAX_MB:.0f} MB",
            verdict(peak_mb < PEAK_MEMORY_MAX_MB),
        ),
        (
            rescan_cli.name,
            f"{files:,}",
            f"{rescan_cli.seconds:.3f}",
            f"{rescan_cli.rate:,.0f}",
            "incl. Python start-up",
            f">= {RESCAN_MIN_FILES_PER_SECOND:,.0f} files/s",
            verdict(rescan_cli.rate >= RESCAN_MIN_FILES_PER_SECOND),
        ),
        (
            rescan_inproc.name,
            f"{files:,}",
            f"{rescan_inproc.seconds:.3f}",
            f"{rescan_inproc.rate:,.0f}",
            "scan_library() only",
            f">= {RESCAN_MIN_FILES_PER_SECOND:,.0f} files/s",
            verdict(rescan_inproc.rate >= RESCAN_MIN_FILES_PER_SECOND),
        ),
    ]
    print(
        f"mydiscover scan benchmark: {files:,} files, median of {args.repeat}, "
        f"{jobs} cores, Python {platform.python_version()}, mutagen {mutagen.version_string}"
    )
    print_table(
        rows,
        header=("measurement", "files", "seconds", "files/s", "ratio / note", "target", "result"),
        right_aligned_columns={1, 2, 3},
    )

    if args.json:
        figures = {
            "files": files,
            "repeat": args.repeat,
            "cores": jobs,
            "library": str(library),
            "build_seconds": build_seconds,
            "baseline": {"seconds": baseline.seconds, "files_per_s": baseline.rate,
                         "runs": baseline.runs},
            "first_scan": {"seconds": first.seconds, "files_per_s": first.rate, "ratio": ratio,
                           "runs": first.runs, "peak_rss_mb": peak_mb, "peak_rss_mb_runs": peaks},
            "first_scan_in_process": {"seconds": first_inproc.seconds,
                                      "files_per_s": first_inproc.rate, "ratio": ratio_inproc,
                                      "runs": first_inproc.runs},
            "rescan_cli": {"seconds": rescan_cli.seconds, "files_per_s": rescan_cli.rate,
                           "runs": rescan_cli.runs},
            "rescan_in_process": {"seconds": rescan_inproc.seconds,
                                  "files_per_s": rescan_inproc.rate, "runs": rescan_inproc.runs},
            "targets": {"first_scan_ratio": FIRST_SCAN_MIN_RATIO,
                        "peak_rss_mb": PEAK_MEMORY_MAX_MB,
                        "rescan_files_per_s": RESCAN_MIN_FILES_PER_SECOND},
        }  # fmt: skip
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
