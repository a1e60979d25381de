"""weekly --mpd against a real MPD (Debian's mpd) started on 127.0.0.1 by the test."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time

import pytest

from tests.helpers import run_cli
from tests.library_factory import make_track

pytestmark = pytest.mark.skipif(shutil.which("mpd") is None, reason="needs mpd: apt install mpd")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mpd_server(tmp_path):
    """MPD serving tmp/Music, its database updated; yields (port, a connected client)."""
    from mpd import MPDClient

    music = tmp_path / "Music"
    for number in range(4):
        make_track(music / f"Artist {number}" / f"{number:02d} Song.flac", seconds=1.0,
                   title=f"Song {number}", artist=f"Artist {number}",
                   album=f"LP {number}")  # fmt: skip
    (tmp_path / "playlists").mkdir()
    port = free_port()
    config = tmp_path / "mpd.conf"
    config.write_text(
        f'music_directory "{music}"\nplaylist_directory "{tmp_path / "playlists"}"\n'
        f'db_file "{tmp_path / "mpd.db"}"\nbind_to_address "127.0.0.1"\nport "{port}"\n'
        'audio_output {\n type "null"\n name "null"\n}\n'
    )
    process = subprocess.Popen(["mpd", "--no-daemon", "--stderr", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    client = MPDClient()
    client.timeout = 5
    try:
        for _ in range(100):
            try:
                client.connect("127.0.0.1", port)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"mpd did not start: {process.stderr.read1().decode()}")
        client.update()
        while "updating_db" in client.status():
            time.sleep(0.1)
        yield port, client, music
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


def test_the_weekly_becomes_an_mpd_stored_playlist_replaced_in_place(mpd_server, tmp_path,
                                                                      cli_env):  # fmt: skip
    port, client, music = mpd_server
    extra = tmp_path / "Elsewhere"  # a track MPD's music folder does not hold
    make_track(extra / "lonely.flac", seconds=1.0, title="Lonely", artist="Nobody", album="X")
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "scan", str(music), str(extra)).returncode == 0
    args = ("weekly", "--no-update", "--min-length", "0.1", "--size", "5",
            "--mpd", f"127.0.0.1:{port}")  # fmt: skip
    first = run_cli(env, *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""  # the playlist went to MPD
    assert f"MPD at 127.0.0.1:{port}: stored playlist 'Discover Weekly' now holds" in first.stderr
    assert "4 tracks; 1 not in its database: lonely.flac" in first.stderr
    stored = client.listplaylist("Discover Weekly")
    assert len(stored) == 4 and all((music / uri).is_file() for uri in stored)
    weekly = run_cli(env, "weekly", "--no-update", "--min-length", "0.1", "--size", "5",
                     "--paths", "music-root")  # fmt: skip
    listed = [line for line in weekly.stdout.splitlines() if not line.startswith("#")]
    assert stored == [uri for uri in listed if uri != "lonely.flac"]  # the week's order
    again = run_cli(env, *args)
    assert again.returncode == 0, again.stderr
    names = [p["playlist"] for p in client.listplaylists()]
    assert names == ["Discover Weekly"]  # one playlist, no leftover temporary one
    assert client.listplaylist("Discover Weekly") == stored


def test_an_mpd_that_is_not_there_is_one_line(tmp_path, cli_env):
    music = tmp_path / "Music"
    make_track(music / "a.flac", seconds=1.0, title="A", artist="B", album="C")
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "scan", str(music)).returncode == 0
    result = run_cli(env, "weekly", "--no-update", "--min-length", "0.1",
                     "--mpd", f"127.0.0.1:{free_port()}")  # fmt: skip
    assert result.returncode == 1
    assert "MPD at 127.0.0.1:" in result.stderr and "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr
    bad = run_cli(env, "weekly", "--no-update", "--mpd", "host:port")
    assert bad.returncode == 1 and "write HOST or HOST:PORT" in bad.stderr
