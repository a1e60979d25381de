"""The user's own review sources: RSS/Atom feeds and review pages listed in the config.

A feed's entries, and listed pages, are attributed to the library's artists and albums by
their names in the entry's or page's title (the longest name wins, whole words only); an entry
with the full text inline (``content:encoded``, Atom ``content``) is used as it is, otherwise
the page it links to is fetched and its main content extracted.

Config::

    [reviews]
    feeds = ["https://example.org/reviews/feed.xml"]
    pages = ["https://example.org/reviews/slowdive-souvlaki"]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bs4 import BeautifulSoup

from mydiscover.library.match import artist_key
from mydiscover.text.extract import decode_html, extract_main, html_to_text
from mydiscover.text.fetch import FetchError, Page, PoliteFetcher
from mydiscover.text.sources import Document, Entity

NAME = "feed"
PAGE = "page"
#: An entry's inline text shorter than this is a teaser: the linked page is fetched instead.
FULL_TEXT = 600


class EntityFinder:
    """Finds the library artist (and album) a title names."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        self._artists: dict[str, Entity] = {}
        self._albums: dict[str, list[Entity]] = {}
        for entity in entities:
            if entity.kind == "artist":
                self._artists[entity.artist_key] = entity
            else:
                self._albums.setdefault(entity.artist_key, []).append(entity)
        names = sorted(self._artists, key=len, reverse=True)
        self._pattern = (
            re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None
        )

    def find(self, title: str) -> Entity | None:
        """The album the title names (with its artist), else the artist, else None."""
        if self._pattern is None:
            return None
        folded = artist_key(title) if title else ""
        match = self._pattern.search(folded)
        if not match:
            return None
        artist = self._artists[match.group(1)]
        for album in sorted(
            self._albums.get(artist.artist_key, []), key=lambda a: -len(a.album_key)
        ):
            if re.search(rf"\b{re.escape(album.album_key)}\b", folded):
                return album
        return artist


def feed_documents(
    fetcher: PoliteFetcher, feeds: list[str], pages: list[str], finder: EntityFinder
) -> Iterator[tuple[Entity, Document] | FetchError]:
    """Documents from the configured feeds and pages, each with the entity it is about; a
    feed or page that cannot be fetched is yielded as its error, and the rest go on."""
    for feed_url in feeds:
        try:
            entries = parse_feed(fetcher.get(feed_url))
        except FetchError as error:
            yield error
            continue
        for title, link, inline in entries:
            entity = finder.find(title)
            if entity is None:
                continue
            if len(inline) >= FULL_TEXT or not link:
                yield entity, Document(NAME, link or feed_url, title, inline)
                continue
            try:
                yield entity, _page_document(fetcher.get(link), NAME)
            except FetchError as error:
                yield error
    for url in pages:
        try:
            document = _page_document(fetcher.get(url), PAGE)
        except FetchError as error:
            yield error
            continue
        entity = finder.find(document.title)
        if entity is not None and document.text:
            yield entity, document


def parse_feed(page: Page) -> list[tuple[str, str, str]]:
    """(title, link, inline text) of each RSS item or Atom entry."""
    soup = BeautifulSoup(page.body, "xml")
    entries = []
    for item in soup.find_all(["item", "entry"]):
        title = item.find("title")
        link = item.find("link")
        href = (link.get("href") or link.get_text(strip=True)) if link else ""
        body = (
            item.find("encoded")
            or item.find("content")
            or item.find("description")
            or item.find("summary")
        )
        inline = html_to_text(body.get_text()) if body else ""
        entries.append((title.get_text(" ", strip=True) if title else "", str(href), inline))
    return entries


def _page_document(page: Page, source: str) -> Document:
    if not page.content_type.endswith("html"):
        raise FetchError(f"{page.url}: not an HTML page")
    extracted = extract_main(decode_html(page.body, page.encoding))
    return Document(source, page.url, extracted.title, extracted.text)
