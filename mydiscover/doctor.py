"""The environment's checks behind ``mydiscover doctor``: the audio libraries, the CNN model,
the database, the config file's permissions, the CF model's coverage of the library and the
configured services, each one :class:`Check` saying what to fix."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from typing import NamedTuple

from mydiscover.config import Settings, lastfm_api_key, readable_by_others


def _used_services(settings: Settings) -> list[tuple[str, str, str]]:
    """The web services the config uses: name, the address to try, and where it is set."""
    used = []
    if settings.lastfm.user:
        used.append(("Last.fm", settings.lastfm.api_url, "api_url in [lastfm]"))
    if settings.listenbrainz.user:  # the API's root, as the importer and the push take it
        used.append(("ListenBrainz", f"{settings.listenbrainz.api_url.rstrip('/')}/1/",
                     "api_url in [listenbrainz]"))  # fmt: skip
    if settings.subsonic.url or settings.subsonic.user:
        used.append(("Subsonic server", settings.subsonic.url, "url in [subsonic]"))
    return used


class Check(NamedTuple):
    """One check: what, how it went (ok, warning, problem) and what to do."""

    name: str
    status: str
    detail: str


def run_checks(settings: Settings, *, offline: bool = False) -> list[Check]:
    """Every check, in the order they are shown (``offline``: the services are not tried)."""
    return [
        _python(), _audio(), _model(), _database(settings), _config(settings),
        *_cf_coverage(settings), *([] if offline else _services(settings)),
    ]  # fmt: skip


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 10)
    return Check("Python", "ok" if ok else "problem", version if ok else f"{version}: needs 3.10+")


def _audio() -> Check:
    try:
        from mydiscover.audio import essentia_standard

        essentia_standard()
        return Check("Audio analysis", "ok", "Essentia")
    except ImportError:
        pass
    try:
        import librosa  # noqa: F401

        return Check("Audio analysis", "warning", "librosa (no Essentia: no danceability; "
                     "m4a/wma/wavpack/ape cannot be decoded)")  # fmt: skip
    except ImportError:
        return Check("Audio analysis", "problem", "neither Essentia nor librosa: pip install "
                     "essentia (or librosa where Essentia has no wheels)")  # fmt: skip


def _model() -> Check:
    from mydiscover.audio.embed import MODEL_PATH, MODEL_SHA256

    try:
        import onnxruntime
    except ImportError:
        return Check(
            "CNN model", "problem", "onnxruntime is not installed: pip install onnxruntime"
        )
    try:
        digest = hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest()
    except OSError as error:
        return Check(
            "CNN model", "problem", f"{MODEL_PATH}: {error.strerror}: reinstall mydiscover"
        )
    if digest != MODEL_SHA256:
        return Check("CNN model", "problem", f"{MODEL_PATH.name} is damaged (checksum differs): "
                     "reinstall mydiscover")  # fmt: skip
    return Check("CNN model", "ok", f"{MODEL_PATH.name}, checksum ok; onnxruntime "
                 f"{onnxruntime.__version__}")  # fmt: skip


def _database(settings: Settings) -> Check:
    from mydiscover.db.connection import inspect_database
    from mydiscover.db.schema import SCHEMA_VERSION

    path = settings.database
    if not path.exists():
        return Check("Database", "warning", f"{path} does not exist yet: run 'mydiscover scan'")
    try:
        version, verdict = inspect_database(path)
    except sqlite3.Error as error:
        return Check("Database", "problem", f"{path}: {error}")
    if verdict != "ok":
        return Check("Database", "problem", f"{path} is damaged ({verdict}): restore a backup")
    if version > SCHEMA_VERSION:
        return Check("Database", "problem", f"{path} is from a newer mydiscover (schema "
                     f"{version}): upgrade mydiscover")  # fmt: skip
    note = "" if version == SCHEMA_VERSION else f"; upgraded to {SCHEMA_VERSION} on next use"
    return Check("Database", "ok", f"{path}, schema {version}, integrity ok{note}")


#: Below this share of the library's artists known to CF, the coverage is a warning.
WELL_COVERED = 0.5


def _cf_coverage(settings: Settings) -> list[Check]:
    """How much of the library the CF model knows (no check without a database)."""
    from mydiscover.cf.coverage import stored_coverage
    from mydiscover.cf.store import load_model, model_path
    from mydiscover.errors import MydiscoverError

    if not settings.database.exists():
        return []
    try:
        model = load_model(model_path(settings.database))
    except MydiscoverError:
        return [Check("CF coverage", "warning", "no CF model: 'mydiscover cf import' a public "
                      "dataset, then 'mydiscover cf fit'")]  # fmt: skip
    try:
        conn = sqlite3.connect(f"file:{settings.database}?mode=ro", uri=True, timeout=10)
        try:
            known = stored_coverage(conn, model)
        finally:
            conn.close()
    except sqlite3.Error as error:
        return [Check("CF coverage", "problem", f"{settings.database}: {error}")]
    share = known.artists.share
    if share is not None and share < WELL_COVERED:
        return [Check("CF coverage", "warning", f"{known.line()}: 'mydiscover cf enrich' "
                      "scores the artists it lacks from similarity lists")]  # fmt: skip
    return [Check("CF coverage", "ok", known.line())]


def _config(settings: Settings) -> Check:
    path = settings.config_file
    if not settings.config_file_found:
        return Check("Config file", "warning", f"none at {path}: 'mydiscover init' writes one")
    secrets = settings.holds_secrets()
    if secrets and readable_by_others(path):
        return Check("Config file", "problem", f"{path} holds secrets and others can read it: "
                     f"chmod 600 {path}")  # fmt: skip
    return Check("Config file", "ok", str(path))


def _services(settings: Settings) -> list[Check]:
    # The one HTTP core, as the importers use it: its deadline, caps and one-line reasons.
    from mydiscover.http import HttpError, Transport, TryAgain

    transport = Transport(timeout=5, deadline=10, headers={"User-Agent": "mydiscover doctor"})
    checks = []
    for name, url, where in _used_services(settings):
        if not url:
            checks.append(Check(name, "problem", f"no {where}"))
            continue
        try:
            transport.get(url)
            checks.append(Check(name, "ok", f"{url} answers"))
        except (HttpError, TryAgain) as error:
            checks.append(Check(name, "problem", f"{url} cannot be reached ({error}): check "
                                "the address and the network (or use --offline)"))  # fmt: skip
    if settings.lastfm.user and not lastfm_api_key(settings):
        checks.append(Check("Last.fm key", "problem", "[lastfm] user is set but no api_key: "
                            "create one at https://www.last.fm/api/account/create"))  # fmt: skip
    return checks
