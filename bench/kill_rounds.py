"""Kill rounds: every long command stopped at a random moment, then checked and resumed.

Each round takes one of scan, analyze, history import, cf import, cf fit, reviews crawl and
weekly -o, starts it (in a session of its own) on a copy of the state the stage before it
left, sends it SIGKILL, SIGINT or SIGTERM after a random delay within its usual running time,
and then checks:

- the database: ``PRAGMA integrity_check`` is ok and ``PRAGMA foreign_key_check`` is empty;
- no half-written file: the playlist is absent or complete (every entry a catalogued file), the
  CF dataset and model load, and after the resuming run no temporary file is left anywhere;
- no orphan: no process of the killed command's session is alive two seconds later;
- resuming: the same command run again to the end exits 0 and leaves the same counts (tracks,
  analyses, listens, CF scores, documents) as an uninterrupted run.

Run it as ``python bench/kill_rounds.py --rounds 35`` (35 rounds: five of each command); it
prints one line per round and a summary, and exits 1 if any check failed. Everything runs on
127.0.0.1: the reviews come from the test suite's small fake web.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import common

common.add_repo_to_path()

from mydiscover.files import temporary_files  # noqa: E402
from tests.colistening import GROUPS, artist_name, write_hetrec  # noqa: E402
from tests.fake_services import FakeServer  # noqa: E402
from tests.fake_web import serve_web  # noqa: E402
from tests.library_factory import make_track  # noqa: E402

#: The pipeline in order: each command runs on the state the ones before it left.
COMMANDS = ("scan", "analyze", "history", "cf-import", "cf-fit", "reviews", "weekly")
SIGNALS = (signal.SIGKILL, signal.SIGINT, signal.SIGTERM)
#: What an uninterrupted run of each command leaves, counted to compare a resumed run with.
COUNTS = {
    "scan": "SELECT count(*) FROM tracks WHERE status = 'ok'",
    "analyze": "SELECT count(*) FROM track_audio",
    "history": "SELECT count(*) FROM listens",
    "cf-import": "",  # no table: the dataset file, counted by its listening pairs
    "cf-fit": "SELECT count(*) FROM cf_scores",
    "reviews": "SELECT count(*) FROM documents",
    "weekly": "SELECT count(*) FROM weekly_tracks",
}


@dataclass
class World:
    """The inputs every round shares: a library, a history, a dataset, a small web."""

    folder: Path
    music: Path
    history: Path
    dataset: Path
    web: FakeServer
    snapshots: dict[str, Path] = field(default_factory=dict)  # the state before each command
    seconds: dict[str, float] = field(default_factory=dict)  # an uninterrupted run's time
    counts: dict[str, int] = field(default_factory=dict)


def build_world(folder: Path, tracks: int) -> World:
    """Write the library (tagged FLAC tones of the public data's artists), a history of
    listens, a HetRec-format dataset, and start the fake web."""
    music = folder / "Music"
    names = [artist_name(group, index) for index in range(4) for group in range(len(GROUPS))]
    for number in range(tracks):
        artist = names[number % len(names)]
        make_track(
            music / artist / f"{number:02d} Song {number}.flac", seconds=12.0,
            frequency=220.0 + 37 * number, title=f"Song {number}", artist=artist,
            album=f"{artist} LP",
        )  # fmt: skip
    history = folder / "history.csv"
    lines = ["listened_at,artist,title"]
    for step in range(20_000):
        number = step % (tracks // 2)  # the other half is new to the listener
        artist = names[number % len(names)]
        lines.append(f"{1_600_000_000 + step * 400},{artist},Song {number}")
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = write_hetrec(folder / "hetrec", listeners=2000, per_listener=12)
    web = serve_web(FakeServer().start())
    return World(folder, music, history, dataset, web)


def command_line(name: str, world: World, data: Path) -> list[str]:
    """The mydiscover command line of a round of ``name``."""
    database = str(data / "mydiscover.db")
    arguments = {
        "scan": ["scan", str(world.music)],
        "analyze": ["analyze", "-j", "2"],
        "history": ["history", "import", str(world.history)],
        "cf-import": ["cf", "import", str(world.dataset)],
        "cf-fit": ["cf", "fit", "--factors", "16", "--iterations", "10"],
        "reviews": ["reviews", "crawl", "--source", "wikipedia"],
        "weekly": [
            "weekly",
            "--no-update",
            "--min-length",
            "5",
            "-o",
            str(data.parent / "weekly.m3u"),
        ],
    }[name]
    return [sys.executable, "-m", "mydiscover", *arguments, "--db", database]


def environment(world: World, home: Path) -> dict[str, str]:
    """A user of their own per round: HOME, config and caches inside the round's folder."""
    config = home / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[reviews]\nwikipedia_api_url = "{world.web.url}/w/api.php"\nrequest_interval = 0.02\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYDISCOVER_", "XDG_"))}
    env.update(HOME=str(home), MYDISCOVER_CONFIG=str(config), COLUMNS="120")
    return env


def prepare(world: World) -> None:
    """Run the pipeline once, uninterrupted: the state before each command, its time, and
    the counts it leaves."""
    data = world.folder / "pipeline" / "data"
    data.mkdir(parents=True)
    env = environment(world, world.folder / "pipeline" / "home")
    for name in COMMANDS:
        world.snapshots[name] = world.folder / "snapshots" / name
        shutil.copytree(data, world.snapshots[name])
        started = time.monotonic()
        done = subprocess.run(command_line(name, world, data), env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"{name} failed on the uninterrupted run: {done.stderr.strip()}")
        world.seconds[name] = time.monotonic() - started
        world.counts[name] = count(data, name)


def count(data: Path, name: str) -> int:
    """The count an uninterrupted run of ``name`` is compared on."""
    if name == "cf-import":
        import numpy as np

        with np.load(data / "mydiscover-cf" / "dataset.npz", allow_pickle=False) as loaded:
            return len(loaded["data"]) if "data" in loaded.files else len(loaded.files)
    conn = sqlite3.connect(data / "mydiscover.db")
    try:
        return int(conn.execute(COUNTS[name]).fetchone()[0])
    finally:
        conn.close()


def database_problems(data: Path) -> list[str]:
    """What is wrong with the database's consistency (nothing, normally)."""
    database = data / "mydiscover.db"
    if not database.exists():
        return []
    conn = sqlite3.connect(database)
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        keys = conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()
    problems = [] if integrity == ["ok"] else [f"integrity: {'; '.join(integrity[:3])}"]
    return problems + ([f"{len(keys)} foreign keys broken"] if keys else [])


def file_problems(round_folder: Path, data: Path) -> list[str]:
    """Half-written outputs: a playlist that is not whole, a CF file that does not load."""
    import numpy as np

    problems = []
    playlist = round_folder / "weekly.m3u"
    if playlist.exists():
        lines = playlist.read_bytes().split(b"\n")
        entries = [line for line in lines if line and not line.startswith(b"#")]
        if lines[0] != b"#EXTM3U" or lines[-1] != b"" or not entries:
            problems.append("the playlist is not whole")
        problems += [f"playlist names a missing file {e!r}" for e in entries if not Path(
            os.fsdecode(e)).exists()]  # fmt: skip
    for npz in (data / "mydiscover-cf").glob("*.npz") if (data / "mydiscover-cf").exists() else []:
        try:
            with np.load(npz, allow_pickle=False) as loaded:
                for name in loaded.files:
                    loaded[name]
        except Exception as error:
            problems.append(f"{npz.name} does not load ({type(error).__name__})")
    return problems


def session_alive(session: int) -> list[int]:
    """The processes still running in the session ``session``."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


def one_round(world: World, number: int, name: str, rng: random.Random) -> list[str]:
    """Run one round (see the module's docstring); the problems found."""
    folder = world.folder / "rounds" / f"{number:03d}-{name}"
    data = folder / "data"
    shutil.copytree(world.snapshots[name], data)
    env = environment(world, folder / "home")
    argv = command_line(name, world, data)
    sent = rng.choice(SIGNALS)
    delay = rng.uniform(0.3, max(0.4, world.seconds[name] * 1.1))
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=_default_sigint)  # fmt: skip
    time.sleep(delay)
    process.send_signal(sent)
    problems = []
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
        problems.append(f"did not stop within 60 s of {sent.name}")
    # 130: it stopped as asked; 0: it had finished; -SIGINT or -SIGTERM: the signal came
    # while Python was starting up or shutting down, outside the program's own handling.
    if sent != signal.SIGKILL and process.returncode not in (0, 130, -sent, -signal.SIGINT):
        problems.append(f"exit {process.returncode} after {sent.name}")
    if b"Traceback" in stderr:
        problems.append("a traceback: " + stderr.decode(errors="replace").strip().splitlines()[-1])
    time.sleep(2.0)
    orphans = session_alive(process.pid)
    if orphans:
        problems.append(f"{len(orphans)} processes outlived it")
        for pid in orphans:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    problems += database_problems(data)
    problems += file_problems(folder, data)
    resumed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if resumed.returncode != 0:
        problems.append(f"the resuming run failed: {resumed.stderr.strip()[-300:]}")
    elif count(data, name) != world.counts[name]:
        problems.append(f"resumed to {count(data, name)}, not {world.counts[name]}")
    problems += database_problems(data) + file_problems(folder, data)
    left = [p for p in (folder, *folder.rglob("*")) if p.is_dir() for p in temporary_files(p)]
    problems += [f"temporary file left: {path.name}" for path in left]
    print(f"round {number:3d}: {name:<9} {sent.name:<7} after {delay:5.2f} s -> exit "
          f"{process.returncode:>4}: {'; '.join(problems) or 'ok'}", flush=True)  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    return problems


def _default_sigint() -> None:
    # A background job starts with SIGINT ignored, and the child would inherit that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(rounds: int, seed: int, tracks: int, folder: Path) -> int:
    """Prepare the world in ``folder`` and run ``rounds`` rounds; the number of failed ones."""
    rng = random.Random(seed)
    world = build_world(folder, tracks)
    try:
        prepare(world)
        print("uninterrupted: " + ", ".join(f"{name} {world.seconds[name]:.1f} s"
                                            for name in COMMANDS), flush=True)  # fmt: skip
        failed = sum(
            bool(one_round(world, number, COMMANDS[number % len(COMMANDS)], rng))
            for number in range(rounds)
        )
    finally:
        world.web.stop()
    print(f"{rounds} rounds, {failed} with a problem "
          f"(inconsistent database, half-written file, orphan or failed resume)")  # fmt: skip
    return failed


def main() -> None:
    """Parse the options and run the rounds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=35, help="rounds (default 35)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--tracks", type=int, default=24, help="library size (default 24)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kill-rounds-") as folder:
        failed = run(options.rounds, options.seed, options.tracks, Path(folder))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
