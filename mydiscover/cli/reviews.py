"""``mydiscover reviews`` and ``mydiscover terms``: review text, and the terms it gives."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    JsonOption,
    connect,
    err,
    fail,
    interruptible,
    out,
    overview_table,
    print_json,
    read_summary,
    reported_errors,
    settings_from,
    warn_if_config_exposed,
)
from mydiscover.cli.render import count_bar

app = typer.Typer(
    help="Public review text about your artists and albums (Wikipedia, Last.fm, your own "
    "feeds), crawled politely, and the terms that describe them.",
    no_args_is_help=True,
)


@app.command("crawl")
def crawl_command(
    source: Annotated[
        list[str] | None,
        typer.Option(help="Only this source (repeatable): wikipedia, lastfm, feeds."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Ask about this many artists/albums at most.")
    ] = None,
    refresh_days: Annotated[
        int, typer.Option(min=0, help="Ask a source again about an entity after this long.")
    ] = 90,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Fetch what the web writes about your library's artists and albums (most listened and
    least covered first), then rebuild their terms. Polite: robots.txt, one request a second
    per host, a cache; incremental and resumable."""
    from mydiscover.config import ENV_LASTFM_KEY, lastfm_api_key
    from mydiscover.text.crawl import configured_sources, crawl, review_fetcher
    from mydiscover.text.terms import build_terms

    chosen = source or []
    with reported_errors():
        settings = settings_from(db, config)
        fetcher = review_fetcher(settings)
        per_entity = [name for name in chosen if name != "feeds"]
        sources, notes = configured_sources(settings, fetcher, per_entity, lastfm_api_key(settings))
        if chosen and not per_entity:
            sources = []
        with_feeds = not chosen or "feeds" in chosen
        for note in notes:
            err.print(note, highlight=False)
        if any(s.name == "lastfm" for s in sources) and not os.environ.get(ENV_LASTFM_KEY):
            warn_if_config_exposed(settings, "a Last.fm API key")
        conn = connect(settings)
        try:
            with (
                interruptible("reviews crawl: interrupted; what was fetched is kept."),
                count_bar("crawling", "artists and albums") as bar,
            ):
                task = bar.add_task("crawling", total=None)
                report = crawl(
                    conn, sources, fetcher=fetcher, limit=limit, refresh_days=refresh_days,
                    feeds=settings.reviews.feeds if with_feeds else (),
                    pages=settings.reviews.pages if with_feeds else (),
                    progress=lambda done, total, _: bar.update(task, completed=done, total=total),
                )  # fmt: skip
            for problem in report.errors[:5]:
                err.print(f"  failed: {escape(problem)}", style="dim", highlight=False)
            if len(report.errors) > 5:
                err.print(f"  ... and {len(report.errors) - 5} more", style="dim")
            err.print(f"reviews crawl: {report.summary()}.", highlight=False)
            terms = build_terms(conn)
        finally:
            conn.close()
    err.print(
        f"terms: {terms.entities:,} artists and albums from {terms.documents:,} documents "
        "and your files' genre tags",
        highlight=False,
    )


@app.command("status")
def status_command(
    db: DbOption = None, config: ConfigOption = None, json_output: JsonOption = False
) -> None:
    """What review text is stored, from which sources, and when the terms were built."""
    from mydiscover.text.tables import text_summary

    summary = read_summary(db, config, text_summary)
    if json_output:
        print_json(summary)
        return
    table = overview_table("Reviews and terms")
    for row in summary["sources"]:
        table.add_row(row["source"], f"{row['documents']:,} documents on {row['entities']:,}")
    if not summary["sources"]:
        table.add_row("Documents", "none: run 'mydiscover reviews crawl'")
    table.add_row("Failed asks", f"{summary['crawl_errors']:,}")
    terms = summary["terms"]
    table.add_row(
        "Terms",
        f"{terms['entities']:,} artists and albums, built {terms['built_at']}" if terms else "-",
    )
    out.print(table)


def terms_command(
    artist: Annotated[str, typer.Argument(help="An artist of your library.")],
    album: Annotated[
        str | None, typer.Option(help="One of the artist's albums, for its own terms.")
    ] = None,
    similar: Annotated[
        bool, typer.Option("--similar", help="Show the nearest artists by text instead.")
    ] = False,
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many.")] = 15,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """The words that describe ARTIST (or --album), weighted by TF-IDF; with --similar, the
    library's artists whose words are nearest."""
    from mydiscover.library.match import artist_key, title_key
    from mydiscover.text.terms import nearest_artists, term_vectors

    entity = (artist_key(artist), title_key(album) if album else "")
    with reported_errors():
        conn = connect(settings_from(db, config), create=False)
        try:
            entities, matrix, vocabulary = term_vectors(conn)
            names = _names(conn)
        finally:
            conn.close()
    if entity not in entities:
        raise fail(f"no terms for {artist!r}{f' - {album!r}' if album else ''}: run "
                   "'mydiscover reviews crawl', or check the spelling")  # fmt: skip
    index = entities.index(entity)
    if similar:
        rows = [
            {"artist": names.get(key, key), "similarity": score}
            for key, score in nearest_artists(entities, matrix, index, count)
        ]
        _show({"artist": artist, "similar": rows}, json_output, "Artist", "similarity")
        return
    row = matrix[index]
    order = sorted(zip(row.indices.tolist(), row.data.tolist(), strict=True), key=lambda p: -p[1])
    terms = [{"term": vocabulary[i], "weight": w} for i, w in order[:count]]
    _show({"artist": artist, "album": album, "terms": terms}, json_output, "Term", "weight")


def _names(conn: Any) -> dict[str, str]:
    from mydiscover.text.tables import library_entities

    return {e.artist_key: e.artist for e in library_entities(conn) if e.kind == "artist"}


def _show(data: dict[str, Any], json_output: bool, label: str, value: str) -> None:
    if json_output:
        print_json(data)
        return
    rows = data.get("terms") or data.get("similar") or []
    table = Table("#", label, value.capitalize(), title_justify="left")
    for rank, row in enumerate(rows, start=1):
        table.add_row(str(rank), escape(str(row.get("term") or row.get("artist"))),
                      f"{row[value]:.3f}")  # fmt: skip
    out.print(table)
