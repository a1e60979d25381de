"""Settings: XDG paths via platformdirs, an optional TOML config file, MYDISCOVER_* overrides.

Precedence, highest first: command-line flags, environment variables, the config file, defaults.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import platformdirs

from mydiscover.errors import ConfigError

APP_NAME = "mydiscover"
ENV_DB = "MYDISCOVER_DB"
ENV_CONFIG = "MYDISCOVER_CONFIG"
ENV_LASTFM_KEY = "MYDISCOVER_LASTFM_API_KEY"
ENV_LISTENBRAINZ_TOKEN = "MYDISCOVER_LISTENBRAINZ_TOKEN"
#: Where a Last.fm API key is made.
LASTFM_KEY_PAGE = "https://www.last.fm/api/account/create"

#: Keys the config file may hold, with the type each must have.
_KNOWN_KEYS: dict[str, type] = {
    "database": str,
    "music_roots": list,
    "lastfm": dict,
    "listenbrainz": dict,
    "reviews": dict,
    "subsonic": dict,
    "jellyfin": dict,
    "cf": dict,
    "weekly": dict,
}


def default_config_path() -> Path:
    """Where the config file lives unless ``--config`` or ``MYDISCOVER_CONFIG`` say otherwise."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_database_path() -> Path:
    """Where the database lives unless ``--db``, ``MYDISCOVER_DB`` or the config say otherwise."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "mydiscover.db"


def default_cache_dir() -> Path:
    """Where caches live: the user's XDG cache folder (``~/.cache/mydiscover`` on Linux)."""
    return Path(platformdirs.user_cache_dir(APP_NAME))


#: The public services' addresses, unless the config names others (a mirror, a test server).
LASTFM_API_URL = "https://ws.audioscrobbler.com/2.0/"
LISTENBRAINZ_API_URL = "https://api.listenbrainz.org"
LISTENBRAINZ_LABS_URL = "https://labs.api.listenbrainz.org"


@dataclass(frozen=True)
class LastfmSettings:
    """[lastfm]: whose scrobbles to import, the API key (MYDISCOVER_LASTFM_API_KEY wins)."""

    user: str = ""
    api_key: str = ""
    api_url: str = LASTFM_API_URL


@dataclass(frozen=True)
class ListenBrainzSettings:
    """[listenbrainz]: whose listens to import and whose playlist to fill, the user token
    (MYDISCOVER_LISTENBRAINZ_TOKEN wins), the API's and the labs API's roots."""

    user: str = ""
    token: str = ""
    api_url: str = LISTENBRAINZ_API_URL
    labs_url: str = LISTENBRAINZ_LABS_URL


@dataclass(frozen=True)
class ReviewsSettings:
    """[reviews]: the crawler's contact (in its User-Agent), extra feeds and pages, the
    Wikipedia API, and the seconds between two requests to one host."""

    contact: str = ""
    feeds: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    wikipedia_api_url: str = ""
    request_interval: float | None = None


@dataclass(frozen=True)
class SubsonicSettings:
    """[subsonic]: the server, the user and password (MYDISCOVER_SUBSONIC_PASSWORD wins), and
    whether the password may go over plain http to a server that refuses tokens."""

    url: str = ""
    user: str = ""
    password: str = ""
    allow_plain_password: bool = False


@dataclass(frozen=True)
class JellyfinSettings:
    """[jellyfin]: the user (their password in MYDISCOVER_JELLYFIN_PASSWORD), or a token."""

    user: str = ""
    token: str = ""


@dataclass(frozen=True)
class CfSettings:
    """[cf]: the public dataset 'update' imports when none is."""

    dataset: str = ""


@dataclass(frozen=True)
class WeeklySettings:
    """[weekly]: the playlist file the timer writes ('weekly --to-playlist')."""

    playlist: str = ""


#: Each section of the config file, with its record.
_SECTIONS: dict[str, type] = {
    "lastfm": LastfmSettings, "listenbrainz": ListenBrainzSettings, "reviews": ReviewsSettings,
    "subsonic": SubsonicSettings, "jellyfin": JellyfinSettings, "cf": CfSettings,
    "weekly": WeeklySettings,
}  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where things are and who the user is."""

    database: Path
    config_file: Path
    config_file_found: bool
    music_roots: tuple[Path, ...] = ()
    lastfm: LastfmSettings = LastfmSettings()
    listenbrainz: ListenBrainzSettings = ListenBrainzSettings()
    reviews: ReviewsSettings = ReviewsSettings()
    subsonic: SubsonicSettings = SubsonicSettings()
    jellyfin: JellyfinSettings = JellyfinSettings()
    cf: CfSettings = CfSettings()
    weekly: WeeklySettings = WeeklySettings()

    def holds_secrets(self) -> bool:
        """Whether the config file holds an API key, token or password."""
        return any((self.lastfm.api_key, self.listenbrainz.token, self.subsonic.password,
                    self.jellyfin.token))  # fmt: skip


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the TOML config file at ``path``; a missing file is an empty config."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    # (imported here: without a config file, no command pays for the TOML parser)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised only on Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    for key, value in data.items():
        expected = _KNOWN_KEYS.get(key)
        if expected is None:
            raise ConfigError(
                f"config file {path}: unknown setting {key!r} "
                f"(known: {', '.join(sorted(_KNOWN_KEYS))})"
            )
        if not isinstance(value, expected):
            raise ConfigError(
                f"config file {path}: {key!r} must be a {expected.__name__}, "
                f"not {type(value).__name__}"
            )
    return data


def _expand(path: str, base: Path) -> Path:
    """Expand ``~`` and make a config-relative path absolute against the config's folder."""
    expanded = Path(os.path.expanduser(path))
    return expanded if expanded.is_absolute() else (base / expanded)


def load_settings(database: Path | None = None, config_file: Path | None = None) -> Settings:
    """Resolve the settings from flags (the arguments), the environment and the config file."""
    env_config = os.environ.get(ENV_CONFIG)
    config_path = config_file or (Path(env_config) if env_config else default_config_path())
    config_path = Path(os.path.expanduser(config_path))
    data = read_config_file(config_path)

    env_db = os.environ.get(ENV_DB)
    if database is not None:
        db_path = Path(os.path.expanduser(database))
    elif env_db:
        db_path = Path(os.path.expanduser(env_db))
    elif "database" in data:
        db_path = _expand(data["database"], config_path.parent)
    else:
        db_path = default_database_path()

    roots = data.get("music_roots", [])
    if not all(isinstance(root, str) for root in roots):
        raise ConfigError(f"config file {config_path}: 'music_roots' must be a list of paths")
    return Settings(
        database=db_path.absolute(),
        config_file=config_path,
        config_file_found=config_path.exists(),
        music_roots=tuple(_expand(root, config_path.parent) for root in roots),
        **{name: _section(name, data.get(name, {}), config_path) for name in _SECTIONS},
    )


def _section(name: str, values: dict[str, Any], path: Path) -> Any:
    """A config section as its record, each key checked against the record's fields and their
    types; paths (the dataset, the playlist) get ``~`` expanded."""
    record = _SECTIONS[name]
    kinds = {f.name: f.type for f in fields(record)}
    given: dict[str, Any] = {}
    for key, value in values.items():
        kind = kinds.get(key)
        if kind is None:
            raise ConfigError(f"config file {path}: [{name}] {key}: not a known setting "
                              f"(known: {', '.join(kinds)})")  # fmt: skip
        given[key] = _checked_value(name, key, value, str(kind), path)
    return record(**given)


def _checked_value(section: str, key: str, value: Any, kind: str, path: Path) -> Any:
    """``value`` if it has the type the field's annotation ``kind`` names (as text)."""
    where = f"config file {path}: [{section}] {key}"
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false (no quotes), "
                              f"not {type(value).__name__}")  # fmt: skip
        return value
    if kind.startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of text in quotes")
        return tuple(value)
    if kind.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, not {type(value).__name__}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be text in quotes, not {type(value).__name__}")
    return os.path.expanduser(value) if section in ("cf", "weekly") else value


def lastfm_api_key(settings: Settings) -> str | None:
    """The Last.fm API key: MYDISCOVER_LASTFM_API_KEY, else the config's [lastfm] api_key."""
    return os.environ.get(ENV_LASTFM_KEY) or settings.lastfm.api_key or None


def missing_api_key_message(config_file: Path | None = None) -> str:
    """What to tell a user who has no Last.fm API key: where to get one, where to put it."""
    where = config_file or default_config_path()
    return (
        f"a Last.fm API key is needed: create one (free, at once) at {LASTFM_KEY_PAGE}, then put "
        f'api_key = "..." under [lastfm] in {where}, or set MYDISCOVER_LASTFM_API_KEY'
    )


def exposed_secret_warning(settings: Settings, secret: str) -> str | None:
    """The warning to give when the config file a ``secret`` ("an API key", "a token") was read
    from may be read by other users of the machine; None when it is safe."""
    path = settings.config_file
    if settings.config_file_found and readable_by_others(path):
        return f"{path} holds {secret} and others can read it: chmod 600 {path}"
    return None


def listenbrainz_token(settings: Settings) -> tuple[str | None, bool]:
    """The ListenBrainz user token (from the environment, else the config file) and whether it
    came from the config file; (None, False) without one."""
    if os.environ.get(ENV_LISTENBRAINZ_TOKEN):
        return os.environ[ENV_LISTENBRAINZ_TOKEN], False
    token = settings.listenbrainz.token
    return (token, True) if token else (None, False)


def readable_by_others(path: Path) -> bool:
    """Whether anyone but the owner may read ``path`` (a config file holding secrets)."""
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False
