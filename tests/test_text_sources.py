"""The review sources and the main-content extraction, against the small fake web."""

from __future__ import annotations

import pytest

from mydiscover.library.match import artist_key, title_key
from mydiscover.text.extract import decode_html, extract_main
from mydiscover.text.fetch import FetchError, PoliteFetcher
from mydiscover.text.sources import Entity
from mydiscover.text.sources.feeds import EntityFinder, feed_documents
from mydiscover.text.sources.lastfm import LastfmWiki
from mydiscover.text.sources.wikipedia import Wikipedia
from tests import fake_services
from tests.fake_services import FakeServer
from tests.fake_web import API_KEY, REVIEW, serve_web

fake_server = fake_services.fake_server


def entity(artist: str, album: str = "") -> Entity:
    return Entity(artist, album, artist_key(artist), title_key(album) if album else "")


@pytest.fixture
def web(fake_server: FakeServer) -> FakeServer:
    return serve_web(fake_server)


@pytest.fixture
def fetcher(tmp_path) -> PoliteFetcher:
    return PoliteFetcher(tmp_path / "cache", min_interval=0, timeout=1.0, sleep=lambda s: None)


def test_wikipedia_skips_the_disambiguation_page_and_keeps_the_music_sections(web, fetcher):
    source = Wikipedia(fetcher, f"{web.url}/w/api.php")
    [document] = source.documents(entity("Slowdive"))
    assert document.title == "Slowdive (band)"
    assert document.url.endswith("/wiki/Slowdive_(band)")
    assert "ethereal, dreamy sound" in document.text  # the lead
    assert "dream pop and shoegaze" in document.text  # "Musical style"
    assert "Creation Records" not in document.text  # "History" says nothing of the sound
    assert "[1]" not in document.text and "reference" not in document.text
    assert "Genre: Shoegaze" not in document.text  # the infobox
    parsed = [r.params.get("page") for r in web.requests if r.params.get("action") == "parse"]
    assert parsed == ["Slowdive (band)"]  # the qualified title first; never the EP's


def test_wikipedia_never_takes_a_disambiguation_page(web, fetcher):
    assert Wikipedia(fetcher, f"{web.url}/w/api.php").documents(entity("Ceremony")) == []
    checked = [r.params.get("titles") for r in web.requests if r.params.get("prop") == "pageprops"]
    assert checked == ["Ceremony"]
    assert not any(r.params.get("action") == "parse" for r in web.requests)


def test_wikipedia_finds_an_album_by_its_qualified_title(web, fetcher):
    [document] = Wikipedia(fetcher, f"{web.url}/w/api.php").documents(
        entity("Slowdive", "Souvlaki")
    )
    assert document.title == "Souvlaki (album)"
    assert "shoegaze masterpiece" in document.text


def test_wikipedia_without_an_article_gives_nothing(web, fetcher):
    assert Wikipedia(fetcher, f"{web.url}/w/api.php").documents(entity("Nobody Knows Us")) == []


def test_lastfm_wiki_text_without_its_trailer_and_tags_as_a_document(web, fetcher):
    source = LastfmWiki(fetcher, API_KEY, f"{web.url}/2.0/")
    bio, tags = source.documents(entity("Slowdive"))
    assert (
        bio.source == "lastfm" and bio.text == "Slowdive play dreamy shoegaze with ethereal vocals."
    )
    assert tags.source == "lastfm-tags" and tags.text == "shoegaze, dream pop"
    [only_tags] = source.documents(entity("Metallica"))
    assert only_tags.text == "thrash metal"
    assert source.documents(entity("Nobody Knows Us")) == []


def test_lastfm_bad_key_is_an_error_without_the_key(web, fetcher):
    with pytest.raises(FetchError) as caught:
        LastfmWiki(fetcher, "secret-key-123", f"{web.url}/2.0/").documents(entity("Slowdive"))
    assert "secret-key-123" not in str(caught.value)


def test_feed_entries_are_attributed_and_disallowed_links_never_fetched(web, fetcher):
    finder = EntityFinder([entity("Ride"), entity("Ride", "Nowhere"), entity("Metallica")])
    results = list(feed_documents(fetcher, [f"{web.url}/feed.xml"], [], finder))
    found = {
        (e.artist, e.album): d for e, d in (r for r in results if not isinstance(r, FetchError))
    }
    ride = found[("Ride", "Nowhere")]  # the album named in the title
    assert "swirling wall of feedback" in ride.text and ride.url.endswith("/reviews/ride-nowhere")
    assert "navigation link" not in ride.text and "First comment" not in ride.text
    metallica = found[("Metallica", "")]  # full text inline: the /private/ link is not fetched
    assert "aggressive thrash" in metallica.text
    assert not any(r.path.startswith("/private/") for r in web.requests)
    assert not any(r.path == "/reviews/other" for r in web.requests)  # nobody owns that artist


def test_listed_pages_and_their_failures(web, fetcher):
    finder = EntityFinder([entity("Sigur Rós"), entity("Ride")])
    pages = [f"{web.url}/latin1", f"{web.url}/missing", f"{web.url}/reviews/ride-nowhere"]
    results = list(feed_documents(fetcher, [], pages, finder))
    errors = [r for r in results if isinstance(r, FetchError)]
    documents = {e.artist: d for e, d in (r for r in results if not isinstance(r, FetchError))}
    assert len(errors) == 1 and "HTTP 404" in str(errors[0])
    assert "glacial, ethereal post-rock from Reykjavík" in documents["Sigur Rós"].text


def test_main_content_of_a_page_with_heavy_navigation():
    extracted = extract_main(REVIEW)
    assert extracted.title == "Review: Ride - Nowhere | Blog"
    assert extracted.text.startswith("Ride's debut is a swirling wall")
    for chrome in ("navigation link", "sidebar", "First comment", "Copyright", "best music blog"):
        assert chrome not in extracted.text


def test_malformed_html_still_gives_its_text():
    html = "<html><body><div><p>Unclosed <b>bold <i>dreamy shoegaze review text that goes on"
    html += " long enough<p>and another paragraph that never ends either, on and on"
    text = extract_main(html).text
    assert "dreamy shoegaze review text" in text and "another paragraph" in text


def test_a_latin1_page_without_a_charset_header_is_decoded_by_its_meta_tag():
    body = ('<html><head><meta charset="iso-8859-1"></head><body><p>Sigur Rós from Reykjavík, '
            "a long enough paragraph to count.</p></body></html>").encode("latin-1")  # fmt: skip
    assert "Sigur Rós from Reykjavík" in extract_main(decode_html(body, None)).text


def test_atom_entries_are_read_like_rss_items():
    from mydiscover.text.fetch import Page
    from mydiscover.text.sources.feeds import parse_feed

    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Zine</title>
<entry><title>Slowdive - Souvlaki, reissued</title>
<link rel="alternate" href="https://zine.example/souvlaki"/>
<summary type="html">&lt;p&gt;Dreamy &lt;b&gt;reverb&lt;/b&gt; forever.&lt;/p&gt;</summary></entry>
</feed>"""
    page = Page("https://zine.example/atom", "application/atom+xml", atom, "utf-8", 0.0, False)
    assert parse_feed(page) == [
        ("Slowdive - Souvlaki, reissued", "https://zine.example/souvlaki", "Dreamy reverb forever.")
    ]
