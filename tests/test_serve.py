"""``mydiscover serve`` started as a user starts it, on 127.0.0.1, over a real analysed library:
the page, the player's range requests, the buttons, the API, the refresh, and its defences
(path traversal, links out of the music folder, cross-site POSTs, hostile tags, the token)."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

import pytest
import requests

from mydiscover.config import load_settings
from mydiscover.db import open_database
from mydiscover.history.tables import STARRED_PLAYS, Feedback, load_history, record_feedback
from mydiscover.recommend.rules import Rules
from mydiscover.recommend.service import weekly_playlist
from mydiscover.serve.run import ENV_TOKEN, is_loopback, plan
from tests.serve_home import HOSTILE_ARTIST, Home, make_home, start_serve


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    return make_home(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def server(home):
    yield from start_serve(home.env)


def query(home: Home, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(home.database)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def picks(server) -> list[dict]:
    answer = requests.get(f"{server.url}/api/weekly", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["picks"]


def csrf_of(server) -> str:
    page = requests.get(server.url, timeout=30).text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_the_page_lists_this_weeks_picks_with_their_reasons_and_players(home, server):
    page = requests.get(server.url, timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    weekly = picks(server)
    assert len(weekly) == 8
    for pick in weekly:
        assert f'src="/stream/{pick["track_id"]}"' in page.text
        assert pick["reasons"], pick
    assert "Past weeklies" in page.text and "Stages" in page.text
    assert 'data="/map.svg"' in page.text


def test_a_hostile_tag_is_escaped_in_the_page_and_the_map(home, server):
    page = requests.get(server.url, timeout=30).text
    svg = requests.get(f"{server.url}/map.svg", timeout=30).text
    assert HOSTILE_ARTIST not in page and HOSTILE_ARTIST not in svg
    assert "<img src=x" not in svg
    assert "&lt;script&gt;alert(" in svg  # the map names every track, the hostile one too


def test_the_player_gets_ranges_of_the_file(home, server):
    track = picks(server)[0]["track_id"]
    (path,) = query(home, "SELECT path FROM tracks WHERE id = ?", track)[0]
    data = Path(os.fsdecode(path)).read_bytes()
    whole = requests.get(f"{server.url}/stream/{track}", timeout=30)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "audio/ogg"
    part = requests.get(f"{server.url}/stream/{track}", headers={"Range": "bytes=100-199"},
                        timeout=30)  # fmt: skip
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert part.content == data[100:200]


@pytest.mark.parametrize("path", [
    "/stream/../../etc/passwd", "/stream/%2e%2e/%2e%2e/etc/passwd",
    "/stream/..%2f..%2fetc%2fpasswd",
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/db.sqlite", "/stream/99999",
    "/stream/-1", "/stream/1%00",
])  # fmt: skip
def test_nothing_but_library_tracks_is_served(server, path):
    answer = requests.get(f"{server.url}{path}", timeout=30)
    assert answer.status_code in (404, 400), (path, answer.status_code)
    assert "root:" not in answer.text


def test_a_link_out_of_the_music_folder_is_refused(home, server):
    (track,) = query(home, "SELECT id FROM tracks WHERE path_text LIKE ?", "%escape.ogg")[0]
    answer = requests.get(f"{server.url}/stream/{track}", timeout=30)
    assert answer.status_code == 403
    assert answer.content != home.outside.read_bytes()


def test_a_track_whose_file_went_missing_is_a_clear_404(home, server):
    track, path = query(home, "SELECT id, path FROM tracks WHERE artist = 'Metal Artist 3' "
                        "AND title = 'Song 3'")[0]  # fmt: skip
    where = Path(os.fsdecode(path))
    hidden = where.with_name("hidden.tmp")
    where.rename(hidden)
    try:
        answer = requests.get(f"{server.url}/stream/{track}", timeout=30)
    finally:
        hidden.rename(where)
    assert answer.status_code == 404 and "missing" in answer.text


def test_the_buttons_refuse_cross_site_and_forged_posts(home, server):
    track = picks(server)[1]["track_id"]
    forged = requests.post(f"{server.url}/feedback/{track}", data={"action": "ban"},
                           allow_redirects=False, timeout=30)  # fmt: skip
    assert forged.status_code == 403
    csrf = csrf_of(server)
    elsewhere = requests.post(f"{server.url}/feedback/{track}",
                              data={"action": "ban", "csrf": csrf},
                              headers={"Origin": "http://evil.example"}, timeout=30)  # fmt: skip
    assert elsewhere.status_code == 403
    assert not query(home, "SELECT 1 FROM bans WHERE track_id = ?", track)


def test_love_ban_and_skip_are_stored_and_the_weekly_uses_them(home, server):
    weekly = picks(server)
    loved, banned = weekly[2]["track_id"], weekly[3]["track_id"]
    csrf = csrf_of(server)
    for track, action in ((loved, "love"), (banned, "ban")):
        answer = requests.post(f"{server.url}/feedback/{track}",
                               data={"action": action, "csrf": csrf}, allow_redirects=False,
                               timeout=30)  # fmt: skip
        assert answer.status_code == 303, answer.text
    assert query(home, "SELECT kind FROM feedback WHERE track_id = ?", loved) == [("love",)]
    assert query(home, "SELECT 1 FROM bans WHERE track_id = ?", banned)
    # A love counts as a star in the history; a ban leaves the week's weekly.
    conn = open_database(home.database)
    try:
        assert load_history(conn).track_plays[loved] >= STARRED_PLAYS
    finally:
        conn.close()
    assert banned not in [p["track_id"] for p in picks(server)]
    bad = requests.post(f"{server.url}/feedback/{loved}", data={"action": "x", "csrf": csrf},
                        timeout=30)  # fmt: skip
    assert bad.status_code == 400


def test_a_skipped_track_is_not_offered_in_later_weeklies(home):
    settings = load_settings(database=home.database)
    rules = Rules(size=8, min_seconds=1)
    conn = open_database(settings.database)
    try:
        before = weekly_playlist(conn, settings.database, week="2031-W10", rules=rules, save=False)
        skipped = before.weekly.picks[0].track_id
        record_feedback(conn, skipped, Feedback.SKIP, int(time.time()))
        after = weekly_playlist(conn, settings.database, week="2031-W10", rules=rules, save=False)
    finally:
        conn.close()
    assert skipped not in [pick.track_id for pick in after.weekly.picks]
    assert len(after.weekly.picks) == len(before.weekly.picks)


def test_the_api_gives_mixes_that_keep_to_the_seeds_scene(home, server):
    (seed,) = query(home, "SELECT id FROM tracks WHERE artist = 'Metal Artist 2' LIMIT 1")[0]
    mix = requests.get(f"{server.url}/api/tracks/{seed}/similar?count=6", timeout=30).json()
    assert len(mix["similar"]) == 6
    # The three other metal artists first, one track each (a fifth of six: one per artist).
    first = [s["artist"] for s in mix["similar"][:3]]
    assert sorted(first) == ["Metal Artist 0", "Metal Artist 1", "Metal Artist 3"], mix
    sonic = requests.get(f"{server.url}/api/tracks/{seed}/sonic?count=3", timeout=30).json()
    assert all(s["artist"].startswith("Metal") for s in sonic["similar"])
    (end,) = query(home, "SELECT id FROM tracks WHERE artist = 'Shoegaze Artist 3' LIMIT 1")[0]
    path = requests.get(f"{server.url}/api/tracks/{seed}/path?to={end}&count=5", timeout=30)
    steps = path.json()["path"]
    assert [steps[0]["track_id"], steps[-1]["track_id"]] == [seed, end] and len(steps) == 5
    artists = requests.get(f"{server.url}/api/artists/similar?name=metal artist 0",
                           timeout=30).json()  # fmt: skip
    assert artists["similar"][0]["name"].startswith("Metal")
    top = requests.get(f"{server.url}/api/artists/top?name=Shoegaze Artist 0", timeout=30).json()
    assert top["top"][0]["title"] == "Song 1"  # the one the user plays
    missing = requests.get(f"{server.url}/api/tracks/99999/similar", timeout=30)
    assert missing.status_code == 404 and "error" in missing.json()
    for odd in (
        f"/api/tracks/{seed}/path?to=x",
        f"/api/tracks/{seed}/nonsense",
        "/api/artists/nonsense?name=Metal Artist 0",
        "/api/artists/top?name=Nobody",
    ):
        answer = requests.get(f"{server.url}{odd}", timeout=30)
        assert answer.status_code in (400, 404) and "error" in answer.json(), odd
    csrf = csrf_of(server)
    nobody = requests.post(f"{server.url}/feedback/99999", data={"action": "love", "csrf": csrf},
                           timeout=30)  # fmt: skip
    assert nobody.status_code == 404


def test_the_stages_and_past_weeklies_are_shown(server):
    stages = requests.get(f"{server.url}/api/stages", timeout=30).json()["stages"]
    assert [s["stage"] for s in stages] == ["scan", "history", "analysis", "cf", "text"]
    assert "analysed" in stages[2]["holds"]
    history = requests.get(f"{server.url}/api/history", timeout=30).json()["weeklies"]
    assert history and history[0]["picks"] == 8


def test_the_refresh_runs_every_stage_and_reports_its_progress(home, server):
    csrf = csrf_of(server)
    started = requests.post(f"{server.url}/refresh", data={"csrf": csrf},
                            headers={"Accept": "application/json"}, timeout=30)  # fmt: skip
    assert started.status_code == 202 and started.json()["started"]
    deadline = time.monotonic() + 120
    while (job := requests.get(f"{server.url}/api/refresh", timeout=30).json())["running"]:
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert job["lines"][-1] == "done", job
    assert any("analyse" in line for line in job["lines"]), job


def test_the_address_decides_whether_a_token_is_asked(monkeypatch):
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    assert plan("127.0.0.1", 8765, "").token == ""
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")
    beyond = plan("0.0.0.0", 8765, "")
    assert len(beyond.token) >= 24 and f"?token={beyond.token}" in beyond.address
    assert plan("192.168.1.5", 8765, "").token != beyond.token
    monkeypatch.setenv(ENV_TOKEN, "chosen")
    own = plan("0.0.0.0", 8765, "")
    assert own.token == "chosen" and "chosen" not in own.address  # never printed


def test_with_a_token_every_request_but_subsonics_must_carry_it(home):
    env = {**home.env, ENV_TOKEN: "t0ken-for-the-test"}
    for server in start_serve(env):
        assert requests.get(server.url, timeout=30).status_code == 401
        assert requests.get(f"{server.url}/api/weekly", timeout=30).status_code == 401
        track = query(home, "SELECT id FROM tracks LIMIT 1")[0][0]
        assert requests.get(f"{server.url}/stream/{track}", timeout=30).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert requests.get(server.url, headers=wrong, timeout=30).status_code == 401
        right = {"Authorization": "Bearer t0ken-for-the-test"}
        assert requests.get(f"{server.url}/api/weekly", headers=right, timeout=30).ok
        session = requests.Session()
        first = session.get(f"{server.url}/?token=t0ken-for-the-test", timeout=30)
        assert first.ok and first.url == f"{server.url}/"  # the token left the address
        assert session.get(f"{server.url}/api/weekly", timeout=30).ok  # by its cookie


def test_serve_says_where_it_listens_and_stops_on_sigterm(home):
    for server in start_serve(home.env):
        process = server.process
    assert process.wait(timeout=20) == 0
    said = server.stderr()
    assert "Serving" in said and "http://127.0.0.1:" in said and "stopped" in said
