"""The ListenBrainz importer, against a fake ListenBrainz on 127.0.0.1."""

from __future__ import annotations

import pytest

from mydiscover.history.listenbrainz import import_listenbrainz
from mydiscover.history.runs import LATE_LISTENS
from mydiscover.history.tables import import_state
from mydiscover.http import ApiSession, ServiceError
from tests import fake_services
from tests.fake_services import FakeListen, FakeListenBrainz, FakeServer, Reply, make_listens
from tests.helpers import RecordingProgress as Recorder

fake_server = fake_services.fake_server  # the fixture, under its name in this module

TOKEN = "7a3f1c2e-9b4d-4e8f-a1b2-c3d4e5f60789"
NOW = 1_764_740_400
BURIAL = FakeListen(
    NOW - 173,
    "Burial",
    "Etched Headplate",
    "Untrue",
    recording_mbid="1eacb3ca-e8e1-4588-920d-1187dcb8ca79",
    artist_mbid="9ddce51c-2b75-4b3e-ac8c-1db09e7c89c6",
    release_mbid="e08c3db9-fc33-4d4e-b8b7-818d34228bef",
)


@pytest.fixture
def listenbrainz(fake_server: FakeServer) -> FakeListenBrainz:
    """A fake ListenBrainz with 2,500 listens (3 pages of 1,000) and the user's token."""
    app = FakeListenBrainz([BURIAL, *make_listens(2499, end=NOW - 600)], token=TOKEN)
    fake_server.mount(app.path, app)
    return app


@pytest.fixture
def sleeps() -> list[float]:
    """The pauses the client asked for (it never really sleeps in these tests)."""
    return []


def run(conn, server: FakeServer, sleeps: list[float], *, now: int = NOW, **kwargs):
    session = ApiSession(server.url, min_interval=0, max_retries=2, sleep=sleeps.append)
    options = {"user": "RJ", "token": TOKEN, **kwargs}
    return import_listenbrainz(conn, session=session, now=lambda: now, **options)


def listen_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM listens").fetchone()[0]


def times(app: FakeListenBrainz) -> list[int]:
    """The times of the fake's listens, newest first."""
    return sorted((listen.listened_at for listen in app.listens), reverse=True)


def test_pages_are_walked_by_max_ts(conn, fake_server, listenbrainz, sleeps):
    conn.execute(
        "INSERT INTO tracks (id, path, path_text, root, size, mtime_ns, artist, title, "
        "mb_recording_id) VALUES (7, x'2f6d', '/m', x'2f', 1, 1, 'Kode9', 'Other', ?)",
        (BURIAL.recording_mbid,),
    )
    report = run(conn, fake_server, sleeps)
    # Each page ends just after the previous one's oldest listen (max_ts is exclusive), so
    # listens of that same second are asked for again: one repeat a page, not added twice.
    assert (report.added, report.duplicates, report.skipped, report.matched) == (2500, 3, 0, 1)
    assert listen_count(conn) == 2500
    ends = times(listenbrainz)
    assert fake_server.params("max_ts") == [
        str(NOW + 1),
        str(ends[999] + 1),
        str(ends[1998] + 1),
        str(ends[2499] + 1),
        str(ends[2499]),  # a page of one second: move past it; an empty page is the last
    ]
    assert fake_server.params("min_ts") == [None] * 5
    assert fake_server.params("count") == ["1000"] * 5
    assert {request.path for request in fake_server.requests} == {"/1/user/RJ/listens"}
    assert {request.headers["Authorization"] for request in fake_server.requests} == {
        f"Token {TOKEN}"
    }
    row = conn.execute(
        "SELECT artist, title, album, mb_recording_id, mb_artist_id, mb_release_id, track_id, "
        "source FROM listens WHERE listened_at = ?",
        (BURIAL.listened_at,),
    ).fetchone()
    assert row == (
        "Burial",
        "Etched Headplate",
        "Untrue",
        BURIAL.recording_mbid,
        BURIAL.artist_mbid,
        BURIAL.release_mbid,
        7,
        "listenbrainz",
    )
    assert import_state(conn, "listenbrainz", "rj") == (NOW, None, None, None)


def test_progress_counts_pages_of_unknown_total(conn, fake_server, listenbrainz, sleeps):
    progress = Recorder()
    run(conn, fake_server, sleeps, progress=progress)
    assert progress.calls == [
        ("start", None, "pages"),
        ("advance", 1, 1000),
        ("advance", 1, 1000),
        ("advance", 1, 502),
        ("advance", 1, 1),
        ("advance", 1, 0),
    ]


def test_no_token_sends_no_authorization(conn, fake_server, listenbrainz, sleeps):
    assert run(conn, fake_server, sleeps, token=None).added == 2500
    assert all("Authorization" not in request.headers for request in fake_server.requests)


def test_a_spent_rate_limit_waits_for_its_reset(conn, fake_server, listenbrainz, sleeps):
    listenbrainz.remaining = [10, 0]
    listenbrainz.reset_in = 5
    assert run(conn, fake_server, sleeps).added == 2500
    assert len(sleeps) == 1 and 4.5 < sleeps[0] <= 5  # before the third request only


def test_429_waits_as_long_as_asked(conn, fake_server, listenbrainz, sleeps):
    refusal = {"code": 429, "error": "Too many requests. Please wait."}
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "3"}
    fake_server.queue(Reply(429, refusal, headers))
    assert run(conn, fake_server, sleeps).added == 2500
    assert sleeps == [3.0]
    assert len(fake_server.requests) == 6


def test_an_unknown_user_is_named(conn, fake_server, listenbrainz, sleeps):
    with pytest.raises(ServiceError, match=r"^no ListenBrainz user 'ghost'$"):
        run(conn, fake_server, sleeps, user="ghost")
    assert sleeps == [] and listen_count(conn) == 0


def test_a_refused_token_is_not_repeated(conn, fake_server, listenbrainz, sleeps):
    with pytest.raises(ServiceError, match="the ListenBrainz token was refused") as caught:
        run(conn, fake_server, sleeps, token="0000-not-my-token")
    assert "0000-not-my-token" not in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_failed_run_resumes_where_it_stopped(conn, fake_server, listenbrainz, sleeps):
    ends = times(listenbrainz)
    fake_server.always(Reply(502, b"Bad Gateway"), max_ts=str(ends[999] + 1))
    with pytest.raises(ServiceError, match=r"HTTP 502 \(gave up after 3 tries"):
        run(conn, fake_server, sleeps)
    assert listen_count(conn) == 1000
    assert import_state(conn, "listenbrainz", "rj") == (None, None, NOW, ends[999] + 1)

    fake_server.clear()
    fake_server.requests.clear()
    listenbrainz.listens.append(FakeListen(NOW + 60, "Burial", "Archangel"))  # after the window
    report = run(conn, fake_server, sleeps, now=NOW + 3600)
    assert fake_server.params("max_ts") == [
        str(ends[999] + 1),
        str(ends[1998] + 1),
        str(ends[2499] + 1),
        str(ends[2499]),
    ]
    assert (report.added, report.duplicates) == (1500, 3)
    assert import_state(conn, "listenbrainz", "rj") == (NOW, None, None, None)


def test_a_second_run_stops_at_the_last_import(conn, fake_server, listenbrainz, sleeps):
    run(conn, fake_server, sleeps)
    fake_server.requests.clear()
    listenbrainz.listens += [FakeListen(NOW + 60 * i, "Burial", f"New {i}") for i in (1, 2, 3)]
    report = run(conn, fake_server, sleeps, now=NOW + 600)
    # One page reaches back past the previous run's end, less the margin for late listens.
    assert fake_server.params("max_ts") == [str(NOW + 601)]
    since = NOW - LATE_LISTENS
    looked_back = sum(1 for listen in listenbrainz.listens if since <= listen.listened_at <= NOW)
    assert (report.added, report.duplicates) == (3, looked_back)
    assert listen_count(conn) == 2503
    assert import_state(conn, "listenbrainz", "rj") == (NOW + 600, None, None, None)


def test_an_empty_history_finishes_the_run(conn, fake_server, listenbrainz, sleeps):
    listenbrainz.listens.clear()
    report = run(conn, fake_server, sleeps)
    assert (report.added, len(fake_server.requests)) == (0, 1)
    assert import_state(conn, "listenbrainz", "rj") == (NOW, None, None, None)


def test_unreadable_listens_are_counted(conn, fake_server, listenbrainz, sleeps):
    listenbrainz.listens = [FakeListen(NOW - 5, "Burial", ""), BURIAL]
    report = run(conn, fake_server, sleeps)
    assert (report.added, report.skipped) == (1, 1)
    assert report.skipped_examples == [("ListenBrainz, page 1, listen 1", "no artist or no title")]


def test_listens_sharing_a_second_across_a_page_boundary_are_all_kept(
    conn, fake_server, listenbrainz, sleeps
):
    # Twenty-one different songs logged in one second (a bulk import on the user's side),
    # straddling the end of the first page of 1,000.
    ends = times(listenbrainz)
    crowded = ends[990]
    listenbrainz.listens = [
        listen for listen in listenbrainz.listens if listen.listened_at > crowded
    ] + [FakeListen(crowded, "Various", f"Track {n}") for n in range(21)]

    report = run(conn, fake_server, sleeps)

    assert report.added == len(listenbrainz.listens) == 1011
    assert listen_count(conn) == 1011


def test_update_imports_the_configured_listenbrainz_user(fake_server, listenbrainz, tmp_path,
                                                          cli_env):  # fmt: skip
    from tests.helpers import run_cli

    config = tmp_path / "config.toml"
    config.write_text(f'[listenbrainz]\nuser = "RJ"\napi_url = "{fake_server.url}"\n[reviews]\n'
                      f'wikipedia_api_url = "{fake_server.url}/w/api.php"\n')  # fmt: skip
    config.chmod(0o600)
    env = {**cli_env, "MYDISCOVER_DB": str(tmp_path / "db.sqlite"),
           "MYDISCOVER_CONFIG": str(config), "MYDISCOVER_LISTENBRAINZ_TOKEN": TOKEN}  # fmt: skip
    result = run_cli(env, "update")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "ListenBrainz RJ: 2500 listens added" in result.stderr, result.stderr
