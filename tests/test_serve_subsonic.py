"""``mydiscover serve --upstream`` in front of a real Subsonic server (supysonic) on 127.0.0.1,
used by a maintained Subsonic client library (py-sonic) as a user's client would use it:
Instant Mix in the server's own song ids, everything else passed through byte for byte."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest
import requests

from tests.serve_home import Home, make_home, start_serve
from tests.supysonic_server import PASSWORD, USER, start_supysonic

libsonic = pytest.importorskip("libsonic", reason="the proxy's tests need py-sonic")

NS = "{http://subsonic.org/restapi}"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    return make_home(tmp_path_factory.mktemp("proxied"))


@pytest.fixture(scope="module")
def upstream(home, tmp_path_factory):
    yield from start_supysonic(tmp_path_factory.mktemp("supysonic"), home.music)


@pytest.fixture(scope="module")
def proxy(home, upstream):
    config = home.root / "config.toml"
    # supysonic refuses tokens and serves plain http here: the password needs the opt-in.
    config.write_text(f'[subsonic]\nurl = "{upstream.url}"\nuser = "{USER}"\n'
                      f'password = "{PASSWORD}"\nallow_plain_password = true\n')  # fmt: skip
    config.chmod(0o600)
    env = {**home.env, "MYDISCOVER_CONFIG": str(config)}
    from tests.helpers import run_cli

    synced = run_cli(env, "subsonic", "sync", "--no-push")
    assert synced.returncode == 0, synced.stderr
    yield from start_serve(env, "--upstream", upstream.url)


def client(proxy, password: str = PASSWORD):
    host, port = proxy.url.rsplit(":", 1)
    return libsonic.Connection(host, USER, password, port=int(port), legacyAuth=True)


def song_ids(upstream) -> dict[str, str]:
    """The server's song ids by "artist - title"."""
    found = upstream.call("search3", query="", songCount="500", artistCount="0", albumCount="0")
    return {f"{s['artist']} - {s['title']}": s["id"] for s in found["searchResult3"]["song"]}


def call(proxy, method: str, fmt: str = "json", password: str = PASSWORD, **params):
    query = {"u": USER, "p": password, "v": "1.16.1", "c": "test", "f": fmt, **params}
    return requests.get(f"{proxy.url}/rest/{method}.view", params=query, timeout=30)


def test_instant_mix_for_a_song_gives_library_songs_in_the_servers_ids(proxy, upstream):
    ids = song_ids(upstream)
    seed = ids["Metal Artist 2 - Song 1"]
    answer = client(proxy).getSimilarSongs2(seed, count=6)
    songs = answer["similarSongs2"]["song"]
    assert len(songs) == 6
    assert all(song["id"] in ids.values() and song["id"] != seed for song in songs)
    assert sorted(s["artist"] for s in songs[:3]) == [
        "Metal Artist 0", "Metal Artist 1", "Metal Artist 3"]  # fmt: skip
    # The server's own song objects, so a client can play and show them.
    assert all("coverArt" in song or "parent" in song for song in songs)
    older = client(proxy).getSimilarSongs(seed, count=4)["similarSongs"]["song"]
    assert len(older) == 4


def test_artist_radio_for_an_artist_id_keeps_to_the_artists_scene(proxy, upstream):
    artists = upstream.call("getArtists")["artists"]["index"]
    by_name = {a["name"]: a["id"] for letter in artists for a in letter["artist"]}
    songs = client(proxy).getSimilarSongs2(by_name["Metal Artist 1"], count=5)
    found = songs["similarSongs2"]["song"]
    assert len(found) == 5 and all(s["artist"].startswith("Metal") for s in found[:4]), found
    assert [s["artist"] for s in found].count("Metal Artist 1") == 1  # a fifth of five


def test_a_stream_passes_through_byte_for_byte(proxy, upstream):
    seed = song_ids(upstream)["Shoegaze Artist 3 - Song 2"]
    through = client(proxy).stream(seed).read()
    direct = requests.get(f"{upstream.url}/rest/stream.view", timeout=30, params={
        "u": USER, "p": PASSWORD, "v": "1.16.1", "c": "test", "id": seed}).content  # fmt: skip
    assert through == direct and len(direct) > 1000


def test_top_songs_and_similar_artists_come_from_mydiscover(proxy, upstream):
    top = client(proxy).getTopSongs("Shoegaze Artist 0", count=3)["topSongs"]["song"]
    assert top[0]["title"] == "Song 1"  # the one the user plays
    artists = upstream.call("getArtists")["artists"]["index"]
    by_name = {a["name"]: a["id"] for letter in artists for a in letter["artist"]}
    info = client(proxy).getArtistInfo2(by_name["Metal Artist 0"], count=3)["artistInfo2"]
    similar = info["similarArtist"]
    similar = similar if isinstance(similar, list) else [similar]
    assert similar[0]["name"].startswith("Metal") and similar[0]["id"] in by_name.values()


def test_sonic_similarity_is_offered_and_answered_in_json_and_xml(proxy, upstream):
    extensions = call(proxy, "getOpenSubsonicExtensions").json()["subsonic-response"]
    assert {"name": "sonicSimilarity", "versions": [1]} in extensions["openSubsonicExtensions"]
    ids = song_ids(upstream)
    seed, end = ids["Metal Artist 1 - Song 1"], ids["Shoegaze Artist 2 - Song 3"]
    matches = call(proxy, "getSonicSimilarTracks", id=seed, count="3").json()
    found = matches["subsonic-response"]["sonicMatch"]
    assert len(found) == 3 and all(0 <= m["similarity"] <= 1 for m in found)
    assert all(m["entry"]["artist"].startswith("Metal") for m in found)
    xml = call(proxy, "findSonicPath", fmt="xml", startSongId=seed, endSongId=end, count="4")
    root = ElementTree.fromstring(xml.content)
    assert root.tag == f"{NS}subsonic-response" and root.get("status") == "ok"
    steps = root.findall(f"{NS}sonicMatch")
    assert [s.find(f"{NS}entry").get("id") for s in (steps[0], steps[-1])] == [seed, end]
    assert len(steps) == 4 and steps[1].find(f"{NS}similarity").text


def test_wrong_credentials_get_the_servers_refusal(proxy, upstream):
    seed = song_ids(upstream)["Metal Artist 2 - Song 1"]
    answer = call(proxy, "getSimilarSongs2", password="wrong", id=seed).json()
    assert answer["subsonic-response"]["status"] == "failed"
    assert answer["subsonic-response"]["error"]["code"] == 40


def test_a_song_mydiscover_does_not_know_is_asked_of_the_server(proxy, upstream):
    for method in ("getSimilarSongs2", "getArtistInfo2", "getSonicSimilarTracks"):
        through = call(proxy, method, id="no-such-id").json()["subsonic-response"]
        direct = upstream.call(method, id="no-such-id")
        assert through["status"] == direct["status"], method
        assert through.get("error") == direct.get("error"), method
    ping = call(proxy, "ping").json()["subsonic-response"]
    assert ping["status"] == "ok" and ping.get("type") != "mydiscover"  # the server's answer


def test_an_upstream_that_is_down_gets_a_subsonic_error(home):
    from tests.serve_home import free_port

    for proxy in start_serve(home.env, "--upstream", f"http://127.0.0.1:{free_port()}"):
        answer = call(proxy, "ping").json()["subsonic-response"]
        assert answer["status"] == "failed" and "not answering" in answer["error"]["message"]
        xml = ElementTree.fromstring(call(proxy, "getSimilarSongs2", fmt="xml", id="1").content)
        assert xml.get("status") == "failed" and xml.find(f"{NS}error").get("code") == "0"
        page = requests.get(proxy.url, timeout=30).text
        assert "is not answering" in page  # the page says so too
