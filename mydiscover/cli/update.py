"""``mydiscover update``: bring every stale stage up to date (what ``weekly`` does first).

In the data flow's order, each stage only does what is new: rescan the music folders; import
new listens from the configured Last.fm / ListenBrainz user; analyse new or changed tracks;
fit the CF model if public data was imported but never fitted, and fold the user in again when
the history changed; ask the review sources about artists and albums never asked about, and
rebuild the terms when their documents changed. A stage that cannot run (no network, no key,
no public data) says so in one line, and the rest goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    StagesWaitOption,
    connect,
    err,
    reported_errors,
    settings_from,
    skipping_when_busy,
)
from mydiscover.config import Settings, lastfm_api_key

OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Skip every network step (history, reviews).")
]
#: Review asks per update, at most: a crawl of a whole new library belongs to 'reviews crawl'.
CRAWL_PER_UPDATE = 25
EXIT_INTERRUPTED = 130


def update(
    offline: OfflineOption = False,
    wait: StagesWaitOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Bring every stage up to date: new files scanned, new listens imported, new tracks
    analysed, the CF model fitted or you folded in again, new artists' reviews fetched and the
    terms rebuilt. Only what is new is done; meant for a timer (see plugins/navidrome/).

    A scan or analysis that another command is running is skipped with a note (--wait waits
    for it instead), and the other stages go on."""
    with reported_errors():
        refresh(settings_from(db, config), db, config, offline=offline, wait=wait)


def refresh(
    settings: Settings, db: Path | None, config: Path | None, *, offline: bool, wait: bool = False
) -> None:
    """Run every stage that has work, each with its own progress and summary on stderr; a
    stage the database's lock refuses (unless ``wait``) is skipped with a note."""
    with skipping_when_busy():
        _run_stages(settings, db, config, offline=offline, wait=wait)


def _run_stages(
    settings: Settings, db: Path | None, config: Path | None, *, offline: bool, wait: bool
) -> None:
    from mydiscover.cli import analyze, history, scan

    roots = _music_roots(settings)
    if roots:
        _stage(lambda: scan.scan(folders=roots, wait=wait, db=db, config=config))
    else:
        _note("scan: no music folder known yet: run 'mydiscover scan ~/Music'")
    if offline:
        _note("history: skipped (--offline)")
    else:
        if settings.lastfm.get("user"):
            if lastfm_api_key(settings):
                _stage(lambda: history.lastfm_command(user=None, db=db, config=config))
            else:
                _note("history: Last.fm skipped: no API key ([lastfm] api_key)")
        if settings.listenbrainz.get("user"):
            _stage(lambda: history.listenbrainz_command(user=None, ask_token=False, db=db,
                                                        config=config))  # fmt: skip
    _stage(lambda: analyze.analyze(wait=wait, db=db, config=config))
    _refresh_cf(settings, db, config)
    if not offline:
        _crawl_new_entities(settings)
    _rebuild_terms_if_stale(settings)


def _music_roots(settings: Settings) -> list[Path]:
    """The config's music folders, else those the catalog's tracks were found in."""
    if settings.music_roots:
        return list(settings.music_roots)
    if not settings.database.exists():
        return []
    conn = connect(settings, create=False)
    try:
        rows = conn.execute("SELECT DISTINCT root FROM tracks WHERE status != 'missing'")
        return [Path(os.fsdecode(root)) for (root,) in rows]
    finally:
        conn.close()


def _refresh_cf(settings: Settings, db: Path | None, config: Path | None) -> None:
    from mydiscover.cf.store import dataset_path, model_path
    from mydiscover.cli import cf
    from mydiscover.db.cf import fold_state, history_marker

    configured = settings.cf.get("dataset")
    if configured and not dataset_path(settings.database).exists():
        _stage(lambda: cf.import_command(path=Path(configured), fmt="auto", db=db, config=config))
    if not model_path(settings.database).exists():
        if dataset_path(settings.database).exists():
            _stage(lambda: cf.fit_command(engine="implicit", spark_master="local[2]", factors=64,
                                          regularization=None, iterations=15, alpha=1.0,
                                          weighting="log", db=db, config=config))  # fmt: skip
        else:
            _note("cf: no public co-listening data yet ('mydiscover cf import PATH')")
        return
    conn = connect(settings)
    try:
        folded = fold_state(conn)
        stale = folded is None or folded["history_marker"] != history_marker(conn)
    finally:
        conn.close()
    if stale:
        _stage(lambda: cf.score_command(db=db, config=config))


def _crawl_new_entities(settings: Settings) -> None:
    """Ask the review sources about a few entities never asked about; one line of outcome."""
    from mydiscover.text.crawl import configured_sources, crawl, review_fetcher

    fetcher = review_fetcher(settings, max_retries=1)  # a missing network: one quick try
    sources, _ = configured_sources(settings, fetcher, [], lastfm_api_key(settings))
    conn = connect(settings)
    try:
        with err.status("reviews: asking about new artists and albums", spinner="dots"):
            report = crawl(conn, sources, fetcher=fetcher, limit=CRAWL_PER_UPDATE,
                           feeds=settings.reviews.get("feeds", []),
                           pages=settings.reviews.get("pages", []))  # fmt: skip
    finally:
        conn.close()
    if report.errors and not report.documents:
        _note(f"reviews: nothing fetched ({report.errors[0]}); no network? --offline skips this")
    elif report.asked:
        err.print(f"reviews: {report.summary()}", highlight=False)


def _rebuild_terms_if_stale(settings: Settings) -> None:
    from mydiscover.db.documents import documents_marker
    from mydiscover.text.terms import build_terms

    conn = connect(settings)
    try:
        row = conn.execute("SELECT documents_marker FROM terms_state").fetchone()
        if row is None or row[0] != documents_marker(conn):
            report = build_terms(conn)
            err.print(f"terms: {report.entities:,} artists and albums", highlight=False)
    finally:
        conn.close()


def _stage(run: Callable[[], None]) -> None:
    """Run one stage's command; its failure is its own, the others go on (Ctrl-C stops all)."""
    try:
        run()
    except typer.Exit as done:
        if done.exit_code == EXIT_INTERRUPTED:
            raise


def _note(message: str) -> None:
    err.print(escape(message), style="dim", highlight=False)
