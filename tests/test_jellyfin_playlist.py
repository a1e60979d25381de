"""weekly --jellyfin against a loopback server that answers as Jellyfin 10.10's HTTP API does:
its MediaBrowser authorization header, PascalCase query results, 204s without a body, a 401
without one, and the 400 a server API key gets where Jellyfin wants the caller's own user."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from tests import fake_services
from tests.fake_services import Reply, Request
from tests.helpers import run_cli
from tests.library_factory import make_track

fake_server = fake_services.fake_server

USER, PASSWORD = "rob", "pässword with spaces"
USER_TOKEN, API_KEY = "2245a2269833418e832d8c53a892f7c7", "f00dfeedf00dfeedf00dfeedf00dfeed"
USER_ID = "1b7006165c244291b03db70480814d89"
SERVER_ID = "f121322a45f248f095e92377b94d15fd"
#: As Jellyfin's ExceptionMiddleware answers (text/plain), and an empty 401.
ERROR = Reply(400, b"Error processing request.", {"Content-Type": "text/plain"})
UNAUTHORIZED = Reply(401, b"", {"Content-Type": "text/plain"})
NO_CONTENT = Reply(204, b"", {"Content-Type": "text/plain"})
#: A controller's BadRequest(): ASP.NET Core's problem details, in JSON.
BAD_REQUEST = Reply(400, {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                          "title": "Bad Request", "status": 400,
                          "traceId": "00-9f1c2b3a4d5e6f708192a3b4c5d6e7f8-0123456789abcdef-00"},
                    {"Content-Type": "application/problem+json; charset=utf-8"})  # fmt: skip


def _header_fields(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    if scheme != "MediaBrowser":
        return {}
    return dict(re.findall(r'(\w+)="([^"]*)"', rest))


class FakeJellyfin:
    """The endpoints a playlist push uses, over a list of audio items and a dict of playlists."""

    def __init__(self, audio: list[dict]) -> None:
        self.audio = audio
        self.playlists: dict[str, dict] = {}

    def __call__(self, request: Request) -> Reply:
        fields = _header_fields(request.headers.get("Authorization", ""))
        token = fields.get("Token")
        path, query = request.path, {k.lower(): v for k, v in request.params.items()}
        if path == "/Users/AuthenticateByName" and request.method == "POST":
            if not all(fields.get(key) for key in ("Client", "Device", "DeviceId", "Version")):
                return ERROR  # AuthenticateNewSession needs the device's description
            sent = json.loads(request.body)
            if sent != {"Username": USER, "Pw": PASSWORD}:
                return UNAUTHORIZED
            session = {"UserId": USER_ID, "Client": fields["Client"]}
            return Reply(body={"User": self._user(), "AccessToken": USER_TOKEN,
                               "ServerId": SERVER_ID, "SessionInfo": session})  # fmt: skip
        if token not in (USER_TOKEN, API_KEY):
            return UNAUTHORIZED
        caller = USER_ID if token == USER_TOKEN else ""  # an API key carries no user
        body = json.loads(request.body) if request.body else {}
        if path == "/Users/Me":
            return Reply(body=self._user()) if caller else BAD_REQUEST
        if path == "/Users":
            return Reply(body=[self._user(), {**self._user(), "Name": "guest", "Id": "9" * 32}])
        if path == "/Items":
            if query.get("userid") != USER_ID:  # a key would see every user's playlists
                return ERROR
            kinds = query.get("includeitemtypes")
            items = self.audio if kinds == "Audio" else [
                {"Name": p["Name"], "ServerId": SERVER_ID, "Id": pid, "IsFolder": True,
                 "Type": "Playlist", "MediaType": "Audio", "ChildCount": len(p["Ids"])}
                for pid, p in self.playlists.items()
            ]  # fmt: skip
            start = int(query.get("startindex", 0))
            limit = int(query.get("limit", 100_000))
            return Reply(body={"Items": items[start : start + limit],
                               "TotalRecordCount": len(items), "StartIndex": start})  # fmt: skip
        if path == "/Playlists" and request.method == "POST":
            playlist_id = uuid.uuid4().hex
            self.playlists[playlist_id] = {"Name": body["Name"], "Ids": list(body["Ids"]),
                                           "IsPublic": body.get("IsPublic", True)}  # fmt: skip
            return Reply(body={"Id": playlist_id})
        playlist_id, _, rest = path.removeprefix("/Playlists/").partition("/")
        if playlist_id not in self.playlists:
            return Reply(404, b'"Playlist not found"')
        playlist = self.playlists[playlist_id]
        if rest == "" and request.method == "POST":
            if not caller:
                return ERROR  # GetUserById(Guid.Empty): "Guid can't be empty"
            playlist["Ids"] = list(dict.fromkeys(body["Ids"]))  # Jellyfin drops duplicates
            return NO_CONTENT
        if rest == "Items" and request.method == "GET":
            by_id = {item["Id"]: item for item in self.audio}
            items = [{**by_id[i], "PlaylistItemId": i} for i in playlist["Ids"]]
            return Reply(body={"Items": items, "TotalRecordCount": len(items), "StartIndex": 0})
        return Reply(405, b"", {"Content-Type": "text/plain"})

    @staticmethod
    def _user() -> dict:
        return {"Name": USER, "ServerId": SERVER_ID, "Id": USER_ID, "HasPassword": True,
                "Policy": {"IsAdministrator": False}}  # fmt: skip


def _item(title: str, artist: str, album: str, seconds: float, path: str, mbid: str = "") -> dict:
    providers = {"MusicBrainzRecording": mbid} if mbid else {}
    return {"Name": title, "ServerId": SERVER_ID, "Id": uuid.uuid4().hex, "Path": path,
            "RunTimeTicks": int(seconds * 10_000_000), "IndexNumber": 1, "ParentIndexNumber": 1,
            "IsFolder": False, "Type": "Audio", "MediaType": "Audio", "Artists": [artist],
            "Album": album, "AlbumArtist": artist, "ProviderIds": providers}  # fmt: skip


def _library(music: Path) -> list[dict]:
    """Five tracks; the server has four of them, each found another way, and a decoy."""
    recording = str(uuid.UUID(int=1))
    make_track(music / "0.flac", seconds=0.5, title="Song 0", artist="Artist 0", album="LP 0")
    make_track(music / "1.flac", seconds=0.5, title="Song 1", artist="Artist 1", album="LP 1",
               mb_recording_id=recording)  # fmt: skip
    make_track(music / "2.flac", seconds=0.5, title="Song 2", artist="Artist 2", album="LP 2")
    make_track(music / "3.flac", seconds=0.5, title="Song 3", artist="Artist 3", album="LP 3")
    make_track(music / "4.flac", seconds=0.5, title="Song 4", artist="Artist 4", album="LP 4")
    return [
        _item("Song 0", "Artist 0", "LP 0", 0.5, str(music / "0.flac")),  # the same disk
        _item("Renamed", "Someone", "Else", 200, "/srv/music/1.flac", recording),  # by MBID
        _item("Song 2", "Artist 2", "LP 2", 0.5, "/srv/music/a/b.flac"),  # by tags
        _item("Song 3", "Artist 3", "Best Of", 0.5, "/srv/music/best/3.flac"),  # another album
        _item("Song 3", "Artist 3", "LP 3", 0.5, "/srv/music/lp3/3.flac"),  # the album's own
    ]


def _setup(fake_server, tmp_path: Path, cli_env: dict, **env: str) -> tuple[FakeJellyfin, dict]:
    music = tmp_path / "Music"
    server = FakeJellyfin(_library(music))
    fake_server.mount("/", server)
    config = tmp_path / "config.toml"
    config.write_text(f'[jellyfin]\nuser = "{USER}"\n')
    environment = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
                   "MYDISCOVER_CONFIG": str(config), **env}  # fmt: skip
    assert run_cli(environment, "scan", str(music)).returncode == 0
    return server, environment


ARGS = ("weekly", "--no-update", "--min-length", "0.1", "--size", "5")


def test_the_weekly_goes_to_jellyfin_and_stays_one_playlist(fake_server, tmp_path, cli_env):
    server, env = _setup(fake_server, tmp_path, cli_env, MYDISCOVER_JELLYFIN_PASSWORD=PASSWORD)
    first = run_cli(env, *ARGS, "--jellyfin", fake_server.url)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and "Jellyfin at 127.0.0.1:" in first.stderr
    assert "created, holding Discover Weekly" in first.stderr
    assert "4 tracks; 1 not on the server: Artist 4 - Song 4" in first.stderr
    [(playlist_id, playlist)] = server.playlists.items()
    assert playlist["Name"] == "Discover Weekly" and playlist["IsPublic"] is False
    by_path = {item["Id"]: item["Path"] for item in server.audio}
    assert sorted(by_path[i] for i in playlist["Ids"]) == sorted(
        [str(tmp_path / "Music" / "0.flac"), "/srv/music/1.flac", "/srv/music/a/b.flac",
         "/srv/music/lp3/3.flac"])  # fmt: skip
    again = run_cli(env, *ARGS, "--jellyfin", fake_server.url, "--refresh")
    assert again.returncode == 0, again.stderr
    assert f"({playlist_id}) replaced" in again.stderr and list(server.playlists) == [playlist_id]
    assert len(server.playlists[playlist_id]["Ids"]) == 4
    assert PASSWORD not in first.stderr + again.stderr and USER_TOKEN not in again.stderr
    sent = [r.headers["Authorization"] for r in fake_server.requests if r.path == "/Items"]
    assert len({_header_fields(h)["DeviceId"] for h in sent}) == 1  # one device, run after run


def test_a_user_token_works_and_an_api_key_is_refused_before_any_push(
    fake_server, tmp_path, cli_env
):
    server, env = _setup(fake_server, tmp_path, cli_env, MYDISCOVER_JELLYFIN_TOKEN=API_KEY)
    with_key = run_cli(env, *ARGS, "--jellyfin", fake_server.url)
    assert with_key.returncode == 1, with_key.stderr
    assert "a server API key cannot change a user's playlist" in with_key.stderr
    assert "Traceback" not in with_key.stderr and API_KEY not in with_key.stderr
    assert server.playlists == {}  # refused before the first week, not in the second
    with_token = run_cli({**env, "MYDISCOVER_JELLYFIN_TOKEN": USER_TOKEN}, *ARGS, "--jellyfin",
                         fake_server.url)  # fmt: skip
    assert with_token.returncode == 0, with_token.stderr
    assert len(server.playlists) == 1


def test_a_refused_login_is_one_line(fake_server, tmp_path, cli_env):
    _, env = _setup(fake_server, tmp_path, cli_env, MYDISCOVER_JELLYFIN_PASSWORD="wrong")
    result = run_cli(env, *ARGS, "--jellyfin", fake_server.url)
    assert result.returncode == 1
    assert re.search(r"error: 127\.0\.0\.1:\d+: Jellyfin refused the password \(HTTP 401\)",
                     result.stderr), result.stderr  # fmt: skip
    assert "wrong" not in result.stderr and "Traceback" not in result.stderr
    none = run_cli({**env, "MYDISCOVER_JELLYFIN_PASSWORD": ""}, *ARGS, "--jellyfin",
                   fake_server.url)  # fmt: skip
    assert none.returncode == 1 and "Jellyfin needs a user's access token" in none.stderr
