"""End to end: ``mydiscover reviews crawl``, ``reviews status`` and ``terms`` on a real database,
library and a small web on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests import fake_services
from tests.fake_services import FakeServer, Reply
from tests.fake_web import API_KEY, serve_web
from tests.helpers import run_cli
from tests.library_factory import make_track

fake_server = fake_services.fake_server

ALBUMS = [
    ("Slowdive", "Souvlaki", "Shoegaze"),
    ("Ride", "Nowhere", "Shoegaze"),
    ("Metallica", "Master of Puppets", "Thrash Metal"),
    ("Nobody Knows Us", "Basement Tapes", "Dream Pop"),
]


@pytest.fixture
def home(tmp_path, cli_env, fake_server: FakeServer):
    web = serve_web(fake_server)
    music = tmp_path / "Music"
    for artist, album, genre in ALBUMS:
        make_track(music / artist / f"{album}.flac", title="One", artist=artist, album=album,
                   genre=genre)  # fmt: skip
    config = tmp_path / "config.toml"
    config.write_text(
        f'[lastfm]\napi_key = "{API_KEY}"\napi_url = "{web.url}/2.0/"\n'
        f'[reviews]\ncontact = "me@example.org"\nrequest_interval = 0\n'
        f'wikipedia_api_url = "{web.url}/w/api.php"\n'
        f'feeds = ["{web.url}/feed.xml"]\npages = ["{web.url}/missing"]\n'
    )
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_CONFIG": str(config)}  # fmt: skip
    assert run_cli(env, "scan", str(music)).returncode == 0
    return env, web, tmp_path / "db.sqlite"


def terms(env, *args) -> dict:
    result = run_cli(env, "terms", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_crawl_then_terms_describe_each_artist(home):
    env, _, _ = home
    result = run_cli(env, "reviews", "crawl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "reviews crawl: 16 asks" in result.stderr  # 4 artists + 4 albums, 2 sources each
    assert "failed: feeds:" in result.stderr and "HTTP 404" in result.stderr  # the listed page
    assert "terms: 8 artists and albums" in result.stderr

    slowdive = [row["term"] for row in terms(env, "Slowdive")["terms"]]
    assert {"shoegaze", "dreamy", "reverb", "ethereal"} <= set(slowdive)
    assert not {"slowdive", "album", "band", "the"} & set(" ".join(slowdive).split())
    metallica = [row["term"] for row in terms(env, "Metallica")["terms"]]
    assert any("thrash" in term for term in metallica) and "shoegaze" not in metallica
    souvlaki = [row["term"] for row in terms(env, "Slowdive", "--album", "Souvlaki")["terms"]]
    assert "masterpiece" in souvlaki
    # A library artist nobody wrote about still has its files' genre tags.
    assert [row["term"] for row in terms(env, "Nobody Knows Us")["terms"]][:1] == ["dream pop"]

    similar = [row["artist"] for row in terms(env, "Slowdive", "--similar")["similar"]]
    assert set(similar[:2]) == {"Ride", "Nobody Knows Us"}  # the dream-pop kin, not Metallica

    status = json.loads(run_cli(env, "reviews", "status", "--json").stdout)
    sources = {row["source"]: row["documents"] for row in status["sources"]}
    assert sources["wikipedia"] == 4 and sources["lastfm-tags"] == 2 and sources["feed"] == 2
    assert status["terms"]["entities"] == 8


def test_a_second_crawl_asks_nothing_again(home):
    env, web, _ = home
    assert run_cli(env, "reviews", "crawl").returncode == 0
    asked = len(web.requests)
    again = run_cli(env, "reviews", "crawl")
    assert again.returncode == 0, again.stderr
    assert "0 asks" in again.stderr and "16 answered recently" in again.stderr
    # The feed is cached too; only the listed page that failed is asked again.
    assert [r.path for r in web.requests[asked:]] == ["/missing"]


def test_failed_asks_are_recorded_and_retried_next_time(home):
    env, web, db = home
    web.always(Reply(503, b"down", headers={"Retry-After": "0"}), path="/w/api.php")
    first = run_cli(env, "reviews", "crawl", "--source", "wikipedia")
    assert first.returncode == 0, first.stderr
    assert "8 failed" in first.stderr and "HTTP 503" in first.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM crawls WHERE error IS NOT NULL").fetchone()[0] == 8
    conn.close()
    web.clear()
    second = run_cli(env, "reviews", "crawl", "--source", "wikipedia")
    assert "8 asks" in second.stderr and "0 failed" in second.stderr


def test_limit_asks_about_the_most_listened_artist_first(home, tmp_path):
    env, web, _ = home
    plays = tmp_path / "plays.csv"
    plays.write_text("listened_at,artist,title\n" + "".join(
        f"{1_700_000_000 + n * 600},Metallica,One\n" for n in range(5)))  # fmt: skip
    assert run_cli(env, "history", "import", str(plays)).returncode == 0
    result = run_cli(env, "reviews", "crawl", "--limit", "1", "--source", "lastfm")
    assert result.returncode == 0, result.stderr
    asked = [r.params.get("artist") for r in web.requests if r.path == "/2.0/"]
    assert asked == ["Metallica"]


def test_terms_for_an_unknown_artist_and_unknown_source(home):
    env, _, _ = home
    missing = run_cli(env, "terms", "Slowdive")
    assert missing.returncode == 1 and "run 'mydiscover reviews crawl'" in missing.stderr
    bad = run_cli(env, "reviews", "crawl", "--source", "myspace")
    assert bad.returncode == 1 and "unknown source myspace" in bad.stderr


def test_the_web_cache_is_private_holds_no_api_key_and_replaces_the_old_one(home, tmp_path):
    env, web, database = home
    old = database.parent / f"{database.stem}-http-cache"
    (old / "ab").mkdir(parents=True)
    (old / "ab" / "entry.json").write_text(f'{{"url": "x?api_key={API_KEY}"}}')
    result = run_cli(env, "reviews", "crawl")
    assert result.returncode == 0, result.stderr
    assert any("api_key" in r.params for r in web.requests)  # Last.fm was asked, with the key
    assert not old.exists() and "removed the old web cache" in result.stderr
    cache = Path(env["XDG_CACHE_HOME"]) / "mydiscover" / "http"
    entries = [path for path in cache.rglob("*") if path.is_file()]
    assert len(entries) > 20
    for path in entries:
        assert API_KEY.encode() not in path.read_bytes(), path
        assert API_KEY not in path.name
        assert path.stat().st_mode & 0o777 == 0o600, path
    for folder in [cache, *(path for path in cache.rglob("*") if path.is_dir())]:
        assert folder.stat().st_mode & 0o777 == 0o700, folder
    lastfm_asks = sum(r.path.startswith("/2.0/") for r in web.requests)
    again = run_cli(env, "reviews", "crawl", "--refresh-days", "0")
    assert again.returncode == 0, again.stderr
    # Asked again at once, Last.fm is answered from the cache: its keys need no secret.
    assert sum(r.path.startswith("/2.0/") for r in web.requests) == lastfm_asks
