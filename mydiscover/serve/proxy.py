"""``serve --upstream URL``: a Subsonic API proxy in front of the user's music server.

Every request goes to the server unchanged, its answer streamed back byte for byte (a stream
or a download included), except the Instant Mix calls mydiscover answers from its own models,
in the server's song ids (the map ``mydiscover subsonic sync`` made): ``getSimilarSongs`` and
``getSimilarSongs2`` for a song or an artist, ``getTopSongs``, ``getArtistInfo`` and
``getArtistInfo2`` (their similar artists; the biography stays the server's), and the OpenSubsonic
``sonicSimilarity`` extension (``getSonicSimilarTracks``, ``findSonicPath``), which
``getOpenSubsonicExtensions`` then lists. A song or artist mydiscover does not know is asked of
the server as if the proxy were not there.

Credentials are the server's: before answering, the proxy asks the server whether the
client's own credentials are good (a ``ping`` with them), and remembers a good answer for a
minute by a digest of the credentials, never the credentials themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from yarl import URL

from mydiscover.library.match import artist_key
from mydiscover.recommend.radio import Radio, Similar
from mydiscover.serve.state import ServeState, SongMap
from mydiscover.serve.subsonic_format import (
    GENERIC,
    MISSING_PARAMETER,
    WRONG_CREDENTIALS,
    envelope,
    error_payload,
    render,
)

#: Headers that belong to one connection, never passed on (RFC 9110 7.6.1), and Host (the
#: server's own is sent).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
#: The request parameters that say who the client is (checked against the server).
AUTH_PARAMETERS = ("u", "p", "t", "s", "apiKey")
CREDENTIALS_TTL = 60.0
MAX_REMEMBERED = 1000
#: Seconds a server's song and artist listings are reused.
CATALOG_TTL = 600.0
SONIC = {"name": "sonicSimilarity", "versions": [1]}
#: Bytes relayed at a time: large chunks keep a stream's cost near the server's own.
STREAM_CHUNK = 1 << 20


class SubsonicProxy:
    """The proxy's state: one HTTP client to the server, and what it learnt from it."""

    def __init__(self, state: ServeState, timeout: float = 30.0) -> None:
        self.state = state
        self.upstream = state.upstream
        self.host = urlsplit(self.upstream).netloc
        self.timeout = timeout
        self._client: aiohttp.ClientSession | None = None
        self._good: dict[str, float] = {}  # credentials' digest -> when the server said so
        self._songs: dict[str, tuple[float, dict[str, Any]]] = {}  # song id -> (when, child)
        self._artists: tuple[float, dict[str, str]] = (0.0, {})  # artist key -> id

    @property
    def client(self) -> aiohttp.ClientSession:
        """The one HTTP client to the server (made in the server's event loop).

        aiohttp, not httpx: httpx reads a body 64 KiB at a time through a pure-Python parser,
        and a 50 MB stream through the proxy took 4.1x its time straight from the server;
        aiohttp's C parser and 1 MiB reads took about 2x (bench/bench_serve.py)."""
        if self._client is None:
            self._client = aiohttp.ClientSession(
                # A stream may wait long between bytes (a transcode starting).
                timeout=aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_read=300),
                connector=aiohttp.TCPConnector(limit=100),  # a mix's 50 getSong at once
                read_bufsize=STREAM_CHUNK,
                auto_decompress=False,  # bytes pass as the server sent them
                # The request as the client made it: no headers of aiohttp's own...
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"),
                # ...and no cookies of one client's kept for the next.
                cookie_jar=aiohttp.DummyCookieJar(),
                # The server is the user's own, reached directly, never through the
                # HTTP_PROXY a desktop may set for the internet.
                trust_env=False,
            )
        return self._client

    async def close(self) -> None:
        """Close the connections to the server."""
        if self._client is not None:
            await self._client.close()

    async def handle(self, request: Request) -> Response:
        """Answer one ``/rest/...`` request."""
        body = await request.body()
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))
        if request.method == "POST" and "urlencoded" in request.headers.get("content-type", ""):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        method = request.url.path.rsplit("/", 1)[-1].removesuffix(".view")
        fmt, callback = params.get("f", "xml"), params.get("callback", "")
        try:
            answer = await self._answer(method, params)
            if answer is not None:
                content, media = render(envelope(answer), fmt, callback)
                return Response(content, media_type=media)
            return await self._pass(request, body)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            message = f"the music server at {self.host} is not answering"
            content, media = render(
                envelope(error_payload(GENERIC, message), "failed"), fmt, callback
            )
            return Response(content, media_type=media)
        except _Refused as refused:
            content, media = render(envelope(refused.payload, "failed"), fmt, callback)
            return Response(content, media_type=media)

    async def _pass(self, request: Request, body: bytes) -> Response:
        """The request as the client made it, to the server; its answer streamed back."""
        query = f"?{request.url.query}" if request.url.query else ""
        url = URL(f"{self.upstream}{request.url.path}{query}", encoded=True)  # as it came
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        answer = await self.client.request(
            request.method, url, headers=headers, data=body or None, allow_redirects=False
        )

        async def relayed() -> AsyncIterator[bytes]:
            try:
                async for chunk in answer.content.iter_chunked(STREAM_CHUNK):
                    yield chunk
            finally:
                answer.release()

        response = StreamingResponse(relayed(), status_code=answer.status)
        # Every header as the server sent it, repeated ones (Set-Cookie) included.
        response.raw_headers = [
            (name.lower(), value)
            for name, value in answer.raw_headers
            if name.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        return response

    async def _answer(self, method: str, params: dict[str, str]) -> dict[str, Any] | None:
        """mydiscover's own payload for an Instant Mix call it can answer, else None."""
        if method == "getOpenSubsonicExtensions":
            return await self._extensions(params)
        if method not in _ANSWERED:
            return None
        radio, songs = await run_in_threadpool(self.state.radio)
        if method in ("getSimilarSongs", "getSimilarSongs2"):
            return await self._similar_songs(method, params, radio, songs)
        if method == "getSonicSimilarTracks":
            row = _row_of(radio, songs, _required(params, "id"))
            if row is None:
                return None
            await self._check_credentials(params)
            mix = await run_in_threadpool(radio.sonic_tracks, row, _count(params, 10), songs.rows)
            return {"sonicMatch": await self._matches(params, radio, songs, mix)}
        if method == "findSonicPath":
            start = _row_of(radio, songs, _required(params, "startSongId"))
            end = _row_of(radio, songs, _required(params, "endSongId"))
            if start is None or end is None:
                return None
            await self._check_credentials(params)
            path = await run_in_threadpool(
                radio.sonic_path, start, end, _count(params, 25), songs.rows
            )
            steps = [
                Similar(row, 0.0, _step_similarity(radio, previous, row), None)
                for previous, row in zip([path[0], *path], path, strict=False)
            ]
            return {"sonicMatch": await self._matches(params, radio, songs, steps)}
        if method == "getTopSongs":
            name = _required(params, "artist")
            rows = await run_in_threadpool(radio.top_tracks, name, _count(params, 50), songs.rows)
            if not rows:
                return None
            await self._check_credentials(params)
            return {"topSongs": {"song": await self._children(params, radio, songs, rows)}}
        return await self._artist_info(method, params, radio)

    async def _similar_songs(
        self, method: str, params: dict[str, str], radio: Radio, songs: SongMap
    ) -> dict[str, Any] | None:
        """Song radio for a song id, artist radio for an artist id (the server names it)."""
        seed = _required(params, "id")
        count = _count(params, 50)
        row = _row_of(radio, songs, seed)
        await self._check_credentials(params)
        if row is not None:
            mix = await run_in_threadpool(radio.similar_tracks, row, count, songs.rows)
        else:
            name = await self._artist_name(params, seed)
            code = radio.artist_code(name) if name else None
            if code is None:
                return None  # an album, or what mydiscover does not know: the server's answer
            mix = await run_in_threadpool(radio.artist_mix, code, count, songs.rows)
        key = "similarSongs2" if method.endswith("2") else "similarSongs"
        return {key: {"song": await self._children(params, radio, songs, [s.row for s in mix])}}

    async def _artist_info(
        self, method: str, params: dict[str, str], radio: Radio
    ) -> dict[str, Any] | None:
        """The server's artist info with mydiscover's similar artists (those on the server)."""
        artist_id = _required(params, "id")
        await self._check_credentials(params)
        name = await self._artist_name(params, artist_id)
        similar = (
            await run_in_threadpool(radio.similar_artists, name, _count(params, 20)) if name else []
        )
        if not similar:
            return None
        info = await self._call(params, method, {"id": artist_id}, failed_ok=True)
        key = "artistInfo2" if method.endswith("2") else "artistInfo"
        payload = dict(info.get(key) or {})
        ids = await self._artist_ids(params)
        payload["similarArtist"] = [
            {"id": ids[artist_key(n)], "name": n} for n, _ in similar if artist_key(n) in ids
        ]
        return {key: payload}

    async def _artist_name(self, params: dict[str, str], artist_id: str) -> str:
        """The server's name for one of its artist ids ("" when it has no such artist)."""
        found = await self._call(params, "getArtist", {"id": artist_id}, failed_ok=True)
        artist = found.get("artist") if found.get("status") == "ok" else None
        return str(artist.get("name") or "") if isinstance(artist, dict) else ""

    async def _extensions(self, params: dict[str, str]) -> dict[str, Any]:
        """The server's OpenSubsonic extensions, with sonicSimilarity."""
        try:
            listed = (
                await self._call(params, "getOpenSubsonicExtensions", {}, failed_ok=True)
            ).get("openSubsonicExtensions")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            listed = None
        extensions = [
            e for e in listed or [] if isinstance(e, dict) and e.get("name") != SONIC["name"]
        ]
        return {"openSubsonicExtensions": [*extensions, SONIC]}

    async def _check_credentials(self, params: dict[str, str]) -> None:
        """Refuse a client whose credentials the server does not take (ping with them)."""
        given = "\0".join(params.get(name, "") for name in AUTH_PARAMETERS)
        digest = hashlib.sha256(given.encode()).hexdigest()
        now = time.monotonic()
        if now - self._good.get(digest, -CREDENTIALS_TTL) < CREDENTIALS_TTL:
            return
        answer = await self._call(params, "ping", {}, failed_ok=True)
        if answer.get("status") != "ok":
            error = answer.get("error") or {}
            raise _Refused(
                error_payload(
                    int(error.get("code", WRONG_CREDENTIALS)),
                    str(error.get("message") or "wrong credentials"),
                )
            )
        if len(self._good) > MAX_REMEMBERED:  # the old ones out, not an ever-growing map
            self._good = {d: t for d, t in self._good.items() if now - t < CREDENTIALS_TTL}
        self._good[digest] = now

    async def _call(
        self, params: dict[str, str], method: str, extra: dict[str, str], failed_ok: bool = False
    ) -> dict[str, Any]:
        """Call the server as the client (its credentials), in JSON; the response object."""
        query = {k: params[k] for k in (*AUTH_PARAMETERS, "v", "c") if k in params}
        query.update(extra, f="json")
        async with self.client.get(f"{self.upstream}/rest/{method}.view", params=query) as got:
            text = await got.read()
        try:
            body = json.loads(text)["subsonic-response"]
        except (ValueError, KeyError, TypeError):
            body = {
                "status": "failed",
                "error": {"code": GENERIC, "message": "not a Subsonic answer"},
            }
        if body.get("status") != "ok" and not failed_ok:
            raise _Refused(
                error_payload(
                    GENERIC,
                    "the music server refused: " + str((body.get("error") or {}).get("message")),
                )
            )
        return body

    async def _children(
        self, params: dict[str, str], radio: Radio, songs: SongMap, rows: list[int]
    ) -> list[dict[str, Any]]:
        """The server's own song objects for these library rows (those on the server): asked
        of it (cached for CATALOG_TTL), or made from the library's tags where it does not answer."""
        wanted = [
            (row, songs.song_of[int(radio.library.ids[row])])
            for row in rows
            if int(radio.library.ids[row]) in songs.song_of
        ]
        now = time.monotonic()
        missing = [
            song
            for _, song in wanted
            if now - self._songs.get(song, (-CATALOG_TTL, {}))[0] >= CATALOG_TTL
        ]
        found = await asyncio.gather(
            *(self._call(params, "getSong", {"id": song}, failed_ok=True) for song in missing),
            return_exceptions=True,
        )
        for song, answer in zip(missing, found, strict=True):
            if isinstance(answer, dict) and isinstance(answer.get("song"), dict):
                self._songs[song] = (now, answer["song"])
        return [
            self._songs[song][1] if song in self._songs else _own_child(radio, row, song)
            for row, song in wanted
        ]

    async def _matches(
        self, params: dict[str, str], radio: Radio, songs: SongMap, mix: list[Similar]
    ) -> list[dict[str, Any]]:
        """Sonic matches: each song with its similarity from 0 to 1."""
        children = await self._children(params, radio, songs, [s.row for s in mix])
        by_id = {str(child.get("id")): child for child in children}
        matches = []
        for similar in mix:
            song = songs.song_of.get(int(radio.library.ids[similar.row]))
            if song in by_id:
                closeness = -1.0 if similar.audio is None else (similar.audio + 1) / 2
                matches.append({"entry": by_id[song], "similarity": round(closeness, 4)})
        return matches

    async def _artist_ids(self, params: dict[str, str]) -> dict[str, str]:
        """The server's artist ids by artist key (its ``getArtists`` index, cached)."""
        when, ids = self._artists
        if time.monotonic() - when < CATALOG_TTL and ids:
            return ids
        index = (await self._call(params, "getArtists", {})).get("artists") or {}
        ids = {}
        for letter in index.get("index") or []:
            for artist in letter.get("artist") or []:
                ids.setdefault(artist_key(str(artist.get("name", ""))), str(artist.get("id")))
        self._artists = (time.monotonic(), ids)
        return ids


_ANSWERED = frozenset(
    {
        "getSimilarSongs",
        "getSimilarSongs2",
        "getTopSongs",
        "getArtistInfo",
        "getArtistInfo2",
        "getSonicSimilarTracks",
        "findSonicPath",
    }
)


class _Refused(Exception):
    """A Subsonic error to answer with."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(str(payload))
        self.payload = payload


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise _Refused(error_payload(MISSING_PARAMETER, f"required parameter is missing: {name}"))
    return value


def _count(params: dict[str, str], default: int) -> int:
    try:
        return max(1, min(500, int(params.get("count", default))))
    except ValueError:
        return default


def _row_of(radio: Radio, songs: SongMap, song_id: str) -> int | None:
    track = songs.track_of.get(song_id)
    return None if track is None else radio.row(track)


def _step_similarity(radio: Radio, previous: int, row: int) -> float | None:
    library = radio.library
    if not (library.analysed[previous] and library.analysed[row]):
        return None
    return float(library.centred([previous])[0] @ library.centred([row])[0])


def _own_child(radio: Radio, row: int, song: str) -> dict[str, Any]:
    """A song object from the library's tags, for a song the server did not describe."""
    library = radio.library
    duration = library.durations[row]
    return {
        "id": song,
        "isDir": False,
        "title": library.titles[row],
        "album": library.albums[row],
        "artist": library.artists[row],
        "type": "music",
        "coverArt": song,
        **({} if duration != duration else {"duration": int(duration)}),
    }
