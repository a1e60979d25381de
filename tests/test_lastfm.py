"""The Last.fm importer and the HTTP client under it, against a fake Last.fm on 127.0.0.1."""

from __future__ import annotations

import time

import pytest
import requests

from mydiscover.config import missing_api_key_message
from mydiscover.history.lastfm import import_lastfm
from mydiscover.history.runs import LATE_LISTENS
from mydiscover.history.tables import import_state
from mydiscover.http import USER_AGENT, ApiSession, ServiceError, retry_after
from tests import fake_services
from tests.fake_services import (
    FakeLastfm,
    FakeListen,
    FakeServer,
    Reply,
    Request,
    make_listens,
)
from tests.helpers import RecordingProgress as Recorder

fake_server = fake_services.fake_server  # the fixture, under its name in this module

API_KEY = "0badc0ffee0badc0ffee0badc0ffee01"
NOW = 1_700_000_000
#: Catalogued tracks some of the generated listens match.
CATALOG = [
    (1, "Artist 15", "Song 100", "Album 8", None),
    (2, "Artist 6", "Song 108", None, None),
    (3, "Artist 3", "song 428 (remastered 2011)", None, None),
    (4, "Someone Else", "Tagged By MBID", None, "1587517a-9b2b-385a-b044-673fddf88004"),
]
NOW_PLAYING = FakeListen(0, "Tame Impala", "Apocalypse Dreams", "Lonerism")


@pytest.fixture
def lastfm(fake_server: FakeServer) -> FakeLastfm:
    """A fake Last.fm with 450 listens (3 pages of 200), one playing now."""
    app = FakeLastfm(make_listens(450, end=NOW - 60), api_key=API_KEY, now_playing=NOW_PLAYING)
    fake_server.mount(app.path, app)
    return app


@pytest.fixture
def sleeps() -> list[float]:
    """The pauses the client asked for (it never really sleeps in these tests)."""
    return []


def catalog(conn) -> None:
    for track_id, *entry in CATALOG:
        conn.execute(
            "INSERT INTO tracks (id, path, path_text, root, size, mtime_ns, artist, title, album, "
            "mb_recording_id) VALUES (?, ?, ?, ?, 1, 1, ?, ?, ?, ?)",
            (track_id, f"/m/{track_id}.flac".encode(), f"/m/{track_id}.flac", b"/m", *entry),
        )


def run(conn, server: FakeServer, sleeps: list[float], *, now: int = NOW, **kwargs):
    session = ApiSession(
        f"{server.url}/2.0/", min_interval=0, max_retries=3, backoff=1.0, sleep=sleeps.append
    )
    options = {"user": "RJ", "api_key": API_KEY, **kwargs}
    return import_lastfm(conn, session=session, now=lambda: now, **options)


def listen_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM listens").fetchone()[0]


def test_a_multi_page_history_is_imported_and_matched(conn, fake_server, lastfm, sleeps):
    tagged = FakeListen(
        NOW - 30,
        "Tame Impala",
        "Feels Like We Only Go Backwards",
        recording_mbid="1587517a-9b2b-385a-b044-673fddf88004",
    )
    lastfm.listens.append(tagged)
    catalog(conn)
    progress = Recorder()
    report = run(conn, fake_server, sleeps, progress=progress)
    assert (report.added, report.duplicates, report.skipped) == (451, 0, 0)
    assert listen_count(conn) == 451
    assert fake_server.params("page") == ["1", "2", "3"]
    assert fake_server.params("to") == [str(NOW)] * 3
    assert fake_server.params("from") == [None] * 3
    assert fake_server.params("limit") == ["200"] * 3
    assert fake_server.params("method") == ["user.getrecenttracks"] * 3
    assert fake_server.params("format") == ["json"] * 3
    assert fake_server.requests[0].headers["User-Agent"] == USER_AGENT
    assert progress.calls == [
        ("start", 3, "pages"),
        ("advance", 1, 200),
        ("advance", 1, 200),
        ("advance", 1, 51),
    ]
    # By name (an edition suffix folded away), and by recording ID whatever the name.
    matched = conn.execute(
        "SELECT title, track_id, matched_by FROM listens WHERE track_id IS NOT NULL ORDER BY 2"
    ).fetchall()
    assert matched == [
        ("Song 100", 1, "name"),
        ("Song 108", 2, "name"),
        ("Song 428", 3, "name"),
        ("Feels Like We Only Go Backwards", 4, "mbid"),
    ]
    assert report.matched == 4
    now_playing = conn.execute("SELECT 1 FROM listens WHERE title = ?", (NOW_PLAYING.title,))
    assert now_playing.fetchone() is None  # not a listen until it has played
    assert conn.execute("SELECT DISTINCT source FROM listens").fetchall() == [("lastfm",)]
    assert import_state(conn, "lastfm", "rj") == (NOW, None, None, None)


def test_a_second_run_asks_only_for_what_is_new(conn, fake_server, lastfm, sleeps):
    run(conn, fake_server, sleeps)
    newest = [FakeListen(NOW + 100 * i, "Burial", f"Track {i}") for i in range(1, 6)]
    lastfm.listens.extend(newest)
    fake_server.requests.clear()
    report = run(conn, fake_server, sleeps, now=NOW + 1000)
    assert fake_server.params("from") == [str(NOW - LATE_LISTENS)]
    assert fake_server.params("to") == [str(NOW + 1000)]
    looked_back = sum(
        1 for listen in lastfm.listens if NOW - LATE_LISTENS <= listen.listened_at <= NOW
    )
    assert (report.added, report.duplicates) == (5, looked_back)
    assert listen_count(conn) == 455
    assert import_state(conn, "lastfm", "rj").imported_until == NOW + 1000


def test_a_failed_run_resumes_with_the_same_window(conn, fake_server, lastfm, sleeps):
    fake_server.always(Reply(503, b"<html>busy</html>"), page="2")
    with pytest.raises(ServiceError, match=r"127\.0\.0\.1:\d+: HTTP 503 \(gave up after 4 tries"):
        run(conn, fake_server, sleeps)
    assert sleeps == [1.0, 2.0, 4.0]
    assert listen_count(conn) == 200  # page 1 was committed
    assert import_state(conn, "lastfm", "rj") == (None, None, NOW, 2)

    fake_server.clear()
    fake_server.requests.clear()
    lastfm.listens.append(FakeListen(NOW + 500, "Burial", "Archangel"))  # outside the window
    report = run(conn, fake_server, sleeps, now=NOW + 3600)
    assert fake_server.params("page") == ["2", "3"]
    assert fake_server.params("to") == [str(NOW)] * 2
    assert fake_server.params("from") == [None] * 2
    assert (report.added, report.duplicates) == (250, 0)
    assert listen_count(conn) == 450
    assert import_state(conn, "lastfm", "rj") == (NOW, None, None, None)


def test_ctrl_c_keeps_the_pages_done(conn, fake_server, lastfm, sleeps):
    class Interrupting(Recorder):
        def advance(self, done, listens) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(conn, fake_server, sleeps, progress=Interrupting())
    assert listen_count(conn) == 200
    assert import_state(conn, "lastfm", "rj").run_cursor == 2
    assert run(conn, fake_server, sleeps).added == 250


@pytest.mark.parametrize(
    ("replies", "waits"),
    [
        ([Reply(429, {"error": 29, "message": "Rate Limit Exceeded"}, {"Retry-After": "7"})], [7]),
        ([Reply(200, {"error": 29, "message": "Rate Limit Exceeded"})] * 2, [1, 2]),
        ([Reply(200, {"error": 16, "message": "Temporarily unavailable"})], [1]),
        ([Reply(500, b"<html>Internal Server Error</html>")], [1]),
        ([Reply(200, {"recenttracks": {"track": ["x" * 500]}}, cut=True)], [1]),
        ([Reply(200, b'{"recenttracks": {"track": [')], [1]),
    ],
    ids=["429-retry-after", "200-error-29", "error-16", "500", "dropped-mid-body", "bad-json"],
)
def test_temporary_failures_are_retried(conn, fake_server, lastfm, sleeps, replies, waits):
    fake_server.queue(*replies, page="2")
    report = run(conn, fake_server, sleeps)
    assert sleeps == waits
    assert report.added == 450
    assert fake_server.params("page") == ["1"] + ["2"] * (len(replies) + 1) + ["3"]


@pytest.mark.parametrize(
    ("options", "private", "message"),
    [
        ({}, True, "Last.fm profile 'RJ' is private: make 'recent listening' public in Last.fm's"),
        ({"user": "ghost"}, False, "no Last.fm user 'ghost'"),
        ({"api_key": "f" * 32}, False, r"the Last.fm API key was refused \(invalid or suspended\)"),
    ],
    ids=["private", "no-such-user", "bad-key"],
)
def test_refusals_say_what_to_do(conn, fake_server, lastfm, sleeps, options, private, message):
    lastfm.private = private
    with pytest.raises(ServiceError, match=message) as caught:
        run(conn, fake_server, sleeps, **options)
    assert sleeps == []
    assert len(fake_server.requests) == 1
    assert API_KEY not in str(caught.value)
    assert "f" * 32 not in str(caught.value)
    assert listen_count(conn) == 0


def test_an_unknown_error_is_named_without_the_key(conn, fake_server, lastfm, sleeps):
    fake_server.queue(Reply(400, {"error": 99, "message": f"Key {API_KEY} is odd\nreally"}))
    with pytest.raises(ServiceError) as caught:
        run(conn, fake_server, sleeps)
    assert (
        str(caught.value) == "Last.fm refused the request: error 99 (Key <api key> is odd really)"
    )


def test_an_empty_history_finishes_the_run(conn, fake_server, lastfm, sleeps):
    lastfm.listens.clear()
    progress = Recorder()
    report = run(conn, fake_server, sleeps, progress=progress)
    assert (report.added, report.skipped) == (0, 0)
    assert fake_server.params("page") == ["1"]
    assert progress.calls == [("start", 1, "pages"), ("advance", 1, 0)]
    assert import_state(conn, "lastfm", "rj") == (NOW, None, None, None)


def test_a_page_of_one_track_is_an_object(conn, fake_server, lastfm, sleeps):
    lastfm.listens = make_listens(201, end=NOW - 60)
    lastfm.now_playing = None
    last_page = requests.get(
        f"{fake_server.url}/2.0/",
        params={"user": "rj", "api_key": API_KEY, "limit": 200, "page": 2},
        timeout=5,
    ).json()
    assert isinstance(last_page["recenttracks"]["track"], dict)
    assert run(conn, fake_server, sleeps).added == 201


def test_unreadable_tracks_are_counted_with_examples(conn, fake_server, lastfm, sleeps):
    lastfm.listens = [
        FakeListen(NOW - 10, "", "No Artist"),
        FakeListen(NOW - 20, "Burial", "Archangel"),
        *(FakeListen(5, "Ancient", f"Before 2001 {i}") for i in range(6)),
    ]
    report = run(conn, fake_server, sleeps)
    assert (report.added, report.skipped) == (1, 7)
    assert report.skipped_examples[:2] == [
        ("Last.fm, page 1, track 2", "no artist or no title"),
        ("Last.fm, page 1, track 4", "no valid time ('5')"),
    ]
    assert len(report.skipped_examples) == 5


def test_the_api_key_is_never_stored(conn, fake_server, lastfm, sleeps):
    fake_server.always(Reply(503, {"error": 11, "message": f"offline for {API_KEY}"}), page="3")
    with pytest.raises(ServiceError) as caught:
        run(conn, fake_server, sleeps)
    assert API_KEY not in str(caught.value)
    assert "?" not in str(caught.value)  # no URL with its query
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        for row in conn.execute(f"SELECT * FROM {table}"):
            assert not any(API_KEY in str(value) for value in row), table
    assert listen_count(conn) == 400


def test_missing_api_key_message_says_where_to_get_and_put_one(tmp_path):
    message = missing_api_key_message(tmp_path / "config.toml")
    assert "https://www.last.fm/api/account/create" in message
    assert "[lastfm]" in message and 'api_key = "..."' in message
    assert str(tmp_path / "config.toml") in message
    assert "MYDISCOVER_LASTFM_API_KEY" in message
    assert "\n" not in message


# --- the HTTP client ----------------------------------------------------------------------


def test_backoff_doubles_up_to_a_minute():
    session = ApiSession("https://example.org/", min_interval=0, backoff=1.0)
    assert [session.delay(attempt) for attempt in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"X-RateLimit-Reset-In": "3"}, 3.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT", "X-RateLimit-Reset-In": "4"}, 4.0),
        ({"Retry-After": "86400"}, 600.0),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "-1"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_seconds(headers, wait):
    assert retry_after(headers) == wait


def test_requests_are_spaced_by_min_interval(fake_server):
    fake_server.mount("/", lambda request: Reply(body={"ok": True}))
    sleeps: list[float] = []
    session = ApiSession(fake_server.url, min_interval=0.5, sleep=sleeps.append)
    for _ in range(3):
        body, _headers = session.get_json("ping")
        assert body == {"ok": True}
    assert len(sleeps) == 2 and all(0.3 < wait <= 0.5 for wait in sleeps)


def test_a_refusal_that_is_not_json_names_the_status(fake_server):
    fake_server.always(Reply(403, b"<html>Forbidden</html>"))
    session = ApiSession(fake_server.url, min_interval=0, sleep=lambda _: None)
    with pytest.raises(ServiceError, match=r"^127\.0\.0\.1:\d+ answered HTTP 403$"):
        session.get_json("secret", {"token": "hush"})


def test_a_refused_connection_fails_at_once_without_the_url(fake_server):
    # Offline or a stopped server: waiting 31 s through the backoff mends nothing.
    url = fake_server.url
    fake_server.stop()
    sleeps: list[float] = []
    session = ApiSession(url, min_interval=0, max_retries=2, sleep=sleeps.append, timeout=2)
    with pytest.raises(ServiceError) as caught:
        session.get_json("x", {"api_key": API_KEY})
    assert str(caught.value).startswith(url.removeprefix("http://") + ": cannot connect")
    assert API_KEY not in str(caught.value) and sleeps == []


def test_a_timeout_is_retried(fake_server):
    def slow(request: Request) -> Reply:
        time.sleep(0.3)
        return Reply(body={"late": True})

    fake_server.mount("/", slow)
    session = ApiSession(
        fake_server.url, min_interval=0, max_retries=1, timeout=0.1, sleep=lambda _: None
    )
    with pytest.raises(ServiceError, match="timed out"):
        session.get_json("slow")


def test_cli_imports_from_the_configured_api_and_keeps_the_key_secret(
    cli_env, fake_server, lastfm, db_path, tmp_path
):
    from tests.helpers import run_cli

    config = tmp_path / "config.toml"
    config.write_text(f'[lastfm]\nuser = "rj"\napi_url = "{fake_server.url}/2.0/"\n')
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config), "MYDISCOVER_LASTFM_API_KEY": API_KEY}

    first = run_cli(env, "history", "lastfm", "--db", str(db_path))
    second = run_cli(env, "history", "lastfm", "--db", str(db_path))
    no_key = run_cli({**env, "MYDISCOVER_LASTFM_API_KEY": ""}, "history", "lastfm", "--db", "x")

    assert first.returncode == 0, first.stderr
    assert "Last.fm rj: 450 listens added" in first.stderr
    assert second.returncode == 0 and "0 listens added" in second.stderr
    assert API_KEY not in first.stderr + first.stdout
    assert no_key.returncode == 1
    assert "api_key" in no_key.stderr and "last.fm/api/account/create" in no_key.stderr


def test_a_server_asking_for_hours_gets_a_clear_refusal_not_a_hang(fake_server, sleeps):
    refusal = {"error": 29, "message": "Rate Limit Exceeded"}
    fake_server.always(Reply(429, refusal, {"Retry-After": "86400"}))
    session = ApiSession(fake_server.url, min_interval=0, sleep=sleeps.append)

    with pytest.raises(ServiceError, match="try again later"):
        session.get_json()

    assert sum(sleeps) <= 300


@pytest.mark.parametrize("service", ["lastfm", "listenbrainz"])
def test_offline_history_imports_fail_at_once_in_one_line(cli_env, db_path, tmp_path, service):
    from tests.helpers import run_cli

    config = tmp_path / "config.toml"
    config.write_text(f'[{service}]\nuser = "rj"\napi_url = "http://127.0.0.1:9/"\n')
    env = {**cli_env, "MYDISCOVER_CONFIG": str(config), "MYDISCOVER_LASTFM_API_KEY": API_KEY}
    started = time.monotonic()
    result = run_cli(env, "history", service, "--db", str(db_path))
    assert time.monotonic() - started < 10  # not the 31 s of backoff that mends nothing
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["error: 127.0.0.1:9: cannot connect (refused, or no "
                                          "route to the host)"]  # fmt: skip
