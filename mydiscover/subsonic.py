"""A Subsonic / OpenSubsonic API client (Navidrome, Gonic, Airsonic, supysonic...).

Authentication is by token (``t`` = md5(password + salt), ``s`` = salt); a server that refuses
tokens (supysonic answers error 10, older ones 41) gets the password hex-encoded (``p=enc:``),
as the API allows, but only over https or where the config opts in (``[subsonic]
allow_plain_password``): hex is no encryption, and over http anyone on the way reads it. The
password is never put in a message: errors name the server's host and the API's own error text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mydiscover.http import MAX_JSON_BYTES, HttpError, Transport, TryAgain, host_of

API_VERSION = "1.16.1"
CLIENT = "mydiscover"
#: Songs per search3 page.
PAGE_SIZE = 500
#: The most search3 pages one listing reads when the server reports no song count (a million
#: songs): the last guard against a server whose pages never end.
MAX_PAGES = 2000
_TOKEN_REFUSED = {10, 41, 42}  # parameter missing / token auth not supported / not for LDAP
_WRONG_CREDENTIALS = 40

log = logging.getLogger("mydiscover.subsonic")


class SubsonicError(HttpError):
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
    track: int | None = None  # the track number on its album

    @classmethod
    def from_api(cls, song: dict[str, Any]) -> Song:
        """Read a ``child`` object of the API."""
        return cls(
            str(song.get("id", "")), str(song.get("title") or ""), str(song.get("artist") or ""),
            str(song.get("album") or ""), _number(song.get("duration")),
            str(song.get("musicBrainzId") or ""), int(_number(song.get("playCount")) or 0),
            bool(song.get("starred")), str(song.get("path") or ""),
            int(number) if (number := _number(song.get("track"))) is not None else None,
        )  # fmt: skip


class SubsonicClient:
    """One server, one user."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        timeout: float = 30.0,
        allow_plain_password: bool = False,
    ) -> None:
        self.base = url.rstrip("/")
        self.host = host_of(url)
        self.user = user
        self._password = password
        self._use_token = True
        #: Whether a server that refuses tokens may get the password (hex, not encrypted)
        #: over plain http; over https it always may.
        self.allow_plain_password = allow_plain_password
        self._transport = Transport(
            headers={"Accept": "application/json"}, timeout=timeout, deadline=4 * timeout,
            max_bytes=MAX_JSON_BYTES, error=SubsonicError,
        )  # fmt: skip

    def ping(self) -> None:
        """Check the server and the credentials."""
        self._call("ping")

    def songs(self) -> SongListing:
        """Every song on the server, once each, by paging ``search3`` with an empty query;
        the listing's ``complete`` says, once iterated, whether it reached the last page."""
        return SongListing(self)

    def song_page(self, offset: int) -> list[Song]:
        """One ``search3`` page of songs, from ``offset``."""
        body = self._call("search3", {"query": "", "songCount": PAGE_SIZE,
                                      "songOffset": offset, "artistCount": 0,
                                      "albumCount": 0})  # fmt: skip
        return [Song.from_api(song) for song in _list(body.get("searchResult3", {}).get("song"))]

    def song_count(self) -> int | None:
        """How many songs the server says it holds (``getScanStatus`` ``count``), or None
        where it does not say: during a scan the count is the scan's progress, supysonic
        answers 0 when idle, and some servers keep the method for admins."""
        try:
            status = self._call("getScanStatus").get("scanStatus")
        except SubsonicError:
            return None
        if not isinstance(status, dict) or status.get("scanning") is not False:
            return None
        count = _number(status.get("count"))
        return int(count) if count and count > 0 else None

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
            # This server wants the password itself, and p=enc: is only hex: over http
            # anyone on the way (a café's Wi-Fi, a proxy's logs) could read it.
            if not (self.allow_plain_password or urlsplit(self.base).scheme.lower() == "https"):
                raise SubsonicError(
                    f"{self.host} does not accept token authentication and would need the "
                    "password itself, which is sent nearly in clear over http; use https, or "
                    "set allow_plain_password = true in [subsonic] to accept that"
                )
            self._use_token = False
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
            # No retries: createPlaylist is not idempotent, and a sync is simply run again.
            answer = self._transport.get(f"{self.base}/rest/{method}.view", query)
        except TryAgain as problem:
            raise SubsonicError(f"{self.host}: {method}: {problem.reason}") from None
        if answer.status >= 400:
            raise SubsonicError(f"{self.host}: {method} answered HTTP {answer.status}")
        if not answer.body:  # supysonic's createPlaylist
            return {"status": "ok"}
        try:
            body = json.loads(answer.body.decode("utf-8-sig"))["subsonic-response"]
        except (ValueError, KeyError, TypeError):
            raise SubsonicError(f"{self.host}: {method}: not a Subsonic answer") from None
        return body if isinstance(body, dict) else {}


class SongListing:
    """The songs of one server as ``search3`` pages them, each song once.

    Paging stops early, with one warning, where it could otherwise never end: when a full page
    brings no song not already listed (a server that ignores ``songOffset`` answers the first
    page again and again), or after the pages twice the server's own song count fills (or
    :data:`MAX_PAGES` where it gives none). ``complete`` is then False, and stays False for a
    listing not iterated to its end, so that nobody takes the songs it missed as gone.
    """

    def __init__(self, client: SubsonicClient) -> None:
        self._client = client
        self.complete = False

    def __iter__(self) -> Iterator[Song]:
        """Page through the server's songs (afresh on each iteration)."""
        self.complete = False
        seen: set[str] = set()
        offset, pages, most_pages, reported = 0, 0, None, None
        while True:
            page = self._client.song_page(offset)
            pages += 1
            new = 0
            for song in page:
                if song.id not in seen:  # paging while the server rescans can repeat a song
                    seen.add(song.id)
                    new += 1
                    yield song
            if len(page) < PAGE_SIZE:
                self.complete = True
                return
            if not new:
                self._stopped(f"search3 answered a page of songs already listed (the server "
                              f"seems to ignore songOffset), so the listing stopped at "
                              f"{len(seen):,} songs")  # fmt: skip
                return
            if most_pages is None:
                # Asked only now, when there is more than one page: one request more for big
                # libraries, none for small ones.
                reported = self._client.song_count()
                # Room for twice the count, and a page: the count is a scan's, which some
                # servers keep for files rather than songs, and songs come in while we page.
                most_pages = 2 * reported // PAGE_SIZE + 2 if reported else MAX_PAGES
            if pages >= most_pages:
                said = (
                    f"twice the {reported:,} songs the server reports"
                    if reported
                    else f"{MAX_PAGES * PAGE_SIZE:,} songs, the most this client lists"
                )
                self._stopped(
                    f"search3 was still giving songs after {pages:,} pages, more than {said}, "
                    f"so the listing stopped at {len(seen):,} songs"
                )
                return
            offset += PAGE_SIZE

    def _stopped(self, why: str) -> None:
        log.warning("%s: %s; the song listing may be incomplete", self._client.host, why)


def _list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
