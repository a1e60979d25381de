"""``mydiscover cf``: public co-listening data, the ALS model, and the user folded in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
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
    reported_errors,
    settings_from,
)
from mydiscover.config import Settings

if TYPE_CHECKING:  # numpy and scipy load only when a command needs them: faster start-up
    from mydiscover.cf.matrix import CoListening
    from mydiscover.cf.store import FittedModel

app = typer.Typer(
    help="Collaborative filtering: import public co-listening data, fit the ALS model on it, "
    "and score your library from your listening history.",
    no_args_is_help=True,
)

FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="hetrec-2k (a folder with user_artists.dat and artists.dat), lastfm-1k "
        "(per-listen TSV), lastfm-360k (user, artist MBID, artist, plays TSV), listenbrainz "
        "(JSON lines, a file or a folder), or auto to recognise it.",
    ),
]


def dataset_progress(label: str) -> Progress:
    """A bytes-read progress bar on stderr (only on a terminal)."""
    return Progress(
        TextColumn(escape(label)),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def count_bar(label: str, unit: str) -> Progress:
    """A count progress bar on stderr (only on a terminal)."""
    return Progress(
        TextColumn(escape(label)),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def load_public_data(path: Path, fmt: str) -> CoListening:
    """Read a dataset file/folder (any format) or an imported ``.npz`` matrix, with progress."""
    from mydiscover.cf.datasets import read_dataset
    from mydiscover.cf.matrix import CoListening

    if path.suffix == ".npz":
        return CoListening.load(path)
    with dataset_progress(f"reading {path.name}") as bar:
        task = bar.add_task("read", total=None)
        return read_dataset(
            path, fmt, lambda done, total: bar.update(task, completed=done, total=total)
        )


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="The dataset's file or folder.", show_default=False)],
    fmt: FormatOption = "auto",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import a public co-listening dataset you downloaded (HetRec Last.fm 2K, Last.fm 1K or
    360K, ListenBrainz listens) as a compact sparse matrix beside the database. Importing
    again replaces it; then run 'mydiscover cf fit'."""
    from mydiscover.cf.store import dataset_path

    with reported_errors(), interruptible("cf import: interrupted; nothing was changed."):
        settings = settings_from(db, config)
        started = time.perf_counter()
        data = load_public_data(path, fmt)
        target = dataset_path(settings.database)
        data.save(target)
    users, items = data.plays.shape
    skipped = data.meta["rows_skipped"]
    err.print(
        f"imported {data.meta['dataset_format']}: {users:,} listeners x {items:,} artists, "
        f"{data.plays.nnz:,} play counts"
        + (f" ({skipped:,} unusable rows skipped)" if skipped else "")
        + f" in {time.perf_counter() - started:.1f} s -> {escape(str(target))}",
        highlight=False,
    )


@app.command("fit")
def fit_command(
    engine: Annotated[
        str,
        typer.Option(
            help="implicit (this machine) or spark (Apache Spark, for data that "
            "outgrows one machine; pip install 'mydiscover[spark]')."
        ),
    ] = "implicit",
    spark_master: Annotated[
        str,
        typer.Option(help="The Spark master: local[N], spark://host:7077, yarn, k8s://..."),
    ] = "local[2]",
    factors: Annotated[int, typer.Option(min=2, help="Latent factors.")] = 64,
    regularization: Annotated[
        float | None,
        typer.Option(min=0.0, help="L2 penalty. Default: 20 (implicit), 0.5 per artist (spark)."),
    ] = None,
    iterations: Annotated[int, typer.Option(min=1, help="ALS sweeps.")] = 15,
    alpha: Annotated[float, typer.Option(min=0.0, help="Confidence scale of a play.")] = 1.0,
    weighting: Annotated[
        str, typer.Option(help="How plays become confidence: log, bm25 or binary.")
    ] = "log",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit the ALS model on the imported co-listening data, then fold you in and score your
    library. The defaults are the ones 'mydiscover eval cf' chose on HetRec Last.fm 2K."""
    from mydiscover.cf.matrix import CoListening
    from mydiscover.cf.models import ALS
    from mydiscover.cf.store import dataset_path, load_model, model_path, save_model

    if engine not in ("implicit", "spark"):
        raise fail(f"unknown engine {engine!r}: choose implicit or spark")
    options: dict[str, Any] = {
        "factors": factors, "iterations": iterations, "alpha": alpha, "weighting": weighting,
    }  # fmt: skip
    if regularization is not None:
        options["regularization"] = regularization
    with reported_errors(), interruptible("cf fit: interrupted; the previous model is kept."):
        settings = settings_from(db, config)
        data = CoListening.load(dataset_path(settings.database))
        if engine == "spark":
            from mydiscover.cf.spark import SparkALS

            als: ALS = SparkALS(master=spark_master, **options)
        else:
            als = ALS(**options)
        started = time.perf_counter()
        with err.status(
            f"fitting ALS ({engine}) on {data.plays.nnz:,} play counts", spinner="dots"
        ):
            try:
                als.fit(data.plays)
            except ValueError as error:
                raise fail(str(error)) from None
        seconds = time.perf_counter() - started
        target = model_path(settings.database)
        fitted_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        save_model(
            target, als, data, {"engine": engine, "fitted_at": fitted_at, "fit_seconds": seconds}
        )
        err.print(
            f"fitted {factors} factors x {data.plays.shape[1]:,} artists in {seconds:.1f} s "
            f"-> {escape(str(target))}",
            highlight=False,
        )
        _fold_and_report(load_model(target), settings)


@app.command("score")
def score_command(db: DbOption = None, config: ConfigOption = None) -> None:
    """Fold you in again from your current listening history and rescore your library,
    without refitting (run after importing new history or scanning new music)."""
    from mydiscover.cf.store import load_model, model_path

    with reported_errors(), interruptible("cf score: interrupted; the previous scores are kept."):
        settings = settings_from(db, config)
        _fold_and_report(load_model(model_path(settings.database)), settings)


def _fold_and_report(model: FittedModel, settings: Settings) -> None:
    """Fold the user in, store the library's scores, and say how it went."""
    from mydiscover.cf.score import refresh_scores
    from mydiscover.errors import MydiscoverError

    conn = connect(settings)
    try:
        started = time.perf_counter()
        try:
            result = refresh_scores(conn, model)
        except MydiscoverError as error:
            err.print(f"not folded in: {escape(str(error))}", highlight=False)
            return
    finally:
        conn.close()
    err.print(
        f"folded you in: {result.matched_artists:,} of your {result.user_artists:,} artists are "
        f"in the public data; {len(result.scores):,} library tracks scored "
        f"({time.perf_counter() - started:.2f} s)",
        highlight=False,
    )


@app.command("top")
def top_command(
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many artists.")] = 20,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """The artists of your library that people who listen like you love most, and why."""
    from mydiscover.db.cf import top_artists

    with reported_errors():
        conn = connect(settings_from(db, config), create=False)
        try:
            rows = top_artists(conn, count)
        finally:
            conn.close()
    if json_output:
        print_json({"artists": rows})
        return
    if not rows:
        raise fail("no CF scores yet: run 'mydiscover cf fit' (or 'cf score')")
    table = Table("#", "Artist", "Tracks", "Score", "Because you play", title_justify="left")
    for rank, row in enumerate(rows, start=1):
        table.add_row(
            str(rank), escape(row["artist"]), str(row["tracks"]), f"{row['score']:.3f}",
            escape(row["because"] or "-"),
        )  # fmt: skip
    out.print(table)


@app.command("similar")
def similar_command(
    artist: Annotated[str, typer.Argument(help="An artist name or MusicBrainz ID.")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many.")] = 10,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """The artists the public co-listening model finds nearest to ARTIST."""
    from mydiscover.cf.score import find_item, similar_items
    from mydiscover.cf.store import load_model, model_path

    with reported_errors():
        model = load_model(model_path(settings_from(db, config).database))
    item = find_item(model, artist)
    if item is None:
        raise fail(f"{artist!r} is not in the public co-listening data")
    rows = [
        {"artist": model.names[index], "similarity": similarity}
        for index, similarity in similar_items(model, item, count)
    ]
    if json_output:
        print_json({"artist": model.names[item], "similar": rows})
        return
    table = Table("#", "Artist", "Similarity", title=f"Nearest to {escape(model.names[item])}",
                  title_justify="left")  # fmt: skip
    for rank, row in enumerate(rows, start=1):
        table.add_row(str(rank), escape(row["artist"]), f"{row['similarity']:.3f}")
    out.print(table)


@app.command("status")
def status_command(
    db: DbOption = None, config: ConfigOption = None, json_output: JsonOption = False
) -> None:
    """What co-listening data is imported, which model is fitted, and when you were folded in."""
    from mydiscover.cf.coverage import stored_coverage
    from mydiscover.cf.matrix import CoListening
    from mydiscover.cf.store import dataset_path, load_model, model_path
    from mydiscover.db.cf import fold_state
    from mydiscover.errors import MydiscoverError

    with reported_errors():
        settings = settings_from(db, config)
        summary: dict[str, Any] = {"dataset": None, "model": None, "fold": None,
                                   "coverage": None}  # fmt: skip
        fitted = None
        try:
            data = CoListening.load(dataset_path(settings.database))
            summary["dataset"] = {
                "source": data.meta.get("source"), "format": data.meta.get("dataset_format"),
                "listeners": data.plays.shape[0], "artists": data.plays.shape[1],
                "play_counts": data.plays.nnz, "fingerprint": data.fingerprint,
            }  # fmt: skip
        except MydiscoverError:
            pass
        try:
            fitted = load_model(model_path(settings.database))
            meta = fitted.meta
            summary["model"] = {
                key: meta[key] for key in ("engine", "fitted_at", "fit_seconds", "parameters",
                                           "dataset_fingerprint", "users", "items")
            }  # fmt: skip
        except MydiscoverError:
            pass
        if settings.database.exists():
            conn = connect(settings, create=False)
            try:
                summary["fold"] = fold_state(conn)
                if fitted is not None:
                    summary["coverage"] = stored_coverage(conn, fitted)
            finally:
                conn.close()
    known = summary["coverage"]
    if known is not None:
        summary["coverage"] = known.to_json()
    if json_output:
        print_json(summary)
        return
    table = overview_table("Collaborative filtering")
    dataset, model, fold = summary["dataset"], summary["model"], summary["fold"]
    table.add_row(
        "Public data",
        f"{dataset['format']}: {dataset['listeners']:,} listeners x {dataset['artists']:,} artists"
        if dataset
        else "none: run 'mydiscover cf import'",
    )
    table.add_row(
        "Model",
        f"ALS ({model['engine']}), {model['parameters']['factors']} factors, fitted "
        f"{model['fitted_at']}"
        if model
        else "none: run 'mydiscover cf fit'",
    )
    table.add_row(
        "You",
        f"folded in {fold['folded_at']}: {fold['matched_artists']:,} of "
        f"{fold['user_artists']:,} artists known, {fold['scored_tracks']:,} tracks scored"
        if fold else "not folded in yet",
    )  # fmt: skip
    if known is not None:
        table.add_row("Coverage", escape(known.line()))
    out.print(table)


@app.command("enrich")
def enrich_command(
    source: Annotated[
        str, typer.Option(help="lastfm, listenbrainz, or all (those that can be used).")
    ] = "all",
    artists: Annotated[
        int, typer.Option(min=1, help="How many of your most played artists to ask about.")
    ] = 50,
    limit: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Ask about at most this many of the library's artists the public data lacks "
            "(those with the most tracks first). Default: all of them.",
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Ask public similarity services (Last.fm artist.getSimilar, ListenBrainz similar-artists)
    which artists are like your most played ones and like each library artist the public data
    lacks, so those still get a CF score on the model's scale. Paced and cached for 30 days:
    an interrupted run keeps its answers and the next goes on. Then your library is rescored."""
    from mydiscover.cf.coverage import lacking_artists
    from mydiscover.cf.enrich import configured_fetchers, enrich
    from mydiscover.cf.store import fitted_model
    from mydiscover.config import lastfm_api_key
    from mydiscover.db.cf import library_tracks

    with reported_errors():
        settings = settings_from(db, config)
        fetchers, notes = configured_fetchers(source, settings, lastfm_api_key(settings))
        for note in notes:
            err.print(note, highlight=False)
        model = fitted_model(settings.database)
        conn = connect(settings)
        try:
            lacking = lacking_artists(model, library_tracks(conn)) if model is not None else []
            if model is None:
                err.print("no CF model yet ('mydiscover cf fit'): only your most played artists "
                          "are asked about", highlight=False)  # fmt: skip
            else:
                err.print(f"{len(lacking):,} of your library's artists are not in the public "
                          "data" + (f": asking about {min(limit, len(lacking)):,} of them"
                                    if limit is not None else ""), highlight=False)  # fmt: skip
                lacking = lacking[:limit]
            with (
                interruptible("cf enrich: interrupted; the answers so far are kept."),
                count_bar("asking", "artists") as bar,
            ):
                task = bar.add_task("asking", total=None)
                report = enrich(
                    conn, fetchers, artists=artists, lacking=lacking,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )  # fmt: skip
        finally:
            conn.close()
        for line in report.lines():
            err.print(line, highlight=False)
        if model is not None:
            _fold_and_report(model, settings)
