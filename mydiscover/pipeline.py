"""The one-way flow as code: each stage asked whether it has work, and its runner run, in the
data flow's order (scan, history, analysis, CF, reviews, terms, the weekly's blend), with one
settings object and one connection.

``mydiscover update`` and ``weekly`` run :func:`refresh`; ``mydiscover scan`` and the CF
commands run the steps they share with it (:func:`scan_music`, :func:`fold_in`). Each step
only does what is new; a step that cannot run (no network, no key, no public data) says so in
one line and the rest goes on; a step another command holds the lock for is skipped with a
note (or waited for); Ctrl-C stops them all (:class:`StageInterrupted`, with what was kept).
What the steps show goes through a :class:`PipelineView`: the command line draws it with rich,
tests may record it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mydiscover.audio.run import (
    AnalysisInterrupted,
    AnalysisProgress,
    AnalysisRun,
    run_analysis,
)
from mydiscover.config import (
    ENV_LASTFM_KEY,
    Settings,
    exposed_secret_warning,
    lastfm_api_key,
    listenbrainz_token,
)
from mydiscover.db.lock import exclusive_lock
from mydiscover.errors import BusyError, MydiscoverError
from mydiscover.history.report import ImportProgress, ImportReport
from mydiscover.history.tables import rematch_unmatched
from mydiscover.library.match import TrackMatcher
from mydiscover.library.scan import ScanProgress, ScanReport, scan_library
from mydiscover.library.tables import (
    catalog_roots,
    entries_updated_since,
    now_stamp,
    rematched_until,
    set_rematched_until,
)

if TYPE_CHECKING:  # numpy and scipy load only when a step needs them
    from mydiscover.audio.tables import PendingTrack
    from mydiscover.cf.store import FittedModel
    from mydiscover.recommend.rules import Rules

#: Review asks per refresh, at most: a crawl of a whole new library belongs to 'reviews crawl'.
CRAWL_PER_REFRESH = 25


class PipelineView(Protocol):
    """What the steps show while they work, and the lines they end with."""

    def scan_progress(self) -> AbstractContextManager[ScanProgress]:
        """The scan's progress display for a block."""

    def import_progress(self, label: str) -> AbstractContextManager[ImportProgress]:
        """A history import's progress display for a block."""

    def analysis_progress(self) -> AbstractContextManager[AnalysisProgress]:
        """The analysis's progress display for a block."""

    def bytes_read(self, label: str) -> AbstractContextManager[Callable[[int, int], None]]:
        """A reader's progress (bytes done, total) for a block."""

    def working(self, label: str) -> AbstractContextManager[None]:
        """Something that takes a while without counting (a fit, a crawl) for a block."""

    def said(self, line: str) -> None:
        """A step's outcome."""

    def detail(self, line: str) -> None:
        """A less important line under an outcome (a file that failed, a listen skipped)."""

    def note(self, line: str) -> None:
        """A step that did not run, and why."""

    def warned(self, line: str) -> None:
        """Something the user should fix."""

    def failed(self, line: str) -> None:
        """A step that failed: the others go on."""


class SilentView:
    """A :class:`PipelineView` that shows nothing: for scripts, benchmarks and tests."""

    def scan_progress(self) -> AbstractContextManager[ScanProgress]:
        """No progress."""
        from mydiscover.library.scan import SilentScanProgress

        return nullcontext(SilentScanProgress())

    def import_progress(self, label: str) -> AbstractContextManager[ImportProgress]:
        """No progress."""
        from mydiscover.history.report import SilentProgress

        return nullcontext(SilentProgress())

    def analysis_progress(self) -> AbstractContextManager[AnalysisProgress]:
        """No progress."""
        return nullcontext(_SilentAnalysis())

    def bytes_read(self, label: str) -> AbstractContextManager[Callable[[int, int], None]]:
        """No progress."""
        return nullcontext(lambda done, total: None)

    def working(self, label: str) -> AbstractContextManager[None]:
        """No spinner."""
        return nullcontext()

    def said(self, line: str) -> None:
        """Nothing shown."""

    def detail(self, line: str) -> None:
        """Nothing shown."""

    def note(self, line: str) -> None:
        """Nothing shown."""

    def warned(self, line: str) -> None:
        """Nothing shown."""

    def failed(self, line: str) -> None:
        """Nothing shown."""


class _SilentAnalysis:
    def started(self, pending: int) -> None:
        """Nothing shown."""

    def stored(self, run: AnalysisRun, track: PendingTrack, error: str | None) -> None:
        """Nothing shown."""


class StageInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) in a step: the message says what was kept and how to carry on."""


@dataclass(frozen=True)
class ScanOutcome:
    """A scan, and the earlier listens it let match a track."""

    report: ScanReport
    rematched: int


def refresh(settings: Settings, view: PipelineView, *, offline: bool, wait: bool = False) -> None:
    """Run every step that has work, in the data flow's order, on one connection."""
    from mydiscover.db import open_database

    conn = open_database(settings.database)
    try:
        with _step(view):
            roots = list(settings.music_roots) or [
                Path(os.fsdecode(root)) for root in catalog_roots(conn)
            ]
            if roots:
                scan_music(conn, settings.database, roots, view, wait=wait)
            else:
                view.note("scan: no music folder known yet: run 'mydiscover scan ~/Music'")
        if offline:
            view.note("history: skipped (--offline)")
        else:
            _import_history(conn, settings, view)
        with _step(view):
            analyze_tracks(conn, settings.database, view, wait=wait)
        with _step(view):
            _refresh_cf(conn, settings, view)
        if not offline:
            with _step(view):
                _crawl_new_entities(conn, settings, view)
        with _step(view):
            _rebuild_terms_if_stale(conn, view)
        with _step(view):
            learn_blend(conn, settings, view)
    finally:
        conn.close()


@contextmanager
def _step(view: PipelineView) -> Iterator[None]:
    """One step's failure is its own: the next steps go on (Ctrl-C stops them all)."""
    try:
        yield
    except BusyError as busy:
        view.note(f"note: skipped: {busy}")
    except MydiscoverError as error:
        view.failed(str(error))


def scan_music(
    conn: sqlite3.Connection,
    database: Path,
    roots: list[Path],
    view: PipelineView,
    *,
    jobs: int | None = None,
    wait: bool = False,
) -> ScanOutcome:
    """Scan the music folders under the scan lock, then match the earlier listens the new
    files may be (the history's step, right after the library's). StageInterrupted on Ctrl-C."""
    from mydiscover.library.walk import normalize_root

    with exclusive_lock(database, "a scan", wait=wait):
        started = now_stamp(conn)
        with view.scan_progress() as progress:
            report = scan_library(conn, [normalize_root(str(root)) for root in roots],
                                  jobs=jobs, progress=progress)  # fmt: skip
        rematched = 0 if report.interrupted else _rematch(conn, started)
    if report.interrupted:
        raise StageInterrupted(f"Scan interrupted: {report.summary()} so far; run the same "
                               "scan again to carry on.")  # fmt: skip
    view.said(f"Scanned: {report.summary()}.")
    if rematched:
        view.said(f"{rematched} earlier listens now match a track.")
    if report.errors:
        view.note("See what failed with: mydiscover scan --errors")
    return ScanOutcome(report, rematched)


def _rematch(conn: sqlite3.Connection, started: str) -> int:
    """Try the unmatched listens against the tracks updated since they were last tried (all
    of them the first time): new files may be what earlier listens waited for, and only they
    can be, as a listen unmatched so far matched none of the others: O(new), not O(catalog).
    Tracks an interrupted scan stored, or one killed before this step, are tried next time."""
    since = rematched_until(conn)
    arrived = None if since is None else entries_updated_since(conn, since)
    if arrived == []:
        return 0  # nothing changed since they were last tried: nothing to do, nothing to write
    found = rematch_unmatched(conn, None if arrived is None else TrackMatcher(arrived))
    set_rematched_until(conn, started)
    return found


def _import_history(conn: sqlite3.Connection, settings: Settings, view: PipelineView) -> None:
    """New listens from the configured Last.fm and ListenBrainz users."""
    from mydiscover.history.lastfm import import_lastfm
    from mydiscover.history.listenbrainz import import_listenbrainz

    if user := settings.lastfm.user:
        api_key = lastfm_api_key(settings)
        if not api_key:
            view.note("history: Last.fm skipped: no API key ([lastfm] api_key)")
        else:
            from_config = not os.environ.get(ENV_LASTFM_KEY)
            if from_config and (warning := exposed_secret_warning(settings, "a Last.fm API key")):
                view.warned(warning)
            url = settings.lastfm.api_url
            with _step(view):

                def scrobbles(progress: ImportProgress) -> ImportReport:
                    return import_lastfm(conn, user, api_key, api_url=url, progress=progress)

                import_history(conn, f"Last.fm {user}", view, scrobbles)
    if user := settings.listenbrainz.user:
        token, from_config = listenbrainz_token(settings)
        if from_config and (warning := exposed_secret_warning(settings, "a ListenBrainz token")):
            view.warned(warning)
        url = settings.listenbrainz.api_url
        with _step(view):

            def listens(progress: ImportProgress) -> ImportReport:
                return import_listenbrainz(conn, user, token, api_url=url, progress=progress)

            import_history(conn, f"ListenBrainz {user}", view, listens)


def import_history(
    conn: sqlite3.Connection,
    label: str,
    view: PipelineView,
    run: Callable[[ImportProgress], ImportReport],
) -> ImportReport:
    """Run one import with its progress and its outcome line; StageInterrupted on Ctrl-C (what
    was saved is kept)."""
    with view.import_progress(label) as progress:
        try:
            report = run(progress)
        except KeyboardInterrupt:
            raise StageInterrupted(f"{label}: interrupted; run it again to carry on where it "
                                   "stopped.") from None  # fmt: skip
    view.said(f"{label}: {report.summary()}.")
    for where, reason in report.skipped_examples:
        view.detail(f"  skipped {where}: {reason}")
    return report


def analyze_tracks(
    conn: sqlite3.Connection,
    database: Path,
    view: PipelineView,
    *,
    jobs: int | None = None,
    limit: int | None = None,
    timeout: float | None = None,
    wait: bool = False,
) -> int:
    """Analyse the new, changed or outdated tracks; returns how many could not be.
    StageInterrupted on Ctrl-C (each result is kept as it comes)."""
    from mydiscover.audio.run import DEFAULT_TIMEOUT_SECONDS

    try:
        with view.analysis_progress() as progress:
            run = run_analysis(conn, database, progress, jobs=jobs, limit=limit, wait=wait,
                               timeout=timeout or DEFAULT_TIMEOUT_SECONDS)  # fmt: skip
    except AnalysisInterrupted as stopped:
        raise StageInterrupted(f"Analysis {stopped}; run it again to carry on.") from None
    view.said(run.summary())
    for path, reason in run.failed[:5]:
        view.detail(f"  {path}: {reason}")
    if run.done:
        from mydiscover.audio.taste_map import taste_map

        taste_map(conn)  # the web page's map, projected again now rather than on its first load
    return len(run.failed)


def _refresh_cf(conn: sqlite3.Connection, settings: Settings, view: PipelineView) -> None:
    """Import the configured dataset if it never was, fit if no model is, and fold the user in
    again when the history changed."""
    from mydiscover.cf.fit import fit_model, import_dataset
    from mydiscover.cf.spark_data import SparkDataset
    from mydiscover.cf.store import has_imported_data, imported_data, load_model, model_path
    from mydiscover.cf.tables import fold_stale

    database = settings.database
    configured = settings.cf.dataset
    if configured and not has_imported_data(database):
        path = Path(configured)
        with (
            _interrupted("cf import: interrupted; nothing was changed."),
            view.bytes_read(f"reading {path.name}") as progress,
        ):
            view.said(import_dataset(path, "auto", database, progress).summary())
    if not model_path(database).exists():
        if not has_imported_data(database):
            view.note("cf: no public co-listening data yet ('mydiscover cf import PATH')")
            return
        data = imported_data(database)  # read once: for the label and the fit
        if isinstance(data, SparkDataset):
            view.note("cf: the dataset imported on Spark is fitted there: "
                      "'mydiscover cf fit --engine als-spark'")  # fmt: skip
            return
        with (
            _interrupted("cf fit: interrupted; the previous model is kept."),
            view.working(f"fitting ALS (als) on {data.pairs:,} play counts"),
        ):
            report = fit_model(database, "als", data)
        view.said(report.summary())
        model = load_model(report.target)
    elif fold_stale(conn):
        model = load_model(model_path(database))
    else:
        return
    with _interrupted("cf score: interrupted; the previous scores are kept."):
        fold_in(conn, model, view)


@contextmanager
def _interrupted(message: str) -> Iterator[None]:
    """Ctrl-C in the block ends the refresh with ``message`` (what was kept)."""
    try:
        yield
    except StageInterrupted:
        raise
    except KeyboardInterrupt:
        raise StageInterrupted(message) from None


def fold_in(conn: sqlite3.Connection, model: FittedModel, view: PipelineView) -> None:
    """Fold the user in from the history stored now, store the library's scores, and say how
    it went (a history the model knows nothing of is said, not raised)."""
    from mydiscover.cf.score import refresh_scores

    started = time.perf_counter()
    try:
        result = refresh_scores(conn, model)
    except MydiscoverError as error:
        view.said(f"not folded in: {error}")
        return
    view.said(
        f"folded you in: {result.matched_artists:,} of your {result.user_artists:,} artists are "
        f"in the public data; {len(result):,} library tracks scored "
        f"({time.perf_counter() - started:.2f} s)"
    )


def _crawl_new_entities(conn: sqlite3.Connection, settings: Settings, view: PipelineView) -> None:
    """Ask the review sources about a few entities never asked about; one line of outcome."""
    from mydiscover.text.crawl import configured_sources, crawl, review_fetcher

    fetcher = review_fetcher(settings, max_retries=1)  # a missing network: one quick try
    sources, _ = configured_sources(settings, fetcher, [], lastfm_api_key(settings))
    with view.working("reviews: asking about new artists and albums"):
        report = crawl(conn, sources, fetcher=fetcher, limit=CRAWL_PER_REFRESH,
                       feeds=settings.reviews.feeds,
                       pages=settings.reviews.pages)  # fmt: skip
    if report.errors and not report.documents:
        view.note(f"reviews: nothing fetched ({report.errors[0]}); no network? --offline skips "
                  "this")  # fmt: skip
    elif report.asked:
        view.said(f"reviews: {report.summary()}")


def _rebuild_terms_if_stale(conn: sqlite3.Connection, view: PipelineView) -> None:
    from mydiscover.text.tables import terms_stale
    from mydiscover.text.terms import build_terms

    if terms_stale(conn):
        report = build_terms(conn)
        view.said(f"terms: {report.entities:,} artists and albums")


def learn_blend(
    conn: sqlite3.Connection,
    settings: Settings,
    view: PipelineView,
    rules: Rules | None = None,
) -> None:
    """Learn the weekly's blend from the history when none was in the last RELEARN_DAYS, with
    ``rules`` (None: the weekly's defaults) and this week's seed: a weekly then reads it
    rather than spending several weeklies' work on it (and learns it itself if this step
    never ran)."""
    from mydiscover.cf.store import fitted_model
    from mydiscover.db.connection import use_read_cache
    from mydiscover.recommend.learn import kept_blend, learn_from_history
    from mydiscover.recommend.library import load_library
    from mydiscover.recommend.rules import Rules
    from mydiscover.recommend.service import READ_CACHE_KIB, this_week, weekly_user
    from mydiscover.recommend.weekly import week_seed

    now = int(time.time())
    if kept_blend(conn, now) is not None:
        return
    use_read_cache(conn, READ_CACHE_KIB)  # the last step: as a weekly, each page read once
    with view.working("blend: learning from your history"):
        library = load_library(conn)
        if not len(library):
            return
        learned = learn_from_history(
            conn, library, fitted_model(settings.database), now=now, rules=rules or Rules(),
            seed=week_seed(this_week(), weekly_user(settings)),
        )  # fmt: skip
    if learned.learned_at is None:
        view.note(f"blend: {learned.note}")
    else:
        view.said(f"blend: {learned.note}")


@dataclass(frozen=True)
class StageState:
    """One stage as the web page shows it: what it holds, and what it has left to do (""
    when it is up to date)."""

    stage: str
    holds: str
    todo: str

    def to_json(self) -> dict[str, str]:
        """As ``/api/stages`` gives it."""
        return {"stage": self.stage, "holds": self.holds, "todo": self.todo}


def stage_states(conn: sqlite3.Connection, database: Path) -> list[StageState]:
    """Every stage's state in the data flow's order, from the database (nothing is run)."""
    from mydiscover.audio.tables import audio_summary
    from mydiscover.history.tables import listen_counts
    from mydiscover.library.tables import catalog_counts
    from mydiscover.text.tables import terms_stale, text_summary

    available, other, last_scan = catalog_counts(conn)
    scanned = "" if last_scan else "never scanned: mydiscover scan ~/Music"
    held = f"{available:,} tracks ({other:,} missing or unreadable)"
    states = [StageState("scan", f"{held}; last scan {last_scan}" if last_scan else held,
                         scanned)]  # fmt: skip
    listens, matched = listen_counts(conn)
    states.append(StageState(
        "history", f"{listens:,} listens, {matched:,} matched to tracks",
        "" if listens else "no history yet: mydiscover history import",
    ))  # fmt: skip
    audio = audio_summary(conn)
    pending = available - audio["analysed"] - audio["undecodable"]
    states.append(StageState("analysis", f"{audio['analysed']:,} tracks analysed",
                             f"{pending:,} tracks to analyse" if pending > 0 else ""))  # fmt: skip
    states.append(_cf_state(conn, database))
    text = text_summary(conn)
    documents = sum(source["documents"] for source in text["sources"])
    states.append(StageState("text", f"{documents:,} documents",
                             "build the terms" if terms_stale(conn) else ""))  # fmt: skip
    return states


def _cf_state(conn: sqlite3.Connection, database: Path) -> StageState:
    """The CF stage from its model's header and its last fold-in alone: the public dataset (it
    can be gigabytes), the model's factors and the whole library's coverage (a second at
    100,000 tracks) are not read."""
    from mydiscover.cf.store import fit_fingerprint, fitted_header
    from mydiscover.cf.tables import fold_state, history_marker

    header = fitted_header(database)
    if header is None:
        return StageState("cf", "no model", "mydiscover cf import, then cf fit")
    held = f"{header['engine']} model of {header['items']:,} artists"
    fold = fold_state(conn)
    if fold is None:
        return StageState("cf", held, "fold the user in")
    known = (f"; it knows {fold['matched_artists']:,} of your {fold['user_artists']:,} artists "
             f"and scores {fold['scored_tracks']:,} tracks")  # fmt: skip
    stale = (fold["model_fingerprint"], fold["history_marker"]) != (
        fit_fingerprint(header), history_marker(conn))  # fmt: skip
    return StageState("cf", held + known, "fold the user in" if stale else "")
