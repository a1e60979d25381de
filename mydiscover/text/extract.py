"""Main-content extraction: the article's words, without navigation, comments or boilerplate.

BeautifulSoup (with lxml) parses whatever the page is, malformed or not. Chrome (scripts,
styles, navigation, headers, footers, asides, forms) and blocks whose class or id says they are
comments, sharing, related links, newsletters or cookie banners are dropped. The article is
then the ``<article>`` / ``<main>`` / ``articleBody`` element if the page marks one, else the
element holding the most paragraph text (the density heuristic of readability-style
extractors). Text comes out as paragraphs separated by blank lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Comment, Tag, UnicodeDammit

_CHROME = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
           "svg", "button", "select", "template")  # fmt: skip
_BOILERPLATE = re.compile(
    r"comment|share|social|related|sidebar|menu|navbar|breadcrumb|footer|cookie|consent|"
    r"newsletter|subscribe|advert|promo|sponsor|popup|modal|signup|login|tags?-list",
    re.IGNORECASE,
)
_BLOCKS = ("p", "li", "blockquote", "h2", "h3", "h4", "dd")
#: Paragraphs shorter than this are captions, bylines and buttons more often than prose.
MIN_PARAGRAPH = 25


@dataclass(frozen=True)
class Extracted:
    """A page's title and main text."""

    title: str
    text: str


def decode_html(body: bytes, declared: str | None) -> str:
    """The page's text: the server's charset, else the page's own declaration, else a guess."""
    candidates = [declared] if declared else []
    return UnicodeDammit(body, candidates, is_html=True).unicode_markup or ""


def extract_main(html: str) -> Extracted:
    """The title and main text of an HTML page."""
    soup = BeautifulSoup(html, "lxml")
    title = _title(soup)
    for element in soup(_CHROME):
        element.decompose()
    for comment in soup.find_all(string=lambda text: isinstance(text, Comment)):
        comment.extract()
    for element in soup.find_all(_is_boilerplate):
        element.decompose()
    root = _marked_article(soup) or _densest(soup) or soup.body or soup
    return Extracted(title, _paragraphs(root))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment (a feed entry, an API's HTML field), paragraphs kept."""
    soup = BeautifulSoup(html, "lxml")
    for element in soup(_CHROME):
        element.decompose()
    text = _paragraphs(soup, minimum=1)
    return text or " ".join(soup.get_text(" ").split())


def _title(soup: BeautifulSoup) -> str:
    meta = soup.find("meta", attrs={"property": "og:title"})
    if isinstance(meta, Tag) and meta.get("content"):
        return " ".join(str(meta["content"]).split())
    for name in ("title", "h1"):
        element = soup.find(name)
        if element and element.get_text(strip=True):
            return " ".join(element.get_text(" ").split())
    return ""


def _is_boilerplate(element: Tag) -> bool:
    if element.name in ("html", "body", "main", "article"):
        return False
    attributes = " ".join(
        [*element.get("class", []), str(element.get("id", "")), str(element.get("role", ""))]
    )
    return bool(attributes.strip()) and bool(_BOILERPLATE.search(attributes))


def _marked_article(soup: BeautifulSoup) -> Tag | None:
    for found in (soup.find(attrs={"itemprop": "articleBody"}), soup.find("article"),
                  soup.find("main")):  # fmt: skip
        if isinstance(found, Tag) and len(_paragraphs(found)) > 200:
            return found
    return None


def _densest(soup: BeautifulSoup) -> Tag | None:
    """The element whose direct paragraphs hold the most text."""
    scores: dict[int, tuple[int, Tag]] = {}
    for paragraph in soup.find_all("p"):
        parent = paragraph.parent
        if not isinstance(parent, Tag):
            continue
        length = len(paragraph.get_text(" ", strip=True))
        if length >= MIN_PARAGRAPH:
            total, _ = scores.get(id(parent), (0, parent))
            scores[id(parent)] = (total + length, parent)
    if not scores:
        return None
    return max(scores.values(), key=lambda entry: entry[0])[1]


def _paragraphs(root: Tag, minimum: int = MIN_PARAGRAPH) -> str:
    blocks = []
    for element in root.find_all(_BLOCKS):
        if element.find(_BLOCKS):  # the inner blocks speak for themselves
            continue
        text = " ".join(element.get_text(" ").split())
        if len(text) >= minimum:
            blocks.append(text)
    return "\n\n".join(blocks)
