"""The one way to the web (mydiscover.http) and the crawler on it, against real servers on
127.0.0.1: redirects followed by hand, robots.txt as RFC 9309 reads it, a total deadline per
request, capped JSON, connection failures that fail at once, and retries that say so."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from mydiscover.http import ApiSession, HttpError, ServiceError, check_redirect, network_kinds
from mydiscover.text.fetch import FetchError, PoliteFetcher
from tests import fake_services
from tests.fake_services import FakeServer, Reply
from tests.fake_web import HTML

fake_server = fake_services.fake_server
TEXT = {"Content-Type": "text/plain"}


@pytest.fixture
def other_server() -> Iterator[FakeServer]:
    """A second origin (another port of 127.0.0.1)."""
    server = FakeServer().start()
    yield server
    server.stop()


def polite(tmp_path, sleeps: list[float] | None = None, **options) -> PoliteFetcher:
    options = {"min_interval": 0, "timeout": 2.0, "max_retries": 0, **options}
    return PoliteFetcher(
        tmp_path / "cache", sleep=sleeps.append if sleeps is not None else lambda s: None,
        **options,
    )  # fmt: skip


def paths(server: FakeServer) -> list[str]:
    return [request.path for request in server.requests]


def redirect(to: str, status: int = 302) -> Reply:
    return Reply(status, b"", headers={"Location": to, **HTML})


# --- redirects ----------------------------------------------------------------------------------


def test_a_redirect_to_another_origin_obeys_that_origins_robots_txt(
    tmp_path, fake_server, other_server
):
    fake_server.always(Reply(body=b"", headers=TEXT), path="/robots.txt")
    fake_server.always(redirect(f"{other_server.url}/page"), path="/page")
    other_server.always(Reply(body=b"User-agent: *\nDisallow: /\n", headers=TEXT),
                        path="/robots.txt")  # fmt: skip
    other_server.always(Reply(body=b"<p>forbidden</p>", headers=HTML), path="/page")
    with pytest.raises(FetchError, match=r"robots\.txt does not allow"):
        polite(tmp_path).get(f"{fake_server.url}/page")
    assert paths(other_server) == ["/robots.txt"]  # read, obeyed: the page never asked for


def test_a_redirect_keeps_the_pace_of_the_origin_it_leads_to(tmp_path, fake_server, other_server):
    for server in (fake_server, other_server):
        server.always(Reply(body=b"User-agent: *\nCrawl-delay: 4\n", headers=TEXT),
                      path="/robots.txt")  # fmt: skip
    fake_server.always(redirect(f"{other_server.url}/page"), path="/page")
    other_server.always(Reply(body=b"<p>here</p>", headers=HTML), path="/page")
    sleeps: list[float] = []
    page = polite(tmp_path, sleeps).get(f"{fake_server.url}/page")
    assert page.body == b"<p>here</p>" and page.url == f"{other_server.url}/page"
    # Each origin waits its Crawl-delay after its robots.txt: the first page, then the hop.
    assert len(sleeps) == 2 and all(3.0 < pause <= 4.0 for pause in sleeps)


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/"])
def test_no_redirect_leads_from_loopback_to_a_private_or_link_local_address(
    tmp_path, fake_server, target
):
    fake_server.always(Reply(body=b"", headers=TEXT), path="/robots.txt")
    fake_server.always(redirect(target), path="/page")
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"redirected to .*(link-local|private) address.*not f"):
        polite(tmp_path).get(f"{fake_server.url}/page")
    session = ApiSession(fake_server.url, min_interval=0, max_retries=0, timeout=5)
    with pytest.raises(ServiceError, match=r"(link-local|private) address"):
        session.get_json("page")
    assert time.monotonic() - started < 2  # refused before any connection was tried


def test_the_api_client_drops_credentials_on_another_origin(fake_server, other_server):
    fake_server.always(redirect(f"{fake_server.url}/moved"), path="/same")
    fake_server.always(Reply(body={"here": 1}), path="/moved")
    fake_server.always(redirect(f"{other_server.url}/api", status=307), path="/away")
    other_server.always(Reply(body={"there": 1}), path="/api")
    session = ApiSession(fake_server.url, min_interval=0, max_retries=0)
    secret = {"Authorization": "Token sekrit"}
    assert session.get_json("same", headers=secret)[0] == {"here": 1}
    assert session.get_json("away", headers=secret)[0] == {"there": 1}
    assert fake_server.requests[-2].headers.get("Authorization") == "Token sekrit"
    assert "Authorization" not in other_server.requests[-1].headers


def test_endless_redirects_end(fake_server):
    fake_server.always(redirect(f"{fake_server.url}/loop"), path="/loop")
    session = ApiSession(fake_server.url, min_interval=0, max_retries=0)
    with pytest.raises(ServiceError, match=r"more than 5 redirects"):
        session.get_json("loop")
    assert len(fake_server.requests) == 6


@pytest.mark.parametrize(
    ("source", "target", "refusal"),
    [
        ("https://example.org/a", "http://example.org/a", "from https to plain http"),
        ("https://example.org/a", "ftp://example.org/a", "redirected to a ftp address"),
        ("http://example.org/a", "file:///etc/passwd", "redirected to a file address"),
        ("https://example.org/a", "https://127.0.0.1/admin", "a loopback address"),
        ("https://example.org/a", "https://[fe80::1]/", "a link-local address"),
        ("https://example.org/a", "https://192.168.1.1/", "a private address"),
        ("https://example.org/a", "https://[::ffff:127.0.0.1]/", "a loopback address"),
    ],
)
def test_redirect_rules_from_a_public_site(source, target, refusal):
    with pytest.raises(HttpError, match=refusal):
        check_redirect(source, target, {"public"})


def test_redirects_that_stay_allowed():
    check_redirect("http://example.org/a", "https://example.org/b", {"public"})  # an upgrade
    check_redirect("http://127.0.0.1:8080/a", "http://localhost:8080/b", {"loopback"})
    assert network_kinds("127.0.0.1") == {"loopback"}
    assert network_kinds("10.0.0.1") == {"private"} and network_kinds("8.8.8.8") == {"public"}


# --- robots.txt as RFC 9309 reads it ---------------------------------------------------------

RFC_9309_EXAMPLE = b"""\
User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: mydiscover
Disallow: /
Allow: /example/page.html
Allow: /example/allowed.gif
Allow: /ok
Disallow: /ok/no
Disallow: /*/reviews
Disallow: /*.php$
Allow: /private
Disallow: /private/
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/example/page.html", True),  # RFC 9309 5.1: the named group, not '*'
        ("/example/allowed.gif", True),
        ("/publications/", False),  # '*' does not apply: the group names mydiscover
        ("/ok/page", True),  # the longest match wins: Allow /ok over Disallow /
        ("/ok/no/page", False),
        ("/a/reviews/b", False),  # '*' matches any characters
        ("/ok/index.php", False),  # '$' ends the pattern, longer than Allow /ok
        ("/ok/index.php?page=2", True),
        ("/private", True),
        ("/private/page", False),  # Disallow /private/ is longer than Allow /private
    ],
)
def test_robots_txt_rules_follow_rfc_9309(tmp_path, fake_server, path, allowed):
    fake_server.always(Reply(body=RFC_9309_EXAMPLE, headers=TEXT), path="/robots.txt")
    fake_server.always(Reply(body=b"<p>a page</p>", headers=HTML))
    fetcher = polite(tmp_path)
    if allowed:
        assert fetcher.get(f"{fake_server.url}{path}").body == b"<p>a page</p>"
    else:
        with pytest.raises(FetchError, match=r"robots\.txt does not allow"):
            fetcher.get(f"{fake_server.url}{path}")
        assert paths(fake_server) == ["/robots.txt"]


@pytest.mark.parametrize(
    ("rules", "path", "allowed"),
    [
        (b"User-agent: *\nAllow: /\nDisallow: /private\n", "/private/page", False),
        (b"User-agent: *\nDisallow: /\nAllow: /ok\n", "/ok/page", True),
        (b"User-agent: *\nAllow: /page\nDisallow: /page\n", "/page", True),  # Allow wins ties
    ],
)
def test_robots_txt_longest_match_and_ties(tmp_path, fake_server, rules, path, allowed):
    fake_server.always(Reply(body=rules, headers=TEXT), path="/robots.txt")
    fake_server.always(Reply(body=b"<p>a page</p>", headers=HTML))
    fetcher = polite(tmp_path)
    if allowed:
        fetcher.get(f"{fake_server.url}{path}")
    else:
        with pytest.raises(FetchError, match=r"robots\.txt does not allow"):
            fetcher.get(f"{fake_server.url}{path}")


def test_the_first_page_after_robots_txt_waits_the_crawl_delay(tmp_path, fake_server):
    fake_server.always(Reply(body=b"User-agent: *\nCrawl-delay: 2\n", headers=TEXT),
                       path="/robots.txt")  # fmt: skip
    fake_server.always(Reply(body=b"<p>a page</p>", headers=HTML))
    sleeps: list[float] = []
    fetcher = polite(tmp_path, sleeps, min_interval=0.1)
    fetcher.get(f"{fake_server.url}/one")
    fetcher.get(f"{fake_server.url}/two")
    assert len(sleeps) == 2 and all(1.5 < pause <= 2.0 for pause in sleeps)


# --- time, size, failures -------------------------------------------------------------------


@pytest.mark.parametrize("headers_too", [False, True])
def test_a_dripping_server_cannot_hold_a_request_past_its_deadline(
    tmp_path, fake_server, headers_too
):
    drip = Reply(body=b"<p>" + b"x" * 200 + b"</p>", headers=HTML, drip=0.05,
                 drip_headers=headers_too)  # fmt: skip
    fake_server.always(Reply(body=b"", headers=TEXT), path="/robots.txt")
    fake_server.always(drip, path="/drip")
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"no complete answer within 1 s"):
        polite(tmp_path, timeout=0.5, deadline=1.0).get(f"{fake_server.url}/drip")
    session = ApiSession(fake_server.url, min_interval=0, timeout=0.5, deadline=1.0)
    with pytest.raises(ServiceError, match=r"no complete answer within 1 s"):
        session.get_json("drip")
    assert time.monotonic() - started < 4  # each gave up at about 1 s, not after 10 s


@pytest.mark.parametrize("declared", [True, False])
def test_json_answers_are_capped(fake_server, declared):
    huge = b'{"items": ["' + b"x" * (17 * 2**20) + b'"]}'
    headers = {} if declared else {"Content-Length": ""}
    fake_server.always(Reply(body=huge, headers=headers))
    session = ApiSession(fake_server.url, min_interval=0, max_retries=0)
    with pytest.raises(ServiceError, match=r"the answer is larger than 16 MB"):
        session.get_json("big")


def test_an_unresolvable_host_fails_at_once(tmp_path):
    sleeps: list[float] = []
    session = ApiSession("http://no-such-host.invalid", min_interval=0, sleep=sleeps.append)
    with pytest.raises(ServiceError, match=r"does not resolve"):
        session.get_json("x")
    assert sleeps == []


def test_each_retry_is_said_while_it_waits(fake_server, caplog):
    fake_server.queue(Reply(503, {"error": "busy"}), Reply(503, {"error": "busy"}), path="/x")
    fake_server.always(Reply(body={"ok": True}), path="/x")
    session = ApiSession(fake_server.url, min_interval=0, sleep=lambda s: None)
    with caplog.at_level(logging.WARNING, logger="mydiscover"):
        assert session.get_json("x")[0] == {"ok": True}
    said = [r.getMessage() for r in caplog.records if r.name.startswith("mydiscover")]
    host = fake_server.url.removeprefix("http://")
    assert said == [
        f"{host}: HTTP 503; trying again in 1 s (retry 1 of 5)",
        f"{host}: HTTP 503; trying again in 2 s (retry 2 of 5)",
    ]


def test_a_dropped_connection_is_retried_not_failed(fake_server):
    fake_server.queue(Reply(body={"ok": True}, cut=True), path="/x")
    fake_server.always(Reply(body={"ok": True}), path="/x")
    session = ApiSession(fake_server.url, min_interval=0, sleep=lambda s: None)
    assert session.get_json("x")[0] == {"ok": True}
    assert [r.path for r in fake_server.requests] == ["/x", "/x"]
