"""Benchmark the collaborative-filtering model: fitting ALS, and folding in and scoring the user.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench,spark]``;
Spark needs Java 17 or newer)::

    python bench/bench_cf.py                  # HetRec 2K, then a Last.fm-360K-sized matrix
    python bench/bench_cf.py --quick          # a 20 times smaller synthetic matrix (a minute)
    python bench/bench_cf.py --no-spark --json   # the local engine only, figures as JSON too

The targets (from the issues): fit on HetRec Last.fm 2K in under 5 s; fold in one user and score
a 100,000-track library in under 50 ms (p95; scoring holds BLAS to one thread); fit a
Last.fm-360K-sized matrix on the local engine within 8 GB peak memory.
Spark's cost per iteration is set against the local engine's, measured in the same run.

1. HetRec Last.fm 2K (``--hetrec``, default ``../shared/data/hetrec2011-lastfm-2k`` from the
   repository root; skipped with a note where it is missing) is read with ``read_dataset`` and
   ``ALS().fit(plays)`` (the defaults of ``mydiscover.cf.defaults``) is timed ``--repeat`` times
   in this process: best and median.
2. The last fit is saved with ``save_model`` and read back with ``load_model``, as ``cf fit``
   leaves it. ``score_library(model, history, library)`` is then timed once, the first call
   (what ``cf score`` makes: it pays for anything the model computes once and keeps), and
   ``--score-calls`` times more (median and p95, which includes the pauses of CPython's garbage
   collector). The history is the 50 most played artists of the first HetRec listener who has
   50, the library 100,000 tracks (10 each by the 10,000 artists with the most listeners, no
   MBIDs, so every track is matched by name). The model part alone is timed after, as often:
   ``als.fold_in(row)`` and ``item_factors @ user_factors`` for that listener's row.
3. A synthetic matrix the size of Last.fm 360K (``--users``, ``--items``, ``--nnz``; ``--quick``
   divides them by 20) is generated once, seeded (``--seed``), and cached as
   ``bench/.cache/cf-USERS-ITEMS-NNZ/plays.npz`` (git ignores it; ``--rebuild`` makes it anew).
   Artists' popularity follows a Zipf-Mandelbrot law, (rank + 50)^-1.2 over shuffled ids, so
   the favourite has about a fifth of the listeners and the median artist about a dozen;
   listeners hold a log-normal number of artists (mean NNZ / USERS); play counts are
   log-normal (median 90, mean about 200) times a per-listener activity factor. The draws
   carry no taste structure, which an ALS iteration does not depend on.

   Each engine fits it twice, with 1 and with ``--iterations`` iterations, each fit in a fresh
   child process running this script: ``ALS(iterations=N).fit(plays)`` (implicit) and
   ``SparkALS(master="local[2]", iterations=N).fit(plays)`` (its session start-up, the hand-over
   of the ratings as a pandas DataFrame and the collection of the item factors included). The
   child times the fit alone (not the interpreter start-up nor the matrix load); "per iteration"
   is the difference of the two fits over the extra iterations, "fixed cost" what the 1-iteration
   fit spent besides its iteration. Peak memory is the highest summed RSS of the child's process
   tree (Spark's JVM is a child of it), sampled every 0.2 s with psutil, or the child's own
   ``VmHWM`` where that is higher, over both fits. Spark gets ``--spark-driver-memory`` (set as
   ``MYDISCOVER_SPARK_DRIVER_MEMORY``) and ``--spark-timeout`` seconds per fit; a failure or a
   time-out is reported in the table. After its longer fit, the local engine's child times the
   scoring as in 2., against this model of 160,000 artists (named "Artist N", no model file).

Timings are wall clock on a machine that may be shared: the share of its CPU in use in the
second before the run and in the second after it is printed with the table. A busy machine
slows the scoring most, since OpenBLAS's threads then wait for each other.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from common import (
    REPO_ROOT,
    TreeMemorySampler,
    add_common_arguments,
    add_repo_to_path,
    cache_folder,
    failure_report,
    print_table,
    usable_cores,
    verdict,
)

add_repo_to_path()

from mydiscover.cf.datasets import read_dataset  # noqa: E402
from mydiscover.cf.matrix import CoListening  # noqa: E402
from mydiscover.cf.models import ALS  # noqa: E402
from mydiscover.cf.score import score_library  # noqa: E402
from mydiscover.cf.store import FittedModel, load_model, save_model  # noqa: E402
from mydiscover.cf.tables import ArtistPlays, LibraryTrack  # noqa: E402
from mydiscover.library.match import artist_key  # noqa: E402

#: Bump when the generated matrix changes, so stale caches are rebuilt.
GENERATOR_VERSION = 2
DEFAULT_HETREC = (REPO_ROOT / ".." / "shared" / "data" / "hetrec2011-lastfm-2k").resolve()
DEFAULT_USERS = 360_000  # the size of Last.fm 360K, as the issue gives it
DEFAULT_ITEMS = 160_000
DEFAULT_NNZ = 17_500_000
QUICK_DIVISOR = 20
DEFAULT_SEED = 20240601
DEFAULT_ITERATIONS = 3
DEFAULT_SPARK_TIMEOUT = 1800.0
DEFAULT_SPARK_MEMORY = "8g"
SPARK_MASTER = "local[2]"

TARGET_FIT_SECONDS = 5.0
TARGET_SCORE_MS = 50.0
TARGET_LOCAL_RSS_MB = 8192.0

HISTORY_ARTISTS = 50
LIBRARY_ARTISTS = 10_000  # x TRACKS_PER_ARTIST: the 100,000-track library
TRACKS_PER_ARTIST = 10
SAMPLE_INTERVAL = 0.2
TREE_REFRESH_EVERY = 5  # samples: the tree is listed once a second

ZIPF_EXPONENT = 1.2
ZIPF_OFFSET = 50.0
LENGTH_SIGMA = 0.6  # log-normal spread of listeners' numbers of artists
PLAYS_LOG_MEDIAN = np.log(90.0)
PLAYS_SIGMA = 1.2
ACTIVITY_SIGMA = 0.5  # log-normal spread of listeners' activity


# --- scoring the user, and the fit on HetRec -------------------------------------------------


def timed_calls(call: Callable[[], object], calls: int) -> list[float]:
    """Milliseconds of a first call and of ``calls`` more."""
    times = []
    for _ in range(calls + 1):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def spread(values: Sequence[float]) -> dict[str, float]:
    """The first of a list of timings, and the median, 95th percentile and best of the rest."""
    first, *rest = values
    return {
        "first": first,
        "median": statistics.median(rest),
        "p95": float(np.percentile(rest, 95)),
        "best": min(rest),
    }


def scoring_figures(model: FittedModel, plays: sp.csr_matrix, calls: int) -> dict[str, Any]:
    """Time ``score_library``, then the model part alone, ``calls`` + 1 times each, for the 50
    favourite artists of the first listener of ``plays`` who has 50 and a 100,000-track library:
    10 tracks by each of the 10,000 artists with the most listeners."""
    listener = int(np.flatnonzero(np.diff(plays.indptr) >= HISTORY_ARTISTS)[0])
    row = plays[listener]
    order = np.argsort(-row.data, kind="stable")[:HISTORY_ARTISTS]
    favourites, counts = row.indices[order], row.data[order]
    history = [
        ArtistPlays(artist_key(model.names[item]), model.names[item], "", int(count))
        for item, count in zip(favourites, counts, strict=True)
    ]
    user_plays = np.zeros(plays.shape[1], dtype=np.float32)  # as fold_in_user builds it
    user_plays[favourites] = counts
    user_row = sp.csr_matrix(user_plays[None, :])
    listeners = np.bincount(plays.indices, minlength=plays.shape[1])
    popular = np.argsort(-listeners, kind="stable")[:LIBRARY_ARTISTS]
    library = [
        LibraryTrack(index * TRACKS_PER_ARTIST + track + 1, model.names[item], "")
        for index, item in enumerate(popular)
        for track in range(TRACKS_PER_ARTIST)
    ]
    score_ms = timed_calls(lambda: score_library(model, history, library), calls)
    scored = score_library(model, history, library)
    item_factors = model.als.item_factors
    assert item_factors is not None

    def model_part() -> np.ndarray:
        return item_factors @ model.als.fold_in(user_row)[0]

    return {
        "artists": plays.shape[1],
        "history_artists": len(history),
        "matched_artists": scored.matched_artists,
        "library_tracks": len(library),
        "scored_tracks": len(scored),
        "score_ms": spread(score_ms),
        "fold_in_ms": spread(timed_calls(model_part, calls)),
    }


def bench_hetrec(folder: Path, repeat: int, calls: int) -> dict[str, Any]:
    """Fit ALS on HetRec ``repeat`` times, then time scoring a listener's library."""
    started = time.perf_counter()
    data = read_dataset(folder, "auto")
    read_seconds = time.perf_counter() - started
    plays = data.plays
    print(
        f"hetrec: {plays.shape[0]:,} listeners x {plays.shape[1]:,} artists, {plays.nnz:,} "
        f"play counts, read in {read_seconds:.2f} s",
        file=sys.stderr,
    )
    fits = []
    for attempt in range(repeat):
        als = ALS()
        started = time.perf_counter()
        als.fit(plays)
        fits.append(time.perf_counter() - started)
        print(f"hetrec: fit {attempt + 1}: {fits[-1]:.2f} s", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="bench-cf-") as tmp:
        path = Path(tmp) / "model.npz"
        save_model(path, als, data, {"engine": "implicit", "fitted_at": "x", "fit_seconds": 0})
        model = load_model(path)
    return {
        "listeners": plays.shape[0],
        "artists": plays.shape[1],
        "nnz": plays.nnz,
        "fit_seconds": fits,
        "fit": {"best": min(fits), "median": statistics.median(fits)},
        "scoring": scoring_figures(model, plays, calls),
    }


# --- the synthetic Last.fm-360K-sized matrix -------------------------------------------------


@dataclass
class Generated:
    """What the cache holds, and how it was made."""

    version: int
    seed: int
    users: int
    items: int
    nnz: int
    top_artist_listeners: int
    median_artist_listeners: float
    median_listener_artists: float
    max_listener_artists: int
    empty_listeners: int
    median_plays: float
    mean_plays: float
    max_plays: float
    megabytes: float  # of the CSR arrays
    build_seconds: float


def generate_plays(users: int, items: int, nnz: int, seed: int) -> sp.csr_matrix:
    """A seeded listeners x artists play-count matrix with ``nnz`` entries (see the docstring).

    (listener, artist) pairs are drawn a little beyond what is missing and deduplicated as
    ``listener * items + artist`` keys, until there are enough; a random surplus is dropped.
    The sorted keys are the CSR layout already.
    """
    gen = np.random.default_rng(seed)
    popularity = np.cumsum((np.arange(1, items + 1) + ZIPF_OFFSET) ** -ZIPF_EXPONENT)
    popularity /= popularity[-1]
    artist_of_rank = gen.permutation(items)
    share = gen.lognormal(0.0, LENGTH_SIGMA, size=users)
    share /= share.sum()
    keys = np.zeros(0, dtype=np.int64)
    while len(keys) < nnz:
        wanted = int((nnz - len(keys)) * 1.05) + 1000  # a little more: some pairs repeat
        rows = gen.choice(users, size=wanted, p=share).astype(np.int64)
        ranks = np.minimum(np.searchsorted(popularity, gen.random(wanted)), items - 1)
        keys = np.concatenate([keys, rows * items + artist_of_rank[ranks]])
        keys.sort()  # np.unique's hashing is ten times slower on these
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    keys = np.delete(keys, gen.choice(len(keys), size=len(keys) - nnz, replace=False))
    rows = (keys // items).astype(np.int32)
    indptr = np.zeros(users + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=users), out=indptr[1:])
    activity = gen.lognormal(0.0, ACTIVITY_SIGMA, size=users).astype(np.float32)
    plays = np.exp(PLAYS_LOG_MEDIAN + PLAYS_SIGMA * gen.standard_normal(nnz, dtype=np.float32))
    data = np.ceil(plays * activity[rows]).astype(np.float32)
    indices = (keys % items).astype(np.int32)
    return sp.csr_matrix((data, indices, indptr), shape=(users, items))


def load_matrix(path: Path) -> sp.csr_matrix:
    """The matrix written by :func:`ensure_matrix`."""
    with np.load(path) as arrays:
        shape = tuple(int(n) for n in arrays["shape"])
        return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)


def ensure_matrix(
    folder: Path, users: int, items: int, nnz: int, seed: int, rebuild: bool
) -> tuple[Generated, bool]:
    """The cached ``plays.npz``, generated first unless one made the same way is there; and
    whether it was reused. ``meta.json`` is written last: a folder without it is unfinished.
    """
    meta = folder / "meta.json"
    if meta.is_file() and not rebuild:
        try:
            cached = Generated(**json.loads(meta.read_text()))
        except (ValueError, TypeError):
            pass
        else:
            if (cached.version, cached.seed) == (GENERATOR_VERSION, seed):
                return cached, True
    meta.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    plays = generate_plays(users, items, nnz, seed)
    build_seconds = time.perf_counter() - started
    np.savez(
        folder / "plays.npz",
        indptr=plays.indptr,
        indices=plays.indices,
        data=plays.data,
        shape=np.array(plays.shape, dtype=np.int64),
    )
    listeners = np.bincount(plays.indices, minlength=items)
    lengths = np.diff(plays.indptr)
    generated = Generated(
        version=GENERATOR_VERSION,
        seed=seed,
        users=users,
        items=items,
        nnz=plays.nnz,
        top_artist_listeners=int(listeners.max()),
        median_artist_listeners=float(np.median(listeners)),
        median_listener_artists=float(np.median(lengths)),
        max_listener_artists=int(lengths.max()),
        empty_listeners=int((lengths == 0).sum()),
        median_plays=float(np.median(plays.data)),
        mean_plays=float(plays.data.mean()),
        max_plays=float(plays.data.max()),
        megabytes=(plays.indptr.nbytes + plays.indices.nbytes + plays.data.nbytes) / 2**20,
        build_seconds=build_seconds,
    )
    meta.write_text(json.dumps(asdict(generated), indent=2) + "\n")
    return generated, False


# --- fitting it, one child process per fit ---------------------------------------------------


def child_fit(engine: str, iterations: int, matrix: Path, score_calls: int) -> dict[str, Any]:
    """In the child: load the matrix and fit one engine; with ``score_calls``, then time the
    scoring of one of its listeners (:func:`scoring_figures`), the artists named "Artist N"."""
    started = time.perf_counter()
    plays = load_matrix(matrix)
    figures: dict[str, Any] = {"load_seconds": time.perf_counter() - started}
    if engine == "spark":
        from mydiscover.cf.spark import SparkALS

        als: ALS = SparkALS(master=SPARK_MASTER, iterations=iterations)
    else:
        als = ALS(iterations=iterations)
    started = time.perf_counter()
    als.fit(plays)
    figures["fit_seconds"] = time.perf_counter() - started
    if score_calls:
        names = [f"Artist {item}" for item in range(plays.shape[1])]
        keys = [artist_key(name) for name in names]
        data = CoListening(plays, keys, names, [""] * len(names), {})
        with tempfile.TemporaryDirectory() as scratch:
            # Through the model file, as 'cf score' meets it.
            save_model(Path(scratch) / "model.npz", als, data, {"fitted_at": "bench"})
            model = load_model(Path(scratch) / "model.npz")
        figures["scoring"] = scoring_figures(model, plays, score_calls)
    return figures


@dataclass
class Fit:
    """One fit in a child process, seen from both sides."""

    engine: str
    iterations: int
    seconds: float | None  # the fit alone, timed by the child
    load_seconds: float | None
    wall_seconds: float  # the child process, start to end
    peak_rss_mb: float  # the summed RSS of the process tree, sampled
    hwm_mb: float | None  # the child's VmHWM
    scoring: dict[str, Any] | None  # scoring_figures of the fitted model, where asked for
    error: str | None  # why it failed, shortly; the output is printed

    @property
    def rss_mb(self) -> float:
        """The higher of the two peaks."""
        return max(self.peak_rss_mb, self.hwm_mb or 0.0)


def run_fit(
    engine: str,
    iterations: int,
    matrix: Path,
    env: dict[str, str],
    timeout: float | None,
    score_calls: int = 0,
) -> Fit:
    """Fit ``engine`` for ``iterations`` in a child running this script, sampling its memory;
    with ``score_calls``, the child then times scoring too."""
    with tempfile.TemporaryDirectory(prefix="bench-cf-") as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", engine]
        command += ["--child-iterations", str(iterations), "--child-matrix", str(matrix)]
        command += ["--child-score-calls", str(score_calls), "--child-out", str(out)]
        log = Path(tmp) / "output.txt"
        # Spark's scratch files go to the temporary folder, and so does anything it leaves in
        # its working directory; the child is its own process group, so that a time-out can
        # end the JVM with it.
        with open(log, "wb") as output:
            started = time.perf_counter()
            process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=tmp,
                env={**env, "SPARK_LOCAL_DIRS": tmp},
                start_new_session=True,
            )
            sampler = TreeMemorySampler(
                process.pid,
                SAMPLE_INTERVAL,
                tree_refresh_every=TREE_REFRESH_EVERY,
                read_hwm=True,
            )
            sampler.start()
            error = None
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                error = f"timed out after {timeout:.0f} s"
            finally:
                with contextlib.suppress(ProcessLookupError):  # what is left of its tree
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                wall = time.perf_counter() - started
                sampler.stop()
        if error is None and (process.returncode != 0 or not out.is_file()):
            error = f"failed, exit status {process.returncode}"
            report = failure_report(
                command, process.returncode, log.read_text("utf-8", "replace"), ""
            )
            print(report[-6000:], file=sys.stderr)
        figures = json.loads(out.read_text()) if error is None else {}
    return Fit(
        engine=engine,
        iterations=iterations,
        seconds=figures.get("fit_seconds"),
        load_seconds=figures.get("load_seconds"),
        wall_seconds=wall,
        peak_rss_mb=sampler.peak_mb,
        hwm_mb=sampler.hwm_mb,
        scoring=figures.get("scoring"),
        error=error,
    )


@dataclass
class Engine:
    """An engine's two fits, with 1 and with N iterations, and what they tell."""

    name: str
    fits: list[Fit]

    @property
    def error(self) -> str | None:
        """Why a fit failed, or None."""
        return next((fit.error for fit in self.fits if fit.error), None)

    @property
    def per_iteration(self) -> float | None:
        """Seconds per iteration: the difference of the two fits over the extra iterations."""
        if self.error or len(self.fits) < 2:
            return None
        one, many = self.fits
        assert one.seconds is not None and many.seconds is not None
        return (many.seconds - one.seconds) / (many.iterations - one.iterations)

    @property
    def fixed(self) -> float | None:
        """What the 1-iteration fit spent besides its iteration."""
        per = self.per_iteration
        seconds = self.fits[0].seconds
        return None if per is None or seconds is None else seconds - per

    @property
    def peak_mb(self) -> float:
        """The highest peak memory of its fits."""
        return max(fit.rss_mb for fit in self.fits)

    def summary(self) -> dict[str, Any]:
        return {
            "per_iteration_seconds": self.per_iteration,
            "fixed_seconds": self.fixed,
            "peak_rss_mb": self.peak_mb,
            "error": self.error,
            "fits": [asdict(fit) for fit in self.fits],
        }


def bench_engine(
    engine: str,
    iterations: int,
    matrix: Path,
    env: dict[str, str],
    timeout: float | None,
    score_calls: int = 0,
) -> Engine:
    """Fit with 1 and ``iterations`` iterations (the second not after a failed first); with
    ``score_calls``, the second fit's child times scoring too."""
    result = Engine(engine, [])
    for count, calls in ((1, 0), (iterations, score_calls)):
        print(f"synthetic: {engine}, {count} iteration(s) ...", end="", file=sys.stderr, flush=True)
        fit = run_fit(engine, count, matrix, env, timeout, calls)
        result.fits.append(fit)
        done = f"{fit.seconds:.1f} s" if fit.error is None else fit.error
        print(f" {done}, peak {fit.rss_mb:,.0f} MB", file=sys.stderr)
        if fit.error:
            break
    return result


# --- the report ------------------------------------------------------------------------------


@dataclass
class Check:
    """One row of the table: a measurement, its value, and its target where it has one."""

    measurement: str
    value: str
    target: str = "-"
    passed: bool | None = None

    def row(self) -> tuple[str, str, str, str]:
        result = "-" if self.passed is None else verdict(self.passed)
        return (self.measurement, self.value, self.target, result)


def scoring_checks(label: str, figures: dict[str, Any]) -> list[Check]:
    score, fold = figures["score_ms"], figures["fold_in_ms"]
    target = f"< {TARGET_SCORE_MS:.0f} ms"
    scoring = (
        f"{label} score_library, {figures['history_artists']} artists, "
        f"{figures['library_tracks']:,} tracks"
    )
    folding = f"{label} fold_in + item scores ({figures['artists']:,} artists)"
    return [
        Check(
            f"{scoring}: first call",
            _ms(score["first"]),
            target,
            score["first"] < TARGET_SCORE_MS,
        ),
        Check(
            f"{scoring}: median",
            _ms(score["median"]),
            target,
            score["median"] < TARGET_SCORE_MS,
        ),
        Check(f"{scoring}: p95", _ms(score["p95"]), target, score["p95"] < TARGET_SCORE_MS),
        Check(f"{folding}: median", _ms(fold["median"])),
        Check(f"{folding}: p95", _ms(fold["p95"])),
    ]


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def hetrec_checks(figures: dict[str, Any], repeat: int) -> list[Check]:
    fit = figures["fit"]
    target = f"< {TARGET_FIT_SECONDS:.0f} s"
    return [
        Check(
            "HetRec fit, ALS defaults: best",
            f"{fit['best']:.2f} s",
            target,
            fit["best"] < TARGET_FIT_SECONDS,
        ),
        Check(
            f"HetRec fit, ALS defaults: median of {repeat}",
            f"{fit['median']:.2f} s",
            target,
            fit["median"] < TARGET_FIT_SECONDS,
        ),
        *scoring_checks("HetRec", figures["scoring"]),
    ]


def engine_checks(engine: Engine, label: str, iterations: int) -> list[Check]:
    memory_target = f"< {TARGET_LOCAL_RSS_MB:.0f} MB" if engine.name == "local" else "-"
    if engine.error:
        passed = False if engine.name == "local" else None
        return [Check(f"{label}: fit", engine.error, memory_target, passed)]
    per, fixed = engine.per_iteration, engine.fixed
    assert per is not None and fixed is not None
    many = engine.fits[-1]
    return [
        Check(f"{label}: fit per iteration", f"{per:.2f} s"),
        Check(f"{label}: fixed cost of a fit", f"{fixed:.2f} s"),
        Check(f"{label}: {iterations}-iteration fit", f"{many.seconds:.2f} s"),
        Check(
            f"{label}: peak memory",
            f"{engine.peak_mb:,.0f} MB",
            memory_target,
            engine.peak_mb < TARGET_LOCAL_RSS_MB if engine.name == "local" else None,
        ),
    ]


def synthetic_checks(
    data: Generated, local: Engine, spark: Engine | None, iterations: int, spark_memory: str
) -> list[Check]:
    size = f"{data.users // 1000:,}K x {data.items // 1000:,}K"
    checks = engine_checks(local, f"{size} local (implicit)", iterations)
    scoring = local.fits[-1].scoring
    if scoring is not None:
        checks += scoring_checks(size, scoring)
    if spark is not None:
        checks += engine_checks(
            spark, f"{size} Spark {SPARK_MASTER}, driver {spark_memory}", iterations
        )
        if local.per_iteration and spark.per_iteration:
            ratio = spark.per_iteration / local.per_iteration
            checks.append(Check(f"{size} Spark / local, per iteration", f"{ratio:.1f} x"))
    return checks


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


# --- the command line ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the ALS fit (local and Spark) and the user's fold-in and scoring."
    )
    parser.add_argument(
        "--hetrec",
        type=Path,
        default=DEFAULT_HETREC,
        help="the HetRec Last.fm 2K folder (default: ../shared/data/hetrec2011-lastfm-2k)",
    )
    parser.add_argument(
        "--score-calls",
        type=int,
        default=50,
        help="timed score_library calls (default: %(default)s)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=DEFAULT_USERS,
        help="synthetic listeners (default: %(default)s)",
    )
    parser.add_argument(
        "--items", type=int, default=DEFAULT_ITEMS, help="synthetic artists (default: %(default)s)"
    )
    parser.add_argument(
        "--nnz", type=int, default=DEFAULT_NNZ, help="synthetic play counts (default: %(default)s)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"divide --users, --items and --nnz by {QUICK_DIVISOR}, for a smoke run",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="generator seed (default: %(default)s)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where to build / reuse the matrix (default: bench/.cache/cf-USERS-ITEMS-NNZ)",
    )
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached matrix")
    parser.add_argument(
        "--iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        help="iterations of the longer fit of the synthetic matrix (default: %(default)s)",
    )
    parser.add_argument("--no-spark", action="store_true", help="fit with the local engine only")
    parser.add_argument(
        "--spark-timeout",
        type=float,
        default=DEFAULT_SPARK_TIMEOUT,
        help="seconds each Spark fit may take (default: %(default)s)",
    )
    parser.add_argument(
        "--spark-driver-memory",
        default=DEFAULT_SPARK_MEMORY,
        help="Spark's driver memory, as MYDISCOVER_SPARK_DRIVER_MEMORY (default: %(default)s)",
    )
    add_common_arguments(
        parser,
        repeat_default=5,
        repeat_help="timed HetRec fits",
        json_help="also print the figures as JSON",
    )
    parser.add_argument("--child", choices=("local", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--child-iterations", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-matrix", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-score-calls", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.items, args.nnz = (
            n // QUICK_DIVISOR for n in (args.users, args.items, args.nnz)
        )
    if args.repeat < 1 or args.score_calls < 1 or args.iterations < 2:
        parser.error("need --repeat >= 1, --score-calls >= 1 and --iterations >= 2")
    if not 0 < args.nnz <= args.users * args.items // 2:
        parser.error("--nnz must be positive and at most half of --users x --items")
    args.cache = cache_folder(args.cache, f"cf-{args.users}-{args.items}-{args.nnz}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        figures = child_fit(
            args.child, args.child_iterations, args.child_matrix, args.child_score_calls
        )
        args.child_out.write_text(json.dumps(figures))
        return 0

    import psutil

    cores = usable_cores()
    busy_before = psutil.cpu_percent(interval=1.0)
    print(f"machine: {cores} cores, {busy_before:.0f}% of the CPU in use", file=sys.stderr)

    checks: list[Check] = []
    hetrec: dict[str, Any] | None = None
    if args.hetrec.is_dir():
        hetrec = bench_hetrec(args.hetrec, args.repeat, args.score_calls)
        checks += hetrec_checks(hetrec, args.repeat)
    else:
        checks.append(Check("HetRec fit and scoring", f"skipped: no {args.hetrec}"))

    data, reused = ensure_matrix(
        args.cache, args.users, args.items, args.nnz, args.seed, args.rebuild
    )
    print(
        f"synthetic: {'reusing' if reused else 'generated'} {data.users:,} listeners x "
        f"{data.items:,} artists, {data.nnz:,} play counts ({data.megabytes:,.0f} MB CSR) in "
        f"{args.cache}; generation took {data.build_seconds:.1f} s",
        file=sys.stderr,
    )
    matrix = args.cache / "plays.npz"
    env = {**os.environ, "MYDISCOVER_SPARK_DRIVER_MEMORY": args.spark_driver_memory}
    local = bench_engine("local", args.iterations, matrix, env, None, args.score_calls)
    spark = None
    if not args.no_spark:
        spark = bench_engine("spark", args.iterations, matrix, env, args.spark_timeout)
    checks += synthetic_checks(data, local, spark, args.iterations, args.spark_driver_memory)
    busy_after = psutil.cpu_percent(interval=1.0)

    versions = ", ".join(f"{name} {_version(name)}" for name in ("implicit", "pyspark"))
    print(
        f"\nmydiscover CF benchmark: {cores} cores (CPU in use: {busy_before:.0f}% before the "
        f"run, {busy_after:.0f}% after), Python {platform.python_version()}, {versions}"
    )
    print(
        f"synthetic: {data.users:,} x {data.items:,}, {data.nnz:,} play counts; the favourite "
        f"artist has {data.top_artist_listeners:,} listeners, the median one "
        f"{data.median_artist_listeners:.0f}; a listener has {data.median_listener_artists:.0f} "
        f"artists at the median; plays: median {data.median_plays:.0f}, mean "
        f"{data.mean_plays:.0f}, max {data.max_plays:,.0f}"
    )
    print_table(
        [check.row() for check in checks],
        ("measurement", "value", "target", "result"),
        right_aligned_columns={1},
    )

    if args.json:
        figures = {
            "cores": cores,
            "busy_percent_before": busy_before,
            "busy_percent_after": busy_after,
            "python": platform.python_version(),
            "implicit": _version("implicit"),
            "pyspark": _version("pyspark"),
            "hetrec": hetrec,
            "synthetic": asdict(data),
            "iterations": args.iterations,
            "local": local.summary(),
            "spark": spark.summary() if spark is not None else None,
            "spark_master": SPARK_MASTER,
            "spark_driver_memory": args.spark_driver_memory,
            "targets": {
                "hetrec_fit_seconds": TARGET_FIT_SECONDS,
                "score_ms": TARGET_SCORE_MS,
                "local_peak_rss_mb": TARGET_LOCAL_RSS_MB,
            },
            "checks": [asdict(check) for check in checks],
            "pass": all(check.passed is not False for check in checks),
        }
        print(json.dumps(figures))
    return 1 if local.error else 0


if __name__ == "__main__":
    sys.exit(main())
