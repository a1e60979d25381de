"""``mydiscover explore`` end to end: a real library, history and Last.fm 360K-format public data
(with artist MBIDs) fitted by the real CF stage, and ListenBrainz's popularity API played by a
loopback server in its recorded format."""

from __future__ import annotations

import json
import uuid

import pytest

from mydiscover.cf.explore import explore
from mydiscover.cf.score import fold_in_user
from mydiscover.cf.store import fitted_model
from mydiscover.cf.tables import Listed, library_tracks, user_artist_plays
from mydiscover.db.connection import open_database
from mydiscover.library.match import artist_key
from tests import fake_services
from tests.colistening import GROUPS, planted_plays, write_lastfm_360k
from tests.fake_services import Reply, Request
from tests.helpers import run_cli
from tests.library_factory import make_track

fake_server = fake_services.fake_server

OWNED = [f"Shoegaze Artist {n}" for n in range(4)]
PLAYED_NOT_OWNED = "Shoegaze Artist 4"


def mbid_of(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def popularity(request: Request) -> Reply:
    """GET /1/popularity/top-recordings-for-artist/<mbid>, as ListenBrainz answers it."""
    artist = request.path.rsplit("/", 1)[-1]
    return Reply(body=[
        {"artist_mbids": [artist], "artist_name": "x", "length": 211912 + n,
         "recording_mbid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{artist}/{n}")),
         "recording_name": f"Hit {n}", "release_mbid": str(uuid.UUID(int=n)),
         "release_name": f"Album {n}", "tags": [], "total_listen_count": 19440 - n,
         "total_user_count": 1102 - n, "caa_id": 14987576054}
        for n in range(5)
    ])  # fmt: skip


@pytest.fixture
def setup(tmp_path, cli_env, fake_server):
    """Owned: four shoegaze artists; played: those and a fifth not owned; a fitted model."""
    fake_server.mount("/1/popularity/", popularity)
    music = tmp_path / "Music"
    for name in OWNED:
        make_track(music / f"{name}.flac", title=f"Song of {name}", artist=name)
    history = tmp_path / "history.csv"
    lines = ["listened_at,artist,title"]
    for day in range(20):
        for number, name in enumerate([*OWNED, PLAYED_NOT_OWNED]):
            lines.append(f"{1_700_000_000 + day * 86_400 + number * 600},{name},Song of {name}")
    history.write_text("\n".join(lines) + "\n")
    rows = []
    for listener, _, group, index, plays in planted_plays():
        name = f"{GROUPS[group]} Artist {index}"
        rows.append(f"user{listener}\t{mbid_of(name)}\t{name}\t{plays}")
    dataset = write_lastfm_360k(tmp_path / "usersha1-artmbid-artname-plays.tsv.gz", rows)
    config = tmp_path / "config.toml"
    config.write_text(f'[listenbrainz]\napi_url = "{fake_server.url}"\n')
    db = tmp_path / "db.sqlite"
    env = {**cli_env, "MYDISCOVER_DB": str(db), "MYDISCOVER_CONFIG": str(config)}
    for command in (["scan", str(music)], ["history", "import", str(history)],
                    ["cf", "import", str(dataset)], ["cf", "fit", "--factors", "8"]):  # fmt: skip
        done = run_cli(env, *command)
        assert done.returncode == 0, (command, done.stderr)
    return env, db, tmp_path


def test_explore_offers_artists_neither_owned_nor_played_with_reasons(setup):
    env, _, _ = setup
    result = run_cli(env, "explore", "--offline", "--json", "-n", "8")
    assert result.returncode == 0, result.stderr
    artists = json.loads(result.stdout)["artists"]
    names = [a["artist"] for a in artists]
    assert len(names) == 8 and not set(names) & {*OWNED, PLAYED_NOT_OWNED}
    # The planted taste: a shoegaze listener's unknown shoegaze artists lead.
    assert all(name.startswith("Shoegaze") for name in names[:5]), names
    for artist in artists:
        assert artist["mbid"] == mbid_of(artist["artist"]) and artist["source"] == "cf"
        assert artist["musicbrainz"] == f"https://musicbrainz.org/artist/{artist['mbid']}"
        assert artist["reason"].startswith("listeners who play Shoegaze Artist ")
        assert artist["recordings"] == []  # --offline
    scores = [a["score"] for a in artists]
    assert scores == sorted(scores, reverse=True)


def test_recordings_from_listenbrainz_in_a_jspf_of_mbids(setup, fake_server):
    env, _, tmp_path = setup
    jspf = tmp_path / "explore.jspf"
    failing = Reply(500, {"code": 500, "error": "An error occurred"})
    fake_server.queue(failing, failing)  # the first artist's try and its retry
    result = run_cli(env, "explore", "-n", "6", "--recordings", "2", "-o", str(jspf))
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [len(fields) for fields in lines] == [5] * 6  # a pipe: one TSV line an artist
    asked = [r.path for r in fake_server.requests if "top-recordings-for-artist" in r.path]
    assert len(set(asked)) == 6  # one artist each (a 500 is tried again once)
    failed, *named = lines  # the server failed for the first: a warning, the others named
    assert f"warning: no recordings for {failed[1]}: " in result.stderr and failed[3] == ""
    assert all(fields[3] == "Hit 0; Hit 1" for fields in named)
    playlist = json.loads(jspf.read_text())["playlist"]
    assert playlist["creator"] == "mydiscover" and playlist["date"]
    tracks = playlist["track"]
    assert len(tracks) == 2 * len(named)
    for track in tracks:
        assert track["identifier"].startswith("https://musicbrainz.org/recording/")
        assert "location" not in track and track["title"].startswith("Hit ")
        [artist] = track["extension"]["https://musicbrainz.org/doc/jspf#track"][
            "artist_identifiers"]  # fmt: skip
        assert artist == f"https://musicbrainz.org/artist/{mbid_of(track['creator'])}"
        assert track["duration"] in (211912, 211913) and track["annotation"]


def test_listed_artists_the_model_lacks_compete_on_its_scale(setup):
    _, db, _ = setup
    model = fitted_model(db)
    assert model is not None
    conn = open_database(db)
    try:
        history, library = user_artist_plays(conn), library_tracks(conn)
    finally:
        conn.close()
    mine = artist_key("Shoegaze Artist 0")
    listed = {
        artist_key("Newcomer"): Listed("Newcomer", [(mine, 0.5)]),
        artist_key("Shoegaze Artist 1"): Listed("Shoegaze Artist 1", [(mine, 1.0)]),
    }
    found = explore(model, history, library, listed, {}, 30)
    newcomer = [d for d in found if d.name == "Newcomer"]
    assert len(newcomer) == 1 and newcomer[0].source == "similar"
    assert newcomer[0].reason.startswith("listed beside Shoegaze Artist 0, which you play")
    assert "Shoegaze Artist 1" not in [d.name for d in found]  # owned: never offered
    # Its score: the match x the user's predicted preference for the artist it was listed
    # beside, the very score CF gives that artist's tracks.
    user_factors, _ = fold_in_user(model, history)
    [item] = model.lookup([""], [mine])[0].tolist()
    preference = float(model.als.item_factors[item] @ user_factors)
    assert newcomer[0].score == pytest.approx(0.5 * preference, rel=1e-5)


def test_explore_without_a_model_says_what_to_do(tmp_path, cli_env):
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite")}
    result = run_cli(env, "explore")
    assert result.returncode == 1 and "no CF model yet" in result.stderr
