"""The weekly as an MPD stored playlist, over the MPD protocol (python-mpd2).

MPD names songs by their path relative to its ``music_directory``: the ``music-root`` paths,
when MPD's music folder is the one mydiscover scanned. The playlist is filled under a
temporary name and then renamed over the old one, so a client never sees it half made, and
a song MPD's database lacks is left out and named.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from mydiscover.errors import MydiscoverError
from mydiscover.paths import display_path
from mydiscover.playlists.write import Entry, playlist_path

DEFAULT_PORT = 6600
#: Seconds for connecting and for each command.
TIMEOUT = 10.0


@dataclass(frozen=True)
class MpdPush:
    """What a push did: the songs the playlist holds, those MPD does not know, and those the
    MPD protocol cannot name (a file name that is not UTF-8, shown with ``\\xNN``)."""

    added: int
    missing: list[str]
    unsendable: list[str]


def parse_address(text: str) -> tuple[str, int]:
    """ "host", "host:port" or "[v6]:port" -> (host, port); ValueError in one line if bad."""
    host, port = text, str(DEFAULT_PORT)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--mpd {text!r}: write HOST or HOST:PORT, e.g. localhost:6600")
    return host, int(port)


def push_to_mpd(
    host: str, port: int, name: str, entries: list[Entry], password: str | None = None
) -> MpdPush:
    """Replace (or create) the stored playlist ``name`` with the entries, in order, named by
    their paths relative to the music folder they were found in (MPD's own)."""
    from mpd import CommandError, ConnectionError, MPDClient

    uris, unsendable = [], []
    for entry in entries:
        path = playlist_path(entry, "music-root", None)
        try:
            uris.append(path.decode("utf-8"))  # the protocol is UTF-8 text
        except UnicodeDecodeError:
            unsendable.append(display_path(path))

    client = MPDClient()
    client.timeout = TIMEOUT
    where = f"MPD at {host}:{port}"
    try:
        client.connect(host, port)  # within client.timeout
    except OSError as error:
        raise MydiscoverError(f"{where}: cannot connect ({error.strerror or error})") from None
    try:
        if password:
            client.password(password)
        partial = f"{name}.partial-{os.getpid()}"
        missing = []
        for uri in uris:
            try:
                client.playlistadd(partial, uri)
            except CommandError:  # "No such directory/song": not in MPD's database
                missing.append(uri)
        if len(missing) == len(uris):
            raise MydiscoverError(f"{where}: none of the {len(uris)} tracks is in its database "
                                  "(is its music_directory the folder mydiscover scanned? "
                                  "has it run 'mpc update'?)")  # fmt: skip
        with contextlib.suppress(CommandError):  # there was none yet
            client.rm(name)
        client.rename(partial, name)
        return MpdPush(len(uris) - len(missing), missing, unsendable)
    except CommandError as error:
        raise MydiscoverError(f"{where}: {error}") from None
    except (ConnectionError, OSError) as error:
        raise MydiscoverError(f"{where}: the connection failed ({error})") from None
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            client.disconnect()
