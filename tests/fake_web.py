"""A small web of review sources on 127.0.0.1 for the text tests: a MediaWiki API, Last.fm's
artist/album info, a music blog with robots.txt, feeds and review pages, and the failures a
crawler meets (404, 429, 500, a slow page, a huge page, malformed HTML, a Latin-1 page).

Every page was written for these tests, in the shape the real services answer.
"""

from __future__ import annotations

import time
from typing import Any

from tests.fake_services import FakeServer, Reply, Request

API_KEY = "feedfacefeedfacefeedfacefeedface"
HTML = {"Content-Type": "text/html; charset=utf-8"}

#: Wikipedia articles: title -> (is a disambiguation page, parsed HTML).
ARTICLES: dict[str, tuple[bool, str]] = {
    "Slowdive": (True, "<p>Slowdive may refer to: Slowdive (band), Slowdive (EP).</p>"),
    "Ceremony": (True, "<p>Ceremony may refer to: a ritual; Ceremony, a 2010s punk band.</p>"),
    "Slowdive (band)": (
        False,
        """
<div class="mw-parser-output"><div class="hatnote">For the EP, see Slowdive (EP).</div>
<table class="infobox"><tr><td>Genre: Shoegaze</td></tr></table>
<p>Slowdive are an English rock band formed in Reading in 1989. Their ethereal, dreamy sound
of layered reverb guitars and hushed vocals made them a defining shoegaze act.<sup>[1]</sup></p>
<div class="mw-heading mw-heading2"><h2 id="History">History</h2></div>
<p>The band signed to Creation Records and toured Europe with other groups in the early years.</p>
<div class="mw-heading mw-heading2"><h2 id="Musical_style">Musical style</h2></div>
<p>Critics describe their music as dream pop and shoegaze: washes of reverb, drifting ambient
textures and dreamy, hazy melodies, later moving toward ambient electronica.</p>
<h2 id="References">References</h2><ol class="references"><li>A reference that is long enough
to count as a paragraph if it were kept by mistake.</li></ol></div>""",
    ),
    "Souvlaki (album)": (
        False,
        """
<div class="mw-parser-output"><p>Souvlaki is the second studio album by English shoegaze band
Slowdive, a dreamy record of reverb-soaked guitars and ambient interludes.</p>
<h2 id="Critical_reception">Critical reception</h2><p>Reviewers first dismissed its hazy
ethereal sound; later critics hailed it as a shoegaze masterpiece of dream pop.</p></div>""",
    ),
    "Ride (band)": (
        False,
        """
<div class="mw-parser-output"><p>Ride are an English rock band whose noisy, melodic shoegaze
of swirling guitars, feedback and dreamy harmonies came out of Oxford.</p></div>""",
    ),
    "Metallica": (
        False,
        """
<div class="mw-parser-output"><p>Metallica is an American heavy metal band. Its fast tempos,
aggressive thrash riffs and loud distorted guitars founded thrash metal.</p>
<h2 id="Musical_style">Musical style</h2><p>Heavy, aggressive thrash metal riffs, fast
double-bass drumming and distorted guitar solos define their heavy sound.</p></div>""",
    ),
}


def mediawiki(request: Request) -> Reply:
    """The MediaWiki API (formatversion=2): search, pageprops and parse."""
    params = request.params
    if params.get("list") == "search":
        query = params.get("srsearch", "").lower()
        hits = [t for t in ARTICLES if t.split(" (")[0].lower() in query]
        hits += ["Slowdive (EP)"] if "slowdive" in query else []
        return Reply(body={"query": {"search": [{"title": t, "snippet": "..."} for t in hits]}})
    if params.get("prop") == "pageprops":
        title = params.get("titles", "")
        disambiguation = ARTICLES.get(title, (False, ""))[0]
        props = {"disambiguation": ""} if disambiguation else {}
        return Reply(body={"query": {"pages": [{"title": title, "pageprops": props}]}})
    if params.get("action") == "parse":
        title = params.get("page", "")
        if title not in ARTICLES:
            return Reply(
                body={"error": {"code": "missingtitle", "info": "The page does not exist."}}
            )
        return Reply(body={"parse": {"title": title, "text": ARTICLES[title][1]}})
    return Reply(400, {"error": {"code": "badrequest", "info": "unknown request"}})


def lastfm_info(request: Request) -> Reply:
    """artist.getInfo / album.getInfo with bio/wiki text and tags."""
    params = request.params
    if params.get("api_key") != API_KEY:
        return Reply(403, {"error": 10, "message": "Invalid API key"})
    artist = params.get("artist", "")
    if artist == "Slowdive" and params.get("method") == "artist.getinfo":
        bio = (
            'Slowdive play <a href="x">dreamy</a> shoegaze with ethereal vocals. '
            '<a href="https://www.last.fm/music/Slowdive">Read more on Last.fm</a>. '
            "User-contributed text is available under the Creative Commons License."
        )
        tags = [{"name": "shoegaze"}, {"name": "dream pop"}]
        return Reply(body={"artist": {"name": "Slowdive", "url": "https://last.fm/music/Slowdive",
                                      "bio": {"content": bio}, "tags": {"tag": tags}}})  # fmt: skip
    if artist == "Metallica":
        return Reply(body={"artist": {"name": "Metallica", "url": "u",
                                      "tags": {"tag": {"name": "thrash metal"}}}})  # fmt: skip
    return Reply(body={"error": 6, "message": "The artist you supplied could not be found"})


NAVIGATION = "".join(
    f'<li><a href="/page{n}">A navigation link with quite a long label number {n}</a></li>'
    for n in range(40)
)
REVIEW = f"""<!doctype html><html><head><title>Review: Ride - Nowhere | Blog</title></head>
<body><header><h1>The Blog</h1><p>The best music blog on the whole internet since 2004.</p></header>
<nav><ul>{NAVIGATION}</ul></nav><div class="sidebar"><p>Popular posts and other things in a
sidebar that should never be part of the review text.</p></div>
<div class="post"><h2>Ride - Nowhere</h2>
<p>Ride's debut is a swirling wall of feedback and chiming guitars, noisy and euphoric.</p>
<p>The rhythm section drives hard under layers of shimmering, psychedelic distortion.</p></div>
<div id="comments"><p>First comment! This review is wrong about everything, trust me.</p>
</div><footer><p>Copyright the blog, all rights reserved, and a privacy policy too.</p>
</footer>
</body></html>"""
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>The Blog</title>
<item><title>Review: Ride - Nowhere</title><link>{base}/reviews/ride-nowhere</link>
<description>Teaser only.</description></item>
<item><title>Metallica live report</title><link>{base}/private/metallica</link>
<content:encoded><![CDATA[<p>{long}</p>]]></content:encoded></item>
<item><title>An artist nobody owns</title><link>{base}/reviews/other</link></item>
</channel></rss>"""
LONG_METAL = ("Crushing, aggressive thrash and pounding double-bass drums; a heavy, loud night "
              "of distorted riffs. ") * 8  # fmt: skip


def blog(base: str, slow_seconds: float = 3.0) -> Any:
    """The blog's app: robots.txt, feed, reviews, and the failure pages."""

    def app(request: Request) -> Reply:
        path = request.path
        if path == "/robots.txt":
            return Reply(body=b"User-agent: *\nDisallow: /private/\n",
                         headers={"Content-Type": "text/plain"})  # fmt: skip
        if path == "/feed.xml":
            body = FEED.format(base=base, long=LONG_METAL).encode()
            return Reply(body=body, headers={"Content-Type": "application/rss+xml"})
        if path == "/reviews/ride-nowhere":
            return Reply(body=REVIEW.encode(), headers={**HTML, "ETag": '"v1"'})
        if path == "/slow":
            time.sleep(slow_seconds)
            return Reply(body=b"<p>late</p>", headers=HTML)
        if path == "/huge":
            return Reply(body=b"<p>" + b"x" * (4 * 2**20) + b"</p>", headers=HTML)
        if path == "/malformed":
            body = b"<html><body><div><p>Unclosed <b>bold <i>dreamy shoegaze review text that"
            body += b" goes on long enough to count<p>and another paragraph without end"
            return Reply(body=body, headers=HTML)
        if path == "/latin1":
            body = (
                '<html><head><meta charset="iso-8859-1"><title>Sigur Rós</title></head>'
                "<body><p>Sigur Rós: glacial, ethereal post-rock from Reykjavík, "
                "with bowed guitars and falsetto.</p></body></html>"
            ).encode("latin-1")
            return Reply(body=body, headers={"Content-Type": "text/html"})
        if path == "/image":
            return Reply(body=b"\x89PNG", headers={"Content-Type": "image/png"})
        if path == "/broken":
            return Reply(500, b"<p>oops</p>", headers=HTML)
        return Reply(404, b"<p>not found</p>", headers=HTML)

    return app


def serve_web(server: FakeServer) -> FakeServer:
    """Mount the whole small web on ``server``."""
    server.mount("/w/api.php", mediawiki)
    server.mount("/2.0/", lastfm_info)
    server.mount("/", blog(server.url))
    return server
