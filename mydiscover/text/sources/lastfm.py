"""Last.fm's wiki text and tags for an artist (``artist.getInfo``) or album (``album.getInfo``).

The wiki text is the community's description of the music; the tags ("shoegaze",
"dream pop") become a short document of their own, so even an artist without a biography has
words. Needs the user's Last.fm API key.
"""

from __future__ import annotations

import re
from typing import Any

from mydiscover.lastfm import DEFAULT_API_URL, NOT_FOUND, LastfmError, checked
from mydiscover.text.extract import html_to_text
from mydiscover.text.fetch import FetchError, PoliteFetcher
from mydiscover.text.sources import Document, Entity

NAME = "lastfm"
TAGS = "lastfm-tags"
#: The link and licence line Last.fm appends to every text.
_TRAILER = re.compile(r"\s*(Read more on Last\.fm|User-contributed text is available).*$", re.S)


class LastfmWiki:
    """The Last.fm source for one run."""

    name = NAME

    def __init__(
        self, fetcher: PoliteFetcher, api_key: str, api_url: str = DEFAULT_API_URL
    ) -> None:
        self.fetcher = fetcher
        self.api_key = api_key
        self.api_url = api_url

    def documents(self, entity: Entity) -> list[Document]:
        """The entity's wiki text and its tags, as up to two documents."""
        method = "album.getinfo" if entity.kind == "album" else "artist.getinfo"
        params = {"method": method, "artist": entity.artist, "api_key": self.api_key,
                  "format": "json", "autocorrect": "1"}  # fmt: skip
        if entity.kind == "album":
            params["album"] = entity.album
        try:
            body = checked(self.fetcher.get(self.api_url, params).json(), self.api_key, method)
        except FetchError as error:  # the key must never reach a message
            raise FetchError(str(error).replace(self.api_key, "***")) from None
        except LastfmError as refused:
            if refused.code == NOT_FOUND:
                return []
            raise FetchError(str(refused)) from None
        info = body.get(entity.kind)
        if not isinstance(info, dict):
            return []
        url = str(info.get("url") or "")
        documents = []
        wiki = info.get("wiki" if entity.kind == "album" else "bio")
        if isinstance(wiki, dict) and isinstance(wiki.get("content"), str):
            text = _TRAILER.sub("", html_to_text(wiki["content"])).strip()
            if text:
                documents.append(Document(NAME, url, entity.label(), text))
        tags = _tag_names(info.get("tags"))
        if tags:
            documents.append(Document(TAGS, url + "#tags", entity.label(), ", ".join(tags)))
        return documents


def _tag_names(tags: Any) -> list[str]:
    listed = tags.get("tag", []) if isinstance(tags, dict) else []
    listed = [listed] if isinstance(listed, dict) else listed
    return [str(t["name"]) for t in listed if isinstance(t, dict) and t.get("name")]
