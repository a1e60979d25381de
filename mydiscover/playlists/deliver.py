"""Where the weekly goes besides a file: MPD's stored playlists, ListenBrainz and Jellyfin,
each set up from the settings and the environment, each ending in one summary line.

Every push replaces the playlist "Discover Weekly" in place (the same playlist week after week)
and names the picks it could not put there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from mydiscover.config import Settings, exposed_secret_warning, listenbrainz_token
from mydiscover.errors import MydiscoverError
from mydiscover.playlists.write import Entry

#: The playlist every push fills.
PLAYLIST = "Discover Weekly"
ENV_MPD_PASSWORD = "MYDISCOVER_MPD_PASSWORD"
ENV_JELLYFIN_TOKEN = "MYDISCOVER_JELLYFIN_TOKEN"
ENV_JELLYFIN_PASSWORD = "MYDISCOVER_JELLYFIN_PASSWORD"


@dataclass(frozen=True)
class Delivered:
    """What a push did, for people: its summary line and any warnings."""

    summary: str
    warnings: list[str] = field(default_factory=list)


#: A push: the settings, the weekly's name and its entries in, what it did out.
Push = Callable[[Settings, str, list[Entry]], Delivered]


def to_mpd(address: tuple[str, int]) -> Push:
    """A push to the MPD server at ``address`` (its password from the environment)."""

    def push(settings: Settings, name: str, entries: list[Entry]) -> Delivered:
        from mydiscover.playlists.mpd import push_to_mpd

        host, port = address
        pushed = push_to_mpd(host, port, PLAYLIST, entries, os.environ.get(ENV_MPD_PASSWORD))
        warnings = [f"left out of MPD's playlist {path}: its name is not UTF-8, which the MPD "
                    "protocol needs" for path in pushed.unsendable]  # fmt: skip
        return Delivered(f"MPD at {host}:{port}: stored playlist '{PLAYLIST}' now holds {name}: "
                         f"{pushed.added} tracks{left_out(pushed.missing, 'not in its database')}",
                         warnings)  # fmt: skip

    return push


def to_listenbrainz(settings: Settings, name: str, entries: list[Entry]) -> Delivered:
    """Push to the configured ListenBrainz user's playlist (the token from the environment,
    else the config file)."""
    from mydiscover.playlists.listenbrainz import push_to_listenbrainz

    user = settings.listenbrainz.user
    token, from_config = listenbrainz_token(settings)
    if not user or not token:
        raise MydiscoverError("--listenbrainz needs [listenbrainz] user in the config and a user "
                              "token (MYDISCOVER_LISTENBRAINZ_TOKEN, or [listenbrainz] token): "
                              "https://listenbrainz.org/settings/")  # fmt: skip
    warnings = _exposed(settings, from_config, "a ListenBrainz token")
    pushed = push_to_listenbrainz(
        str(user), token, PLAYLIST, entries, f"{name}, by mydiscover",
        api_url=settings.listenbrainz.api_url,
    )  # fmt: skip
    how = "created" if pushed.created else "replaced"
    left = left_out(pushed.untagged, "without a MusicBrainz recording ID")
    return Delivered(f"ListenBrainz: playlist '{PLAYLIST}' ({pushed.playlist_mbid}) {how}, "
                     f"holding {name}: {pushed.added} tracks{left}", warnings)  # fmt: skip


def to_jellyfin(url: str) -> Push:
    """A push to the Jellyfin server at ``url`` ([jellyfin] user with a password from the
    environment, or a user's token from the environment or the config file)."""

    def push(settings: Settings, name: str, entries: list[Entry]) -> Delivered:
        from mydiscover.playlists.jellyfin import JellyfinClient, push_to_jellyfin

        token = os.environ.get(ENV_JELLYFIN_TOKEN) or settings.jellyfin.token
        from_config = not os.environ.get(ENV_JELLYFIN_TOKEN) and bool(settings.jellyfin.token)
        warnings = _exposed(settings, from_config, "a Jellyfin token")
        client = JellyfinClient(url, user=settings.jellyfin.user or None, token=token or None,
                                password=os.environ.get(ENV_JELLYFIN_PASSWORD))  # fmt: skip
        pushed = push_to_jellyfin(client, PLAYLIST, entries)
        how = "created" if pushed.created else "replaced"
        return Delivered(f"Jellyfin at {client.host}: playlist '{PLAYLIST}' ({pushed.playlist_id})"
                         f" {how}, holding {name}: {pushed.added} tracks"
                         f"{left_out(pushed.missing, 'not on the server')}", warnings)  # fmt: skip

    return push


def left_out(names: list[str], why: str) -> str:
    """ "; 2 why: A, B" for a summary line ("" when none)."""
    return f"; {len(names)} {why}: " + ", ".join(names) if names else ""


def _exposed(settings: Settings, from_config: bool, secret: str) -> list[str]:
    """The warning for a secret read from a config file others can read (if it was)."""
    warning = exposed_secret_warning(settings, secret) if from_config else None
    return [warning] if warning else []
