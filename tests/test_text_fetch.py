"""The polite fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest

from mydiscover.text.fetch import FetchError, PoliteFetcher, user_agent
from tests import fake_services
from tests.fake_services import FakeServer, Reply
from tests.fake_web import HTML, serve_web

fake_server = fake_services.fake_server


@pytest.fixture
def web(fake_server: FakeServer) -> FakeServer:
    return serve_web(fake_server)


@pytest.fixture
def clock():
    """A settable clock for the cache's TTL."""
    return {"now": 1_800_000_000.0}


def fetcher(tmp_path, clock, sleeps=None, **options) -> PoliteFetcher:
    return PoliteFetcher(
        tmp_path / "cache", contact="me@example.org", min_interval=0, timeout=1.0,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        now=lambda: clock["now"], **options,
    )  # fmt: skip


def page_requests(web: FakeServer, path: str) -> int:
    return sum(1 for request in web.requests if request.path == path)


def test_a_page_is_fetched_with_an_honest_user_agent(tmp_path, web, clock):
    page = fetcher(tmp_path, clock).get(f"{web.url}/reviews/ride-nowhere")
    assert b"swirling wall of feedback" in page.body
    assert page.content_type == "text/html" and page.encoding == "utf-8"
    agent = web.requests[-1].headers["User-Agent"]
    assert agent == user_agent("me@example.org") and "me@example.org" in agent
    assert "mydiscover/" in agent


def test_robots_txt_is_read_once_and_obeyed(tmp_path, web, clock):
    polite = fetcher(tmp_path, clock)
    with pytest.raises(FetchError, match=r"robots\.txt does not allow"):
        polite.get(f"{web.url}/private/metallica")
    polite.get(f"{web.url}/reviews/ride-nowhere")
    assert page_requests(web, "/private/metallica") == 0
    assert page_requests(web, "/robots.txt") == 1


def test_a_second_run_refetches_nothing_within_the_ttl_and_revalidates_after(tmp_path, web, clock):
    url = f"{web.url}/reviews/ride-nowhere"
    first = fetcher(tmp_path, clock).get(url)
    again = fetcher(tmp_path, clock).get(url)  # a new run, the same cache
    assert again.from_cache and again.body == first.body
    assert page_requests(web, "/reviews/ride-nowhere") == 1
    clock["now"] += 8 * 86_400  # past the week's TTL
    web.queue(Reply(304, b"", headers=HTML), path="/reviews/ride-nowhere")
    revalidated = fetcher(tmp_path, clock).get(url)
    assert revalidated.body == first.body and revalidated.from_cache
    assert web.requests[-1].headers["If-None-Match"] == '"v1"'


def test_404_and_500_are_one_line_errors(tmp_path, web, clock):
    sleeps: list[float] = []
    polite = fetcher(tmp_path, clock, sleeps, max_retries=2)
    with pytest.raises(FetchError, match=r"HTTP 404$"):
        polite.get(f"{web.url}/missing")
    with pytest.raises(FetchError, match=r"HTTP 500 \(gave up after 3 tries\)"):
        polite.get(f"{web.url}/broken")
    assert sleeps == [1.0, 2.0]  # exponential backoff between the tries


def test_429_waits_as_long_as_retry_after_says(tmp_path, web, clock):
    sleeps: list[float] = []
    web.queue(
        Reply(429, b"slow down", headers={"Retry-After": "7", **HTML}), path="/reviews/ride-nowhere"
    )
    page = fetcher(tmp_path, clock, sleeps).get(f"{web.url}/reviews/ride-nowhere")
    assert b"feedback" in page.body and sleeps == [7.0]


def test_slow_page_times_out(tmp_path, web, clock):
    with pytest.raises(FetchError, match="timed out"):
        fetcher(tmp_path, clock, max_retries=0).get(f"{web.url}/slow")


def test_page_over_the_size_cap_is_refused(tmp_path, web, clock):
    with pytest.raises(FetchError, match="larger than 1 MB"):
        fetcher(tmp_path, clock, max_bytes=2**20).get(f"{web.url}/huge")


def test_only_pages_feeds_and_json_are_accepted(tmp_path, web, clock):
    with pytest.raises(FetchError, match=r"not a page or feed \(image/png\)"):
        fetcher(tmp_path, clock).get(f"{web.url}/image")


def test_requests_to_one_host_are_spaced(tmp_path, web, clock):
    sleeps: list[float] = []
    polite = fetcher(tmp_path, clock, sleeps)
    polite.min_interval = 5.0
    polite.get(f"{web.url}/reviews/ride-nowhere")
    polite.get(f"{web.url}/latin1")
    # robots.txt, then the two pages: each request waits for the one before
    assert len(sleeps) == 2 and all(4.0 < pause <= 5.0 for pause in sleeps)


def test_an_unreachable_server_is_a_clear_error(tmp_path, clock):
    with pytest.raises(FetchError, match=r"127\.0\.0\.1:9: cannot connect"):
        fetcher(tmp_path, clock, max_retries=1).get("http://127.0.0.1:9/page")
