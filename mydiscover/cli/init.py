"""``mydiscover init``: the first-run setup, written to the config file (0600)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mydiscover.cli.common import ConfigOption, DbOption, err, fail, settings_from
from mydiscover.files import atomic_write
from mydiscover.paths import display_path


def init(
    music: Annotated[
        list[Path] | None, typer.Option("--music", help="A music folder (repeatable).")
    ] = None,
    lastfm_user: Annotated[str | None, typer.Option(help="Your Last.fm user name.")] = None,
    lastfm_key: Annotated[str | None, typer.Option(help="A Last.fm API key.")] = None,
    listenbrainz_user: Annotated[
        str | None, typer.Option(help="Your ListenBrainz user name.")
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option(help="A public co-listening dataset you downloaded.")
    ] = None,
    playlist: Annotated[
        Path | None,
        typer.Option(help="Where the weekly timer writes the playlist (your player's folder)."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Ask nothing: take the flags as the answers.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing config file.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Set mydiscover up: music folders, your Last.fm or ListenBrainz account, a public dataset
    and where playlists go. Asks for what the flags do not give (unless --yes), then writes the
    config file, readable by you alone."""
    settings = settings_from(db, config)
    path = settings.config_file
    if path.exists() and not force:
        raise fail(f"{path} exists: edit it, or run 'mydiscover init --force' to replace it")
    folders, values = _answers(not yes and sys.stdin.isatty(), music, lastfm_user, lastfm_key,
                               listenbrainz_user, dataset, playlist)  # fmt: skip
    flags = [("--music", folder) for folder in folders]
    _check_text(flags + [(f"--{key.replace('_', '-')}", value) for key, value in values.items()])
    try:
        atomic_write(path, _toml(folders, values).encode("utf-8"), private=True)  # may hold a key
    except OSError as error:
        raise fail(f"cannot write {path}: {error.strerror or error}") from None
    err.print(f"wrote {escape(str(path))} (readable by you only). Next: 'mydiscover scan', then "
              "'mydiscover weekly > discover.m3u'.", highlight=False)  # fmt: skip


def _answers(
    ask: bool, music: list[Path] | None, lastfm_user: str | None, lastfm_key: str | None,
    listenbrainz_user: str | None, dataset: Path | None, playlist: Path | None,
) -> tuple[list[str], dict[str, str]]:  # fmt: skip
    """The music folders and the other settings: the flags, and (when ``ask``) the answers to
    what they leave out."""

    def answer(given: object, question: str, default: str = "") -> str:
        if given is not None or not ask:
            return "" if given is None else str(given)
        return str(typer.prompt(question, default=default, show_default=bool(default)))

    folders = [str(p) for p in music or []] or [
        f for f in [answer(None, "Music folder", str(Path.home() / "Music"))] if f
    ]
    values = {
        "lastfm_user": answer(lastfm_user, "Last.fm user (empty: none)"),
        "lastfm_key": "",
        "listenbrainz_user": answer(listenbrainz_user, "ListenBrainz user (empty: none)"),
        "dataset": answer(dataset, "Public co-listening dataset (empty: none)"),
        "playlist": answer(
            playlist,
            "Playlist file for the weekly timer",
            str(Path.home() / "Music" / "Discover Weekly.m3u"),
        ),
    }
    if values["lastfm_user"]:
        values["lastfm_key"] = answer(lastfm_key, "Last.fm API key (last.fm/api/account/create)")
    return folders, values


def _toml(folders: list[str], values: dict[str, str]) -> str:
    """The config file's text (tomli-w escapes what TOML cannot hold raw)."""
    import tomli_w

    document: dict[str, object] = {"music_roots": folders}
    if values["lastfm_user"]:
        lastfm = {"user": values["lastfm_user"]}
        if values["lastfm_key"]:
            lastfm["api_key"] = values["lastfm_key"]
        document["lastfm"] = lastfm
    for table, key, value in (("listenbrainz", "user", values["listenbrainz_user"]),
                              ("cf", "dataset", values["dataset"]),
                              ("weekly", "playlist", values["playlist"])):  # fmt: skip
        if value:
            document[table] = {key: value}
    return tomli_w.dumps(document)


def _check_text(answers: list[tuple[str, str]]) -> None:
    """Refuse, in one line, an answer TOML cannot hold: a name whose bytes are not UTF-8
    arrives from the command line with surrogate escapes, and the config is UTF-8 text."""
    for flag, answer in answers:
        try:
            answer.encode("utf-8")
        except UnicodeEncodeError:
            shown = display_path(os.fsencode(answer))
            raise fail(
                f"{flag} {shown}: the config file holds UTF-8 text only, and this name is "
                "not UTF-8: rename it, or give a link to it whose name is"
            ) from None
