"""Wikipedia, through the MediaWiki API: the article about an artist or album, its lead and the
sections that describe the music (reception, style, legacy).

Finding the article: a full-text search, then the first result whose title is the entity's
name, preferring the qualified titles Wikipedia gives musicians and records ("X (band)",
"X (album)", "X (Artist album)"); a disambiguation page is never taken, its qualified siblings
are tried instead.
"""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup, Tag

from mydiscover.library.match import artist_key
from mydiscover.text.fetch import FetchError, PoliteFetcher
from mydiscover.text.sources import Document, Entity

DEFAULT_API_URL = "https://en.wikipedia.org/w/api.php"
NAME = "wikipedia"
_ARTIST_QUALIFIERS = ("band", "musician", "singer", "rapper", "group", "duo", "dj", "composer",
                      "producer", "songwriter")  # fmt: skip
_ALBUM_QUALIFIERS = ("album", "ep", "soundtrack", "mixtape")
#: Sections whose words describe the music.
_USEFUL_SECTIONS = re.compile(
    r"recept|critic|review|style|sound|genre|influence|artistry|legacy|music|composition|"
    r"themes|background",
    re.IGNORECASE,
)
_QUALIFIER = re.compile(r"\s*\(([^)]*)\)\s*$")


class Wikipedia:
    """The Wikipedia source for one run."""

    name = NAME

    def __init__(self, fetcher: PoliteFetcher, api_url: str = DEFAULT_API_URL) -> None:
        self.fetcher = fetcher
        self.api_url = api_url

    def documents(self, entity: Entity) -> list[Document]:
        """The entity's article as one document, or nothing when there is none."""
        title = self._find(entity)
        if title is None:
            return []
        body = self._api({"action": "parse", "page": title, "prop": "text", "redirects": "1"})
        parsed = body.get("parse") if isinstance(body, dict) else None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("text"), str):
            return []
        text = article_text(parsed["text"])
        if not text:
            return []
        page_title = str(parsed.get("title") or title)
        url = f"{self.api_url.rsplit('/w/', 1)[0]}/wiki/{page_title.replace(' ', '_')}"
        return [Document(NAME, url, page_title, text)]

    def _find(self, entity: Entity) -> str | None:
        if entity.kind == "album":
            query = f"{entity.album} {entity.artist} album"
        else:
            query = f"{entity.artist} band OR musician OR singer"
        body = self._api({"action": "query", "list": "search", "srsearch": query,
                          "srlimit": "10"})  # fmt: skip
        results = body.get("query", {}).get("search", []) if isinstance(body, dict) else []
        titles = [
            r["title"] for r in results if isinstance(r, dict) and isinstance(r.get("title"), str)
        ]
        for title in _ranked(titles, entity):
            if not self._is_disambiguation(title):
                return title
        return None

    def _is_disambiguation(self, title: str) -> bool:
        body = self._api({"action": "query", "prop": "pageprops", "titles": title,
                          "redirects": "1"})  # fmt: skip
        pages = body.get("query", {}).get("pages", []) if isinstance(body, dict) else []
        return any(
            isinstance(page, dict) and "disambiguation" in (page.get("pageprops") or {})
            for page in pages
        )

    def _api(self, params: dict[str, str]) -> Any:
        page = self.fetcher.get(self.api_url, {**params, "format": "json", "formatversion": "2"})
        body = page.json()
        if isinstance(body, dict) and "error" in body:
            info = body["error"].get("info", "error") if isinstance(body["error"], dict) else ""
            raise FetchError(f"Wikipedia: {info}")
        return body


def _ranked(titles: list[str], entity: Entity) -> list[str]:
    """The titles naming the entity, qualified ones first (they are about music)."""
    name_key = entity.album_key if entity.kind == "album" else entity.artist_key
    wanted = _ALBUM_QUALIFIERS if entity.kind == "album" else _ARTIST_QUALIFIERS
    qualified, plain = [], []
    for title in titles:
        match = _QUALIFIER.search(title)
        bare = title[: match.start()] if match else title
        if artist_key(bare) != name_key:
            continue
        qualifier = match.group(1).lower() if match else ""
        if not qualifier:
            plain.append(title)
        elif any(word in qualifier.split() for word in wanted) or (
            entity.kind == "album" and entity.artist_key in artist_key(qualifier)
        ):
            qualified.append(title)
    return qualified + plain


def article_text(html: str) -> str:
    """The lead and the music-describing sections of a parsed article, as plain paragraphs."""
    soup = BeautifulSoup(html, "lxml")
    for element in soup.find_all(["table", "style", "script", "figure", "sup", "math"]):
        element.decompose()
    for element in soup.find_all(class_=re.compile(r"navbox|reflist|hatnote|mw-editsection|"
                                                   r"infobox|thumb|metadata|noprint")):  # fmt: skip
        element.decompose()
    keep, paragraphs = True, []
    for element in soup.find_all(["h2", "p", "li"]):
        if element.name == "h2":
            keep = bool(_USEFUL_SECTIONS.search(element.get_text(" ")))
        elif (
            keep
            and isinstance(element, Tag)
            and not element.find_parent(["ul", "ol"], class_="references")
        ):
            text = " ".join(element.get_text(" ").split())
            if len(text) > 40:
                paragraphs.append(text)
    return "\n\n".join(paragraphs)
