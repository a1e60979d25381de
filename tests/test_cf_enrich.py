"""Similarity services as enrichment: Last.fm artist.getSimilar and ListenBrainz similar-artists,
served by a real HTTP server on 127.0.0.1 in their recorded response shapes."""

from __future__ import annotations

import json
import sqlite3

import pytest

from mydiscover.cf.enrich import CACHE_DAYS, enrich, lastfm_similar, listenbrainz_similar
from mydiscover.cf.tables import ArtistPlays
from mydiscover.http import ApiSession, ServiceError
from tests import fake_services
from tests.colistening import write_hetrec
from tests.fake_services import FakeServer, Reply
from tests.helpers import run_cli
from tests.library_factory import make_track

fake_server = fake_services.fake_server  # the fixture, under its name in this module

API_KEY = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"
SLOWDIVE = ArtistPlays("slowdive", "Slowdive", "", 120)
MBID_SLOWDIVE = "4f1ea4ea-8b6b-4ab2-ab8b-4b5a1e5b0d7c"
#: What Last.fm lists beside each artist (name -> [(similar, match)]).
LASTFM_SIMILAR = {
    "Slowdive": [("Ride", "1"), ("Nobody Knows Us", "0.83"), ("Chapterhouse", "0.5")],
    "Shoegaze Artist 0": [("Nobody Knows Us", "0.9"), ("Shoegaze Artist 4", "0.7")],
    "Never Listed": [("Shoegaze Artist 4", "0.6"), ("Unknown Elsewhere", "0.9")],
}


class FakeLastfmSimilar:
    """``artist.getSimilar`` as Last.fm answers it: match as strings, a lone artist as an
    object, error 6 for an unknown artist (HTTP 200, as Last.fm does for this method)."""

    path = "/2.0/"

    def __call__(self, request: fake_services.Request) -> Reply:
        params = request.params
        if params.get("api_key") != API_KEY:
            return Reply(403, {"error": 10, "message": "Invalid API key"})
        listed = LASTFM_SIMILAR.get(params.get("artist", ""))
        if listed is None:
            return Reply(200, {"error": 6, "message": "The artist you supplied could not be found"})
        artists = [{"name": name, "mbid": "", "match": match, "url": "u"} for name, match in listed]
        shaped = artists[0] if len(artists) == 1 else artists
        return Reply(body={"similarartists": {"artist": shaped, "@attr": {"artist": "x"}}})


def labs_answer(request: fake_services.Request) -> Reply:
    """ListenBrainz labs similar-artists: a JSON list with raw co-listening scores."""
    if request.params.get("artist_mbids") != MBID_SLOWDIVE:
        return Reply(body=[])
    return Reply(
        body=[
            {"artist_mbid": MBID_SLOWDIVE, "name": "Slowdive", "score": 9000, "type": "Group"},
            {"artist_mbid": "m-ride", "name": "Ride", "score": 400, "reference_mbid": "r"},
            {"artist_mbid": "m-lush", "name": "Lush", "score": 100, "reference_mbid": "r"},
        ]
    )


@pytest.fixture
def services(fake_server: FakeServer) -> FakeServer:
    fake_server.mount("/2.0/", FakeLastfmSimilar())
    fake_server.mount("/similar-artists/json", labs_answer)
    return fake_server


def session(server: FakeServer, path: str, sleeps: list[float]) -> ApiSession:
    return ApiSession(f"{server.url}{path}", min_interval=0, max_retries=2, sleep=sleeps.append)


def test_lastfm_similar_artists_with_their_match(services):
    found = lastfm_similar(session(services, "/2.0/", []), API_KEY, SLOWDIVE)
    assert [(s.key, s.name, s.match) for s in found] == [
        ("ride", "Ride", 1.0), ("nobody knows us", "Nobody Knows Us", 0.83),
        ("chapterhouse", "Chapterhouse", 0.5),
    ]  # fmt: skip
    request = services.requests[-1]
    assert request.params["method"] == "artist.getsimilar"
    assert request.params["artist"] == "Slowdive" and "mbid" not in request.params


def test_lastfm_unknown_artist_is_an_empty_list_and_a_bad_key_an_error(services):
    client = session(services, "/2.0/", [])
    assert lastfm_similar(client, API_KEY, ArtistPlays("x", "Nobody At All", "", 1)) == []
    with pytest.raises(ServiceError, match="Invalid API key") as caught:
        lastfm_similar(client, "wrong-key", SLOWDIVE)
    assert "wrong-key" not in str(caught.value)


def test_lastfm_rate_limit_is_waited_out(services):
    sleeps: list[float] = []
    services.queue(Reply(200, {"error": 29, "message": "Rate Limit Exceeded"}), path="/2.0/")
    found = lastfm_similar(session(services, "/2.0/", sleeps), API_KEY, SLOWDIVE)
    assert len(found) == 3 and len(sleeps) == 1


def test_listenbrainz_scores_are_scaled_and_the_artist_itself_dropped(services):
    artist = ArtistPlays("slowdive", "Slowdive", MBID_SLOWDIVE, 5)
    found = listenbrainz_similar(session(services, "", []), artist)
    assert [(s.name, s.mbid, s.match) for s in found] == [
        ("Ride", "m-ride", 1.0),
        ("Lush", "m-lush", 0.25),
    ]
    assert services.requests[-1].params["artist_mbids"] == MBID_SLOWDIVE


def history(conn: sqlite3.Connection, rows: list[tuple[str, str | None, int]]) -> None:
    for artist, mbid, plays in rows:
        for n in range(plays):
            conn.execute(
                "INSERT INTO listens (listened_at, artist, title, source, artist_key, title_key, "
                "mb_artist_id) VALUES (?, ?, 't', 'file:csv', lower(?), 't', ?)",
                (1_700_000_000 + n, artist, artist, mbid),
            )
    conn.commit()


def test_enrich_asks_once_per_artist_and_caches_the_answers(conn, services):
    history(conn, [("Slowdive", MBID_SLOWDIVE, 5), ("Shoegaze Artist 0", None, 3)])
    fetchers = {
        "lastfm": lambda artist: lastfm_similar(session(services, "/2.0/", []), API_KEY, artist),
        "listenbrainz": lambda artist: listenbrainz_similar(session(services, "", []), artist),
    }
    now = 1_800_000_000
    report = enrich(conn, fetchers, now=lambda: now)
    assert report.asked == {"lastfm": 2, "listenbrainz": 1}
    assert report.skipped == {"lastfm": 0, "listenbrainz": 1}  # no MBID: ListenBrainz can't
    assert report.found == {"lastfm": 5, "listenbrainz": 2}
    stored = conn.execute(
        "SELECT source, artist_key, similar_name, match FROM similar_artists ORDER BY 1, 2, 4 DESC"
    ).fetchall()
    assert ("listenbrainz", "slowdive", "Ride", 1.0) in stored
    assert ("lastfm", "shoegaze artist 0", "Nobody Knows Us", 0.9) in stored
    asked = len(services.requests)
    again = enrich(conn, fetchers, now=lambda: now + 86_400)
    assert len(services.requests) == asked and again.cached == {"lastfm": 2, "listenbrainz": 1}
    later = enrich(conn, fetchers, now=lambda: now + (CACHE_DAYS + 1) * 86_400)
    assert later.asked == {"lastfm": 2, "listenbrainz": 1}


def test_cf_enrich_scores_library_artists_the_public_data_lacks(tmp_path, cli_env, services):
    music = tmp_path / "Music"
    for name in ("Shoegaze Artist 0", "Shoegaze Artist 4", "Nobody Knows Us", "Never Listed"):
        make_track(music / f"{name}.flac", title="t", artist=name)
    plays = tmp_path / "plays.csv"
    plays.write_text(
        "listened_at,artist,title\n"
        + "".join(f"{1_700_000_000 + n * 600},Shoegaze Artist 0,t\n" for n in range(20))
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[lastfm]\napi_key = "{API_KEY}"\napi_url = "{services.url}/2.0/"\n'
        f'[listenbrainz]\nlabs_url = "{services.url}"\n'
    )
    env = {
        **cli_env,
        "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
        "MYDISCOVER_CONFIG": str(config),
    }
    for command in (["scan", str(music)], ["history", "import", str(plays)],
                    ["cf", "import", str(write_hetrec(tmp_path / "h"))],
                    ["cf", "fit", "--factors", "8", "--regularization", "1"]):  # fmt: skip
        assert run_cli(env, *command).returncode == 0, command
    status = run_cli(env, "cf", "status", "--json")
    assert status.returncode == 0, status.stderr
    known = json.loads(status.stdout)["coverage"]  # half the library's artists are public
    assert known["artists"] == {"total": 4, "known": 2, "by_mbid": 0, "by_name": 2, "share": 0.5}
    assert known["tracks"]["share"] == 0.5 and known["plays"]["share"] == 1.0
    doctor = json.loads(run_cli(env, "doctor", "--offline", "--json").stdout)["checks"]
    [check] = [c for c in doctor if c["name"] == "CF coverage"]
    assert check["detail"] == ("the CF model knows 50% of your library's 4 artists (50% of its "
                               "tracks, 100% of your plays)")  # fmt: skip
    first = run_cli(env, "cf", "enrich", "--limit", "1")  # the user's artist, one lacking
    assert first.returncode == 0, first.stderr
    assert "2 of your library's artists are not in the public data: asking about 1 of them" \
        in first.stderr  # fmt: skip
    assert "lastfm: asked about 2 artists, 4 similar artists listed; 0 cached" in first.stderr
    result = run_cli(env, "cf", "enrich")  # goes on: the answers so far are cached
    assert result.returncode == 0, result.stderr
    assert "lastfm: asked about 1 artists, 0 similar artists listed; 2 cached" in result.stderr
    assert "3 without a MusicBrainz ID" in result.stderr  # ListenBrainz needs one
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    rows = dict(
        (artist, (matched_by, because))
        for artist, matched_by, because in conn.execute(
            "SELECT tracks.artist, matched_by, because FROM cf_scores JOIN tracks ON id = track_id"
        )
    )
    conn.close()
    assert_one_cf_scoring(tmp_path / "db.sqlite")
    assert rows["Nobody Knows Us"] == ("similar", "Shoegaze Artist 0")
    assert rows["Shoegaze Artist 4"][0] == "name"
    # Its own list names an artist of the model: scored by that one, on the model's scale.
    assert rows["Never Listed"] == ("similar", "Shoegaze Artist 4")
    weekly = run_cli(
        env, "weekly", "--no-update", "--format", "json", "--min-length", "0.1", "--explain"
    )
    assert weekly.returncode == 0, weekly.stderr
    assert "note: the CF model knows the artists of 50% of your library's tracks" in weekly.stderr
    picks = {t["artist"]: t for t in json.loads(weekly.stdout)["tracks"]}
    assert picks["Nobody Knows Us"]["reasons"]["cf"] == (
        "similar-artist lists put it beside Shoegaze Artist 0, which you play"
    )
    assert picks["Never Listed"]["reasons"]["cf"] == (
        "similar-artist lists put it beside Shoegaze Artist 4, whom listeners like you play"
    )


def assert_one_cf_scoring(database):
    """The scores 'cf score' stores (cf top reads them) are the weekly's cf signal's."""
    from mydiscover.cf.store import fitted_model
    from mydiscover.db.connection import open_database
    from mydiscover.history.tables import load_history
    from mydiscover.recommend.library import load_library
    from mydiscover.recommend.signals import cf_signals

    conn = open_database(database)
    try:
        stored = dict(conn.execute("SELECT track_id, score FROM cf_scores").fetchall())
        library = load_library(conn)
        [cf, *_] = cf_signals(conn, fitted_model(database), load_history(conn), library)
    finally:
        conn.close()
    weekly = {int(library.ids[row]): score for row, score in zip(cf.rows, cf.scores, strict=True)}
    assert weekly.keys() == stored.keys() and len(stored) == 4
    assert all(abs(weekly[track] - stored[track]) < 1e-5 for track in stored)


def test_cf_enrich_lastfm_without_a_key_says_where_to_get_one(tmp_path, cli_env):
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    result = run_cli(env, "cf", "enrich", "--source", "lastfm")
    assert result.returncode == 1 and "a Last.fm API key is needed" in result.stderr
    bad = run_cli(env, "cf", "enrich", "--source", "spotify")
    assert bad.returncode == 1 and "unknown source" in bad.stderr
