"""The beets plugin with beets' own PluginTestHelper, a real 'beet import -A' of generated
files, and mydiscover's real database and analysis."""

from __future__ import annotations

import contextlib
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pytest

pytest.importorskip("beets", reason="the beets plugin needs beets: pip install '.[beets]'")

from beets.test.helper import PluginTestHelper

from tests.helpers import click_track, interruptible_child, stored_analyses, write_music

ALBUMS = {"Slowdive": ("Souvlaki", 92), "Ride": ("Nowhere", 124), "Lush": ("Spooky", 150)}


def make_albums(folder: Path) -> Path:
    for artist, (album, bpm) in ALBUMS.items():
        for number in (1, 2):
            write_music(folder / artist / album / f"{number:02d}.flac",
                        click_track(bpm + number, seconds=31), title=f"{artist} {number}",
                        artist=artist, album=album)  # fmt: skip
    return folder


class TestDiscover(PluginTestHelper):
    plugin: ClassVar[str] = "mydiscover"

    @pytest.fixture(autouse=True)
    def library(self, tmp_path, setup):
        self.database = tmp_path / "mydiscover.db"
        self.config["mydiscover"]["database"] = str(self.database)
        self.config["import"]["quiet"] = True
        self.run_command("import", "-A", str(make_albums(tmp_path / "incoming")))
        assert len(list(self.lib.items())) == 6

    def test_discover_writes_the_weekly_from_the_beets_library(self, capsysbinary):
        capsysbinary.readouterr()
        self.run_command("discover", "-n", "3", "--week", "2026-W48")
        out = capsysbinary.readouterr().out.decode()
        lines = out.splitlines()
        assert lines[:2] == ["#EXTM3U", "#PLAYLIST:Discover Weekly 2026-W48"]
        paths = [line for line in lines if not line.startswith("#")]
        library = {item.path.decode() for item in self.lib.items()}
        assert len(paths) == 3 and set(paths) <= library  # beets' paths, no scan of our own
        conn = sqlite3.connect(self.database)
        assert conn.execute("SELECT count(*) FROM tracks").fetchone()[0] == 6
        conn.close()

    def test_a_query_limits_the_picks(self, capsysbinary):
        capsysbinary.readouterr()
        self.run_command("discover", "-n", "6", "--week", "2026-W48", "artist:Lush")
        out = capsysbinary.readouterr().out.decode()
        assert out.count("#EXTINF") == 1 and "#EXTINF:31,Lush - Lush" in out  # one per album

    def test_a_query_matching_nothing_is_an_error_and_a_querys_weekly_is_not_stored(self):
        from beets.ui import UserError

        with pytest.raises(UserError, match="no items match"):
            self.run_command("discover", "artist:Nobody")
        self.run_command("discover", "--week", "2026-W48", "artist:Lush")
        conn = sqlite3.connect(self.database)
        assert conn.execute("SELECT count(*) FROM weeklies").fetchone()[0] == 0
        conn.close()
        with pytest.raises(UserError, match="unknown format"):
            self.run_command("discover", "-f", "m3u8")

    def test_lastfm_play_counts_are_history(self, capsysbinary):
        for item in self.lib.items("artist:Slowdive"):
            item["lastfm_play_count"] = 40
            item.store()
        capsysbinary.readouterr()
        self.run_command("discover", "-n", "6", "--week", "2026-W48")
        out = capsysbinary.readouterr().out.decode()
        assert "Slowdive" not in out and out.count("#EXTINF") == 2  # Ride and Lush: one album each
        conn = sqlite3.connect(self.database)
        plays = conn.execute("SELECT sum(play_count) FROM tracks").fetchone()[0]
        conn.close()
        assert plays == 80

    def test_the_week_stays_fixed_until_refreshed(self, capsysbinary):
        capsysbinary.readouterr()
        self.run_command("discover", "-n", "6", "--week", "2026-W48")
        first = capsysbinary.readouterr().out.decode()
        assert "Slowdive" in first
        for item in self.lib.items("artist:Slowdive"):  # played since: a remake drops them
            item["lastfm_play_count"] = 40
            item.store()
        self.run_command("discover", "-n", "6", "--week", "2026-W48")
        assert capsysbinary.readouterr().out.decode() == first
        self.run_command("discover", "-n", "6", "--week", "2026-W48", "--refresh")
        assert "Slowdive" not in capsysbinary.readouterr().out.decode()

    def test_a_file_name_that_would_forge_m3u_lines_is_left_out_with_a_warning(
        self, tmp_path, capsysbinary
    ):
        item = next(iter(self.lib.items("artist:Ride")))
        evil = Path(item.path.decode()).with_name("evil\n#EXTINF:0,Injected\nINJECTED.flac")
        Path(item.path.decode()).rename(evil)
        item.path = bytes(evil)
        item.store()
        capsysbinary.readouterr()
        output = tmp_path / "link.m3u"
        output.symlink_to(tmp_path / "real.m3u")
        self.run_command("discover", "-n", "6", "--week", "2026-W48", "-o", str(output))
        captured = capsysbinary.readouterr()
        assert output.is_symlink() and "Injected" not in (tmp_path / "real.m3u").read_text()
        warnings = [line for line in captured.err.decode().splitlines() if "warning:" in line]
        assert warnings == [
            f"warning: left out {evil.parent}/evil\\n#EXTINF:0,Injected\\nINJECTED.flac: its "
            "name holds a line break or control character, which M3U cannot hold"
        ]

    def test_analyze_fills_beets_own_fields_with_a_line_per_item(self, capsys):
        self.run_command("discover", "--analyze", "artist:Ride")
        lines = capsys.readouterr().err.splitlines()
        assert [line.split(": ")[0] for line in lines if line.startswith("analysed")] == [
            "analysed 1/2", "analysed 2/2"]  # fmt: skip
        analysed = list(self.lib.items("bpm:100..150"))
        assert {item.artist for item in analysed} == {"Ride"}
        for item in analysed:
            assert item.bpm == pytest.approx(125, abs=3) and isinstance(item.bpm, int)
            assert item.initial_key and item["mydiscover_loudness"] < 0
            assert item["mydiscover_scale"] in ("major", "minor")
            assert item.initial_key.endswith("m") == (item["mydiscover_scale"] == "minor")
        assert not list(self.lib.items("artist:Lush bpm:1..300"))

    def test_analyze_takes_the_analysis_lock(self):
        from beets.ui import UserError

        from mydiscover.db.lock import exclusive_lock

        with (
            exclusive_lock(self.database, "an analysis"),
            pytest.raises(UserError, match=r"an analysis \(pid \d+\) is using"),
        ):
            self.run_command("discover", "--analyze", "artist:Ride")

    def test_analyze_waits_for_the_lock_when_told(self, capsys):
        import threading

        from mydiscover.db.lock import exclusive_lock

        held, released = threading.Event(), threading.Event()

        def hold() -> None:
            with exclusive_lock(self.database, "an analysis"):
                held.set()
                released.wait(timeout=30)

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(timeout=10)
        started = time.monotonic()
        threading.Timer(1.0, released.set).start()
        self.run_command("discover", "--analyze", "--wait", "artist:Ride")
        holder.join()
        assert time.monotonic() - started >= 1.0  # it waited for the holder to let go
        assert "analysed 2/2" in capsys.readouterr().err

    def test_the_usage_line_names_the_query(self, capsys):
        with pytest.raises(SystemExit):
            self.run_command("discover", "--help")
        assert "beet discover [options] [QUERY]" in capsys.readouterr().out


class TestAutoAnalysis(PluginTestHelper):
    plugin: ClassVar[str] = "mydiscover"
    preload_plugin: ClassVar[bool] = False

    def test_importing_analyses_when_auto_is_on(self, tmp_path):
        self.config["mydiscover"]["database"] = str(tmp_path / "mydiscover.db")
        self.config["mydiscover"]["auto"] = True
        self.config["import"]["quiet"] = True
        self.load_plugins()
        folder = tmp_path / "incoming"
        write_music(folder / "Ride" / "Nowhere" / "01.flac", click_track(120, seconds=31),
                    title="Seagull", artist="Ride", album="Nowhere")  # fmt: skip
        self.run_command("import", "-A", str(folder))
        [item] = list(self.lib.items())
        assert item.bpm == pytest.approx(120, abs=3)


def test_ctrl_c_during_analyze_says_how_far_and_exits_130(tmp_path, cli_env):
    """A real 'beet' process, interrupted while it analyses: one line, exit 130, what was
    stored is kept, and the next run analyses only the rest."""
    beet = shutil.which("beet", path=str(Path(sys.executable).parent))
    assert beet, "beets' 'beet' command is installed with '.[beets]'"
    music, database = tmp_path / "music", tmp_path / "mydiscover.db"
    for number in range(5):
        write_music(music / "Ride" / "Nowhere" / f"{number:02d}.flac",
                    click_track(100 + 7 * number, seconds=20), title=f"Ride {number}",
                    artist="Ride", album="Nowhere")  # fmt: skip
    beetsdir = tmp_path / "beets"
    beetsdir.mkdir()
    (beetsdir / "config.yaml").write_text(
        f"directory: {music}\nlibrary: {tmp_path / 'library.db'}\nplugins: mydiscover\n"
        f"mydiscover:\n  database: {database}\n  jobs: 1\nimport:\n  copy: no\n  write: no\n"
        "  quiet: yes\n"
    )
    env = {**cli_env, "BEETSDIR": str(beetsdir)}
    subprocess.run([beet, "import", "-A", str(music)], env=env, check=True, timeout=120,
                   capture_output=True)  # fmt: skip
    process = subprocess.Popen([beet, "discover", "--analyze"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=interruptible_child)  # fmt: skip
    deadline, seen = time.monotonic() + 90, False
    while not seen and process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(sqlite3.OperationalError):  # the tables may not be there yet
            seen = database.exists() and stored_analyses(database) > 0
        time.sleep(0.02)
    assert seen and process.poll() is None, "interrupted mid-way, one worker, a track at a time"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    kept = stored_analyses(database)
    assert process.returncode == 130, stderr
    assert 0 < kept < 5, stderr
    assert f"discover: interrupted after {kept} of 5 tracks" in stderr, stderr
    assert "Traceback" not in stderr
    resumed = subprocess.run([beet, "discover", "--analyze"], env=env, text=True,
                             capture_output=True, timeout=120)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    lines = resumed.stderr.splitlines()
    assert len([line for line in lines if line.startswith("analysed ")]) == 5 - kept, lines
    assert (
        f"analysed {5 - kept} of the {5 - kept} items that needed it (0 failed)" in resumed.stderr
    )
