"""``reviews crawl``: ask every source about the library's artists and albums.

Most listened and least covered first; an entity a source answered within ``refresh_days`` is
skipped (failed asks are retried next run); each answer is committed with its crawl record, so
an interrupted crawl resumes where it stopped. The user's feeds and pages are read once per
crawl.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mydiscover.config import Settings, default_cache_dir, missing_api_key_message
from mydiscover.errors import MydiscoverError
from mydiscover.text.fetch import FetchError, PoliteFetcher
from mydiscover.text.sources import Document, Entity
from mydiscover.text.sources.feeds import EntityFinder, feed_documents
from mydiscover.text.tables import crawled_since, library_entities, store_documents

log = logging.getLogger(__name__)

DEFAULT_REFRESH_DAYS = 90


class Source(Protocol):
    """A per-entity source: Wikipedia, Last.fm."""

    name: str

    def documents(self, entity: Entity) -> list[Document]:
        """What the source has about ``entity``."""


@dataclass
class CrawlReport:
    """What a crawl did."""

    asked: int = 0
    documents: int = 0
    skipped: int = 0  # asked recently
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{self.asked:,} asks, {self.documents:,} documents stored, {self.skipped:,} "
            f"answered recently, {len(self.errors):,} failed"
        )


def crawl(
    conn: sqlite3.Connection,
    sources: Sequence[Source],
    *,
    fetcher: PoliteFetcher | None = None,
    feeds: Sequence[str] = (),
    pages: Sequence[str] = (),
    limit: int | None = None,
    refresh_days: int = DEFAULT_REFRESH_DAYS,
    progress: Callable[[int, int, str], None] | None = None,
    now: Callable[[], float] = time.time,
) -> CrawlReport:
    """Crawl (see the module's docstring); ``limit`` caps the entities asked about."""
    report = CrawlReport()
    entities = library_entities(conn)
    since = int(now()) - refresh_days * 86_400
    answered = {source.name: crawled_since(conn, source.name, since) for source in sources}
    plan = []
    for entity in entities:
        due = [s for s in sources if (entity.artist_key, entity.album_key) not in answered[s.name]]
        report.skipped += len(sources) - len(due)
        if due:
            plan.append((entity, due))
    plan = plan[:limit] if limit is not None else plan
    steps = len(plan) + (1 if feeds or pages else 0)
    for done, (entity, due) in enumerate(plan, 1):
        for source in due:
            report.asked += 1
            try:
                documents = source.documents(entity)
            except FetchError as error:
                report.errors.append(f"{source.name}, {entity.label()}: {error}")
                store_documents(conn, entity, [], int(now()), (source.name, str(error)))
                continue
            report.documents += store_documents(conn, entity, documents, int(now()),
                                                (source.name, None))  # fmt: skip
        if progress:
            progress(done, steps, entity.label())
    if (feeds or pages) and fetcher is not None:
        finder = EntityFinder(entities)
        for found in feed_documents(fetcher, list(feeds), list(pages), finder):
            if isinstance(found, FetchError):
                report.errors.append(f"feeds: {found}")
            else:
                report.documents += store_documents(conn, found[0], [found[1]], int(now()))
        if progress:
            progress(steps, steps, "feeds")
    return report


def http_cache_folder() -> Path:
    """Where the fetcher's cache lives: the user's own cache folder, whatever the database."""
    return default_cache_dir() / "http"


def review_fetcher(settings: Settings, *, max_retries: int = 3) -> PoliteFetcher:
    """The polite fetcher as the config sets it up: its cache in the user's cache folder, the
    user's contact in the User-Agent, the pace between two requests to one host."""
    _remove_old_cache(settings.database)
    return PoliteFetcher(
        http_cache_folder(), contact=settings.reviews.contact or None,
        min_interval=1.0 if settings.reviews.request_interval is None
        else settings.reviews.request_interval,
        max_retries=max_retries,
    )  # fmt: skip


def _remove_old_cache(database: Path) -> None:
    # Earlier versions cached beside the database, readable by every local user, with
    # the Last.fm API key inside each entry's URL: nothing in it is worth that.
    old = database.parent / f"{database.stem}-http-cache"
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
        log.warning("removed the old web cache %s (its entries held the API key)", old)


def configured_sources(
    settings: Settings, fetcher: PoliteFetcher, only: Sequence[str], lastfm_api_key: str | None
) -> tuple[list[Source], list[str]]:
    """The per-entity sources to crawl (``only``: their names, empty for all usable) and notes
    on the ones left out."""
    from mydiscover.text.sources.lastfm import LastfmWiki
    from mydiscover.text.sources.wikipedia import DEFAULT_API_URL as WIKIPEDIA_API_URL
    from mydiscover.text.sources.wikipedia import Wikipedia

    unknown = set(only) - set(SOURCE_NAMES)
    if unknown:
        raise MydiscoverError(
            f"unknown source {', '.join(sorted(unknown))}: choose from {', '.join(SOURCE_NAMES)}"
        )
    wanted = set(only or SOURCE_NAMES)
    sources: list[Source] = []
    notes: list[str] = []
    if "wikipedia" in wanted:
        api = settings.reviews.wikipedia_api_url or WIKIPEDIA_API_URL
        sources.append(Wikipedia(fetcher, api))
    if "lastfm" in wanted:
        if lastfm_api_key:
            api = settings.lastfm.api_url
            sources.append(LastfmWiki(fetcher, lastfm_api_key, api))
        elif only:
            raise MydiscoverError(missing_api_key_message(settings.config_file))
        else:
            notes.append("Last.fm skipped: no API key ([lastfm] api_key in the config file)")
    return sources, notes


#: Every source 'reviews crawl --source' knows; feeds are the [reviews] feeds and pages.
SOURCE_NAMES = ("wikipedia", "lastfm", "feeds")
