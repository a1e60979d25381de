"""The weekly as the listener's "Discover Weekly" playlist on ListenBrainz (its playlist API).

ListenBrainz playlists hold recordings by MusicBrainz ID, so only the picks whose tags carry
one can go there (the others are named). The playlist is found among the user's own by its
title and replaced in place (its items deleted, the week's added), so it keeps its id and
link; the first push creates it, private.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mydiscover.config import LISTENBRAINZ_API_URL as DEFAULT_API_URL
from mydiscover.errors import MydiscoverError
from mydiscover.http import ApiSession, ServiceError
from mydiscover.playlists.write import JSPF_PLAYLIST, MUSICBRAINZ, Entry

PLAYLIST_PREFIX = "https://listenbrainz.org/playlist/"
#: The most recordings ListenBrainz takes in one item/add call.
PER_ADD = 100
#: The user's playlists are listed this many a page.
PAGE = 100
#: Seconds between requests: ListenBrainz asks clients to keep to its rate limits.
MIN_INTERVAL = 0.5


@dataclass(frozen=True)
class ListenBrainzPush:
    """What a push did: the playlist's id, how many recordings it holds, whether it is new,
    and the picks left out for want of a recording MBID ("Artist - Title")."""

    playlist_mbid: str
    added: int
    created: bool
    untagged: list[str]


def push_to_listenbrainz(
    user: str,
    token: str,
    title: str,
    entries: list[Entry],
    annotation: str,
    *,
    api_url: str = DEFAULT_API_URL,
    session: ApiSession | None = None,
) -> ListenBrainzPush:
    """Replace (or create) the user's playlist ``title`` with the entries that carry a
    recording MBID, in order; MydiscoverError when none does."""
    untagged = [f"{e.artist} - {e.title}" for e in entries if not e.recording_mbid]
    if not entries:
        raise MydiscoverError("the weekly holds no track to put on ListenBrainz")
    if len(untagged) == len(entries):
        raise MydiscoverError(f"none of the {len(entries)} picks is tagged with a MusicBrainz "
                              "recording ID, which ListenBrainz playlists need (tag them with "
                              "MusicBrainz Picard or beets, then 'mydiscover scan')")  # fmt: skip
    session = session or ApiSession(api_url, min_interval=MIN_INTERVAL)
    auth = {"Authorization": f"Token {token}"}
    tracks = [{"identifier": f"{MUSICBRAINZ}/recording/{e.recording_mbid}"}
              for e in entries if e.recording_mbid]  # fmt: skip
    existing = _find_playlist(session, user, title, auth)
    if existing is None:
        body = _checked(session.post_json("1/playlist/create", {"playlist": {
            "title": title, "annotation": annotation, "track": tracks,
            "extension": {JSPF_PLAYLIST: {"public": False}},
        }}, headers=auth), token)  # fmt: skip
        return ListenBrainzPush(str(body.get("playlist_mbid", "")), len(tracks), True, untagged)
    current, _ = session.get_json(f"1/playlist/{existing}", {"fetch_metadata": "false"},
                                  headers=auth)  # fmt: skip
    held = len(_checked(current, token).get("playlist", {}).get("track", []))
    if held:
        _checked(session.post_json(f"1/playlist/{existing}/item/delete",
                                   {"index": 0, "count": held}, headers=auth), token)  # fmt: skip
    for start in range(0, len(tracks), PER_ADD):
        _checked(session.post_json(f"1/playlist/{existing}/item/add",
                                   {"playlist": {"track": tracks[start : start + PER_ADD]}},
                                   headers=auth), token)  # fmt: skip
    return ListenBrainzPush(existing, len(tracks), False, untagged)


def _find_playlist(session: ApiSession, user: str, title: str, auth: dict[str, str]) -> str | None:
    """The id of the user's own playlist called ``title`` (the first listed, if several)."""
    offset = 0
    while True:
        body, _ = session.get_json(f"1/user/{user}/playlists", {"count": PAGE, "offset": offset},
                                   headers=auth)  # fmt: skip
        body = _checked(body, auth["Authorization"].removeprefix("Token "))
        listed = body.get("playlists") or []
        for item in listed:
            playlist = item.get("playlist", {}) if isinstance(item, dict) else {}
            identifier = str(playlist.get("identifier", ""))
            if playlist.get("title") == title and identifier.startswith(PLAYLIST_PREFIX):
                return identifier.removeprefix(PLAYLIST_PREFIX)
        offset += len(listed)
        if not listed or offset >= int(body.get("playlist_count") or 0):
            return None


def _checked(body: Any, token: str) -> dict[str, Any]:
    """The answer as a dict, or ServiceError saying what ListenBrainz refused (never the
    token, even if the server echoed it)."""
    if not isinstance(body, dict):
        raise ServiceError("ListenBrainz answered something that is not a JSON object")
    if body.get("code") == 401 or "invalid authorization" in str(body.get("error", "")).lower():
        raise ServiceError("ListenBrainz refused the user token: check it at "
                           "https://listenbrainz.org/settings/")  # fmt: skip
    if "error" in body:
        raise ServiceError(f"ListenBrainz: {str(body['error']).replace(token, '<token>')}")
    return body
