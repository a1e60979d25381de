"""A library of two scenes that sound apart (a low tone and a high one, by album), a history
of plays of some of its artists, and the stages run over them as a user runs them: for the
tests of the weekly and of ``mydiscover serve``."""

from __future__ import annotations

import os
from pathlib import Path

from tests.colistening import write_hetrec
from tests.helpers import run_cli
from tests.library_factory import make_track


def scene_track(music: Path, artist: str, album: str, number: int) -> Path:
    """Where track ``number`` of an album is."""
    return music / artist / album / f"{number:02d} Song {number}.ogg"


def write_scenes(music: Path, albums: list[tuple[str, str, str, float]], seconds: float) -> None:
    """Three tracks per (artist, album, genre, tone in Hz), each a little above the tone."""
    for artist, album, genre, hertz in albums:
        for number in (1, 2, 3):
            make_track(scene_track(music, artist, album, number), seconds=seconds,
                       frequency=hertz * (1 + number / 50), title=f"Song {number}",
                       artist=artist, album=album, genre=genre)  # fmt: skip


def write_history(path: Path, played: list[str], now: int) -> Path:
    """20 plays of "Song 1" of each played artist, hourly, starting 30 days before ``now``."""
    rows = ["listened_at,artist,title,album"]
    for day in range(20):
        for artist in played:
            rows.append(f"{now - 86_400 * 30 + day * 3600},{artist},Song 1,Haze {artist[-1]}")
    path.write_text("\n".join(rows) + "\n")
    return path


def stage_env(tmp: Path) -> dict[str, str]:
    """The CLI's environment: home, config and database inside ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYDISCOVER_")}
    env.update(HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "cfg"), COLUMNS="200",
               MYDISCOVER_DB=str(tmp / "db.sqlite"))  # fmt: skip
    return env


def run_stages(env: dict[str, str], tmp: Path, music: Path, history: Path, last: list[str]) -> None:
    """Scan, analyse, import the history and a small public dataset, fit, then ``last``."""
    for command in (
        ["scan", str(music)], ["analyze"], ["history", "import", str(history)],
        ["cf", "import", str(write_hetrec(tmp / "hetrec"))],
        ["cf", "fit", "--factors", "8", "--regularization", "1"], last,
    ):  # fmt: skip
        result = run_cli(env, *command)
        assert result.returncode == 0, (command, result.stderr)
