"""Against a real Subsonic server (supysonic) on 127.0.0.1: the client, the sync of plays and
stars, the weekly pushed as one playlist replaced in place, and the failures."""

from __future__ import annotations

import logging
import time

import pytest

from mydiscover import subsonic
from mydiscover.config import load_settings
from mydiscover.db import open_database
from mydiscover.errors import ConfigError
from mydiscover.history.subsonic import sync_server
from mydiscover.history.tables import load_history
from mydiscover.subsonic import SubsonicClient, SubsonicError
from tests import fake_services
from tests.fake_services import Reply, Request
from tests.helpers import run_cli
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
    # supysonic refuses tokens and serves plain http here: the password needs the opt-in.
    config.write_text(
        f'[subsonic]\nurl = "{server.url}"\nuser = "{USER}"\npassword = "{PASSWORD}"\n'
        "allow_plain_password = true\n"
    )
    config.chmod(0o600)
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_CONFIG": str(config)}  # fmt: skip
    assert run_cli(env, "scan", str(server.music)).returncode == 0
    return env, tmp_path / "db.sqlite"


def client(server, password: str = PASSWORD) -> SubsonicClient:
    return SubsonicClient(server.url, USER, password, allow_plain_password=True)


def test_token_auth_falls_back_to_the_encoded_password(server):
    alice = client(server)
    alice.ping()  # supysonic refuses tokens (error 10): the client retries with p=enc:
    assert alice._use_token is False


def test_over_http_the_real_server_gets_no_password_without_the_opt_in(server):
    with pytest.raises(SubsonicError, match="does not accept token authentication") as caught:
        SubsonicClient(server.url, USER, PASSWORD).ping()
    said = str(caught.value)
    assert "\n" not in said and PASSWORD not in said and "allow_plain_password" in said


def failed(code: int, message: str) -> dict:
    return {"subsonic-response": {"status": "failed", "error": {"code": code, "message": message}}}


TOKEN_REFUSED = failed(41, "Token authentication not supported")


def test_a_server_refusing_tokens_over_http_never_gets_the_password(fake_server):
    fake_server.always(Reply(body=TOKEN_REFUSED))
    remote = SubsonicClient(fake_server.url, "u", "hunter2")
    with pytest.raises(SubsonicError) as caught:
        remote.ping()
    assert str(caught.value) == (
        f"{remote.host} does not accept token authentication and would need the password itself, "
        "which is sent nearly in clear over http; use https, or set allow_plain_password = "
        "true in [subsonic] to accept that"
    )
    assert fake_server.requests and all("p" not in r.params for r in fake_server.requests)
    assert all("t" in r.params for r in fake_server.requests)


def test_the_sync_command_refuses_the_password_over_http_in_one_line(fake_server, tmp_path,
                                                                     cli_env):  # fmt: skip
    fake_server.always(Reply(body=TOKEN_REFUSED))
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_SUBSONIC_PASSWORD": "hunter2"}  # fmt: skip
    result = run_cli(env, "subsonic", "sync", "--url", fake_server.url, "--user", "u")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "allow_plain_password = true" in lines[0], result.stderr
    assert "hunter2" not in result.stderr
    assert all("p" not in r.params for r in fake_server.requests)


def test_allow_plain_password_must_be_true_or_false(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[subsonic]\nallow_plain_password = true\n")
    assert load_settings(config_file=config).subsonic.allow_plain_password is True
    config.write_text('[subsonic]\nallow_plain_password = "yes"\n')
    with pytest.raises(ConfigError, match="must be true or false"):
        load_settings(config_file=config)


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
    assert result.returncode == 1 and "127.0.0.1:9: cannot connect" in result.stderr


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
    with pytest.raises(SubsonicError, match="search3: the connection dropped"):
        sync_server(conn, remote, "srv")
    assert conn.execute("SELECT count(*) FROM server_songs").fetchone()[0] == 3


def test_a_huge_or_dripping_answer_is_refused_in_bounded_time(fake_server):
    huge = b'{"subsonic-response": {"status": "ok", "x": "' + b"x" * (17 * 2**20) + b'"}}'
    fake_server.queue(Reply(body=huge), path="/rest/ping.view")
    with pytest.raises(SubsonicError, match="the answer is larger than 16 MB"):
        SubsonicClient(fake_server.url, "u", "p").ping()
    dripping = Reply(body={"subsonic-response": {"status": "ok", "pad": "x" * 100}}, drip=0.05)
    fake_server.queue(dripping, path="/rest/ping.view")
    started = time.monotonic()
    with pytest.raises(SubsonicError, match=r"no complete answer within 2 s"):
        SubsonicClient(fake_server.url, "u", "p", timeout=0.5).ping()
    assert time.monotonic() - started < 4


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


# --- a server that ignores songOffset -------------------------------------------------------
# The old client paged until a short page came, forever against such a server: the fakes below
# answer a bounded number of requests (OLD_CLIENT_BOUND), then HTTP 500, so that the old client
# fails quickly instead of hanging, and the new one must stop well before.
OLD_CLIENT_BOUND = 250
STARRED_NONE = {"subsonic-response": {"status": "ok", "starred2": {}}}


def search3_requests(fake_server) -> int:
    return sum(r.path == "/rest/search3.view" for r in fake_server.requests)


def songs_named(ids) -> list[dict]:
    return [{"id": str(n), "title": f"T{n}", "artist": "A", "duration": 100} for n in ids]


def incomplete_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "mydiscover.subsonic" and r.levelno == logging.WARNING]  # fmt: skip


def test_a_server_ignoring_song_offset_is_listed_once_with_a_warning(fake_server, monkeypatch,
                                                                      caplog):  # fmt: skip
    monkeypatch.setattr(subsonic, "PAGE_SIZE", 3)
    same = Reply(body=page(songs_named(range(3))))  # the first page, whatever the offset
    fake_server.queue(*[same] * OLD_CLIENT_BOUND, path="/rest/search3.view")
    caplog.set_level(logging.WARNING, logger="mydiscover.subsonic")
    remote = SubsonicClient(fake_server.url, "u", "p")
    listing = remote.songs()
    songs = list(listing)
    assert [s.id for s in songs] == ["0", "1", "2"]
    assert search3_requests(fake_server) == 2 and listing.complete is False
    [warning] = incomplete_warnings(caplog)
    assert warning.startswith(f"{remote.host}: ") and "may be incomplete" in warning
    assert "songOffset" in warning


def test_a_listing_that_never_ends_stops_at_the_servers_song_count(fake_server, monkeypatch,
                                                                    caplog):  # fmt: skip
    monkeypatch.setattr(subsonic, "PAGE_SIZE", 3)
    served = iter(range(10**6))

    def endless(request: Request) -> Reply:  # new songs on every page, whatever the offset
        if search3_requests(fake_server) > OLD_CLIENT_BOUND:
            return Reply(500, {})
        return Reply(body=page(songs_named(next(served) for _ in range(3))))

    fake_server.mount("/rest/search3.view", endless)
    status = {"subsonic-response": {"status": "ok",
                                    "scanStatus": {"scanning": False, "count": 10}}}  # fmt: skip
    fake_server.always(Reply(body=status), path="/rest/getScanStatus.view")
    caplog.set_level(logging.WARNING, logger="mydiscover.subsonic")
    listing = SubsonicClient(fake_server.url, "u", "p").songs()
    songs = list(listing)
    # Twice the 10 songs reported fill 7 pages of 3, and one page more is allowed.
    assert search3_requests(fake_server) == 8 and len({s.id for s in songs}) == len(songs) == 24
    assert listing.complete is False
    [warning] = incomplete_warnings(caplog)
    assert "127.0.0.1" in warning and "10 songs" in warning and "may be incomplete" in warning


def test_a_server_honouring_paging_is_listed_without_a_warning(fake_server, monkeypatch, caplog):
    monkeypatch.setattr(subsonic, "PAGE_SIZE", 3)
    songs = songs_named(range(7))
    fake_server.queue(*(Reply(body=page(songs[n : n + 3])) for n in (0, 3, 6)),
                      path="/rest/search3.view")  # fmt: skip
    caplog.set_level(logging.WARNING, logger="mydiscover.subsonic")
    listing = SubsonicClient(fake_server.url, "u", "p").songs()
    assert [s.id for s in listing] == [str(n) for n in range(7)] and listing.complete is True
    assert search3_requests(fake_server) == 3 and not incomplete_warnings(caplog)


def test_an_incomplete_listing_keeps_the_songs_it_did_not_list(conn, fake_server, monkeypatch):
    monkeypatch.setattr(subsonic, "PAGE_SIZE", 3)
    fake_server.always(Reply(body=STARRED_NONE), path="/rest/getStarred2.view")
    songs = songs_named(range(5))
    fake_server.queue(Reply(body=page(songs[:3])), Reply(body=page(songs[3:])),
                      path="/rest/search3.view")  # fmt: skip
    remote = SubsonicClient(fake_server.url, "u", "p")
    first = sync_server(conn, remote, "srv")
    # Then the server starts ignoring songOffset, and song 0 was played meanwhile.
    played = [{**songs[0], "playCount": 4}, *songs[1:3]]
    fake_server.queue(*[Reply(body=page(played))] * OLD_CLIENT_BOUND, path="/rest/search3.view")
    second = sync_server(conn, remote, "srv")
    rows = dict(conn.execute("SELECT song_id, play_count FROM server_songs WHERE server = 'srv'"))
    assert rows == {"0": 4, "1": 0, "2": 0, "3": 0, "4": 0}  # 3 and 4 kept, 0 updated
    assert search3_requests(fake_server) == 2 + 2
    assert (first.songs, first.complete, second.songs, second.complete) == (5, True, 3, False)
    assert "the others kept from before" in second.summary()


def test_the_sync_command_warns_once_of_an_incomplete_listing(fake_server, tmp_path, cli_env):
    fake_server.always(Reply(body=STARRED_NONE), path="/rest/getStarred2.view")
    full = Reply(body=page(songs_named(range(subsonic.PAGE_SIZE))))
    fake_server.queue(*[full] * OLD_CLIENT_BOUND, path="/rest/search3.view")
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_SUBSONIC_PASSWORD": "p"}  # fmt: skip
    result = run_cli(env, "subsonic", "sync", "--no-push", "--url", fake_server.url, "--user", "u")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0]
    assert "may be incomplete" in warnings[0]
    assert search3_requests(fake_server) == 2


def test_the_album_and_track_number_break_ties_before_the_duration(tmp_path, cli_env):
    from mydiscover.history.subsonic import _Catalog
    from mydiscover.subsonic import Song

    music = tmp_path / "Music"
    make_track(music / "Lush" / "Spooky" / "01.flac", seconds=3.0, title="Nothing Natural",
               artist="Lush", album="Spooky", track="1/12")  # fmt: skip
    make_track(music / "Lush" / "Best Of" / "05.flac", seconds=4.0, title="Nothing Natural",
               artist="Lush", album="Best Of", track="5/20")  # fmt: skip
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    assert run_cli(env, "scan", str(music)).returncode == 0
    conn = open_database(tmp_path / "db.sqlite")
    try:
        ids = dict(conn.execute("SELECT album, id FROM tracks").fetchall())
        catalog = _Catalog(conn)
    finally:
        conn.close()

    def song(album: str, seconds: float, number: int | None) -> Song:
        return Song("s", "Nothing Natural", "Lush", album, seconds, "", 0, False, "x", number)

    # One second nearer the other album's file: the album the server names still wins.
    assert catalog.match(song("Spooky", 4.0, 1)) == (ids["Spooky"], "tags")
    assert catalog.match(song("Best Of", 3.0, 5)) == (ids["Best Of"], "tags")
    # No album in common: the track number, then the duration.
    assert catalog.match(song("Singles", 4.0, 1)) == (ids["Spooky"], "tags")
    assert catalog.match(song("Singles", 3.9, None)) == (ids["Best Of"], "tags")


def test_every_pick_the_server_lacks_is_named(server, home, tmp_path):
    env, _ = home
    local = tmp_path / "Local"
    make_track(local / "demo.flac", seconds=2.0, title="Demo", artist="Local [Only]",
               album="Tape")  # fmt: skip
    assert run_cli(env, "scan", str(server.music), str(local)).returncode == 0
    made = run_cli(env, "weekly", "--no-update", "--min-length", "1", "--size", "30")
    assert made.returncode == 0 and "Local [Only] - Demo" in made.stdout, made.stderr
    pushed = run_cli(env, "subsonic", "sync")
    assert pushed.returncode == 0, pushed.stderr
    assert "; 1 not on the server: Local [Only] - Demo" in pushed.stderr
