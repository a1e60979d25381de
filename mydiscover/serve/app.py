"""The web application of ``mydiscover serve`` (Starlette): the page, its buttons, the files
streamed to the page's player, the JSON API and, with an upstream server, the Subsonic proxy.

Safety: a token (when one is set, which ``serve`` does for any address beyond loopback) is
asked of every request but the Subsonic ones (those carry the server's own credentials, which
the proxy checks with the server); the buttons' POSTs carry a per-process secret and are
refused from another origin; only library tracks are streamed, by id, and only from inside the
music folders (a link out of them is refused); every tag is escaped in the page.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mydiscover.audio.tables import audio_summary
from mydiscover.config import Settings
from mydiscover.errors import MydiscoverError
from mydiscover.history.tables import Feedback, record_feedback
from mydiscover.library.tables import load_tracks_by_id
from mydiscover.pipeline import stage_states
from mydiscover.recommend.radio import Radio
from mydiscover.recommend.tables import set_banned, track_files
from mydiscover.serve.page import (
    hit_rate_plot,
    hit_rates,
    stored_pick_ids,
    taste_map_svg,
    this_weeks_picks,
)
from mydiscover.serve.state import ServeState, music_roots

HERE = Path(__file__).parent
TOKEN_COOKIE = "mydiscover_token"
#: What the page's buttons may say of a track.
ACTIONS = ("love", "skip", "ban", "unban")
Endpoint = Callable[[Request], Awaitable[Response]]


def create_app(settings: Settings, *, token: str = "", upstream: str = "") -> Starlette:
    """The application over ``settings``' database (``token``: asked of every page and API
    request when set; ``upstream``: the Subsonic server the proxy stands in front of)."""
    state = ServeState(settings, upstream)
    csrf = secrets.token_urlsafe(24)
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(),
        auto_reload=False,
    )

    def guarded(endpoint: Callable[[Request], Any], *, is_async: bool = False) -> Endpoint:
        async def handle(request: Request) -> Response:
            if token:
                refused = _token_refusal(request, token)
                if refused is not None:
                    return refused
            try:
                if is_async:
                    return await endpoint(request)
                return await run_in_threadpool(endpoint, request)
            except MydiscoverError as error:
                return _failure(request, str(error), 409)

        return handle

    def page(request: Request) -> Response:
        """GET /: the page."""
        with state.connection() as conn:
            try:
                week = this_weeks_picks(conn, settings)
                problem = ""
            except MydiscoverError as error:
                week, problem = None, str(error)
            picked = {pick.track_id for pick in week.picks} if week else set()
            weeks = hit_rates(conn)
            body = templates.get_template("index.html").render(
                week=week,
                problem=problem,
                stages=stage_states(conn, settings.database),
                weeks=list(reversed(weeks))[:12],
                plot=hit_rate_plot(weeks),
                has_map=bool(picked) or _has_analysis(conn),
                csrf=csrf,
                job=state.job,
                upstream=upstream,
                upstream_down=bool(upstream) and not state.upstream_answering(),
            )
        return HTMLResponse(body)

    def taste_map(request: Request) -> Response:
        """GET /map.svg: the taste map."""
        with state.connection() as conn:
            svg = taste_map_svg(conn, stored_pick_ids(conn))
        if not svg:
            return PlainTextResponse("no analysed track yet: run 'mydiscover analyze'", 404)
        return Response(svg, media_type="image/svg+xml")

    def stream(request: Request) -> Response:
        """GET /stream/ID: a library track's file, by range, from inside the music folders."""
        track_id = int(request.path_params["track_id"])
        with state.connection() as conn:
            file = track_files(conn, [track_id]).get(track_id)
            roots = music_roots(settings, conn)
        if file is None:
            return PlainTextResponse("no such track in the library", 404)
        path = os.path.realpath(os.fsdecode(file.path))
        if not any(Path(path).is_relative_to(root) for root in roots):
            return PlainTextResponse("that file is outside the music folders", 403)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return PlainTextResponse("that track's file is not a regular file", 404)
        except OSError:
            return PlainTextResponse("that track's file is missing: run 'mydiscover scan'", 404)
        return FileResponse(path, media_type=_media_type(path))

    async def feedback(request: Request) -> Response:
        """POST /feedback/ID: love, skip, ban or unban a track."""
        form = await _checked_form(request, csrf)
        if isinstance(form, Response):
            return form
        action = form.get("action", "")
        if action not in ACTIONS:
            return _failure(request, f"unknown action {action!r}: one of {', '.join(ACTIONS)}", 400)
        track_id = int(request.path_params["track_id"])
        if not await run_in_threadpool(_store_feedback, state, track_id, action):
            return _failure(request, f"no track {track_id} in the library", 404)
        if _wants_json(request):
            return JSONResponse({"track_id": track_id, "feedback": action})
        return RedirectResponse(f"/#pick-{track_id}", status_code=303)

    async def start_refresh(request: Request) -> Response:
        """POST /refresh: run every stage in the background."""
        form = await _checked_form(request, csrf)
        if isinstance(form, Response):
            return form
        started = state.start_refresh()
        if _wants_json(request):
            return JSONResponse({"started": started, **state.job.to_json()}, status_code=202)
        return RedirectResponse("/#stages", status_code=303)

    def api_weekly(request: Request) -> Response:
        """GET /api/weekly: this week's picks."""
        with state.connection() as conn:
            week = this_weeks_picks(conn, settings)
        return JSONResponse(
            {
                "name": week.name,
                "blend": week.blend,
                "notes": week.notes,
                "picks": [pick.to_json() for pick in week.picks],
            }
        )

    def api_stages(request: Request) -> Response:
        """GET /api/stages: every stage's state, and the refresh's."""
        with state.connection() as conn:
            states = stage_states(conn, settings.database)
        return JSONResponse(
            {"stages": [s.to_json() for s in states], "refresh": state.job.to_json()}
        )

    def api_refresh(request: Request) -> Response:
        """GET /api/refresh: how the refresh is going."""
        return JSONResponse(state.job.to_json())

    def api_history(request: Request) -> Response:
        """GET /api/history: the past weeklies' hit rates."""
        with state.connection() as conn:
            return JSONResponse({"weeklies": hit_rates(conn)})

    def api_tracks(request: Request) -> Response:
        """GET /api/tracks/ID/similar|sonic|path: a track's mixes."""
        radio, _ = state.radio()
        kind = request.path_params["kind"]
        if kind not in ("similar", "sonic", "path"):
            return JSONResponse({"error": "ask for similar, sonic or path"}, 404)
        row = radio.row(int(request.path_params["track_id"]))
        if row is None:
            return JSONResponse({"error": "no such track in the library"}, 404)
        count = _count(request, 20)
        if kind == "path":
            to = request.query_params.get("to", "")
            end = radio.row(int(to)) if to.isdigit() else None
            if end is None:
                return JSONResponse({"error": "give ?to=TRACK_ID, a library track"}, 400)
            rows = radio.sonic_path(row, end, count)
            return JSONResponse({"path": [_track_json(radio, r) for r in rows]})
        mix = (
            radio.similar_tracks(row, count)
            if kind == "similar"
            else radio.sonic_tracks(row, count)
        )
        return JSONResponse(
            {
                "track": _track_json(radio, row),
                "similar": [
                    {
                        **_track_json(radio, s.row),
                        "score": round(s.score, 4),
                        "audio": s.audio,
                        "cf": s.cf,
                    }
                    for s in mix
                ],
            }
        )

    def api_artists(request: Request) -> Response:
        """GET /api/artists/similar|top?name=: an artist's similar artists or top tracks."""
        if request.path_params["kind"] not in ("similar", "top"):
            return JSONResponse({"error": "ask for similar or top"}, 404)
        radio, _ = state.radio()
        name = request.query_params.get("name", "")
        if radio.artist_code(name) is None:
            return JSONResponse({"error": "no such artist in the library"}, 404)
        if request.path_params["kind"] == "top":
            rows = radio.top_tracks(name, _count(request, 20))
            return JSONResponse({"artist": name, "top": [_track_json(radio, r) for r in rows]})
        similar = radio.similar_artists(name, _count(request, 20))
        return JSONResponse(
            {
                "artist": name,
                "similar": [{"name": n, "score": round(score, 4)} for n, score in similar],
            }
        )

    routes = [
        Route("/", guarded(page)),
        Route("/map.svg", guarded(taste_map)),
        Route("/stream/{track_id:int}", guarded(stream), methods=["GET", "HEAD"]),
        Route("/feedback/{track_id:int}", guarded(feedback, is_async=True), methods=["POST"]),
        Route("/refresh", guarded(start_refresh, is_async=True), methods=["POST"]),
        Route("/api/weekly", guarded(api_weekly)),
        Route("/api/stages", guarded(api_stages)),
        Route("/api/refresh", guarded(api_refresh)),
        Route("/api/history", guarded(api_history)),
        Route("/api/tracks/{track_id:int}/{kind:str}", guarded(api_tracks)),
        Route("/api/artists/{kind:str}", guarded(api_artists)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    proxy = None
    if upstream:
        from mydiscover.serve.proxy import SubsonicProxy

        proxy = SubsonicProxy(state)
        routes.append(Route("/rest/{method:path}", proxy.handle, methods=["GET", "POST", "HEAD"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The models load in the background now, not on a client's first Instant Mix.
        threading.Thread(target=_warm, args=(state,), name="mydiscover-warm", daemon=True).start()
        yield
        if proxy is not None:
            await proxy.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.serve = state
    return app


def _token_refusal(request: Request, token: str) -> Response | None:
    """None when the request carries the token; else the answer (a first visit with
    ``?token=`` gets a cookie and the address without it)."""
    given = request.cookies.get(TOKEN_COOKIE, "")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
    if given and secrets.compare_digest(given.encode(), token.encode()):
        return None
    offered = request.query_params.get("token", "")
    if offered and secrets.compare_digest(offered.encode(), token.encode()):
        answer = RedirectResponse(request.url.path, status_code=303)
        answer.set_cookie(
            TOKEN_COOKIE, token, httponly=True, samesite="strict", max_age=365 * 86_400
        )
        return answer
    return _failure(
        request,
        "this server asks for its token: open the address "
        "'mydiscover serve' printed, or send 'Authorization: Bearer TOKEN'",
        401,
    )


async def _checked_form(request: Request, csrf: str) -> dict[str, str] | Response:
    """The POSTed form, or the refusal of a cross-site or forged one."""
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        return _failure(request, "refused: the request came from another site", 403)
    body = (await request.body()).decode("utf-8", "replace")
    form = dict(parse_qsl(body, keep_blank_values=True))
    given = form.get("csrf", "") or request.headers.get("x-mydiscover-csrf", "")
    if not secrets.compare_digest(given.encode(), csrf.encode()):
        return _failure(request, "refused: the form is not this page's (reload the page)", 403)
    return form


def _store_feedback(state: ServeState, track_id: int, action: str) -> bool:
    """Store what the listener said of a track (False: no such track)."""
    now = int(time.time())
    with state.connection() as conn:
        if not load_tracks_by_id(conn, [track_id]):
            return False
        if action in ("ban", "unban"):
            set_banned(conn, track_id, action == "ban", now)
        else:
            record_feedback(conn, track_id, Feedback(action), now)
    state.forget_models()
    return True


def _warm(state: ServeState) -> None:
    with contextlib.suppress(MydiscoverError, sqlite3.Error):  # said again at the first use
        state.radio()


def _failure(request: Request, message: str, status: int) -> Response:
    if _wants_json(request) or request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return PlainTextResponse(message, status_code=status)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _count(request: Request, default: int) -> int:
    try:
        return max(1, min(500, int(request.query_params.get("count", default))))
    except ValueError:
        return default


def _track_json(radio: Radio, row: int) -> dict[str, Any]:
    library = radio.library
    return {
        "track_id": int(library.ids[row]),
        "artist": library.artists[row],
        "title": library.titles[row],
        "album": library.albums[row],
    }


def _has_analysis(conn: sqlite3.Connection) -> bool:
    return audio_summary(conn)["analysed"] > 0


#: Media types the browser's player needs, by suffix (the rest: octet-stream).
MEDIA_TYPES = {
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
}


def _media_type(path: str) -> str:
    return MEDIA_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
