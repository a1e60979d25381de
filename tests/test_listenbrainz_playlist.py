"""weekly --listenbrainz against a loopback server that answers as ListenBrainz's playlist API
does (its JSPF, its validation of track identifiers, its token check)."""

from __future__ import annotations

import json
import uuid

from tests import fake_services
from tests.fake_services import Reply, Request
from tests.helpers import run_cli
from tests.library_factory import make_track

fake_server = fake_services.fake_server

USER, TOKEN = "rob", "0b1e6a4c-7e6a-4a0e-8d0f-5f3c2d1e0a9b"
PREFIX = "https://musicbrainz.org/recording/"
PLAYLISTS = "https://listenbrainz.org/playlist/"


class FakePlaylists:
    """ListenBrainz's /1/playlist and /1/user/<user>/playlists endpoints, over a dict."""

    def __init__(self) -> None:
        self.playlists: dict[str, dict] = {}

    def __call__(self, request: Request) -> Reply:
        if request.headers.get("Authorization") != f"Token {TOKEN}":
            return Reply(401, {"code": 401, "error": "Invalid authorization token."})
        path = request.path.removeprefix("/1/")
        body = json.loads(request.body) if request.body else {}
        if path == f"user/{USER}/playlists" and request.method == "GET":
            listed = [{"playlist": self._jspf(mbid)} for mbid in self.playlists]
            return Reply(body={"count": len(listed), "offset": 0, "playlist_count": len(listed),
                               "playlists": listed})  # fmt: skip
        if path == "playlist/create" and request.method == "POST":
            if error := self._invalid(body["playlist"].get("track", [])):
                return Reply(400, {"code": 400, "error": error})
            mbid = str(uuid.uuid4())
            self.playlists[mbid] = {"title": body["playlist"]["title"],
                                    "track": list(body["playlist"].get("track", []))}  # fmt: skip
            return Reply(body={"status": "ok", "playlist_mbid": mbid})
        mbid, _, action = path.removeprefix("playlist/").partition("/")
        if mbid not in self.playlists:
            return Reply(404, {"code": 404, "error": f"Cannot find playlist: {mbid}"})
        tracks = self.playlists[mbid]["track"]
        if action == "" and request.method == "GET":
            return Reply(body={"playlist": self._jspf(mbid)})
        if action == "item/delete" and request.method == "POST":
            del tracks[body["index"] : body["index"] + body["count"]]
            return Reply(body={"status": "ok"})
        if action == "item/add" and request.method == "POST":
            added = body["playlist"]["track"]
            if len(added) > 100 or (error := self._invalid(added)):
                return Reply(400, {"code": 400, "error": error or "at most 100 per call"})
            tracks.extend(added)
            return Reply(body={"status": "ok"})
        return Reply(405, {"code": 405, "error": "method not allowed"})

    def _jspf(self, mbid: str) -> dict:
        playlist = self.playlists[mbid]
        return {"identifier": PLAYLISTS + mbid, "title": playlist["title"], "creator": USER,
                "track": playlist["track"]}  # fmt: skip

    @staticmethod
    def _invalid(tracks: list) -> str | None:
        for index, track in enumerate(tracks):  # as ListenBrainz validates a JSPF's tracks
            identifier = track.get("identifier")
            if not isinstance(identifier, str) or not identifier.startswith(PREFIX):
                return f"JSPF playlist track {index} identifier must have the namespace '{PREFIX}'"
        return None


def test_the_weekly_goes_to_listenbrainz_and_stays_one_playlist(fake_server, tmp_path, cli_env):
    api = FakePlaylists()
    fake_server.mount("/1/", api)
    music = tmp_path / "Music"
    mbids = {}
    for number in range(5):
        fields = {"title": f"Song {number}", "artist": f"Artist {number}", "album": f"LP {number}"}
        if number:  # one of five untagged
            fields["mb_recording_id"] = mbids[number] = str(uuid.UUID(int=number))
        make_track(music / f"{number}.flac", seconds=0.5, **fields)
    config = tmp_path / "config.toml"
    config.write_text(f'[listenbrainz]\nuser = "{USER}"\napi_url = "{fake_server.url}"\n')
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_CONFIG": str(config), "MYDISCOVER_LISTENBRAINZ_TOKEN": TOKEN}  # fmt: skip
    assert run_cli(env, "scan", str(music)).returncode == 0
    args = ("weekly", "--no-update", "--min-length", "0.1", "--size", "5", "--listenbrainz")
    first = run_cli(env, *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and "ListenBrainz: playlist 'Discover Weekly' (" in first.stderr
    assert "created, holding Discover Weekly" in first.stderr
    assert "4 tracks; 1 without a MusicBrainz recording ID: Artist 0 - Song 0" in first.stderr
    [create] = [r for r in fake_server.requests if r.path == "/1/playlist/create"]
    extension = json.loads(create.body)["playlist"]["extension"]
    assert extension["https://musicbrainz.org/doc/jspf#playlist"]["public"] is False  # private
    [(mbid, playlist)] = api.playlists.items()
    held = [track["identifier"].removeprefix(PREFIX) for track in playlist["track"]]
    assert sorted(held) == sorted(mbids.values())
    again = run_cli(env, *args, "--refresh")  # a new weekly: the same playlist, replaced
    assert again.returncode == 0, again.stderr
    assert f"({mbid}) replaced" in again.stderr and list(api.playlists) == [mbid]
    assert len(api.playlists[mbid]["track"]) == 4
    assert TOKEN not in first.stderr + again.stderr


def test_a_refused_token_is_one_line(fake_server, tmp_path, cli_env):
    fake_server.mount("/1/", FakePlaylists())
    music = tmp_path / "Music"
    make_track(music / "a.flac", seconds=0.5, title="A", artist="B", album="C",
               mb_recording_id=str(uuid.UUID(int=7)))  # fmt: skip
    config = tmp_path / "config.toml"
    config.write_text(f'[listenbrainz]\nuser = "{USER}"\napi_url = "{fake_server.url}"\n')
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_CONFIG": str(config), "MYDISCOVER_LISTENBRAINZ_TOKEN": "wrong"}  # fmt: skip
    assert run_cli(env, "scan", str(music)).returncode == 0
    result = run_cli(env, "weekly", "--no-update", "--min-length", "0.1", "--listenbrainz")
    assert result.returncode == 1 and "ListenBrainz refused the user token" in result.stderr
    assert "Traceback" not in result.stderr and "wrong" not in result.stderr
    no_token = run_cli({**env, "MYDISCOVER_LISTENBRAINZ_TOKEN": ""}, "weekly", "--no-update",
                       "--min-length", "0.1", "--listenbrainz")  # fmt: skip
    assert no_token.returncode == 1 and "needs [listenbrainz] user" in no_token.stderr
