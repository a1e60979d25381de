"""Writing files: mydiscover.files' atomic write on its own, and through ``weekly -o``."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mydiscover.files import atomic_file, atomic_write, temporary_files
from tests.helpers import run_cli
from tests.library_factory import make_track

ROOT = os.geteuid() == 0  # root writes into read-only folders


def dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "list.m3u"
    atomic_write(target, b"old\n")
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write(b"half")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"old\n" and temporary_files(tmp_path) == []


def test_modes_new_files_get_and_rewrites_keep(tmp_path):
    secret, plain = tmp_path / "secret.toml", tmp_path / "plain.m3u"
    atomic_write(secret, b"k", mode=0o600)
    atomic_write(plain, b"p")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask
    plain.chmod(0o640)
    atomic_write(plain, b"again", mode=0o600)
    assert stat.S_IMODE(plain.stat().st_mode) == 0o640 and plain.read_bytes() == b"again"


def test_a_symlink_stays_and_its_target_is_replaced(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "list.m3u"
    target.write_bytes(b"old")
    link = tmp_path / "link.m3u"
    link.symlink_to(target)
    atomic_write(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"
    assert temporary_files(tmp_path) == temporary_files(tmp_path / "real") == []


def test_a_long_name_can_be_written(tmp_path):
    target = tmp_path / ("é" * 120 + ".m3u")  # 244 bytes: name and temporary suffix exceed 255
    atomic_write(target, b"x")
    assert target.read_bytes() == b"x" and temporary_files(tmp_path) == []


def test_temporaries_of_dead_writers_go_and_live_ones_stay(tmp_path):
    target = tmp_path / "list.m3u"
    dead = tmp_path / f".list.m3u.{dead_pid()}.0123abcd.partial"
    live = tmp_path / f".list.m3u.{os.getpid()}.0123abcd.partial"
    other = tmp_path / f".list.m3u.2024.{dead_pid()}.0123abcd.partial"  # the file "list.m3u.2024"
    for path in (dead, live, other):
        path.write_bytes(b"half")
    atomic_write(target, b"whole")
    assert not dead.exists() and live.exists() and other.exists()


def test_concurrent_writers_never_tear_a_file_nor_leave_temporaries(tmp_path):
    target = tmp_path / "list.m3u"
    contents = [bytes([65 + n]) * 200_000 for n in range(4)]
    atomic_write(target, contents[0])
    torn: list[bytes] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            data = target.read_bytes()
            if data not in contents:
                torn.append(data[:10])

    def write(content: bytes) -> None:
        for _ in range(40):
            atomic_write(target, content)

    script = f"from mydiscover.files import atomic_write\nfor _ in range(40): atomic_write({str(target)!r}, {contents[3][:1]!r} * 200_000)"  # noqa: E501
    processes = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(c,)) for c in contents[:3]]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    assert all(process.wait(timeout=60) == 0 for process in processes)
    done.set()
    reader.join()
    assert torn == [] and target.read_bytes() in contents
    assert temporary_files(tmp_path) == []


# --- through the CLI ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_library(tmp_path_factory) -> tuple[dict[str, str], Path]:
    """A scanned library of six short tracks, and the environment to run the CLI in."""
    tmp = tmp_path_factory.mktemp("outputs")
    for n in range(6):
        make_track(tmp / "Music" / f"{n}.flac", seconds=1.0, title=f"T{n}", artist=f"A{n}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYDISCOVER_")}
    env.update(HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "cfg"),
               MYDISCOVER_DB=str(tmp / "db.sqlite"))  # fmt: skip
    assert run_cli(env, "scan", str(tmp / "Music")).returncode == 0
    return env, tmp


WEEKLY = ("weekly", "--no-update", "--week", "2026-W48", "--size", "4", "--min-length", "0.5")


def test_weekly_output_through_a_link_updates_its_target(small_library, tmp_path):
    env, _ = small_library
    target = tmp_path / "player" / "Discover.m3u"
    target.parent.mkdir()
    target.write_text("old playlist\n")
    link = tmp_path / "Discover.m3u"
    link.symlink_to(target)
    result = run_cli(env, *WEEKLY, "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and target.read_text().startswith("#EXTM3U\n")
    assert temporary_files(tmp_path) == temporary_files(target.parent) == []


def test_weekly_rewrite_keeps_the_mode_the_user_set(small_library, tmp_path):
    env, _ = small_library
    playlist = tmp_path / "Discover.m3u"
    assert run_cli(env, *WEEKLY, "-o", str(playlist)).returncode == 0
    playlist.chmod(0o600)
    assert run_cli(env, *WEEKLY, "-o", str(playlist), "--week", "2026-W49").returncode == 0
    assert stat.S_IMODE(playlist.stat().st_mode) == 0o600


@pytest.mark.skipif(ROOT, reason="root writes into read-only folders")
def test_weekly_into_a_read_only_folder_fails_in_one_line_and_leaves_nothing(
    small_library, tmp_path
):
    env, _ = small_library
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = run_cli(env, *WEEKLY, "-o", str(folder / "Discover.m3u"))
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            f"error: cannot write {folder / 'Discover.m3u'}: Permission denied"
        ]
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_weekly_to_redirected_stdout_writes_the_playlist_there(small_library, tmp_path):
    env, _ = small_library
    redirected = tmp_path / "discover.m3u"
    with redirected.open("wb") as stdout:
        result = subprocess.run([sys.executable, "-m", "mydiscover", *WEEKLY], env=env,
                                stdout=stdout, stderr=subprocess.PIPE, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert redirected.read_bytes().startswith(b"#EXTM3U\n") and temporary_files(tmp_path) == []


def test_a_weekly_that_cannot_replace_its_output_fails_in_one_line_and_leaves_nothing(
    small_library, tmp_path
):
    env, _ = small_library
    taken = tmp_path / "Discover.m3u"
    taken.mkdir()  # a folder of that name: the temporary file is written, the rename fails
    result = run_cli(env, *WEEKLY, "-o", str(taken))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: cannot write {taken}: Is a directory"]
    assert list(tmp_path.iterdir()) == [taken] and list(taken.iterdir()) == []
