"""'mydiscover init' (the first-run setup) and 'mydiscover doctor' (what to fix)."""

from __future__ import annotations

import json
import os
import stat
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib
from tests import fake_services
from tests.fake_services import FakeServer, Reply
from tests.helpers import run_cli

fake_server = fake_services.fake_server


def doctor_checks(env, *args) -> dict[str, dict]:
    result = run_cli(env, "doctor", *args, "--json")
    return {check["name"]: check for check in json.loads(result.stdout)["checks"]}


def test_init_by_flags_writes_a_private_config_the_commands_read(tmp_path, cli_env):
    config = tmp_path / "conf" / "config.toml"
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config)}
    result = run_cli(
        env, "init", "--yes", "--music", str(tmp_path / "Music"), "--lastfm-user", "rj",
        "--lastfm-key", "s3cr3t", "--playlist", str(tmp_path / "w.m3u"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert 'user = "rj"' in text and 'api_key = "s3cr3t"' in text
    assert "s3cr3t" not in result.stderr
    again = run_cli(env, "init", "--yes")
    assert again.returncode == 1 and "--force" in again.stderr
    assert doctor_checks(env, "--offline")["Config file"]["status"] == "ok"


def test_init_asks_what_the_flags_do_not_give(tmp_path, cli_env):
    config = tmp_path / "config.toml"
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config)}
    result = run_cli(env, "init", "--yes")  # no terminal, --yes: only the flags' answers
    assert result.returncode == 0 and "music_roots = []" in config.read_text()


def test_doctor_checks_the_environment(tmp_path, cli_env):
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    result = run_cli(env, "doctor", "--offline", "--json")
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert (
        checks["Audio analysis"]["status"] == "ok"
        and "Essentia" in checks["Audio analysis"]["detail"]
    )
    assert checks["CNN model"]["status"] == "ok" and "checksum ok" in checks["CNN model"]["detail"]
    assert checks["Database"]["status"] == "warning"  # not made yet
    assert result.returncode == 0
    assert run_cli(env, "scan", str(tmp_path)).returncode == 0
    deep = tmp_path / ("a-long-folder-name-" * 6) / "db.sqlite"  # wider than any terminal
    assert run_cli({**env, "MYDISCOVER_DB": str(deep)}, "scan", str(tmp_path)).returncode == 0
    lines = run_cli({**env, "MYDISCOVER_DB": str(deep), "COLUMNS": "60"}, "doctor",
                    "--offline").stdout.splitlines()  # fmt: skip
    assert f"Database: ok: {deep}, schema" in next(x for x in lines if x.startswith("Database"))


def test_doctor_says_what_to_fix(tmp_path, cli_env, fake_server: FakeServer):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[lastfm]\nuser = "rj"\napi_key = "k"\napi_url = "{fake_server.url}/2.0/"\n'
        '[subsonic]\nurl = "http://127.0.0.1:9"\nuser = "a"\npassword = "p"\n'
    )
    config.chmod(0o644)
    fake_server.always(Reply(body={}), path="/2.0/")
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config), "MYDISCOVER_DB": str(tmp_path / "d.db")}
    result = run_cli(env, "doctor", "--json")
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert result.returncode == 1
    assert (
        checks["Config file"]["status"] == "problem"
        and "chmod 600" in checks["Config file"]["detail"]
    )
    assert checks["Last.fm"]["status"] == "ok"
    assert checks["Subsonic server"]["status"] == "problem"
    damaged = tmp_path / "d.db"
    damaged.write_bytes(b"this is not a database, just bytes" * 200)
    checks = {
        c["name"]: c
        for c in json.loads(run_cli(env, "doctor", "--offline", "--json").stdout)["checks"]
    }
    assert checks["Database"]["status"] == "problem"


def test_weekly_to_the_configured_playlist(tmp_path, cli_env):
    from tests.library_factory import make_track

    for n in range(3):
        make_track(tmp_path / "Music" / f"{n}.flac", seconds=1.0, title=f"T{n}", artist=f"A{n}")
    config = tmp_path / "config.toml"
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config), "MYDISCOVER_DB": str(tmp_path / "d.db")}
    assert run_cli(env, "init", "--yes", "--music", str(tmp_path / "Music"), "--playlist",
                   str(tmp_path / "lists" / "weekly.m3u")).returncode == 0  # fmt: skip
    assert run_cli(env, "scan").returncode == 0
    result = run_cli(env, "weekly", "--offline", "--to-playlist", "--min-length", "0.5")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "lists" / "weekly.m3u").read_text()
    assert text.startswith("#EXTM3U") and "../Music/" in text and result.stdout == ""


def test_init_asks_on_a_terminal(tmp_path, cli_env):
    import os
    import pty
    import sys
    import time

    config = tmp_path / "config.toml"
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config)}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: mydiscover init on a terminal
        os.execve(sys.executable, [sys.executable, "-m", "mydiscover", "init"], env)
    answers = [str(tmp_path / "Music"), "rj", "", "", "", "fa1e" * 8]
    seen = b""
    deadline = time.monotonic() + 60
    while answers and time.monotonic() < deadline:
        try:
            seen += os.read(terminal, 4096)
        except OSError:
            break
        if seen.rstrip().endswith(b":"):  # a prompt waits for its answer
            os.write(terminal, (answers.pop(0) + "\n").encode())
            seen = b""
    os.waitpid(pid, 0)
    written = tomllib.loads(config.read_text())
    assert written["music_roots"] == [str(tmp_path / "Music")]
    assert written["lastfm"] == {"user": "rj", "api_key": "fa1e" * 8}


def test_init_refuses_a_folder_name_toml_cannot_hold_and_writes_nothing(tmp_path, cli_env):
    folder = tmp_path / "conf"
    env = {**cli_env, "MYDISCOVER_CONFIG": str(folder / "config.toml")}
    music = os.fsencode(tmp_path) + b"/Bj\xf6rk"  # Latin-1: not UTF-8
    result = run_cli(env, "init", "--yes", "--music", music, "--playlist", str(tmp_path / "w"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: --music {tmp_path}/Bj\\xf6rk: the config file holds UTF-8 text only, and this "
        "name is not UTF-8: rename it, or give a link to it whose name is"
    ]
    assert not folder.exists() or list(folder.iterdir()) == []


def test_init_writes_control_characters_and_quotes_that_toml_reads_back(tmp_path, cli_env):
    config = tmp_path / "config.toml"
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config)}
    music = str(tmp_path / 'Mu"sic\\\x01\x7f\ttabs')
    user = 'r"j\x1b[31m\u2028'
    result = run_cli(env, "init", "--yes", "--music", music, "--lastfm-user", user,
                     "--lastfm-key", "k", "--playlist", str(tmp_path / "w\x07.m3u"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = tomllib.loads(config.read_text(encoding="utf-8"))
    assert written["music_roots"] == [music] and written["lastfm"] == {"user": user, "api_key": "k"}
    assert written["weekly"]["playlist"] == str(tmp_path / "w\x07.m3u")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and list(tmp_path.glob("*partial")) == []


def test_init_force_over_a_config_others_can_read_makes_it_private(tmp_path, cli_env):
    config = tmp_path / "config.toml"
    config.write_text('[lastfm]\napi_key = "old"\n')
    config.chmod(0o644)
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config)}

    result = run_cli(env, "init", "--yes", "--force", "--lastfm-user", "rj", "--lastfm-key", "k")

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
