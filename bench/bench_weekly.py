"""Benchmark ``mydiscover weekly`` on a 100,000-track library with a million listens.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``)::

    python bench/bench_weekly.py                 # 100,000 analysed tracks, 1,000,000 listens
    python bench/bench_weekly.py --quick         # a tenth of both
    python bench/bench_weekly.py --repeat 5 --json   # five runs, figures as JSON too

The target (from the issue): ``mydiscover weekly`` on a synthetic library of 100,000 analysed
tracks with 1,000,000 listens in under 2 s and under 1 GB peak; ``--quick`` is held to it too.

The first run generates, and later runs reuse, ``bench/.cache/weekly-TRACKS-LISTENS-SEED/``
(git ignores it; ``--rebuild`` forces a new one): a database as the stages would have left it,
written row by row with sqlite3 into a file that ``open_database`` created, and the CF model
beside it. Generation is seeded; the listens end three weeks before the moment it ran.

- ``tracks``: one album of ten tracks per artist ("Artist 123", "Album 123", "Song 1234"),
  each artist in one of 20 genres (its files' genre tag), 120 to 400 s long;
- ``track_audio``: every track analysed: BPM, key and scale, a 200-float embedding (its genre's
  centroid plus noise, unit length, so k-means has tastes to find) and 50 tag scores;
- ``listens``: a million (``--listens``) at distinct times over three years, all matched by
  name, of the tracks of a random 15% of the artists (a Zipf law over those tracks in a random
  order), so most of the library has never been played;
- the CF model (``<database>-cf/model.npz``): three public artists per library artist, among
  them nine in ten of the library's (the others stand for local bands, so that the audio-to-CF
  cold start has tracks to score), random 64-dimensional item factors, and the log weighting
  learned from a random sparse matrix of 5,000 listeners with 50 artists each. Nothing is
  fitted;
- ``terms``: 40 terms per artist from a 2,000-term vocabulary, three in four from the 100 of
  the artist's genre, weights of unit length, and 50 to 500 words each, stored by
  ``store_terms`` as 'reviews crawl' stores them (the rows and the term-vector file).

Each run (``--repeat`` times) copies the database, the model folder and the term-vector file
into a temporary folder, so that every run starts from the same state (a weekly stores itself),
and times, as subprocesses sampled every 20 ms for the peak RSS of their whole tree (and the
kernel's high-water mark):

- the baseline: a ``python -c`` script that reads what the weekly must read at the least: the
  tracks' ids, paths and embeddings (into a NumPy array) and each played track's listen count
  and last listen;
- three ``python -m mydiscover weekly --no-update --db DB --week W`` (the weekly itself, not
  the refresh of the stages before it), without any user config, and the pipeline's blend step
  between the first two: 2026-W48, a weekly that learns its blend from the history itself (as
  one does when no ``update`` learned it in the last 28 days); then that blend forgotten and
  learned again by ``mydiscover.pipeline.learn_blend``, the step ``update`` (and ``weekly``
  without ``--no-update``) runs last, once in 28 days; 2026-W49, a new week's weekly that
  reads the blend the step learned (every week's, when ``update`` runs); and 2026-W49 again,
  the week's stored weekly. The first one's stdout must be an M3U of 30 tracks and its
  stderr's summary must name the cf, text and audio signals (cold where it scored tracks).

The table shows the baseline's best run, each weekly's best and median runs with its peak, the
targets and how many times the baseline each took.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from common import (
    REPO_ROOT,
    MeasuredRun,
    add_common_arguments,
    add_repo_to_path,
    cache_folder,
    cli_environment,
    measured_run,
    print_table,
    usable_cores,
    verdict,
)

add_repo_to_path()

from mydiscover.audio.embed import EMBEDDING_SIZE, TAG_LABELS  # noqa: E402
from mydiscover.cf.matrix import CoListening  # noqa: E402
from mydiscover.cf.models import ALS  # noqa: E402
from mydiscover.cf.store import cf_folder, model_path, save_model  # noqa: E402
from mydiscover.cf.weighting import Weighting  # noqa: E402
from mydiscover.db import open_database, transaction  # noqa: E402
from mydiscover.library.match import artist_key, title_key  # noqa: E402
from mydiscover.text.terms import store_terms, vectors_path  # noqa: E402

#: Bump when the generated data changes, so stale caches are rebuilt.
GENERATOR_VERSION = 2  # 2: terms stored with their vector file
DEFAULT_TRACKS = 100_000
DEFAULT_LISTENS = 1_000_000
DEFAULT_SEED = 20261123
WEEK = "2026-W48"
NEXT_WEEK = "2026-W49"
PLAYLIST_SIZE = 30  # the weekly's default --size
TARGET_SECONDS = 2.0
TARGET_MB = 1024
SAMPLE_INTERVAL = 0.02
DATABASE_NAME = "mydiscover.db"

TRACKS_PER_ALBUM = 10  # and one album per artist
DURATION = (120.0, 400.0)
BPM = (70.0, 180.0)
KEYS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
GENRES = (
    "Shoegaze", "Thrash Metal", "Ambient", "Jazz", "Folk", "Hip-Hop", "Techno", "Punk", "Soul",
    "Indie Rock", "Post-Rock", "Doom Metal", "Synthpop", "Black Metal", "Classical", "Reggae",
    "Blues", "Country", "House", "Drum and Bass",
)  # fmt: skip
EMBEDDING_NOISE = 0.6  # per dimension, beside centroids of about unit variance per dimension

PLAYED_ARTIST_SHARE = 0.15
ZIPF_EXPONENT = 1.0
HISTORY_DAYS = 3 * 365
HISTORY_ENDS_DAYS_AGO = 21

PUBLIC_ARTISTS_PER_LIBRARY_ARTIST = 3
MODEL_COVERAGE = 0.9  # of the library's artists
PUBLIC_LISTENERS = 5_000
ARTISTS_PER_LISTENER = 50

VOCABULARY = 2_000  # GENRES blocks of VOCABULARY / len(GENRES) terms
TERMS_PER_ARTIST = 40
OWN_GENRE_TERMS = 30
TERM_WORDS = (50, 500)

BASELINE = """
import sqlite3, sys
import numpy as np
conn = sqlite3.connect(sys.argv[1])
rows = conn.execute("SELECT t.id, t.path, a.embedding FROM tracks t "
                    "JOIN track_audio a ON a.track_id = t.id").fetchall()
ids = np.array([row[0] for row in rows], dtype=np.int64)
paths = [row[1] for row in rows]
embeddings = np.frombuffer(b"".join(row[2] for row in rows), dtype="<f4").reshape(len(rows), -1)
played = conn.execute("SELECT track_id, count(*), max(listened_at) FROM listens "
                      "WHERE track_id IS NOT NULL GROUP BY track_id").fetchall()
print(len(ids), embeddings.shape[1], len(played))
"""
#: The summary ``weekly`` ends with on stderr: "... 30 tracks from cf (85,000 tracks), text ...".
SUMMARY = re.compile(r"Discover Weekly \S+: (\d+) tracks from (.*)")
SIGNAL = re.compile(r"(\w+) \(([\d,]+) tracks\)")


# --- the data --------------------------------------------------------------------------------


@dataclass
class Dataset:
    """What the cache holds, and how it was made (``meta.json`` beside the database)."""

    version: int
    seed: int
    tracks: int
    listens: int
    played_tracks: int
    played_artists: int
    public_artists: int
    history_ends: int  # UTC seconds
    generation_s: float


def track_rows(rng: np.random.Generator, sizes: list[int], genre_of: list[int]) -> Iterator[tuple]:
    """The ``tracks`` rows, id i + 1 for track i (of artist i // TRACKS_PER_ALBUM)."""
    durations = rng.uniform(*DURATION, size=len(sizes)).round(3).tolist()
    for track in range(len(sizes)):
        artist = track // TRACKS_PER_ALBUM
        number = track % TRACKS_PER_ALBUM + 1
        text = f"/music/Artist {artist}/Album {artist}/{number:02d} Song {track}.flac"
        yield (track + 1, text.encode(), text, b"/music", sizes[track], 1_700_000_000 * 10**9,
               f"Song {track}", f"Artist {artist}", f"Album {artist}", GENRES[genre_of[artist]],
               number, durations[track])  # fmt: skip


def audio_rows(rng: np.random.Generator, sizes: list[int], genre_of: np.ndarray) -> Iterator[tuple]:
    """The ``track_audio`` rows: descriptors, and embeddings clustered by genre."""
    tracks = len(sizes)
    centroids = rng.standard_normal((len(GENRES), EMBEDDING_SIZE))
    genres = genre_of[np.arange(tracks) // TRACKS_PER_ALBUM]
    embeddings = centroids[genres] + EMBEDDING_NOISE * rng.standard_normal((tracks, EMBEDDING_SIZE))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    embeddings = embeddings.astype("<f4")
    tags = rng.random((tracks, len(TAG_LABELS))).astype("<f4")
    bpm = rng.uniform(*BPM, size=tracks).round(1).tolist()
    keys = rng.integers(0, len(KEYS), size=tracks).tolist()
    minor = (rng.random(tracks) < 0.4).tolist()
    for track in range(tracks):
        yield (track + 1, 1, "essentia", sizes[track], 1_700_000_000 * 10**9, bpm[track],
               KEYS[keys[track]], "minor" if minor[track] else "major",
               embeddings[track].tobytes(), tags[track].tobytes(), 3, 60.0)  # fmt: skip


def listen_rows(
    rng: np.random.Generator, tracks: int, listens: int, history_ends: int
) -> tuple[Iterator[tuple], int, int]:
    """The ``listens`` rows in time order (times distinct, so the unique key holds), with how
    many tracks and artists they play."""
    artists = -(-tracks // TRACKS_PER_ALBUM)
    played_artists = rng.choice(artists, size=max(1, round(artists * PLAYED_ARTIST_SHARE)),
                                replace=False)  # fmt: skip
    played = (played_artists[:, None] * TRACKS_PER_ALBUM + np.arange(TRACKS_PER_ALBUM)).ravel()
    played = rng.permutation(played[played < tracks])
    weights = np.arange(1, len(played) + 1, dtype=np.float64) ** -ZIPF_EXPONENT
    chosen = played[rng.choice(len(played), size=listens, p=weights / weights.sum())]
    span = HISTORY_DAYS * 86_400
    times = history_ends - span + np.sort(rng.choice(span, size=listens, replace=False))
    labels: dict[int, tuple[str, str, str, str, str]] = {}
    for track in np.unique(chosen).tolist():
        artist, title = f"Artist {track // TRACKS_PER_ALBUM}", f"Song {track}"
        album = f"Album {track // TRACKS_PER_ALBUM}"
        labels[track] = (artist, title, album, artist_key(artist), title_key(title))

    def rows() -> Iterator[tuple]:
        for at, track in zip(times.tolist(), chosen.tolist(), strict=True):
            artist, title, album, akey, tkey = labels[track]
            yield at, artist, title, album, "file:csv", akey, tkey, track + 1, "name"

    return rows(), len(labels), len({track // TRACKS_PER_ALBUM for track in labels})


def term_rows(rng: np.random.Generator, genre_of: np.ndarray) -> tuple[list[tuple], list[tuple]]:
    """``terms`` and ``term_entities`` rows for every artist."""
    block = VOCABULARY // len(GENRES)
    vocabulary = [f"{GENRES[i // block].lower()} {i % block}" for i in range(block * len(GENRES))]
    terms, entities = [], []
    for artist, genre in enumerate(genre_of.tolist()):
        key = artist_key(f"Artist {artist}")
        own = rng.choice(block, size=OWN_GENRE_TERMS, replace=False) + genre * block
        others = rng.choice(len(vocabulary) - block, size=TERMS_PER_ARTIST - OWN_GENRE_TERMS,
                            replace=False)  # fmt: skip
        others += np.where(others >= genre * block, block, 0)  # skip the own genre's block
        weights = rng.exponential(size=TERMS_PER_ARTIST)
        weights /= np.linalg.norm(weights)
        chosen = np.concatenate([own, others]).tolist()
        terms += [
            (key, "", vocabulary[t], w) for t, w in zip(chosen, weights.tolist(), strict=True)
        ]
        entities.append((key, "", int(rng.integers(TERM_WORDS[0], TERM_WORDS[1] + 1))))
    return terms, entities


def write_model(rng: np.random.Generator, database: Path, artists: int) -> int:
    """The CF model beside ``database``: MODEL_COVERAGE of the library's artists among
    PUBLIC_ARTISTS_PER_LIBRARY_ARTIST times as many public ones; returns their count."""
    covered = rng.choice(artists, size=round(artists * MODEL_COVERAGE), replace=False)
    public = artists * PUBLIC_ARTISTS_PER_LIBRARY_ARTIST
    names = [f"Artist {a}" for a in covered.tolist()]
    names += [f"Public Artist {n}" for n in range(public - len(names))]
    names = [names[i] for i in rng.permutation(len(names)).tolist()]
    plays = sp.random(PUBLIC_LISTENERS, public, density=min(1.0, ARTISTS_PER_LISTENER / public),
                      format="csr", dtype=np.float32, random_state=rng)  # fmt: skip
    plays.data = rng.integers(1, 500, size=plays.nnz).astype(np.float32)
    data = CoListening(plays, [artist_key(n) for n in names], names, [""] * public, meta={})
    als = ALS()
    als.item_factors = (0.1 * rng.standard_normal((public, als.factors))).astype(np.float32)
    als.learned_weighting = Weighting.learn(plays, als.weighting)
    meta = {"engine": "implicit", "fitted_at": "2026-01-01T00:00:00Z", "fit_seconds": 0}
    save_model(model_path(database), als, data, meta)
    return public


def generate(folder: Path, tracks: int, listens: int, seed: int) -> Dataset:
    """Write the database and the model under ``folder`` (replacing any there)."""
    started = time.perf_counter()
    database = folder / DATABASE_NAME
    (folder / "meta.json").unlink(missing_ok=True)
    for stale in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    shutil.rmtree(cf_folder(database), ignore_errors=True)
    vectors_path(database).unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    artists = -(-tracks // TRACKS_PER_ALBUM)
    genre_of = rng.integers(0, len(GENRES), size=artists)
    history_ends = int(time.time()) - HISTORY_ENDS_DAYS_AGO * 86_400
    listen_iter, played_tracks, played_artists = listen_rows(rng, tracks, listens, history_ends)
    terms, entities = term_rows(rng, genre_of)
    sizes = rng.integers(4_000_000, 60_000_000, size=tracks).tolist()
    conn = open_database(database)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        with transaction(conn):
            conn.executemany(
                "INSERT INTO tracks (id, path, path_text, root, size, mtime_ns, title, artist, "
                "album, genre, track_number, duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                track_rows(rng, sizes, genre_of.tolist()),
            )
            conn.executemany(
                "INSERT INTO track_audio (track_id, version, backend, file_size, file_mtime_ns, "
                "bpm, key, scale, embedding, tag_scores, patches, analysed_seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                audio_rows(rng, sizes, genre_of),
            )
            conn.executemany(
                "INSERT INTO listens (listened_at, artist, title, album, source, artist_key, "
                "title_key, track_id, matched_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                listen_iter,
            )
    finally:
        conn.close()
    conn = open_database(database)
    try:  # as 'reviews crawl' leaves them: rows and the vector file
        tops: dict[tuple[str, str], list[tuple[str, float]]] = {}
        for artist, album, term, weight in terms:
            tops.setdefault((artist, album), []).append((term, weight))
        names = list(tops)
        counts = dict(((artist, album), words) for artist, album, words in entities)
        store_terms(conn, names, [tops[n] for n in names], [counts[n] for n in names], "bench")
    finally:
        conn.close()
    public = write_model(rng, database, artists)
    dataset = Dataset(GENERATOR_VERSION, seed, tracks, listens, played_tracks, played_artists,
                      public, history_ends, time.perf_counter() - started)  # fmt: skip
    (folder / "meta.json").write_text(json.dumps(asdict(dataset)), encoding="utf-8")
    return dataset


def ensure_data(
    folder: Path, tracks: int, listens: int, seed: int, rebuild: bool
) -> tuple[Dataset, bool]:
    """The cached data, generated first unless data made the same way is there; and whether
    it was reused."""
    meta = folder / "meta.json"
    if meta.is_file() and not rebuild and model_path(folder / DATABASE_NAME).is_file():
        with contextlib.suppress(ValueError, TypeError):
            cached = Dataset(**json.loads(meta.read_text(encoding="utf-8")))
            how = (cached.version, cached.seed, cached.tracks, cached.listens)
            if how == (GENERATOR_VERSION, seed, tracks, listens):
                # Migrated to this code's schema once here, not in every timed weekly.
                open_database(folder / DATABASE_NAME).close()
                return cached, True
    return generate(folder, tracks, listens, seed), False


# --- the measurements ------------------------------------------------------------------------


def check_weekly(run: MeasuredRun) -> dict[str, int]:
    """The signals the weekly's summary names, with the tracks each scored; exits unless its
    stdout is an M3U of PLAYLIST_SIZE tracks and cf, text and audio are among them."""
    lines = run.stdout.splitlines()
    entries = [line for line in lines if line and not line.startswith("#")]
    summary = SUMMARY.search(run.stderr)
    used = SIGNAL.findall(summary[2]) if summary else []
    signals = {name: int(count.replace(",", "")) for name, count in used}
    ok = (
        lines[:1] == ["#EXTM3U"]
        and len(entries) == PLAYLIST_SIZE
        and summary is not None
        and int(summary[1]) == PLAYLIST_SIZE
        and {"cf", "text", "audio"} <= set(signals)
    )
    if not ok:
        raise SystemExit(f"unexpected weekly output:\n{run.stdout}\n--- stderr ---\n{run.stderr}")
    return signals


#: The steps each run takes on its copy, in order: (key, the week of a weekly or None for the
#: pipeline's blend step, label in the table). Before the blend step the blend the first
#: weekly learned is forgotten, so that the step learns it again.
STEPS = (
    ("learning", WEEK, "weekly that learns its blend itself (no 'update' ran; 1 in 28 days)"),
    ("blend_step", None, "update's blend step, learning the blend (1 in 28 days)"),
    ("kept_blend", NEXT_WEEK, "weekly of a new week, its blend kept"),
    ("kept_week", NEXT_WEEK, "the same week's weekly again (kept)"),
)

#: The pipeline's blend step alone, as 'mydiscover update' runs it last (its other steps would
#: rescan the generated library's paths, which do not exist).
BLEND_STEP = """
import sys
from pathlib import Path
from mydiscover.config import load_settings
from mydiscover.db import open_database
from mydiscover.pipeline import SilentView, learn_blend
database = Path(sys.argv[1])
conn = open_database(database)
learn_blend(conn, load_settings(database), SilentView())
assert conn.execute("SELECT count(*) FROM learned_blend").fetchone()[0] == 1, "nothing learned"
conn.close()
"""


def measure_once(cache: Path) -> tuple[MeasuredRun, dict[str, MeasuredRun], dict[str, int]]:
    """The baseline and the steps (STEPS, one after the other) on a fresh copy of the cached
    database and model."""
    with tempfile.TemporaryDirectory(prefix="bench-weekly-") as scratch:
        database = Path(scratch) / DATABASE_NAME
        shutil.copyfile(cache / DATABASE_NAME, database)
        shutil.copytree(cf_folder(cache / DATABASE_NAME), cf_folder(database))
        shutil.copyfile(vectors_path(cache / DATABASE_NAME), vectors_path(database))
        baseline = measured_run([sys.executable, "-c", BASELINE, str(database)],
                                cwd=REPO_ROOT, interval=SAMPLE_INTERVAL)  # fmt: skip
        environment = cli_environment(Path(scratch) / "config")
        runs = {}
        for key, week, _ in STEPS:
            if week is None:
                with contextlib.closing(sqlite3.connect(database)) as conn, conn:
                    conn.execute("DELETE FROM learned_blend")
                command = [sys.executable, "-c", BLEND_STEP, str(database)]
            else:
                command = [sys.executable, "-m", "mydiscover", "weekly", "--no-update", "--db",
                           str(database), "--week", week]  # fmt: skip
            runs[key] = measured_run(command, environment, cwd=REPO_ROOT, interval=SAMPLE_INTERVAL)
    return baseline, runs, check_weekly(runs["learning"])


# --- the run ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    return parse_data_args(parser, repeat_default=3, repeat_help="timed runs of each")


def parse_data_args(
    parser: argparse.ArgumentParser, *, repeat_default: int, repeat_help: str
) -> argparse.Namespace:
    """The options of a bench over this script's data (bench_serve.py's too), parsed and
    checked: its size, seed, cache, --quick, --repeat, --json."""
    parser.add_argument("--tracks", type=int, default=DEFAULT_TRACKS,
                        help="library tracks (default: %(default)s)")  # fmt: skip
    parser.add_argument("--listens", type=int, default=DEFAULT_LISTENS,
                        help="listens in the history (default: %(default)s)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a tenth of --tracks and --listens")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="generator seed (default: %(default)s)")  # fmt: skip
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where to build / reuse the data (default: bench/.cache/weekly-TRACKS-LISTENS-SEED)",
    )
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached data")
    add_common_arguments(
        parser, repeat_default=repeat_default, repeat_help=repeat_help, json_help="print JSON too"
    )
    args = parser.parse_args()
    if args.quick:
        args.tracks //= 10
        args.listens //= 10
    if args.tracks < 1_000 or args.listens < 1_000 or args.repeat < 1:
        parser.error("need --tracks and --listens >= 1000 (after --quick) and --repeat >= 1")
    args.cache = cache_folder(args.cache, f"weekly-{args.tracks}-{args.listens}-{args.seed}")
    return args


def main() -> None:
    """Generate the data if needed, time the baseline and the weekly, print the table."""
    args = parse_args()
    load = os.getloadavg()[0]  # other work on the machine slows the runs: say how much
    dataset, reused = ensure_data(args.cache, args.tracks, args.listens, args.seed, args.rebuild)
    size_mb = (args.cache / DATABASE_NAME).stat().st_size / 2**20
    print(
        f"data: {'reusing' if reused else 'generated'} {dataset.tracks:,} analysed tracks, "
        f"{dataset.listens:,} listens of {dataset.played_tracks:,} tracks by "
        f"{dataset.played_artists:,} artists, a CF model of {dataset.public_artists:,} artists "
        f"({MODEL_COVERAGE:.0%} of the library's); {size_mb:,.0f} MiB database in {args.cache}; "
        f"generation took {dataset.generation_s:.1f} s"
    )
    runs: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        baseline, weeklies, signals = measure_once(args.cache)
        runs.append({"baseline_s": baseline.seconds, "baseline_mb": baseline.peak_mb,
                     **{f"{key}_s": run.seconds for key, run in weeklies.items()},
                     **{f"{key}_mb": run.peak_mb for key, run in weeklies.items()},
                     "signals": signals})  # fmt: skip
        print(weeklies["learning"].stderr.strip(), file=sys.stderr)
    base = min(run["baseline_s"] for run in runs)
    target = f"< {TARGET_SECONDS:g} s, < {TARGET_MB:,} MB"

    def row(name: str, seconds: float, mb: float, checked: bool) -> list[str]:
        check = [target, verdict(seconds < TARGET_SECONDS and mb < TARGET_MB)]
        return [name, f"{seconds:.2f}", f"{mb:,.0f} MB", *(check if checked else ["", ""]),
                f"{seconds / base:.2f} x"]  # fmt: skip

    table = [row("baseline: read tracks, embeddings, plays", base,
                 min(run["baseline_mb"] for run in runs), False)]  # fmt: skip
    figures: dict[str, Any] = {}
    for key, week, label in STEPS:
        best = min(run[f"{key}_s"] for run in runs)
        median_s = statistics.median(run[f"{key}_s"] for run in runs)
        peak_mb = max(run[f"{key}_mb"] for run in runs)
        weekly = week is not None  # the blend step is not a weekly: no target of its own
        table += [row(f"{label}, best", best, peak_mb, weekly),
                  row(f"{label}, median", median_s, peak_mb, weekly)]  # fmt: skip
        figures[key] = {"best_s": best, "median_s": median_s, "peak_mb": peak_mb,
                        "pass": best < TARGET_SECONDS and peak_mb < TARGET_MB}  # fmt: skip
    signals = runs[0]["signals"]
    print(
        f"\nmydiscover weekly benchmark: {args.repeat} run(s), {usable_cores()} cores (load "
        f"average {load:.1f} at the start), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; signals: "
        + ", ".join(f"{name} ({n:,} tracks)" for name, n in signals.items())
    )
    header = ["measurement", "seconds", "peak RSS", "target", "check", "vs baseline"]
    print_table(table, header, {1, 2, 5})
    if args.json:
        figures = {
            **asdict(dataset),
            "reused": reused,
            "database_mb": size_mb,
            "target_s": TARGET_SECONDS,
            "target_mb": TARGET_MB,
            "baseline_s": base,
            **figures,
            "runs": runs,
            "cores": usable_cores(),
            "load_average": load,
            "python": platform.python_version(),
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
