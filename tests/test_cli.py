"""The command line end to end, as a user runs it: real processes, real files, real signals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mydiscover.db.lock import exclusive_lock
from tests.helpers import interruptible_child, run_cli
from tests.library_factory import make_track, write_audio


@pytest.fixture
def small_library(library: Path) -> Path:
    make_track(library / "Slowdive" / "01 Alison.flac", title="Alison", artist="Slowdive")
    make_track(library / "Slowdive" / "02 Machine Gun.mp3", title="Machine Gun", artist="Slowdive")
    make_track(library / "Ride" / "Vapour Trail.ogg", seconds=1.0, title="Vapour Trail")
    return library


def test_scan_then_status(cli_env, small_library: Path, db_path: Path) -> None:
    scanned = run_cli(cli_env, "scan", "--db", str(db_path), str(small_library))

    assert scanned.returncode == 0, scanned.stderr
    assert scanned.stdout == ""  # the summary is a log line: stderr, so stdout pipes cleanly
    assert "Scanned: 3 new, 0 changed, 0 unchanged, 0 missing, 0 errors." in scanned.stderr

    status = run_cli(cli_env, "status", "--db", str(db_path))
    assert status.returncode == 0, status.stderr
    for expected in ("Tracks", "3", "flac", "mp3", "vorbis", "Total duration", str(db_path)):
        assert expected in status.stdout

    data = json.loads(run_cli(cli_env, "status", "--json", "--db", str(db_path)).stdout)
    assert (data["tracks"], data["available"], data["missing"], data["errors"]) == (3, 3, 0, 0)
    assert data["duration_seconds"] == pytest.approx(2.0, abs=0.1)
    assert {row["format"] for row in data["formats"]} == {"flac", "mp3", "vorbis"}
    assert data["last_scan"]["outcome"] == "complete"


def test_default_database_lives_in_xdg_data_dir(cli_env, small_library: Path, tmp_path) -> None:
    assert run_cli(cli_env, "scan", str(small_library)).returncode == 0

    assert (tmp_path / "home" / ".local" / "share" / "mydiscover" / "mydiscover.db").exists()


def test_database_from_environment(cli_env, small_library: Path, tmp_path: Path) -> None:
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "env.db")}

    assert run_cli(env, "scan", str(small_library)).returncode == 0
    assert json.loads(run_cli(env, "status", "--json").stdout)["tracks"] == 3


def test_music_roots_from_config_file(cli_env, small_library: Path, tmp_path: Path) -> None:
    config = tmp_path / "home" / ".config" / "mydiscover" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'music_roots = ["{small_library}"]\n')

    scanned = run_cli(cli_env, "scan")

    assert scanned.returncode == 0, scanned.stderr
    assert "3 new" in scanned.stderr


def test_scan_without_folders_or_config_explains(cli_env) -> None:
    result = run_cli(cli_env, "scan")

    assert result.returncode == 1
    assert "no folders given" in result.stderr and "music_roots" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_config_is_one_line_error(cli_env, tmp_path: Path) -> None:
    config = tmp_path / "home" / ".config" / "mydiscover" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("music_roots = [\n")

    result = run_cli(cli_env, "scan")

    assert result.returncode == 1
    assert "not valid TOML" in result.stderr and "Traceback" not in result.stderr


def test_status_before_any_scan(cli_env) -> None:
    result = run_cli(cli_env, "status")

    assert result.returncode == 1
    assert "run 'mydiscover scan' first" in result.stderr


def test_errors_exit_code_and_listing(cli_env, small_library: Path, db_path: Path) -> None:
    (small_library / "fake.mp3").write_text("not audio")
    (small_library / "dead.flac").symlink_to(small_library / "nowhere.flac")

    scanned = run_cli(cli_env, "scan", "--db", str(db_path), str(small_library))
    listed = run_cli(cli_env, "scan", "--errors", "--db", str(db_path))

    assert scanned.returncode == 1
    assert "2 errors" in scanned.stderr and "mydiscover scan --errors" in scanned.stderr
    assert listed.returncode == 0
    lines = sorted(listed.stdout.splitlines())  # not a terminal: one "path<TAB>problem" a line
    assert lines[0].startswith(f"{small_library / 'dead.flac'}\tbroken symbolic link")
    assert lines[1].startswith(f"{small_library / 'fake.mp3'}\t")
    status = json.loads(run_cli(cli_env, "status", "--json", "--db", str(db_path)).stdout)
    assert (status["errors"], status["unreadable"], status["scan_problems"]) == (2, 1, 1)


def test_non_utf8_folder_argument(cli_env, library: Path, db_path: Path) -> None:
    raw = os.fsencode(library) + b"/M\xfasica"
    os.mkdir(raw)
    os.rename(write_audio(library / "x.wav"), raw + b"/caf\xe9.wav")

    result = run_cli(cli_env, "scan", "--db", str(db_path), raw)

    assert result.returncode == 0, result.stderr
    assert "1 new" in result.stderr


def test_second_scan_refuses_while_one_runs(cli_env, small_library: Path, db_path: Path) -> None:
    with exclusive_lock(db_path, "a scan"):
        result = run_cli(cli_env, "scan", "--db", str(db_path), str(small_library))

    assert result.returncode == 1
    assert f"a scan (pid {os.getpid()}) is using {db_path}" in result.stderr
    assert "--wait" in result.stderr


def test_second_scan_waits_when_asked(cli_env, small_library: Path, db_path: Path) -> None:
    held = threading.Event()
    released_at: list[float] = []

    def hold_lock() -> None:
        with exclusive_lock(db_path, "a scan"):
            held.set()
            time.sleep(1.0)
            released_at.append(time.monotonic())

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(5)
    result = run_cli(cli_env, "scan", "--wait", "--db", str(db_path), str(small_library))
    finished_at = time.monotonic()
    holder.join()

    assert result.returncode == 0, result.stderr
    assert finished_at > released_at[0]


def test_unreadable_folder_is_reported_not_marked_missing(
    cli_env, small_library: Path, db_path: Path
) -> None:
    assert run_cli(cli_env, "scan", "--db", str(db_path), str(small_library)).returncode == 0
    locked = small_library / "Slowdive"
    unsearchable = small_library / "Ride"  # r--: its names can be listed, not looked at
    prefix: list[str] = []
    if os.geteuid() == 0:
        # root reads any folder; drop the two capabilities that let it, as an ordinary user lacks
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    locked.chmod(0)
    unsearchable.chmod(0o444)
    try:
        result = subprocess_scan(prefix, cli_env, db_path, small_library)
    finally:
        locked.chmod(0o755)
        unsearchable.chmod(0o755)

    assert result.returncode == 1, result.stderr
    assert "0 missing, 2 errors" in result.stderr
    conn = sqlite3.connect(db_path)
    assert sorted(conn.execute("SELECT path_text, message FROM scan_errors").fetchall()) == [
        (str(unsearchable / "Vapour Trail.ogg"), "cannot stat: Permission denied"),
        (str(locked), "cannot list folder: Permission denied"),
    ]
    assert conn.execute("SELECT count(*) FROM tracks WHERE status = 'ok'").fetchone()[0] == 3


def subprocess_scan(prefix: list[str], env, db_path: Path, root: Path):
    import subprocess

    return subprocess.run(
        [*prefix, sys.executable, "-m", "mydiscover", "scan", "--db", str(db_path), str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def big_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4,000 small files: enough that a scan is still reading when the test stops it."""
    root = tmp_path_factory.mktemp("big") / "Music"
    template = make_track(root / "template.wav", seconds=0.05, title="t", artist="a")
    data = template.read_bytes()
    template.unlink()
    for folder in range(40):
        (root / f"artist{folder:02d}").mkdir()
        for n in range(100):
            (root / f"artist{folder:02d}" / f"{n:03d}.wav").write_bytes(data)
    return root


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_stopped_scan_keeps_database_consistent_and_resumes(
    cli_env, big_library: Path, db_path: Path, stop_signal: signal.Signals
) -> None:
    import subprocess

    scan_cmd = [sys.executable, "-m", "mydiscover", "scan", "--db", str(db_path), str(big_library)]
    process = subprocess.Popen(
        scan_cmd, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=interruptible_child,
    )  # fmt: skip
    saved = 0
    deadline = time.monotonic() + 60
    while saved == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
        if db_path.exists():
            try:
                with sqlite3.connect(db_path, timeout=5) as reader:
                    saved = reader.execute("SELECT count(*) FROM tracks").fetchone()[0]
            except sqlite3.OperationalError:
                pass  # the tables are not created yet
    process.send_signal(stop_signal)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "Scan interrupted" in stderr and "Traceback" not in stderr
    with sqlite3.connect(db_path) as reader:
        assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = reader.execute("SELECT count(*) FROM tracks").fetchone()[0]
        outcome = reader.execute("SELECT outcome FROM scans").fetchall()
        missing = reader.execute("SELECT count(*) FROM tracks WHERE status != 'ok'").fetchone()
    assert 0 < kept < 4000
    assert outcome == [("interrupted",)]
    assert missing == (0,)

    resumed = run_cli(cli_env, "scan", "--db", str(db_path), str(big_library))

    assert resumed.returncode == 0, resumed.stderr
    assert f"{4000 - kept} new, 0 changed, {kept} unchanged" in resumed.stderr


def test_version_and_help(cli_env) -> None:
    version = run_cli(cli_env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("mydiscover ")
    helped = run_cli(cli_env, "scan", "--help")
    assert helped.returncode == 0 and "Ctrl-C" in helped.stdout


DRAW_ROOT_HELP = """
import sys
from typer.core import TyperGroup
from mydiscover.cli import LazyCommands, app
if sys.argv[1] == "typer":  # typer's own renderer, every command made to list it
    LazyCommands.format_help = TyperGroup.format_help
app(["--help"], prog_name="mydiscover")
"""


def test_root_help_is_drawn_as_typer_draws_it(cli_env) -> None:
    env = {**cli_env, "TERMINAL_WIDTH": "90"}
    ours, typers = (subprocess.run([sys.executable, "-c", DRAW_ROOT_HELP, renderer], env=env,
                                   capture_output=True, text=True, timeout=60)
                    for renderer in ("ours", "typer"))  # fmt: skip
    assert ours.returncode == typers.returncode == 0, ours.stderr + typers.stderr
    assert "Usage: mydiscover [OPTIONS] COMMAND [ARGS]..." in ours.stdout
    assert "│ weekly " in ours.stdout and "│ eval " in ours.stdout
    assert ours.stdout == typers.stdout


def test_titles_with_emoji_codes_are_printed_as_they_are() -> None:
    from rich.markup import escape

    from mydiscover.cli.common import err, out

    for console in (out, err):
        with console.capture() as captured:
            console.print(f"[bold]{escape('Happy :fire: Day')}[/]")
        assert captured.get().strip() == "Happy :fire: Day"


@pytest.mark.parametrize(
    ("db_arg", "message"),
    [("{tmp}", "is a folder"), ("/proc/no-such-dir/x.db", "cannot create")],
)
def test_unusable_database_path_is_one_line_error(
    cli_env, small_library: Path, tmp_path: Path, db_arg: str, message: str
) -> None:
    result = run_cli(cli_env, "scan", "--db", db_arg.format(tmp=tmp_path), str(small_library))

    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_database_with_corrupt_pages_is_one_line_error_for_every_command(
    cli_env, small_library: Path, db_path: Path
) -> None:
    assert run_cli(cli_env, "scan", "--db", str(db_path), str(small_library)).returncode == 0
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        # Every table's and index's pages, not the schema's: the database still opens.
        pages = [n for (n,) in conn.execute(
            "SELECT pageno FROM dbstat WHERE name != 'sqlite_schema'")]  # fmt: skip
    conn.close()
    data = bytearray(db_path.read_bytes())
    for number in pages:
        data[(number - 1) * page : number * page] = b"\xa5" * page
    db_path.write_bytes(bytes(data))
    for command in (["scan", str(small_library)], ["status"], ["history", "status"],
                    ["weekly", "--no-update"], ["analyze"]):  # fmt: skip
        result = run_cli(cli_env, *command, "--db", str(db_path))
        assert result.returncode == 1, (command, result.stderr)
        assert "Traceback" not in result.stderr, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (command, result.stderr)
