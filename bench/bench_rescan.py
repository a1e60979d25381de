"""A scan that finds one new file, beside a scan that finds nothing, on the same catalog.

The catalog is bench_scan.py's generated library (20,000 files by default, cached under
bench/.cache/scan) with a history of ``--listens`` listens, a share of them by artists the
library does not have (so they stay unmatched, as a real history's do). Each round adds one
new file and scans (the step 'mydiscover scan' and 'update' run, matching of earlier listens
included), then scans again with nothing new; CPU (this process and its workers) is measured.
Figure to reach (issue 17): the one-new-file scan within 1.3x the nothing-new scan.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import add_common_arguments, add_repo_to_path, cache_folder, print_table, verdict

add_repo_to_path()

from bench_scan import ensure_library  # noqa: E402

from mydiscover.db import open_database  # noqa: E402
from mydiscover.history.importer import import_files  # noqa: E402
from mydiscover.pipeline import SilentView, scan_music  # noqa: E402
from tests.library_factory import make_track  # noqa: E402

TARGET_RATIO = 1.3


def cpu() -> float:
    """CPU seconds so far of this process and its finished children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def write_history(path: Path, listens: int, unmatched_share: float) -> None:
    """``listens`` listens of the library's artists, a share of them by other artists."""
    rows = ["listened_at,artist,title"]
    cut = int(listens * unmatched_share)
    for n in range(listens):
        artist = f"Nobody Here {n % 5000}" if n < cut else f"Artist {n % 2000}"
        rows.append(f"{1_600_000_000 + n * 60},{artist},Song {n % 97}")
    path.write_text("\n".join(rows) + "\n")


def main() -> None:
    """Build or reuse the data, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeat_default=5, repeat_help="rounds",
                         json_help="print the figures as JSON")  # fmt: skip
    parser.add_argument("--files", type=int, default=20_000, help="library size")
    parser.add_argument("--listens", type=int, default=100_000, help="history size")
    args = parser.parse_args()
    library = cache_folder(None, "scan") / f"library-{args.files}"
    ensure_library(library, args.files, max(1, len(os.sched_getaffinity(0))))
    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "db.sqlite"
        conn = open_database(database)
        view = SilentView()
        scan_music(conn, database, [library], view)
        history = Path(scratch) / "history.csv"
        write_history(history, args.listens, 0.3)
        import_files(conn, [history])
        extra = Path(scratch) / "extra"
        nothing, one_new = [], []
        for round_number in range(args.repeat):
            make_track(extra / f"new {round_number}.flac", seconds=0.3, title=f"New {round_number}",
                       artist=f"Nobody Here {round_number}")  # fmt: skip
            started = cpu()
            scan_music(conn, database, [library, extra], view)
            one_new.append(cpu() - started)
            started = cpu()
            scan_music(conn, database, [library, extra], view)
            nothing.append(cpu() - started)
        conn.close()
    medians = {"nothing new": statistics.median(nothing), "one new file":
               statistics.median(one_new)}  # fmt: skip
    ratio = medians["one new file"] / medians["nothing new"]
    if args.json:
        print(json.dumps({"median_cpu_seconds": medians, "ratio": ratio, "target": TARGET_RATIO}))
        return
    print(f"{args.files:,} files, {args.listens:,} listens (30% unmatched), "
          f"{args.repeat} rounds", file=sys.stderr)  # fmt: skip
    rows = [[name, f"{value:.3f} s"] for name, value in medians.items()]
    rows.append(["ratio", f"{ratio:.2f}x  {verdict(ratio <= TARGET_RATIO)} (<= {TARGET_RATIO}x)"])
    print_table(rows, ["scan", "median CPU"], {1})


if __name__ == "__main__":
    main()
