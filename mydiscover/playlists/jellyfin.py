"""The weekly as the listener's "Discover Weekly" playlist on a Jellyfin server (10.9 or later).

Jellyfin's HTTP API names tracks by its own item ids, so each pick is looked up among the
server's audio items: by file path (a server on the same disk as the library), then by
MusicBrainz recording ID (``ProviderIds.MusicBrainzRecording``, which Jellyfin reads from
``MUSICBRAINZ_TRACKID``), then by artist and title within a few seconds of the length, the
album breaking ties. Picks the server lacks are named.

The playlist is found among the user's by name and replaced in place with one
``POST /Playlists/{id}`` (``UpdatePlaylistDto.Ids`` clears it and adds the week's tracks, in
order), so it keeps its id; the first push creates it, private. That update takes the calling
user's identity: a user's access token (or their password, to log in with) works, a server API
key does not (Jellyfin answers 400; jellyfin/jellyfin#13476), so a key is refused before the
first push, rather than working one week and failing the next.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mydiscover import __version__
from mydiscover.errors import MydiscoverError
from mydiscover.http import ApiSession, ServiceError, ServiceRefused
from mydiscover.library.match import TagCandidate, artist_key, closest_candidate, title_key
from mydiscover.playlists.write import Entry

#: Audio items listed per request.
PAGE = 500
API_KEY_REFUSED = ("a server API key cannot change a user's playlist (Jellyfin takes the "
                   "caller's own user there, and a key has none): give a user's access token "
                   "(MYDISCOVER_JELLYFIN_TOKEN), or [jellyfin] user and "
                   "MYDISCOVER_JELLYFIN_PASSWORD")  # fmt: skip
#: Jellyfin's run times are in ticks of 100 ns.
TICKS_PER_SECOND = 10_000_000


@dataclass(frozen=True)
class JellyfinPush:
    """What a push did: the playlist's id, how many tracks it holds, whether it is new, and
    the picks the server has no item for ("Artist - Title")."""

    playlist_id: str
    added: int
    created: bool
    missing: list[str]


class JellyfinClient:
    """The few calls a playlist push needs, with a user's access token (or an API key), or
    logged in with the user's password."""

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        token: str | None = None,
        password: str | None = None,
        session: ApiSession | None = None,
    ) -> None:
        if not token and not (user and password):
            raise MydiscoverError("Jellyfin needs a user's access token "
                                  "(MYDISCOVER_JELLYFIN_TOKEN) or [jellyfin] user with their "
                                  "password (MYDISCOVER_JELLYFIN_PASSWORD)")  # fmt: skip
        if not url.startswith(("http://", "https://")):
            raise MydiscoverError(f"{url!r}: give the Jellyfin server's address as "
                                  "http://host:8096 or https://...")  # fmt: skip
        # The user's own server: no pacing between the few requests of a push.
        self.session = session or ApiSession(url.rstrip("/"), min_interval=0.0)
        self.host = self.session.host
        self.user = user
        self._token = token or ""
        self._user_id = ""
        # The one header form every Jellyfin version accepts (the X-Emby-* ones are legacy,
        # off by default in newer servers). The device id stays the same run after run, so
        # the server's device list does not grow a line per push.
        device = socket.gethostname()
        device_id = hashlib.sha256(f"mydiscover {device} {user or ''}".encode()).hexdigest()
        self._device = {"Client": "mydiscover", "Device": device, "DeviceId": device_id[:32],
                        "Version": __version__}  # fmt: skip
        #: Whether the token turned out to be a server API key (it has no user of its own).
        self.api_key = False
        if not token and user and password:
            self._log_in(user, password)

    def user_id(self) -> str:
        """The id of the user the playlist belongs to: the token's own user, or (with an API
        key, which has none) the configured ``user`` among the server's users."""
        if self._user_id:
            return self._user_id
        try:
            self._user_id = _field(self._get("Users/Me"), "Id", self.host)
        except ServiceRefused as refused:
            if refused.status != 400:
                raise
            # An API key has no user of its own: Jellyfin answers /Users/Me with 400.
            self.api_key = True
            if not self.user:
                raise MydiscoverError(
                    f"{self.host}: the token is a server API key, which belongs to no user: "
                    "set [jellyfin] user"
                ) from None
            listed = self._get("Users")
            found = [u for u in _items(listed) if str(u.get("Name", "")) == self.user]
            if not found:
                raise MydiscoverError(f"{self.host}: no Jellyfin user {self.user!r}") from None
            self._user_id = _field(found[0], "Id", self.host)
        return self._user_id

    def audio_items(self) -> Iterator[dict[str, Any]]:
        """Every audio item the user can see, with its path and provider ids, page by page
        (stopping, rather than looping, on a page that adds nothing)."""
        start, seen = 0, set()
        while True:
            page = self._get("Items", {
                "userId": self.user_id(), "includeItemTypes": "Audio", "recursive": "true",
                "fields": "Path,ProviderIds", "startIndex": start, "limit": PAGE,
                "enableImages": "false", "enableUserData": "false",
            })  # fmt: skip
            items = [item for item in _items(page) if str(item.get("Id", "")) not in seen]
            yield from items
            seen.update(str(item.get("Id", "")) for item in items)
            start += len(_items(page))
            total = page.get("TotalRecordCount") if isinstance(page, dict) else None
            if not items or (isinstance(total, int) and start >= total):
                return

    def replace_playlist(self, name: str, item_ids: list[str]) -> tuple[str, bool]:
        """Make the user's playlist ``name`` hold exactly ``item_ids``, in order, keeping its
        id when it exists (created private otherwise). Returns its id and whether it is new."""
        user_id = self.user_id()
        if self.api_key:
            # A key could create the playlist, but never update it in place (Jellyfin takes
            # the caller's own user there and a key has none): refuse before the first week.
            raise MydiscoverError(f"{self.host}: {API_KEY_REFUSED}")
        listed = self._get("Items", {"userId": user_id, "includeItemTypes": "Playlist",
                                     "recursive": "true"})  # fmt: skip
        existing = [p for p in _items(listed) if p.get("Name") == name and p.get("Id")]
        if not existing:
            created = self._post("Playlists", {
                "Name": name, "Ids": item_ids, "UserId": user_id, "MediaType": "Audio",
                "IsPublic": False,
            })  # fmt: skip
            return _field(created, "Id", self.host), True
        playlist_id = str(existing[0]["Id"])
        try:
            self._post(f"Playlists/{playlist_id}", {"Ids": item_ids})
        except ServiceRefused as refused:
            if refused.status == 400:
                raise ServiceError(
                    f"{self.host}: Jellyfin refused to change the playlist (HTTP 400): it "
                    "needs Jellyfin 10.9 or later"
                ) from None
            raise
        held = _items(self._get(f"Playlists/{playlist_id}/Items", {"userId": user_id}))
        if len(held) != len(item_ids):
            raise ServiceError(f"{self.host}: the playlist {name!r} holds {len(held)} tracks "
                               f"after the update, not {len(item_ids)}")  # fmt: skip
        return playlist_id, False

    def _log_in(self, user: str, password: str) -> None:
        body = self._post("Users/AuthenticateByName", {"Username": user, "Pw": password})
        self._token = _field(body, "AccessToken", self.host)
        user_record = body.get("User")
        self._user_id = str(user_record.get("Id") or "") if isinstance(user_record, dict) else ""

    def _authorization(self) -> dict[str, str]:
        fields = {**self._device}
        if self._token:
            fields["Token"] = self._token
        return {"Authorization": "MediaBrowser " + ", ".join(
            f'{key}="{quote(value, safe="")}"' for key, value in fields.items())}  # fmt: skip

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            body, _ = self.session.get_json(path, params, headers=self._authorization())
        except ServiceRefused as refused:
            raise self._explained(refused) from None
        return self._unless_refused(body)

    def _post(self, path: str, payload: Any) -> Any:
        try:
            body = self.session.post_json(path, payload, headers=self._authorization())
        except ServiceRefused as refused:
            raise self._explained(refused) from None
        return self._unless_refused(body)

    def _unless_refused(self, body: Any) -> Any:
        """The body, unless it is an ASP.NET problem report (a 4xx in JSON: ``status``)."""
        status = body.get("status") if isinstance(body, dict) else None
        if isinstance(status, int) and 400 <= status < 500:
            refused = ServiceRefused(f"{self.host} answered HTTP {status}: "
                                     f"{body.get('title') or 'refused'}", status)  # fmt: skip
            raise self._explained(refused)
        return body

    def _explained(self, refused: ServiceRefused) -> ServiceRefused:
        """The refusal in words, where its status alone says what went wrong."""
        if refused.status == 401:
            how = "password" if self.user and not self._token else "token"
            return ServiceRefused(f"{self.host}: Jellyfin refused the {how} (HTTP 401)", 401)
        if refused.status == 403:
            return ServiceRefused(f"{self.host}: Jellyfin does not let this user change that "
                                  "playlist (HTTP 403): is it another user's?", 403)  # fmt: skip
        if refused.status in (404, 405):
            return ServiceRefused(f"{self.host}: Jellyfin has no such call (HTTP "
                                  f"{refused.status}): is it Jellyfin 10.9 or later, and the "
                                  "server's own address?", refused.status)  # fmt: skip
        return refused


def push_to_jellyfin(client: JellyfinClient, name: str, entries: list[Entry]) -> JellyfinPush:
    """Replace (or create) the user's Jellyfin playlist ``name`` with the entries the server
    has; MydiscoverError when it has none of them."""
    if not entries:
        raise MydiscoverError("the weekly holds no track to put on Jellyfin")
    index = _ServerIndex(client.audio_items())
    found = [(entry, index.find(entry)) for entry in entries]
    # Two picks can be one server track (two copies of a song, one on the server): Jellyfin
    # keeps an id once, so the playlist is given each once.
    item_ids = list(dict.fromkeys(item for _, item in found if item))
    missing = [f"{entry.artist} - {entry.title}" for entry, item in found if not item]
    if not item_ids:
        raise MydiscoverError(f"none of the {len(entries)} picks is on the Jellyfin server "
                              f"{client.host} (by path, MusicBrainz ID or tags): does it "
                              "serve this library?")  # fmt: skip
    playlist_id, created = client.replace_playlist(name, item_ids)
    return JellyfinPush(playlist_id, len(item_ids), created, missing)


class _ServerIndex:
    """The server's audio items by path, by recording MBID and by artist and title."""

    def __init__(self, items: Iterator[dict[str, Any]]) -> None:
        self.by_path: dict[str, str] = {}
        self.by_mbid: dict[str, str] = {}
        self.by_name: dict[tuple[str, str], list[TagCandidate]] = defaultdict(list)
        for item in items:
            item_id = str(item.get("Id") or "")
            if not item_id:
                continue
            if path := item.get("Path"):
                self.by_path.setdefault(str(path), item_id)
            providers = item.get("ProviderIds") or {}
            if mbid := str(providers.get("MusicBrainzRecording") or "").lower():
                self.by_mbid.setdefault(mbid, item_id)
            artists = item.get("Artists") or [item.get("AlbumArtist") or ""]
            ticks = item.get("RunTimeTicks")
            seconds = ticks / TICKS_PER_SECOND if isinstance(ticks, (int, float)) else None
            # No track number: a pick does not carry one, so the album and length decide.
            candidate = TagCandidate(item_id, seconds, title_key(item.get("Album")), None)
            self.by_name[(artist_key(str(artists[0])), title_key(item.get("Name")))].append(
                candidate
            )

    def find(self, entry: Entry) -> str | None:
        """The server's item id for a pick, or None."""
        if found := self.by_path.get(os.fsdecode(entry.path)):
            return found
        if entry.recording_mbid and (found := self.by_mbid.get(entry.recording_mbid.lower())):
            return found
        candidates = self.by_name.get((artist_key(entry.artist), title_key(entry.title)), [])
        best = closest_candidate(candidates, entry.album, None, entry.duration)
        return str(best.ref) if best else None


def _field(body: Any, name: str, host: str) -> str:
    """``body[name]`` as text, or ServiceError when the answer is not an object holding it."""
    value = body.get(name) if isinstance(body, dict) else None
    if not value:
        raise ServiceError(f"{host}: Jellyfin's answer holds no {name}")
    return str(value)


def _items(body: Any) -> list[dict[str, Any]]:
    """The items of a Jellyfin answer: its ``Items`` (a query result) or itself (a list)."""
    listed = body.get("Items") if isinstance(body, dict) else body
    return [item for item in listed if isinstance(item, dict)] if isinstance(listed, list) else []
