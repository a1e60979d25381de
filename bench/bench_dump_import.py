"""Benchmark ``mydiscover cf import`` on a ListenBrainz listens dump as published (tar.zst).

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``)::

    python bench/bench_dump_import.py                  # 10,000,000 listens
    python bench/bench_dump_import.py --listens 2000000 --repeat 3

The dump is generated once (seeded) and cached as ``bench/.cache/lbdump-LISTENS/dump.tar.zst``:
an archive like ListenBrainz's full listens dump, its listens as JSON lines in per-month
``.listens`` files (the fields the dump's listens carry: user name and id, time, artist,
track and release names, the MusicBrainz mapping with artist and recording MBIDs), beside
COPYING and an index; 50,000 listeners, 200,000 artists drawn from a Zipf law, zstd level 3.

Each run (``--repeat`` times) times, as subprocesses sampled for peak RSS:

- the baseline: a bare Python loop that streams the archive through zstandard and tarfile
  and parses every line with ``json.loads``: the least any reader of this dump must pay;
- ``python -m mydiscover cf import --db TMP DUMP``: that, plus names and MBIDs, the filters,
  the sparse matrix and the ``.npz`` beside the database;
- the same with ``--sample-users 10000 --min-listeners 5``, as a user with little memory would.

The target (from the issue): a 100-million-listen dump imported locally in under 20 minutes,
in bounded memory. The table gives listens per second and the time that rate makes of 100
million listens (an extrapolation from the measured size: a 100-million-listen dump is 40 GB
of JSON, more than this benchmark writes).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

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

TARGET_LISTENS = 100_000_000
TARGET_SECONDS = 20 * 60
LISTENERS = 50_000
ARTISTS = 200_000
BASELINE = """
import json, sys, tarfile, zstandard
with open(sys.argv[1], "rb") as raw:
    stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    count = 0
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(".listens"):
                for line in archive.extractfile(member):
                    count += isinstance(json.loads(line), dict)
print(count)
"""


def _listen(rng: random.Random, when: int) -> str:
    user = rng.randrange(LISTENERS)
    artist = min(int(rng.paretovariate(0.8)), ARTISTS) - 1
    recording = rng.randrange(10**9)
    return json.dumps({
        "user_id": user, "user_name": f"listener{user}", "listened_at": when,
        "recording_msid": f"{recording:08x}-0000-4000-8000-000000000000",
        "track_metadata": {
            "artist_name": f"Artist {artist}", "track_name": f"Song {recording % 5000}",
            "release_name": f"Album {artist}",
            "additional_info": {"duration_ms": 200_000, "submission_client": "bench"},
            "mbid_mapping": {"artist_mbids": [f"{artist:08x}-0000-4000-8000-000000000000"],
                             "recording_mbid": f"{recording:08x}-1111-4000-8000-000000000000"},
        },
    })  # fmt: skip


def write_dump(target: Path, listens: int, seed: int = 20261203) -> None:
    """The synthetic dump (see the module), written through a .partial file."""
    import zstandard

    rng = random.Random(seed)
    months = 12
    per_month = -(-listens // months)
    partial = target.with_name(target.name + ".partial")
    top = "listenbrainz-listens-dump-0-20261203-000000-full"
    with (
        partial.open("wb") as raw,
        zstandard.ZstdCompressor(level=3).stream_writer(raw) as out,
        tarfile.open(fileobj=out, mode="w|") as archive,
    ):
        for name, data in (("COPYING", b"CC0 1.0\n"), ("index.json", b"{}\n")):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        written = 0
        for month in range(months):
            count = min(per_month, listens - written)
            start = 1_700_000_000 + month * 2_600_000
            data = "".join(_listen(rng, start + n) + "\n" for n in range(count)).encode()
            info = tarfile.TarInfo(f"{top}/listens/2024/{month + 1}.listens")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            written += count
    partial.replace(target)


def main() -> None:
    """Generate the dump if needed, time the baseline and the imports, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listens", type=int, default=10_000_000,
                        help="listens in the dump (default: %(default)s)")  # fmt: skip
    add_common_arguments(
        parser, repeat_default=1, repeat_help="timed runs of each", json_help="print JSON too"
    )
    args = parser.parse_args()
    folder = CACHE_DIR / f"lbdump-{args.listens}"
    folder.mkdir(parents=True, exist_ok=True)
    dump = folder / "dump.tar.zst"
    if not dump.exists():
        started = time.perf_counter()
        print(f"writing {dump} ...", file=sys.stderr)
        write_dump(dump, args.listens)
        print(f"  written in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "import": [], "sampled": []}
    for _ in range(args.repeat):
        baseline = measured_run([sys.executable, "-c", BASELINE, str(dump)])
        runs["baseline"].append((baseline.seconds, baseline.peak_mb))
        sampled = ["--sample-users", "10000", "--min-listeners", "5"]
        for key, extra in (("import", []), ("sampled", sampled)):
            with tempfile.TemporaryDirectory() as scratch:
                env = cli_environment(Path(scratch) / "config")
                command = [sys.executable, "-m", "mydiscover", "cf", "import", "--db",
                           str(Path(scratch) / "db.sqlite"), *extra, str(dump)]  # fmt: skip
                run = measured_run(command, env)
            runs[key].append((run.seconds, run.peak_mb))
            print(run.stderr.strip(), file=sys.stderr)
    base = min(seconds for seconds, _ in runs["baseline"])
    labels = {"baseline": "baseline: stream the archive, json.loads each line",
              "import": "mydiscover cf import",
              "sampled": "  --sample-users 10000 --min-listeners 5"}  # fmt: skip
    table = []
    figures = {}
    for key, label in labels.items():
        best = min(seconds for seconds, _ in runs[key])
        median = statistics.median(seconds for seconds, _ in runs[key])
        peak = max(mb for _, mb in runs[key])
        projected = TARGET_LISTENS * best / args.listens
        check = f"< {TARGET_SECONDS / 60:.0f} min: {verdict(projected < TARGET_SECONDS)}"
        table.append([label, f"{best:.1f} s", f"{median:.1f} s", f"{args.listens / best:,.0f}",
                      f"{projected / 60:.1f} min", f"{peak:,.0f} MB",
                      check if key != "baseline" else "", f"{best / base:.2f} x"])  # fmt: skip
        figures[key] = {"best_s": best, "median_s": median, "peak_mb": peak,
                        "projected_100m_s": projected}  # fmt: skip
    size_mb = dump.stat().st_size / 2**20
    print(f"\n{args.listens:,} listens of {LISTENERS:,} listeners, {size_mb:,.0f} MB tar.zst; "
          f"{args.repeat} run(s)")  # fmt: skip
    header = ["measurement", "best", "median", "listens/s", "100M listens", "peak RSS", "check",
              "vs baseline"]  # fmt: skip
    print_table(table, header, {1, 2, 3, 4, 5, 7})
    if args.json:
        print(json.dumps({"listens": args.listens, "dump_mb": size_mb, **figures}))


if __name__ == "__main__":
    main()
