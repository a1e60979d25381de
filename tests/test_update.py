"""The two-command experience: the README's quick start, run as written, and 'mydiscover
update' doing only what is stale."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

from mydiscover.cf import defaults
from tests.colistening import write_hetrec
from tests.helpers import click_track, run_cli, write_music

README = Path(__file__).resolve().parent.parent / "README.md"


def quick_start_commands() -> list[str]:
    """The 'mydiscover ...' lines of the README's quick start, comments removed."""
    after = README.read_text(encoding="utf-8").split("## Quick start", 1)[1]
    section = re.split(r"\n#{2,3} ", after, maxsplit=1)[0]  # up to the next heading
    commands = []
    for line in section.splitlines():
        command = re.sub(r"\s+#.*$", "", line).strip()
        if command.startswith("mydiscover "):
            commands.append(command)
        elif "&& mydiscover " in command:  # the install line: its mydiscover part
            commands.append("mydiscover " + command.split("&& mydiscover ", 1)[1])
    return commands


def make_home(home: Path) -> None:
    """~/Music with two scenes, ~/scrobbles.csv of one of them, ~/hetrec2011-lastfm-2k."""
    for n in range(3):
        for scene, bpm, genre in (("Shoegaze", 90, "Dream Pop"), ("Metal", 170, "Thrash")):
            write_music(home / "Music" / f"{scene} Artist {n}" / f"{scene} {n}.flac",
                        click_track(bpm + n, seconds=31), title=f"{scene} Song {n}",
                        artist=f"{scene} Artist {n}", album=f"{scene} Album {n}",
                        genre=genre)  # fmt: skip
    rows = ["listened_at,artist,title"] + [
        f"{1_780_000_000 + i * 600},Shoegaze Artist 0,Shoegaze Song 0" for i in range(30)
    ]
    (home / "scrobbles.csv").write_text("\n".join(rows) + "\n")
    write_hetrec(home / "hetrec2011-lastfm-2k")


def shell_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYDISCOVER_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"), COLUMNS="200",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")  # fmt: skip
    return env


def test_the_readme_quick_start_gives_a_weekly(tmp_path):
    make_home(tmp_path)
    commands = quick_start_commands()
    assert commands[0] == "mydiscover scan ~/Music"
    assert commands[-1] == "mydiscover weekly -o discover.m3u"
    env = shell_env(tmp_path)
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, (command, done.stderr)
    weekly = (tmp_path / "discover.m3u").read_text(encoding="utf-8").splitlines()
    assert weekly[0] == "#EXTM3U" and weekly[1].startswith("#PLAYLIST:Discover Weekly")
    picks = [line for line in weekly if not line.startswith("#")]
    assert len(picks) == 5 and all(Path(p).is_file() for p in picks)
    assert not any("Shoegaze 0.flac" in p for p in picks)  # the one the user has been playing
    assert "Analysed 6 tracks" in done.stderr  # the weekly analysed the library itself
    assert f"fitted {defaults.FACTORS} factors" in done.stderr and "folded you in" in done.stderr
    assert "from cf" in done.stderr and "audio" in done.stderr and "text" in done.stderr


def test_update_does_only_what_is_stale(tmp_path, cli_env):
    make_home(tmp_path)
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    for command in (["scan", str(tmp_path / "Music")],
                    ["history", "import", str(tmp_path / "scrobbles.csv")]):  # fmt: skip
        assert run_cli(env, *command).returncode == 0
    first = run_cli(env, "update", "--offline")
    assert first.returncode == 0, first.stderr
    assert "Analysed 6 tracks" in first.stderr
    assert "cf: no public co-listening data yet" in first.stderr
    assert "history: skipped (--offline)" in first.stderr and "terms:" in first.stderr
    assert first.stdout == ""
    second = run_cli(env, "update", "--offline")
    assert "Nothing to analyse" in second.stderr and "terms:" not in second.stderr
    assert "0 new" in second.stderr


def test_a_stage_another_command_holds_is_a_skip_unless_told_to_wait(tmp_path, cli_env):
    from mydiscover.db.lock import exclusive_lock

    make_home(tmp_path)
    database = tmp_path / "db.sqlite"
    env = {**cli_env, "MYDISCOVER_DB": str(database)}
    assert run_cli(env, "scan", str(tmp_path / "Music")).returncode == 0
    with exclusive_lock(database, "a scan"):
        skipped = run_cli(env, "update", "--offline")
        assert skipped.returncode == 0, skipped.stderr
        assert "error" not in skipped.stderr
        assert re.search(r"note: skipped: a scan \(pid \d+\) is using .*db\.sqlite", skipped.stderr)
        assert "terms:" in skipped.stderr  # the stages after them still ran
        waiting = subprocess.Popen(
            [sys.executable, "-m", "mydiscover", "update", "--offline", "--wait"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # Held for 6 s, far longer than the command takes to reach the scan: a command that
        # did not wait would have skipped the stage with a note by then.
        with contextlib.suppress(subprocess.TimeoutExpired):
            waiting.wait(timeout=6)
        assert waiting.poll() is None  # it waits on the scan's lock
    _, stderr = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, stderr
    assert "note: skipped" not in stderr and "Analysed 6 tracks" in stderr
