"""Benchmark a second ``mydiscover weekly`` in the same week with nothing new.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``)::

    python bench/bench_refresh.py             # the 20,000-file library of bench_scan.py
    python bench/bench_refresh.py --repeat 5

The target (from the issue): on a 20,000-track library, a second ``mydiscover weekly`` in the
same week with nothing new does no analysis and no refitting and answers in under 2 s.

The library is bench_scan.py's (20,000 small tagged files, built once under
``bench/.cache/library-20000``). A fresh database is scanned, every track is given a stored
analysis (a clustered embedding, tempo and key, written as ``analyze`` would, with the file's
size and mtime, so none is pending), 20,000 listens of 2,000 tracks are imported, and the terms
are built from the files' genre tags. Then ``mydiscover weekly --offline`` runs once (whatever
is stale is brought up to date) and is timed ``--repeat`` times more, each a subprocess whose
whole wall time counts (start-up, the rescan, the checks of every stage, the weekly). Its stderr
must say that nothing was analysed and nothing fitted. The baseline, measured in the same run,
is ``mydiscover scan`` of the same unchanged library (the least the refresh must do).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_scan import ensure_library
from common import (
    CACHE_DIR,
    add_common_arguments,
    add_repo_to_path,
    cli_environment,
    measured_run,
    print_table,
    usable_cores,
    verdict,
)

add_repo_to_path()

from mydiscover.audio.analyze import ANALYSIS_VERSION  # noqa: E402
from mydiscover.audio.embed import EMBEDDING_SIZE  # noqa: E402
from mydiscover.db import open_database, transaction  # noqa: E402
from mydiscover.text.terms import build_terms  # noqa: E402

FILES = 20_000
TARGET_SECONDS = 2.0
KEYS = ["C", "D", "E", "F", "G", "A", "B"]


def prepare(database: Path, library: Path, env: dict[str, str]) -> None:
    """Scan, store an analysis for every track, import listens, build the terms."""
    measured_run([sys.executable, "-m", "mydiscover", "scan", "-q", "--db", str(database),
                  str(library)], env)  # fmt: skip
    rng = np.random.default_rng(7)
    conn = open_database(database)
    try:
        tracks = conn.execute("SELECT id, size, mtime_ns, artist, title FROM tracks").fetchall()
        centres = rng.standard_normal((12, EMBEDDING_SIZE)).astype(np.float32)
        with transaction(conn):
            conn.executemany(
                "INSERT INTO track_audio (track_id, version, backend, file_size, file_mtime_ns, "
                "bpm, key, scale, embedding, patches, analysed_seconds) "
                "VALUES (?, ?, 'essentia', ?, ?, ?, ?, ?, ?, 3, 30)",
                [(track, ANALYSIS_VERSION, size, mtime, float(rng.uniform(70, 170)),
                  KEYS[track % 7], "major" if track % 2 else "minor",
                  (centres[track % 12] + 0.3 * rng.standard_normal(EMBEDDING_SIZE))
                  .astype("<f4").tobytes())
                 for track, size, mtime, _, _ in tracks],
            )  # fmt: skip
        history = database.parent / "listens.csv"
        played = tracks[:2000]
        rows = ["listened_at,artist,title"] + [
            f"{1_700_000_000 + n * 300},{artist},{title}"
            for n, (_, _, _, artist, title) in enumerate(played * 10)
            if artist and title and "," not in artist + title
        ]
        history.write_text("\n".join(rows) + "\n", encoding="utf-8")
        build_terms(conn)
    finally:
        conn.close()
    measured_run([sys.executable, "-m", "mydiscover", "history", "import", "--db", str(database),
                  str(history)], env)  # fmt: skip


def main() -> None:
    """Build or reuse the library, prepare a database, time the second weekly."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeat_default=3, repeat_help="timed second weeklies",
                         json_help="print the figures as JSON too")  # fmt: skip
    args = parser.parse_args()
    library = CACHE_DIR / f"library-{FILES}"
    ensure_library(library, FILES, usable_cores())
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as scratch:
        database = Path(scratch) / "mydiscover.db"
        env = cli_environment(Path(scratch) / "config")
        prepare(database, library, env)
        weekly = [sys.executable, "-m", "mydiscover", "weekly", "--offline", "--db",
                  str(database)]  # fmt: skip
        first = measured_run(weekly, env)
        runs = [measured_run(weekly, env) for _ in range(args.repeat)]
        rescan = [sys.executable, "-m", "mydiscover", "scan", "-q", "--db", str(database),
                  str(library)]  # fmt: skip
        scan = [measured_run(rescan, env) for _ in range(args.repeat)]
    quiet = all("Nothing to analyse" in r.stderr and "fitted" not in r.stderr for r in runs)
    best = min(r.seconds for r in runs)
    median = statistics.median(r.seconds for r in runs)
    base = min(r.seconds for r in scan)
    print(f"{FILES:,} tracks, all analysed; first weekly {first.seconds:.2f} s")
    print_table(
        [
            ["baseline: 'mydiscover scan', nothing new", f"{base:.2f}", "", "", "1.00 x"],
            [
                "second 'mydiscover weekly --offline', best",
                f"{best:.2f}",
                f"< {TARGET_SECONDS:.0f} s",
                verdict(best < TARGET_SECONDS and quiet),
                f"{best / base:.2f} x",
            ],
            [
                "second 'mydiscover weekly --offline', median",
                f"{median:.2f}",
                f"< {TARGET_SECONDS:.0f} s",
                verdict(median < TARGET_SECONDS and quiet),
                f"{median / base:.2f} x",
            ],
        ],
        ["measurement", "seconds", "target", "check", "vs baseline"],
        {1, 4},
    )
    print(f"no analysis and no fit in the second runs: {verdict(quiet)}")
    if args.json:
        print(json.dumps({"files": FILES, "first": first.seconds, "runs": [r.seconds for r in runs],
                          "scan": [r.seconds for r in scan], "quiet": quiet}))  # fmt: skip


if __name__ == "__main__":
    main()
