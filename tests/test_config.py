"""Settings: XDG defaults, the TOML file, environment and flag overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from mydiscover.config import LastfmSettings, load_settings
from mydiscover.errors import ConfigError


@pytest.fixture(autouse=True)
def xdg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("MYDISCOVER_DB", raising=False)
    monkeypatch.delenv("MYDISCOVER_CONFIG", raising=False)
    return tmp_path


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config" / "mydiscover" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_follow_xdg(tmp_path: Path) -> None:
    settings = load_settings()

    assert settings.database == tmp_path / "data" / "mydiscover" / "mydiscover.db"
    assert settings.config_file == tmp_path / "config" / "mydiscover" / "config.toml"
    assert not settings.config_file_found
    assert settings.music_roots == ()


def test_config_file_sets_roots_database_and_services(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        'database = "db/library.db"\n'
        'music_roots = ["~/Music", "/srv/music"]\n'
        '[lastfm]\nuser = "rj"\n',
    )

    settings = load_settings()

    assert settings.config_file_found
    assert settings.database == tmp_path / "config" / "mydiscover" / "db" / "library.db"
    assert settings.music_roots == (Path("~/Music").expanduser(), Path("/srv/music"))
    assert settings.lastfm == LastfmSettings(user="rj")  # the section, typed


def test_environment_beats_config_and_flag_beats_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, 'database = "/from/config.db"\n')
    monkeypatch.setenv("MYDISCOVER_DB", "/from/env.db")

    assert load_settings().database == Path("/from/env.db")
    assert load_settings(database=Path("/from/flag.db")).database == Path("/from/flag.db")


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('music_roots = ["/mnt/music"]\n')
    monkeypatch.setenv("MYDISCOVER_CONFIG", str(other))

    assert load_settings().music_roots == (Path("/mnt/music"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("music_roots = [", "not valid TOML"),
        ("colour = 'blue'\n", "unknown setting 'colour'"),
        ("music_roots = '/just/one'\n", "'music_roots' must be a list"),
        ("music_roots = [1, 2]\n", "must be a list of paths"),
        ("[lastfm]\nuser = 42\n", r"\[lastfm\] user must be text"),
    ],
)
def test_bad_config_is_reported_with_its_path(tmp_path: Path, text: str, message: str) -> None:
    path = write_config(tmp_path, text)

    with pytest.raises(ConfigError, match=message) as caught:
        load_settings()
    assert str(path) in str(caught.value)


def test_a_section_takes_only_its_known_settings_with_their_types(tmp_path: Path) -> None:
    from mydiscover.errors import ConfigError

    for text, message in (
        ('[lastfm]\nusr = "rj"\n', r"\[lastfm\] usr: not a known setting \(known: user, api_key"),
        ("[subsonic]\nallow_plain_password = 'yes'\n", "must be true or false"),
        ("[reviews]\nfeeds = 'one'\n", r"\[reviews\] feeds must be a list"),
        ("[reviews]\nrequest_interval = 'slow'\n", "must be a number"),
    ):
        write_config(tmp_path, text)
        with pytest.raises(ConfigError, match=message):
            load_settings()
    write_config(tmp_path, '[weekly]\nplaylist = "~/Music/Weekly.m3u"\n[reviews]\nfeeds = ["a"]\n')
    settings = load_settings()
    assert settings.weekly.playlist == str(Path("~/Music/Weekly.m3u").expanduser())
    assert settings.reviews.feeds == ("a",) and settings.listenbrainz.api_url.startswith("https")
