"""Benchmark ``mydiscover serve``: the Subsonic proxy's Instant Mix and overhead, and the page.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``)::

    python bench/bench_serve.py                  # 100,000 analysed tracks, 1,000,000 listens
    python bench/bench_serve.py --quick          # a tenth of both
    python bench/bench_serve.py --repeat 20 --json   # more timed rounds, figures as JSON too

The targets (from the issue), on a library of 100,000 analysed tracks:

- ``getSimilarSongs2`` and ``getSonicSimilarTracks`` through the proxy: p95 under 50 ms once
  its caches are warm (the first, cold call is reported apart);
- the proxy's overhead: a 50 MB ``stream.view`` under 5% slower through the proxy than straight
  from the server (medians), and a passed-through call (``ping.view``) under 5 ms slower;
- the page's first paint: ``GET /`` returns its whole HTML in under 1 s once the week's weekly
  is stored (the first load, which makes and stores it, is reported apart; so is the taste
  map, ``GET /map.svg``).

The library is bench_weekly.py's (built once under ``bench/.cache/weekly-TRACKS-LISTENS-SEED``,
reused after; see that script). Each run copies its database, CF model and term vectors into a
temporary folder and adds a ``server_songs`` row for every track (song id ``s<track id>``) for
the fake upstream's URL, as ``mydiscover subsonic sync`` would. The fake upstream is a stdlib
``ThreadingHTTPServer`` on 127.0.0.1 in a process of its own: ``ping.view`` answers ok,
``getSong.view`` a song object (with a ``bitRate`` mydiscover's own fallback lacks, so the bench
can tell which answered), ``stream.view`` the bytes of a fixed 50 MB file in 256 KiB chunks, and
anything else ok. The server is started as a user starts it, ``python -m mydiscover serve --port
P --upstream http://127.0.0.1:Q``, with ``MYDISCOVER_DB`` naming the copy and no user config,
home or proxy settings; requests are timed from this process with a keep-alive ``requests``
session, each from sending to the last byte read.

In order, on one fresh server:

- the baselines: ``ping.view`` straight to the upstream and through the proxy, alternately
  (``--repeat`` x 20 of each), and later ``GET /static/style.css`` (the server's floor);
- the mixes: the very first ``getSimilarSongs2`` (it loads the models, checks the credentials
  with a ping and asks the upstream for its 50 songs) and the first ``getSonicSimilarTracks``;
  then one call of each for each of 20 seed songs (their songs not yet cached), then
  ``--repeat`` rounds over the same seeds (warm: p50, p95, max); every answer must hold the
  count asked for, and the warm ones must all be the upstream's song objects;
- the 50 MB ``stream.view``: once each way to warm up, then ``--repeat`` times each,
  alternately, every byte read and counted;
- the page: the first ``GET /`` (it makes and stores the week's weekly; it must list 30 picks),
  then ``--repeat`` more; the first ``GET /map.svg``, then ``--repeat`` more.

The table shows each figure with its baseline measured in the same run, how many times the
baseline it took, the target and the verdict.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import requests
from bench_weekly import (
    DATABASE_NAME,
    GENRES,
    PLAYLIST_SIZE,
    TRACKS_PER_ALBUM,
    ensure_data,
    parse_data_args,
)
from bench_weekly import TARGET_SECONDS as WEEKLY_TARGET_SECONDS
from common import (
    REPO_ROOT,
    add_repo_to_path,
    cli_environment,
    print_table,
    usable_cores,
    verdict,
)

add_repo_to_path()

from mydiscover.cf.store import cf_folder  # noqa: E402
from mydiscover.db import open_database  # noqa: E402
from mydiscover.history.tables import ServerSong, replace_server_songs  # noqa: E402
from mydiscover.text.terms import vectors_path  # noqa: E402

TARGET_MIX_P95_MS = 50.0
TARGET_STREAM_OVERHEAD = 0.05  # of the direct stream's time
TARGET_PASS_OVERHEAD_MS = 5.0
TARGET_PAGE_MS = 1000.0
STREAM_MB = 50
STREAM_CHUNK = 256 * 1024
SEEDS = 20
PINGS_PER_REPEAT = 20
SIMILAR_COUNT = 50  # getSimilarSongs2's default count
SONIC_COUNT = 10  # getSonicSimilarTracks' default count
START_TIMEOUT_S = 180.0
USER, PASSWORD, SALT = "bench", "bench-password", "c0ffee"
AUTH = {
    "u": USER,
    "t": hashlib.md5((PASSWORD + SALT).encode()).hexdigest(),
    "s": SALT,
    "v": "1.16.1",
    "c": "bench-serve",
    "f": "json",
}
OK = {"subsonic-response": {"status": "ok", "version": "1.16.1"}}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


# --- the fake upstream -----------------------------------------------------------------------


class FakeSubsonic(BaseHTTPRequestHandler):
    """A Subsonic server that answers at once: ping, getSong, stream, and ok to the rest."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real server and the proxy's client use
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall
    stream_file = ""
    calls: ClassVar[Counter[str]] = Counter()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def do_GET(self) -> None:  # http.server's name
        """Answer one request."""
        url = urlsplit(self.path)
        if url.path == "/bench/calls":  # the bench's own question: which calls came
            self._send(json.dumps(self.calls).encode(), "application/json")
            return
        method = url.path.rsplit("/", 1)[-1].removesuffix(".view")
        self.calls[method] += 1
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if method == "stream":
            self._stream()
        elif method == "getSong":
            answer = {"subsonic-response": {**OK["subsonic-response"],
                                            "song": fake_song(params.get("id", ""))}}  # fmt: skip
            self._send(json.dumps(answer).encode(), "application/json")
        else:
            self._send(json.dumps(OK).encode(), "application/json")

    def _send(self, body: bytes, media: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        size = os.path.getsize(self.stream_file)
        self.send_response(200)
        self.send_header("Content-Type", "audio/flac")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(self.stream_file, "rb") as file:
            while chunk := file.read(STREAM_CHUNK):
                self.wfile.write(chunk)


class FakeServer(ThreadingHTTPServer):
    """With a backlog a real server has: the proxy asks for 50 songs at once."""

    request_queue_size = 256
    daemon_threads = True


def fake_song(song: str) -> dict[str, Any]:
    """The song object of ``s<track id>``, in the tags bench_weekly.py gave the track."""
    track = int(song[1:]) - 1 if song[1:].isdigit() else 0
    artist, number = track // TRACKS_PER_ALBUM, track % TRACKS_PER_ALBUM + 1
    return {
        "id": song, "parent": f"al{artist}", "isDir": False, "title": f"Song {track}",
        "album": f"Album {artist}", "artist": f"Artist {artist}", "track": number,
        "year": 2020, "genre": GENRES[artist % len(GENRES)], "coverArt": song,
        "size": 30_000_000, "contentType": "audio/flac", "suffix": "flac", "duration": 240,
        "bitRate": 1000, "path": f"Artist {artist}/Album {artist}/{number:02d} Song {track}.flac",
        "type": "music", "albumId": f"al{artist}", "artistId": f"ar{artist}",
    }  # fmt: skip


def run_upstream(stream_file: str, ports: Any) -> None:
    """The fake upstream's process: bind a free port, say it, serve until terminated."""
    FakeSubsonic.stream_file = stream_file
    server = FakeServer(("127.0.0.1", 0), FakeSubsonic)
    ports.put(server.server_address[1])
    server.serve_forever()


# --- the server under test -------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_database(cache: Path, scratch: Path, upstream: str) -> tuple[Path, list[int]]:
    """The cached database, model and term vectors copied under ``scratch``, with a server
    song for every track; the copy and the track ids."""
    database = scratch / DATABASE_NAME
    shutil.copyfile(cache / DATABASE_NAME, database)
    shutil.copytree(cf_folder(cache / DATABASE_NAME), cf_folder(database))
    shutil.copyfile(vectors_path(cache / DATABASE_NAME), vectors_path(database))
    conn = open_database(database)
    try:
        ids = [int(track) for (track,) in conn.execute("SELECT id FROM tracks ORDER BY id")]
        songs = (ServerSong(f"s{track}", track, "tags", 0, False) for track in ids)
        replace_server_songs(conn, upstream, songs, int(time.time()))
    finally:
        conn.close()
    return database, ids


def server_environment(scratch: Path, database: Path) -> dict[str, str]:
    """A user's environment for ``serve``: no config, home or proxy of this machine's."""
    env = cli_environment(scratch / "config")
    env = {k: v for k, v in env.items() if k.lower() not in PROXY_VARIABLES}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["MYDISCOVER_DB"] = str(database)
    env["HOME"] = str(scratch / "home")
    for name, folder in (("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                         ("XDG_STATE_HOME", "state")):  # fmt: skip
        env[name] = str(scratch / folder)
        (scratch / folder).mkdir(exist_ok=True)
    (scratch / "home").mkdir(exist_ok=True)
    return env


def start_server(
    scratch: Path, env: dict[str, str], port: int, upstream: str, session: requests.Session
) -> tuple[subprocess.Popen[bytes], float]:
    """``mydiscover serve`` started, and the seconds until it answered a request."""
    command = [sys.executable, "-m", "mydiscover", "serve", "--port", str(port),
               "--upstream", upstream]  # fmt: skip
    log = (scratch / "serve.log").open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=log, stderr=log)
    while time.perf_counter() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            break
        try:
            if session.get(f"http://127.0.0.1:{port}/static/style.css", timeout=5).ok:
                return process, time.perf_counter() - started
        except requests.ConnectionError:
            time.sleep(0.05)
    stop(process)
    raise SystemExit(f"$ {' '.join(command)} did not answer:\n{server_log(scratch)}")


def server_log(scratch: Path) -> str:
    """What the server said (its stdout and stderr)."""
    return (scratch / "serve.log").read_text(encoding="utf-8", errors="replace")


def stop(process: subprocess.Popen[bytes] | multiprocessing.Process) -> None:
    """Stop a process this bench started, politely first."""
    process.terminate()
    if isinstance(process, subprocess.Popen):
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    else:
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()


# --- timing ----------------------------------------------------------------------------------


def timed_get(session: requests.Session, url: str, **params: Any) -> tuple[float, bytes]:
    """Milliseconds from sending a GET to having read its whole body, and the body; exits on
    an error status."""
    started = time.perf_counter()
    answer = session.get(url, params=params, timeout=120)
    body = answer.content
    took = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"GET {answer.url}: HTTP {answer.status_code}\n{body[:2000]!r}")
    return took, body


def timed_stream(session: requests.Session, url: str) -> float:
    """Milliseconds to download ``stream.view`` in full (its bytes counted, not kept)."""
    started = time.perf_counter()
    with session.get(url, params={**AUTH, "id": "s1"}, stream=True, timeout=120) as answer:
        size = sum(len(chunk) for chunk in answer.iter_content(chunk_size=1 << 20))
        status = answer.status_code
    took = (time.perf_counter() - started) * 1000
    if status != 200 or size != STREAM_MB * 2**20:
        raise SystemExit(f"stream.view from {url}: HTTP {status}, {size:,} bytes")
    return took


def p95(samples: list[float]) -> float:
    """The 95th percentile (inclusive method)."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def summary(samples: list[float]) -> dict[str, float]:
    """Median, p95 and max of some milliseconds."""
    return {"median_ms": statistics.median(samples), "p95_ms": p95(samples),
            "max_ms": max(samples), "samples": len(samples)}  # fmt: skip


def mix_checker(method: str, count: int) -> Callable[[bytes, bool], None]:
    """A check of a mix answer: ok, ``count`` songs, and (``warm``) all the upstream's."""

    def check(body: bytes, warm: bool) -> None:
        answer = json.loads(body)["subsonic-response"]
        if method == "getSimilarSongs2":
            songs = (answer.get("similarSongs2") or {}).get("song") or []
        else:
            songs = [match["entry"] for match in answer.get("sonicMatch") or []]
        theirs = sum("bitRate" in song for song in songs)
        if answer.get("status") != "ok" or len(songs) != count or (warm and theirs != count):
            raise SystemExit(
                f"{method}: status {answer.get('status')}, {len(songs)} songs ({theirs} the "
                f"upstream's), {count} expected:\n{body[:2000]!r}"
            )

    return check


def upstream_calls(session: requests.Session, upstream: str) -> Counter[str]:
    """The calls the fake upstream has had so far, by method."""
    return Counter(session.get(f"{upstream}/bench/calls", timeout=10).json())


# --- the measurements ------------------------------------------------------------------------


def measure_proxy(
    session: requests.Session, proxy: str, upstream: str, seeds: list[str], repeat: int
) -> dict[str, Any]:
    """The pings, the mixes and the stream, as the docstring says."""
    figures: dict[str, Any] = {}
    direct_ping, proxy_ping = [], []
    for _ in range(repeat * PINGS_PER_REPEAT):
        direct_ping.append(timed_get(session, f"{upstream}/rest/ping.view", **AUTH)[0])
        proxy_ping.append(timed_get(session, f"{proxy}/rest/ping.view", **AUTH)[0])
    figures["ping_direct"] = summary(direct_ping)
    figures["ping_proxy"] = summary(proxy_ping)
    mixes = (("getSimilarSongs2", SIMILAR_COUNT), ("getSonicSimilarTracks", SONIC_COUNT))
    checks = {method: mix_checker(method, count) for method, count in mixes}
    for method, count in mixes:  # the very first calls: models, credentials, songs
        took, body = timed_get(session, f"{proxy}/rest/{method}.view", id=seeds[0],
                               count=count, **AUTH)  # fmt: skip
        checks[method](body, False)
        figures[f"{method}_first_ms"] = took
    for method, count in mixes:  # a first call per seed: its songs not yet cached
        firsts = []
        for seed in seeds[1:]:
            took, body = timed_get(session, f"{proxy}/rest/{method}.view", id=seed,
                                   count=count, **AUTH)  # fmt: skip
            checks[method](body, False)
            firsts.append(took)
        figures[f"{method}_seed_first"] = summary(firsts)
    before = upstream_calls(session, upstream)
    warm: dict[str, list[float]] = {method: [] for method, _ in mixes}
    for _ in range(repeat):
        for seed in seeds:
            for method, count in mixes:
                took, body = timed_get(session, f"{proxy}/rest/{method}.view", id=seed,
                                       count=count, **AUTH)  # fmt: skip
                checks[method](body, True)
                warm[method].append(took)
    during = upstream_calls(session, upstream) - before
    figures["warm_upstream_calls"] = dict(during)
    for method, _ in mixes:
        figures[f"{method}_warm"] = summary(warm[method])
    timed_stream(session, f"{upstream}/rest/stream.view")  # warm-up, both ways
    timed_stream(session, f"{proxy}/rest/stream.view")
    direct, proxied = [], []
    for _ in range(repeat):
        direct.append(timed_stream(session, f"{upstream}/rest/stream.view"))
        proxied.append(timed_stream(session, f"{proxy}/rest/stream.view"))
    figures["stream_direct"] = summary(direct)
    figures["stream_proxy"] = summary(proxied)
    return figures


def measure_page(session: requests.Session, proxy: str, repeat: int) -> dict[str, Any]:
    """The page (first, then warm), the taste map (the same) and the stylesheet."""
    figures: dict[str, Any] = {}
    for key, path in (("page", "/"), ("map", "/map.svg")):
        took, body = timed_get(session, f"{proxy}{path}")
        text = body.decode("utf-8", "replace")
        picks = text.count('<li id="pick-')
        if (key == "page" and picks != PLAYLIST_SIZE) or not text.rstrip().endswith(
            "</html>" if key == "page" else "</svg>"
        ):
            raise SystemExit(f"GET {path}: {picks} picks, {len(body):,} bytes:\n{text[-2000:]}")
        figures[f"{key}_first_ms"] = took
        figures[f"{key}_bytes"] = len(body)
        figures[f"{key}_warm"] = summary(
            [timed_get(session, f"{proxy}{path}")[0] for _ in range(repeat)]
        )
    figures["style"] = summary(
        [timed_get(session, f"{proxy}/static/style.css")[0] for _ in range(repeat * 5)]
    )
    return figures


def measure_once(cache: Path, repeat: int, seed: int) -> dict[str, Any]:
    """One fresh upstream and server on a fresh copy of the data; every figure."""
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        scratch = Path(folder)
        stream_file = scratch / "stream.flac"
        stream_file.write_bytes(np.random.default_rng(seed).bytes(STREAM_MB * 2**20))
        spawn = multiprocessing.get_context("spawn")
        ports = spawn.Queue()
        upstream_process = spawn.Process(target=run_upstream, args=(str(stream_file), ports),
                                         daemon=True)  # fmt: skip
        upstream_process.start()
        server = None
        try:
            upstream = f"http://127.0.0.1:{ports.get(timeout=60)}"
            database, ids = prepare_database(cache, scratch, upstream)
            rng = np.random.default_rng(seed)
            seeds = [f"s{track}" for track in rng.choice(ids, size=SEEDS, replace=False)]
            session = requests.Session()
            session.trust_env = False  # 127.0.0.1 only, whatever proxy this machine has
            port = free_port()
            server, start_s = start_server(scratch, server_environment(scratch, database),
                                           port, upstream, session)  # fmt: skip
            proxy = f"http://127.0.0.1:{port}"
            figures = {"start_s": start_s, **measure_proxy(session, proxy, upstream, seeds,
                                                           repeat)}  # fmt: skip
            figures.update(measure_page(session, proxy, repeat))
            if server.poll() is not None:
                raise SystemExit(f"the server stopped:\n{server_log(scratch)}")
            return figures
        finally:
            if server is not None:
                stop(server)
            stop(upstream_process)


# --- the report ------------------------------------------------------------------------------


def report(figures: dict[str, Any]) -> tuple[list[list[str]], dict[str, bool]]:
    """The table's rows, and each target's verdict."""
    rows: list[list[str]] = []

    def row(name: str, value: float, p95_ms: float | None, target: str, ok: bool | None,
            base: float | None) -> None:  # fmt: skip
        rows.append([name, f"{value:,.1f}", "" if p95_ms is None else f"{p95_ms:,.1f}", target,
                     "" if ok is None else verdict(ok),
                     "" if base is None else f"{value / base:,.1f} x"])  # fmt: skip

    checks: dict[str, bool] = {}
    ping_d, ping_p = figures["ping_direct"], figures["ping_proxy"]
    row("baseline: ping.view straight to the upstream", ping_d["median_ms"], ping_d["p95_ms"],
        "", None, None)  # fmt: skip
    row("baseline: ping.view through the proxy", ping_p["median_ms"], ping_p["p95_ms"], "",
        None, ping_d["median_ms"])  # fmt: skip
    for method in ("getSimilarSongs2", "getSonicSimilarTracks"):
        warm = figures[f"{method}_warm"]
        checks[method] = warm["p95_ms"] < TARGET_MIX_P95_MS
        row(f"{method}: the first call (cold)", figures[f"{method}_first_ms"], None, "", None,
            ping_p["median_ms"])  # fmt: skip
        first = figures[f"{method}_seed_first"]
        row(f"{method}: a new seed's first call", first["median_ms"], first["p95_ms"], "", None,
            ping_p["median_ms"])  # fmt: skip
        row(f"{method}: warm", warm["median_ms"], warm["p95_ms"],
            f"p95 < {TARGET_MIX_P95_MS:g} ms", checks[method], ping_p["median_ms"])  # fmt: skip
    extra = ping_p["median_ms"] - ping_d["median_ms"]
    checks["pass_through"] = extra < TARGET_PASS_OVERHEAD_MS
    row("pass-through overhead: ping.view, proxy - direct", extra, None,
        f"< {TARGET_PASS_OVERHEAD_MS:g} ms", checks["pass_through"], None)  # fmt: skip
    direct, proxied = figures["stream_direct"], figures["stream_proxy"]
    overhead = proxied["median_ms"] / direct["median_ms"] - 1
    checks["stream"] = overhead < TARGET_STREAM_OVERHEAD
    row(f"baseline: stream.view {STREAM_MB} MB straight from the upstream", direct["median_ms"],
        direct["p95_ms"], "", None, None)  # fmt: skip
    row(f"stream.view {STREAM_MB} MB through the proxy ({overhead:+.1%})", proxied["median_ms"],
        proxied["p95_ms"], f"< +{TARGET_STREAM_OVERHEAD:.0%}", checks["stream"],
        direct["median_ms"])  # fmt: skip
    style = figures["style"]["median_ms"]
    row("baseline: GET /static/style.css (the server's floor)", style,
        figures["style"]["p95_ms"], "", None, None)  # fmt: skip
    first_ok = figures["page_first_ms"] < WEEKLY_TARGET_SECONDS * 1000
    row("GET /, the first (makes and stores the weekly)", figures["page_first_ms"], None,
        f"< {WEEKLY_TARGET_SECONDS:g} s (weekly's)", first_ok, style)  # fmt: skip
    page = figures["page_warm"]
    checks["page"] = page["median_ms"] < TARGET_PAGE_MS and page["p95_ms"] < TARGET_PAGE_MS
    row("GET /, the week's weekly stored", page["median_ms"], page["p95_ms"],
        f"< {TARGET_PAGE_MS / 1000:g} s", checks["page"], style)  # fmt: skip
    row("GET /map.svg, the first", figures["map_first_ms"], None, "", None, style)
    row("GET /map.svg, again", figures["map_warm"]["median_ms"], figures["map_warm"]["p95_ms"],
        "", None, style)  # fmt: skip
    return rows, checks


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    return parse_data_args(parser, repeat_default=10,
                           repeat_help="timed rounds (mixes, streams, page loads)")  # fmt: skip


def main() -> None:
    """Reuse or generate the data, measure on a fresh server, print the table."""
    args = parse_args()
    load = os.getloadavg()[0]  # other work on the machine slows the requests: say how much
    dataset, reused = ensure_data(args.cache, args.tracks, args.listens, args.seed, args.rebuild)
    print(
        f"data: {'reusing' if reused else 'generated'} {dataset.tracks:,} analysed tracks, "
        f"{dataset.listens:,} listens, in {args.cache}"
    )
    figures = measure_once(args.cache, args.repeat, args.seed)
    rows, checks = report(figures)
    asked = sorted(figures["warm_upstream_calls"].items())
    calls = ", ".join(f"{n} {method}" for method, n in asked)
    print(
        f"\nmydiscover serve benchmark: {dataset.tracks:,} tracks, {args.repeat} round(s), "
        f"{SEEDS} seeds, {usable_cores()} cores (load average {load:.1f} at the start), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; the server "
        f"answered {figures['start_s']:.1f} s after its start; the warm mixes asked the "
        f"upstream: {calls or 'nothing'}; page {figures['page_bytes']:,} bytes, map "
        f"{figures['map_bytes']:,} bytes"
    )
    header = ["measurement", "median ms", "p95 ms", "target", "check", "vs baseline"]
    print_table(rows, header, {1, 2, 5})
    if args.json:
        print(json.dumps({"tracks": dataset.tracks, "listens": dataset.listens,
                          "reused": reused, "repeat": args.repeat, "seeds": SEEDS,
                          **figures, "pass": checks, "cores": usable_cores(),
                          "load_average": load, "python": platform.python_version()}))  # fmt: skip


if __name__ == "__main__":
    main()
