"""Optional enrichment from public similarity services: who is like each of the user's artists.

Last.fm's ``artist.getSimilar`` (needs the user's API key) and ListenBrainz's labs
``similar-artists`` (needs the artist's MusicBrainz ID) list artists that people play together.
Their lists are stored and cached for :data:`CACHE_DAYS`; scoring uses them for library artists
the public co-listening data lacks. Requests go through :class:`ApiSession`: paced, retried,
with an honest User-Agent.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mydiscover.cf.tables import (
    ArtistPlays,
    SimilarArtist,
    artists_due,
    store_similar,
    user_artist_plays,
)
from mydiscover.config import Settings, missing_api_key_message
from mydiscover.errors import MydiscoverError
from mydiscover.http import ApiSession
from mydiscover.lastfm import MIN_INTERVAL as LASTFM_INTERVAL
from mydiscover.lastfm import NOT_FOUND, LastfmApi, LastfmError
from mydiscover.library.match import artist_key

SOURCES = ("lastfm", "listenbrainz")
#: ListenBrainz's session-based artist similarity, the one its own radio uses.
LISTENBRAINZ_ALGORITHM = (
    "session_based_days_7500_session_300_contribution_5_threshold_10_limit_100_filter_True_skip_30"
)
#: How long a service's answer is trusted before it is asked again.
CACHE_DAYS = 30
#: How many similar artists to keep per artist.
SIMILAR_PER_ARTIST = 100


@dataclass
class EnrichReport:
    """What an enrichment run did, per source."""

    asked: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # e.g. no MBID for ListenBrainz

    def lines(self) -> list[str]:
        """One summary line per source."""
        return [
            f"{source}: asked about {self.asked.get(source, 0)} artists, "
            f"{self.found.get(source, 0):,} similar artists listed; {cached} cached"
            + (f", {self.skipped[source]} without a MusicBrainz ID" if self.skipped[source] else "")
            for source, cached in self.cached.items()
        ]


def configured_fetchers(
    source: str, settings: Settings, lastfm_api_key: str | None
) -> tuple[dict[str, Callable[[ArtistPlays], list[SimilarArtist]]], list[str]]:
    """The fetch function of each source asked for (``all``: those usable), and notes about the
    ones left out. Base URLs come from the config ([lastfm] api_url, [listenbrainz] labs_url)."""
    if source not in (*SOURCES, "all"):
        raise MydiscoverError(f"unknown source {source!r}: choose lastfm, listenbrainz or all")
    fetchers: dict[str, Callable[[ArtistPlays], list[SimilarArtist]]] = {}
    notes: list[str] = []
    if source in ("lastfm", "all"):
        if lastfm_api_key:
            api_url = settings.lastfm.api_url
            session = ApiSession(api_url, min_interval=LASTFM_INTERVAL)
            fetchers["lastfm"] = partial(lastfm_similar, session, lastfm_api_key)
        elif source == "lastfm":
            raise MydiscoverError(missing_api_key_message(settings.config_file))
        else:
            notes.append("Last.fm skipped: no API key ([lastfm] api_key in the config file)")
    if source in ("listenbrainz", "all"):
        labs = ApiSession(settings.listenbrainz.labs_url, min_interval=1.0)
        fetchers["listenbrainz"] = partial(listenbrainz_similar, labs)
    return fetchers, notes


def lastfm_similar(session: ApiSession, api_key: str, artist: ArtistPlays) -> list[SimilarArtist]:
    """Last.fm's similar artists for ``artist``, asked by name (Last.fm's own artist MBIDs are
    often missing or stale, while its name autocorrection is good)."""
    api = LastfmApi(api_key, session=session)
    try:
        body = api.call("artist.getsimilar", {"limit": SIMILAR_PER_ARTIST, "autocorrect": 1,
                                              "artist": artist.name})  # fmt: skip
    except LastfmError as refused:
        if refused.code == NOT_FOUND:
            return []
        raise
    listed = body.get("similarartists", {}).get("artist", [])
    listed = [listed] if isinstance(listed, dict) else listed
    similar = []
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict) and entry.get("name"):
            similar.append(
                SimilarArtist(
                    artist_key(entry["name"]), entry["name"], entry.get("mbid") or "",
                    _clamp(entry.get("match")),
                )
            )  # fmt: skip
    return similar


def listenbrainz_similar(session: ApiSession, artist: ArtistPlays) -> list[SimilarArtist]:
    """ListenBrainz's similar artists for ``artist`` (which must have an MBID); the scores,
    raw co-listening counts, are scaled so the most similar is 1."""
    params = {"artist_mbids": artist.mbid, "algorithm": LISTENBRAINZ_ALGORITHM}
    body, _ = session.get_json("similar-artists/json", params)
    if isinstance(body, dict):  # some deployments wrap the list
        body = body.get("similar_artists") or body.get("payload") or []
    entries = [
        e
        for e in (body if isinstance(body, list) else [])
        if isinstance(e, dict) and e.get("name") and e.get("artist_mbid") != artist.mbid
    ][:SIMILAR_PER_ARTIST]
    top = max((_number(e.get("score")) for e in entries), default=0.0) or 1.0
    return [
        SimilarArtist(
            artist_key(e["name"]), e["name"], e.get("artist_mbid") or "",
            _clamp(_number(e.get("score")) / top),
        )
        for e in entries
    ]  # fmt: skip


def enrich(
    conn: sqlite3.Connection,
    fetchers: dict[str, Callable[[ArtistPlays], list[SimilarArtist]]],
    *,
    artists: int = 50,
    lacking: Sequence[ArtistPlays] = (),
    progress: Callable[[int, int], None] | None = None,
    now: Callable[[], float] = time.time,
) -> EnrichReport:
    """Ask each source about the user's ``artists`` most played artists, and about the
    ``lacking`` ones (library artists the public data lacks, whose own lists score them), that
    it has not been asked about in :data:`CACHE_DAYS`; each answer is committed as it arrives
    (an interrupted run keeps what it got, and the next one goes on from there). ``fetchers``
    maps a source name to its fetch function."""
    report = EnrichReport()
    top = sorted(user_artist_plays(conn), key=lambda artist: -artist.plays)[:artists]
    asked = {artist.key for artist in top}
    top += [artist for artist in lacking if artist.key not in asked]
    plan: list[tuple[str, ArtistPlays]] = []
    for source in fetchers:
        due = artists_due(conn, source, top, int(now()) - CACHE_DAYS * 86_400)
        report.cached[source] = len(top) - len(due)
        usable = [artist for artist in due if artist.mbid or source != "listenbrainz"]
        report.skipped[source] = len(due) - len(usable)
        plan += [(source, artist) for artist in usable]
    for done, (source, artist) in enumerate(plan, 1):
        similar = fetchers[source](artist)
        store_similar(conn, source, artist.key, similar, int(now()))
        report.asked[source] = report.asked.get(source, 0) + 1
        report.found[source] = report.found.get(source, 0) + len(similar)
        if progress:
            progress(done, len(plan))
    return report


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _clamp(value: Any) -> float:
    return min(max(_number(value), 0.0), 1.0)
