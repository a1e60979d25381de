"""Instant Mix (``recommend/radio.py``) on a real analysed library with a CF model, and the
pieces ``serve`` shows it with: the taste map's projection and the Subsonic answers' formats."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from mydiscover.audio.taste_map import project, taste_map
from mydiscover.db import open_database
from mydiscover.recommend.radio import ARTIST_SHARE, Radio
from mydiscover.recommend.tables import set_banned
from mydiscover.serve.subsonic_format import envelope, error_payload, render
from tests.serve_home import make_home

NS = "{http://subsonic.org/restapi}"


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("radio"))
    conn = open_database(home.database)
    yield conn, home
    conn.close()


def track(conn, artist: str, title: str = "Song 1") -> int:
    return conn.execute("SELECT id FROM tracks WHERE artist = ? AND title = ?",
                        (artist, title)).fetchone()[0]  # fmt: skip


def test_a_mix_keeps_to_the_seeds_scene_caps_artists_and_leaves_out_seed_and_bans(setting):
    conn, home = setting
    seed = track(conn, "Metal Artist 2")
    banned = track(conn, "Metal Artist 0", "Song 2")
    set_banned(conn, banned, True, int(time.time()))
    try:
        radio = Radio.load(conn, home.database)
    finally:
        set_banned(conn, banned, False, int(time.time()))
    row = radio.row(seed)
    mix = radio.similar_tracks(row, 10)
    rows = [s.row for s in mix]
    artists = [radio.library.artists[r] for r in rows]
    assert row not in rows and radio.row(banned) not in rows
    assert all(artists.count(a) <= int(10 * ARTIST_SHARE) for a in artists)
    metal = [a.startswith("Metal") for a in artists]
    assert metal[: sum(metal)] == [True] * sum(metal) and sum(metal) >= 5  # the scene first
    assert all(s.cf is not None for s in mix if radio.library.artists[s.row].startswith("Metal"))
    scores = [s.score for s in mix]
    assert scores == sorted(scores, reverse=True)


def test_artist_radio_mixes_the_artists_scene_with_some_of_its_own(setting):
    conn, home = setting
    radio = Radio.load(conn, home.database)
    mix = radio.artist_mix(radio.artist_code("Shoegaze Artist 2"), 10)
    artists = [radio.library.artists[s.row] for s in mix]
    assert artists.count("Shoegaze Artist 2") == int(10 * ARTIST_SHARE)
    assert all(a.startswith("Shoegaze") for a in artists[:6]), artists


def test_a_mix_within_a_mask_takes_only_those_rows(setting):
    conn, home = setting
    radio = Radio.load(conn, home.database)
    seed = radio.row(track(conn, "Shoegaze Artist 2"))
    within = np.zeros(len(radio.library), bool)
    allowed = [
        radio.row(track(conn, "Metal Artist 1")),
        radio.row(track(conn, "Shoegaze Artist 4")),
    ]
    within[allowed] = True
    assert sorted(s.row for s in radio.similar_tracks(seed, 5, within)) == sorted(allowed)
    assert radio.sonic_tracks(seed, 5, within)[0].row == allowed[1]  # sounds alike


def test_a_sonic_path_runs_from_start_to_end_without_repeats(setting):
    conn, home = setting
    radio = Radio.load(conn, home.database)
    start = radio.row(track(conn, "Metal Artist 1"))
    end = radio.row(track(conn, "Shoegaze Artist 3"))
    path = radio.sonic_path(start, end, 6)
    assert path[0] == start and path[-1] == end and len(path) == len(set(path)) == 6
    # Each step sounds more like the end than the one before it, broadly: the first step
    # nearer the start, the last nearer the end.
    towards_end = radio.library.centred(np.array(path)) @ radio.library.centred(np.array([end]))[0]
    assert towards_end[1] < towards_end[-2]


def test_similar_artists_and_top_tracks(setting):
    conn, home = setting
    radio = Radio.load(conn, home.database)
    similar = radio.similar_artists("METAL ARTIST 3", 3)  # any spelling of the name
    assert [name.startswith("Metal") for name, _ in similar] == [True, True, True]
    assert "Metal Artist 3" not in [name for name, _ in similar]
    assert radio.similar_artists("Nobody At All", 3) == []
    top = radio.top_tracks("Shoegaze Artist 1", 3)
    assert radio.library.titles[top[0]] == "Song 1"  # the played one first
    assert len(top) == 3


def test_the_taste_map_is_stored_and_made_again_when_the_analysis_changes(setting):
    conn, _ = setting
    first = taste_map(conn)
    assert len(first) == conn.execute("SELECT count(*) FROM track_audio").fetchone()[0]
    assert first.points.min() >= 0 and first.points.max() <= 1
    stored = conn.execute("SELECT made_from FROM taste_map").fetchone()[0]
    conn.execute("UPDATE track_audio SET analysed_at = '2999-01-01T00:00:00Z' "
                 "WHERE track_id = (SELECT min(track_id) FROM track_audio)")  # fmt: skip
    conn.commit()
    again = taste_map(conn)
    assert conn.execute("SELECT made_from FROM taste_map").fetchone()[0] != stored
    np.testing.assert_allclose(again.points, first.points)  # same vectors, same map


def test_the_projection_separates_what_sounds_apart_and_does_not_flip():
    rng = np.random.default_rng(5)
    a = rng.normal(0, 0.05, (50, 20)) + np.eye(20)[0]
    b = rng.normal(0, 0.05, (50, 20)) + np.eye(20)[1]
    vectors = np.vstack([a, b]).astype(np.float32)
    points = project(vectors)
    assert points.shape == (100, 2)
    assert abs(points[:50, 0].mean() - points[50:, 0].mean()) > 0.5  # the first axis splits them
    np.testing.assert_allclose(project(vectors[::-1])[::-1], points, atol=1e-5)
    assert project(np.zeros((0, 20), np.float32)).shape == (0, 2)


def test_subsonic_answers_in_xml_keep_text_fields_as_elements_and_drop_what_xml_cannot_hold():
    body = envelope({"artistInfo2": {"biography": "<b>Bio</b>", "similarArtist": [
        {"id": "a1", "name": "Ride\x01"}]}, "sonicMatch": [
        {"entry": {"id": "s1", "isDir": False}, "similarity": 0.5}]})  # fmt: skip
    data, media = render(body, "xml")
    assert media == "text/xml"
    root = ElementTree.fromstring(data)
    assert root.tag == f"{NS}subsonic-response" and root.get("status") == "ok"
    info = root.find(f"{NS}artistInfo2")
    assert info.find(f"{NS}biography").text == "<b>Bio</b>"
    assert info.find(f"{NS}similarArtist").attrib == {"id": "a1", "name": "Ride"}
    match = root.find(f"{NS}sonicMatch")
    assert match.find(f"{NS}entry").get("isDir") == "false"
    assert match.find(f"{NS}similarity").text == "0.5"


def test_subsonic_answers_in_json_and_jsonp_and_errors():
    failed = envelope(error_payload(70, "not found"), "failed")
    data, media = render(failed, "json")
    assert media == "application/json"
    assert json.loads(data)["subsonic-response"]["error"] == {"code": 70, "message": "not found"}
    wrapped, media = render(failed, "jsonp", "cb.done")
    assert media == "application/javascript" and wrapped.startswith(b"cb.done(")
    hostile, media = render(failed, "jsonp", "alert(1);x")  # not a name: plain JSON
    assert media == "application/json" and json.loads(hostile)
