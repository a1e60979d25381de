"""Benchmark ``mydiscover cf import`` on a Last.fm-360K-sized TSV.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``)::

    python bench/bench_cf_import.py            # 360,000 x 160,000, 17.5M lines (~1 GB file)
    python bench/bench_cf_import.py --quick    # a twentieth of that

The file is written once from the synthetic matrix ``bench/bench_cf.py`` generates (and caches)
as ``usersha1-artmbid-artname-plays.tsv`` in the 360K dataset's format: a 40-hex listener id,
an artist MBID for two artists in three, the artist's name, the play count. It is cached beside
the matrix.

Each run (``--repeat`` times) times, as subprocesses sampled for peak RSS (whole process tree):

- the baseline: a bare Python loop that reads the file and splits every line on tabs, the least
  any line-by-line reader of this file must pay;
- ``python -m mydiscover cf import --db TMP FILE``: parsing, name normalisation, the sparse
  matrix, and the ``.npz`` written beside the database.

The issue's requirement is that the import streams (no Python object per row); peak memory is
the measure of that: 17.5M rows as Python tuples would take several GB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_cf import ensure_matrix, load_matrix
from common import (
    CACHE_DIR,
    add_common_arguments,
    add_repo_to_path,
    cli_environment,
    measured_run,
    print_table,
    verdict,
)

add_repo_to_path()

#: A streaming import of 17.5M rows stays well under this; rows as Python objects would not.
PEAK_TARGET_MB = 2048
BASELINE = """
import sys
with open(sys.argv[1], encoding="utf-8", errors="replace") as handle:
    rows = sum(1 for line in handle if len(line.split("\\t")) == 4)
print(rows)
"""


def write_tsv(plays_path: Path, target: Path) -> int:
    """Write the matrix as a 360K-format TSV; returns the line count."""
    plays = load_matrix(plays_path)
    rng = np.random.default_rng(7)
    mbids = [
        f"{rng.integers(2**32):08x}-0000-4000-8000-{item:012x}" if item % 3 else ""
        for item in range(plays.shape[1])
    ]
    partial = target.with_name(target.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for user in range(plays.shape[0]):
            start, end = plays.indptr[user], plays.indptr[user + 1]
            sha = f"{user * 2654435761 % 2**160:040x}"
            handle.writelines(
                f"{sha}\t{mbids[item]}\tArtist {item}\t{int(count)}\n"
                for item, count in zip(
                    plays.indices[start:end].tolist(), plays.data[start:end].tolist(), strict=True
                )
            )
    partial.replace(target)
    return plays.nnz


def main() -> None:
    """Generate the file if needed, time the baseline and the import, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a twentieth of the full size")
    add_common_arguments(
        parser, repeat_default=1, repeat_help="timed runs of each", json_help="print JSON too"
    )
    args = parser.parse_args()
    scale = 20 if args.quick else 1
    users, items, nnz = 360_000 // scale, 160_000 // scale, 17_500_000 // scale
    folder = CACHE_DIR / f"cf-{users}-{items}-{nnz}"
    ensure_matrix(folder, users, items, nnz, seed=20240601, rebuild=False)
    tsv = folder / "usersha1-artmbid-artname-plays.tsv"
    if not tsv.exists():
        print(f"writing {tsv} ...", file=sys.stderr)
        write_tsv(folder / "plays.npz", tsv)
    size_mb = tsv.stat().st_size / 2**20
    rows: list[dict[str, float]] = []
    for _ in range(args.repeat):
        baseline = measured_run([sys.executable, "-c", BASELINE, str(tsv)])
        with tempfile.TemporaryDirectory() as scratch:
            db = Path(scratch) / "db.sqlite"
            env = cli_environment(Path(scratch) / "config")
            command = [sys.executable, "-m", "mydiscover", "cf", "import", "--db", str(db)]
            imported = measured_run([*command, str(tsv)], env)
        rows.append({"baseline_s": baseline.seconds, "baseline_mb": baseline.peak_mb,
                     "import_s": imported.seconds, "import_mb": imported.peak_mb})  # fmt: skip
        print(imported.stderr.strip(), file=sys.stderr)
    best = min(rows, key=lambda row: row["import_s"])
    table = [
        ["baseline: read + split every line", f"{best['baseline_s']:.1f} s",
         f"{nnz / best['baseline_s']:,.0f} rows/s", f"{best['baseline_mb']:,.0f} MB", ""],
        ["mydiscover cf import", f"{best['import_s']:.1f} s",
         f"{nnz / best['import_s']:,.0f} rows/s", f"{best['import_mb']:,.0f} MB",
         f"peak < {PEAK_TARGET_MB:,} MB: {verdict(best['import_mb'] < PEAK_TARGET_MB)}"],
        ["import / baseline", f"{best['import_s'] / best['baseline_s']:.2f} x", "", "", ""],
    ]  # fmt: skip
    print(f"{nnz:,} lines, {size_mb:,.0f} MB, {users:,} listeners x {items:,} artists")
    print_table(table, ["measurement", "time", "rate", "peak RSS", "check"], {1, 2, 3})
    if args.json:
        print(json.dumps({"rows": nnz, "file_mb": size_mb, "runs": rows}))


if __name__ == "__main__":
    main()
