"""A Subsonic / OpenSubsonic API client (Navidrome, Gonic, Airsonic, supysonic...).

Authentication is by token (``t`` = md5(password + salt), ``s`` = salt); a server that refuses
tokens (supysonic answers error 10, older ones 41) gets the password hex-encoded (``p=enc:``),
as the API allows. The password is never put in a message: errors name the server's host and
the API's own error text.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from mydiscover import __version__
from mydiscover.errors import MydiscoverError
from mydiscover.http import host_of

API_VERSION = "1.16.1"
CLIENT = "mydiscover"
#: Songs per search3 page.
PAGE_SIZE = 500
_TOKEN_REFUSED = {10, 41, 42}  # parameter missing / token auth not supported / not for LDAP
_WRONG_CREDENTIALS = 40


class SubsonicError(MydiscoverError):
    """The server refused a request, or could not be reached."""


@dataclass(frozen=True)
class Song:
    """A song as the server describes it."""

    id: str
    title: str
    artist: str
    album: str
    duration: float | None
    mbid: str  # OpenSubsonic musicBrainzId, "" when the server has none
    play_count: int
    starred: bool
    path: str  # often synthetic (Navidrome): never match by it alone

    @classmethod
    def from_api(cls, song: dict[str, Any]) -> Song:
        """Read a ``child`` object of the API."""
        return cls(
            str(song.get("id", "")), str(song.get("title") or ""), str(song.get("artist") or ""),
            str(song.get("album") or ""), _number(song.get("duration")),
            str(song.get("musicBrainzId") or ""), int(_number(song.get("playCount")) or 0),
            bool(song.get("starred")), str(song.get("path") or ""),
        )  # fmt: skip


class SubsonicClient:
    """One server, one user."""

    def __init__(self, url: str, user: str, password: str, *, timeout: float = 30.0) -> None:
        self.base = url.rstrip("/")
        self.host = host_of(url)
        self.user = user
        self._password = password
        self._use_token = True
        self.timeout = timeout
        self._http = requests.Session()
        self._http.headers["User-Agent"] = f"mydiscover/{__version__}"

    def ping(self) -> None:
        """Check the server and the credentials."""
        self._call("ping")

    def songs(self) -> Iterator[Song]:
        """Every song on the server, by paging ``search3`` with an empty query."""
        offset = 0
        while True:
            body = self._call("search3", {"query": "", "songCount": PAGE_SIZE,
                                          "songOffset": offset, "artistCount": 0,
                                          "albumCount": 0})  # fmt: skip
            page = _list(body.get("searchResult3", {}).get("song"))
            yield from (Song.from_api(song) for song in page)
            if len(page) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def starred(self) -> list[Song]:
        """The user's starred songs (``getStarred2``)."""
        body = self._call("getStarred2")
        return [Song.from_api(s) for s in _list(body.get("starred2", {}).get("song"))]

    def playlists(self) -> list[dict[str, Any]]:
        """The user's playlists (id, name, songCount...)."""
        return _list(self._call("getPlaylists").get("playlists", {}).get("playlist"))

    def replace_playlist(self, name: str, song_ids: Sequence[str]) -> str:
        """Make the playlist ``name`` hold exactly ``song_ids``, keeping its id when it exists
        (a player's pinned playlist stays the same one week after week). Returns the id."""
        mine = [p for p in self.playlists() if p.get("owner") in (None, self.user)]
        existing = [p for p in mine if p.get("name") == name]
        if existing:
            playlist_id = str(existing[0]["id"])
            self._call("createPlaylist", {"playlistId": playlist_id, "songId": list(song_ids)})
            return playlist_id
        body = self._call("createPlaylist", {"name": name, "songId": list(song_ids)})
        created = body.get("playlist", {}).get("id")
        if created:  # OpenSubsonic servers answer with the playlist...
            return str(created)
        for playlist in self.playlists():  # ...older ones (supysonic) with an empty body
            if playlist.get("name") == name and playlist.get("owner") in (None, self.user):
                return str(playlist["id"])
        raise SubsonicError(f"{self.host}: the playlist {name!r} was not created")

    # --- the protocol ------------------------------------------------------------------------

    def _call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self._request(method, params)
        error = body.get("error") if body.get("status") == "failed" else None
        if error and self._use_token and error.get("code") in _TOKEN_REFUSED:
            self._use_token = False  # this server wants the password itself
            body = self._request(method, params)
            error = body.get("error") if body.get("status") == "failed" else None
        if error:
            code, message = error.get("code"), error.get("message", "error")
            if code == _WRONG_CREDENTIALS:
                raise SubsonicError(f"{self.host}: wrong user name or password for {self.user!r}")
            raise SubsonicError(f"{self.host}: {method} failed: {message} (error {code})")
        return body

    def _request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        query: dict[str, Any] = {"u": self.user, "v": API_VERSION, "c": CLIENT, "f": "json"}
        if self._use_token:
            salt = secrets.token_hex(8)
            query["t"] = hashlib.md5((self._password + salt).encode()).hexdigest()
            query["s"] = salt
        else:
            query["p"] = "enc:" + self._password.encode().hex()
        query.update(params or {})
        try:
            response = self._http.get(f"{self.base}/rest/{method}.view", params=query,
                                      timeout=self.timeout)  # fmt: skip
        except requests.Timeout:
            raise SubsonicError(f"{self.host}: no answer to {method} (timed out)") from None
        except requests.RequestException:
            raise SubsonicError(
                f"{self.host}: cannot reach the server, or it went away ({method})"
            ) from None
        if response.status_code >= 400:
            raise SubsonicError(f"{self.host}: {method} answered HTTP {response.status_code}")
        if not response.content:  # supysonic's createPlaylist
            return {"status": "ok"}
        try:
            body = response.json()["subsonic-response"]
        except (ValueError, KeyError, TypeError):
            raise SubsonicError(f"{self.host}: {method}: not a Subsonic answer") from None
        return body if isinstance(body, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
