"""``mydiscover init``: the first-run setup, written to the config file (0600)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mydiscover.cli.common import ConfigOption, DbOption, err, fail, settings_from


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
    ask = not yes and sys.stdin.isatty()

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
    _write_private(path, _toml(folders, values))
    err.print(f"wrote {escape(str(path))} (readable by you only). Next: 'mydiscover scan', then "
              "'mydiscover weekly > discover.m3u'.", highlight=False)  # fmt: skip


def _toml(folders: list[str], values: dict[str, str]) -> str:
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"music_roots = [{', '.join(quoted(f) for f in folders)}]"]
    if values["lastfm_user"]:
        lines += ["", "[lastfm]", f"user = {quoted(values['lastfm_user'])}"]
        if values["lastfm_key"]:
            lines.append(f"api_key = {quoted(values['lastfm_key'])}")
    if values["listenbrainz_user"]:
        lines += ["", "[listenbrainz]", f"user = {quoted(values['listenbrainz_user'])}"]
    if values["dataset"]:
        lines += ["", "[cf]", f"dataset = {quoted(values['dataset'])}"]
    if values["playlist"]:
        lines += ["", "[weekly]", f"playlist = {quoted(values['playlist'])}"]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` created 0600 (it may hold an API key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    partial.replace(path)
