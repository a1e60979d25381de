"""Against a real Subsonic server (supysonic) on 127.0.0.1: the client, the sync of plays and
stars, the weekly pushed as one playlist replaced in place, and the failures."""

from __future__ import annotations

import pytest

from mydiscover import subsonic
from mydiscover.db import open_database
from mydiscover.db.listens import load_history
from mydiscover.history.subsonic import sync_server
from mydiscover.subsonic import SubsonicClient, SubsonicError
from tests import fake_services
from tests.conftest import run_cli
from tests.fake_services import Reply
from tests.library_factory import make_track
from tests.supysonic_server import PASSWORD, USER, start_supysonic

fake_server = fake_services.fake_server

ARTISTS = ["Slowdive", "Ride", "Lush", "Chapterhouse", "Sigur Rós"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("subsonic")
    music = root / "Music"
    for artist in ARTISTS:
        for number in (1, 2):
            make_track(music / artist / f"{number:02d} Song {number}.flac", seconds=2.0,
                       title=f"Song {number}", artist=artist, album=f"{artist} LP")  # fmt: skip
    yield from start_supysonic(root, music)


@pytest.fixture
def home(server, tmp_path, cli_env):
    """A mydiscover database that scanned the same folder the server serves."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[subsonic]\nurl = "{server.url}"\nuser = "{USER}"\npassword = "{PASSWORD}"\n'
    )
    config.chmod(0o600)
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_CONFIG": str(config)}  # fmt: skip
    assert run_cli(env, "scan", str(server.music)).returncode == 0
    return env, tmp_path / "db.sqlite"


def client(server, password: str = PASSWORD) -> SubsonicClient:
    return SubsonicClient(server.url, USER, password)


def test_token_auth_falls_back_to_the_encoded_password(server):
    alice = client(server)
    alice.ping()  # supysonic refuses tokens (error 10): the client retries with p=enc:
    assert alice._use_token is False


def test_wrong_password_is_one_clear_error_without_the_password(server):
    with pytest.raises(SubsonicError, match="wrong user name or password") as caught:
        client(server, "not it").ping()
    assert "not it" not in str(caught.value)


def test_every_song_is_listed_page_by_page(server, monkeypatch):
    monkeypatch.setattr(subsonic, "PAGE_SIZE", 3)
    songs = list(client(server).songs())
    assert len(songs) == 10 and len({s.id for s in songs}) == 10
    assert {s.artist for s in songs} == set(ARTISTS)


def test_sync_matches_by_tags_and_keeps_stars_as_history(server, home):
    env, db = home
    starred = next(s for s in client(server).songs() if s.artist == "Ride" and s.title == "Song 1")
    server.call("star", id=starred.id)
    try:
        result = run_cli(env, "subsonic", "sync", "--no-push")
        assert result.returncode == 0, result.stderr
        assert "10 songs on the server, 10 matched to your library (0 by MusicBrainz ID, " \
               "10 by tags); 0 with plays, 1 starred" in result.stderr  # fmt: skip
        conn = open_database(db)
        try:
            history = load_history(conn)
            track = conn.execute("SELECT id FROM tracks WHERE artist = 'Ride' AND title = "
                                 "'Song 1'").fetchone()[0]  # fmt: skip
        finally:
            conn.close()
        assert history.track_plays[track] == 3  # a star counts as three plays
        assert [a.key for a in history.artists] == ["ride"]
    finally:
        server.call("unstar", id=starred.id)


def test_the_weekly_is_pushed_and_replaced_in_place(server, home):
    env, _ = home
    made = run_cli(
        env, "weekly", "--no-update", "--min-length", "1", "--size", "4"
    )  # this week's, stored
    assert made.returncode == 0, made.stderr
    first = run_cli(env, "subsonic", "sync")
    assert first.returncode == 0, first.stderr
    playlists = [p for p in server.call("getPlaylists")["playlists"]["playlist"]
                 if p["name"] == "Discover Weekly"]  # fmt: skip
    assert len(playlists) == 1
    playlist_id = playlists[0]["id"]
    songs = server.call("getPlaylist", id=playlist_id)["playlist"]["entry"]
    pushed = [f"{s['artist']} - {s['title']}" for s in songs]
    weekly = [
        line.split(",", 1)[1] for line in made.stdout.splitlines() if line.startswith("#EXTINF")
    ]
    assert pushed == weekly and "now holds Discover Weekly" in first.stderr
    second = run_cli(env, "subsonic", "sync")
    assert second.returncode == 0, second.stderr
    again = [p for p in server.call("getPlaylists")["playlists"]["playlist"]
             if p["name"] == "Discover Weekly"]  # fmt: skip
    assert [p["id"] for p in again] == [playlist_id]  # the same playlist, not a new one


def test_a_config_others_can_read_gets_a_warning(server, home, tmp_path):
    env, _ = home
    (tmp_path / "config.toml").chmod(0o644)
    result = run_cli(env, "subsonic", "sync", "--no-push")
    assert result.returncode == 0 and "others can read it: chmod 600" in result.stderr


def test_wrong_password_on_the_command_line_run(server, home, tmp_path):
    env, _ = home
    env = {**env, "MYDISCOVER_SUBSONIC_PASSWORD": "wrong"}
    result = run_cli(env, "subsonic", "sync")
    assert result.returncode == 1
    assert "wrong user name or password" in result.stderr and "wrong" not in result.stderr.split(
        "password")[-1]  # fmt: skip
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_server_is_one_clear_error(tmp_path, cli_env):
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_SUBSONIC_PASSWORD": "x"}  # fmt: skip
    result = run_cli(env, "subsonic", "sync", "--url", "http://127.0.0.1:9", "--user", "a")
    assert result.returncode == 1 and "cannot reach the server" in result.stderr


def page(songs: list[dict]) -> dict:
    return {"subsonic-response": {"status": "ok", "searchResult3": {"song": songs}}}


def test_a_server_that_goes_away_mid_sync_keeps_the_previous_sync(conn, fake_server, monkeypatch):
    monkeypatch.setattr(subsonic, "PAGE_SIZE", 2)
    songs = [{"id": str(n), "title": f"T{n}", "artist": "A", "duration": 100} for n in range(3)]
    ok = {"subsonic-response": {"status": "ok", "starred2": {}}}
    fake_server.always(Reply(body=ok), path="/rest/getStarred2.view")
    fake_server.queue(Reply(body=page(songs[:2])), Reply(body=page(songs[2:])),
                      path="/rest/search3.view")  # fmt: skip
    remote = SubsonicClient(fake_server.url, "u", "p")
    assert sync_server(conn, remote, "srv").songs == 3
    fake_server.queue(Reply(body=page(songs[:2])), Reply(body=page(songs[2:]), cut=True),
                      path="/rest/search3.view")  # fmt: skip
    with pytest.raises(SubsonicError, match="went away"):
        sync_server(conn, remote, "srv")
    assert conn.execute("SELECT count(*) FROM server_songs").fetchone()[0] == 3


def test_a_song_listed_twice_is_synced_once(conn, fake_server, monkeypatch):
    monkeypatch.setattr(subsonic, "PAGE_SIZE", 2)
    songs = [{"id": str(n), "title": f"T{n}", "artist": "A"} for n in (1, 2, 2)]
    ok = {"subsonic-response": {"status": "ok", "starred2": {}}}
    fake_server.always(Reply(body=ok), path="/rest/getStarred2.view")
    fake_server.queue(Reply(body=page(songs[:2])), Reply(body=page(songs[2:])),
                      path="/rest/search3.view")  # fmt: skip
    assert sync_server(conn, SubsonicClient(fake_server.url, "u", "p"), "srv").songs == 2


def test_weekly_for_navidrome_writes_a_relative_m3u_into_the_library(server, home):
    env, _ = home
    folder = server.music / "Playlists"
    result = run_cli(
        env, "weekly", "--no-update", "--navidrome", str(folder), "--min-length", "1", "--size", "4"
    )
    assert result.returncode == 0, result.stderr
    text = (folder / "Discover Weekly.m3u").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[:2] == ["#EXTM3U", lines[1]] and lines[1].startswith("#PLAYLIST:Discover Weekly")
    paths = [line for line in lines if not line.startswith("#")]
    assert len(paths) == 4 and all(p.startswith("../") for p in paths)
    assert all((folder / p).is_file() for p in paths)
    assert result.stdout == ""
