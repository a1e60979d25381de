"""A library for the ``mydiscover serve`` tests: scanned, analysed, with a history, a CF model
and this week's weekly; a track with hostile tags, and one whose file is a link out of the
music folder. And ``mydiscover serve`` itself, started as a user starts it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.library_factory import make_track
from tests.scenes import run_stages, stage_env, write_history, write_scenes

#: (artist, album, genre, tone in Hz): two scenes that sound apart.
ALBUMS = [
    *[(f"Shoegaze Artist {n}", f"Haze {n}", "Dream Pop", 220.0) for n in range(5)],
    *[(f"Metal Artist {n}", f"Steel {n}", "Thrash", 1760.0) for n in range(4)],
]
PLAYED = ["Shoegaze Artist 0", "Shoegaze Artist 1"]
HOSTILE_ARTIST = "<script>alert('artist')</script>"
HOSTILE_TITLE = '"><img src=x onerror=alert(1)>'
NOW = int(time.time())


@dataclass
class Home:
    """The library's folder, the database, the environment to run the CLI with, and the
    file a link in the library points to (outside it)."""

    root: Path
    music: Path
    database: Path
    env: dict[str, str]
    outside: Path


def make_home(tmp: Path) -> Home:
    """Build the library and run the stages and this week's weekly."""
    music = tmp / "Music"
    write_scenes(music, ALBUMS, seconds=6.0)
    make_track(music / "Hostile" / "01 x.ogg", seconds=6.0, frequency=300.0,
               title=HOSTILE_TITLE, artist=HOSTILE_ARTIST, album="<b>bold</b>",
               genre="Dream Pop")  # fmt: skip
    outside = make_track(tmp / "outside" / "secret.ogg", seconds=6.0, frequency=250.0,
                         title="Secret", artist="Outsider", genre="Dream Pop")  # fmt: skip
    (music / "Linked").mkdir()
    (music / "Linked" / "escape.ogg").symlink_to(outside)
    history = write_history(tmp / "history.csv", PLAYED, NOW)
    env = stage_env(tmp)
    run_stages(
        env, tmp, music, history, ["weekly", "--no-update", "--size", "8", "--min-length", "1"]
    )
    return Home(tmp, music, tmp / "db.sqlite", env, outside)


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running ``mydiscover serve``: its URL and what it printed."""

    url: str
    process: subprocess.Popen

    def stderr(self) -> str:
        """What it printed on stderr so far (after it stopped)."""
        assert self.process.stderr is not None
        return self.process.stderr.read().decode()


def start_serve(env: dict[str, str], *args: str) -> Iterator[Server]:
    """Start ``mydiscover serve`` on a free loopback port; stop it at the end."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mydiscover", "serve", "--port", str(port), *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/static/style.css", timeout=5)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start: {process.stderr.read()!r}") from None
                time.sleep(0.2)
        yield Server(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
