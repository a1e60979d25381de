"""``mydiscover cf``: public co-listening data, the ALS model, and the user folded in."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cf import defaults
from mydiscover.cli.common import (
    ConfigOption,
    DatasetFormatOption,
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
from mydiscover.cli.render import ConsoleView, bytes_read, count_bar
from mydiscover.config import Settings

if TYPE_CHECKING:  # numpy and scipy load only when a command needs them: faster start-up
    from mydiscover.cf.store import FittedModel

app = typer.Typer(
    help="Collaborative filtering: import public co-listening data, fit the ALS model on it, "
    "and score your library from your listening history.",
    no_args_is_help=True,
)


EngineOption = Annotated[
    str,
    typer.Option(
        help="als (on this machine, with implicit) or als-spark (Apache Spark, for data "
        "that outgrows one machine; pip install 'mydiscover[spark]'). 'implicit' and "
        "'spark' name them too."
    ),
]
SparkMasterOption = Annotated[
    str, typer.Option(help="The Spark master: local[N], spark://host:7077, yarn, k8s://...")
]


@app.command("import")
def import_command(
    path: Annotated[
        str,
        typer.Argument(
            help="The dataset's file, archive or folder; with --engine als-spark, where the "
            "cluster sees the dump's files: a path or a file://, hdfs:// or s3a:// URI.",
            show_default=False,
        ),
    ],
    fmt: DatasetFormatOption = "auto",
    engine: Annotated[
        str,
        typer.Option(
            help="als: read it on this machine; als-spark: parse, filter and count it on "
            "Apache Spark (ListenBrainz dumps and MLHD), for data that outgrows one machine."
        ),
    ] = "als",
    spark_master: SparkMasterOption = defaults.SPARK_MASTER,
    spark_output: Annotated[
        str | None,
        typer.Option(
            show_default=False,
            help="Where Spark writes the play counts (a path every machine of the cluster "
            "sees). Default: a folder beside the database (fine for local[N]).",
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            show_default=False,
            help="Only listens on or after this day (UTC): recent listening.",
        ),
    ] = None,
    min_listeners: Annotated[
        int, typer.Option(min=1, help="Only artists with at least this many listeners.")
    ] = 1,
    min_items: Annotated[
        int, typer.Option(min=1, help="Only listeners of at least this many artists.")
    ] = 1,
    sample_users: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default=False,
            help="At most this many listeners, drawn at random (the same ones on "
            "every run): a dump too big for this machine's memory.",
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import a public co-listening dataset you downloaded (HetRec Last.fm 2K, Last.fm 1K or
    360K, ListenBrainz listens or a ListenBrainz listens dump, MLHD or MLHD+) as a compact
    sparse matrix beside the database, streamed in bounded memory. Importing again replaces
    it; then run 'mydiscover cf fit'. On Spark (--engine als-spark) the play counts stay on the
    cluster and only the artists come back; 'mydiscover cf fit --engine als-spark' fits there."""
    from mydiscover.cf.engines import foldable_engine
    from mydiscover.cf.fit import import_dataset, import_dataset_on_spark
    from mydiscover.cf.matrix import ImportFilters

    stamp = None if since is None else int(since.replace(tzinfo=timezone.utc).timestamp())
    filters = ImportFilters(stamp, min_listeners, min_items, sample_users)
    try:
        name = foldable_engine(engine)
    except ValueError as error:
        raise fail(str(error)) from None
    with reported_errors(), interruptible("cf import: interrupted; nothing was changed."):
        settings = settings_from(db, config)
        if name == "als-spark":
            with err.status(f"importing {path} on Spark ({spark_master})", spinner="dots"):
                imported = import_dataset_on_spark(path, fmt, settings.database,
                                                   master=spark_master, output=spark_output,
                                                   filters=filters)  # fmt: skip
        else:
            with bytes_read(f"reading {Path(path).name}") as progress:
                imported = import_dataset(Path(path), fmt, settings.database, progress, filters)
    err.print(escape(imported.summary()), highlight=False)
    if note := imported.mbid_note():
        err.print(f"note: {escape(note)}", highlight=False)


FactorsOption = Annotated[int, typer.Option(min=2, help="Latent factors.")]
RegularizationOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        help=f"L2 penalty. Default: {defaults.REGULARIZATION:g} (als), "
        f"{defaults.SPARK_REGULARIZATION:g} per artist (als-spark).",
    ),
]
IterationsOption = Annotated[int, typer.Option(min=1, help="ALS sweeps.")]
AlphaOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        help=f"Confidence scale of a play. Default: {defaults.ALPHA:g} (als), "
        f"{defaults.SPARK_ALPHA:g} (als-spark).",
    ),
]
WeightingOption = Annotated[
    str | None,
    typer.Option(
        help="How plays become confidence: bm25 (scaled to a mean of 1), log or binary. "
        f"Default: {defaults.WEIGHTING} (als), {defaults.SPARK_WEIGHTING} (als-spark).",
    ),
]


@app.command("fit")
def fit_command(
    engine: EngineOption = "als",
    spark_master: SparkMasterOption = defaults.SPARK_MASTER,
    factors: FactorsOption = defaults.FACTORS,
    regularization: RegularizationOption = None,
    iterations: IterationsOption = defaults.ITERATIONS,
    alpha: AlphaOption = None,
    weighting: WeightingOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit the ALS model on the imported co-listening data, then fold you in and score your
    library. The defaults are the ones 'mydiscover eval cf' chose on HetRec Last.fm 2K."""
    from mydiscover.cf.engines import fit_options
    from mydiscover.cf.fit import fit_model
    from mydiscover.cf.store import imported_data, load_model

    try:
        name, options = fit_options(engine, factors=factors, iterations=iterations,
                                    regularization=regularization, alpha=alpha,
                                    weighting=weighting, master=spark_master)  # fmt: skip
    except ValueError as error:
        raise fail(str(error)) from None
    with reported_errors(), interruptible("cf fit: interrupted; the previous model is kept."):
        settings = settings_from(db, config)
        data = imported_data(settings.database)  # read once: for the label and the fit
        label = f"fitting ALS ({name}) on {data.pairs:,} play counts"
        with err.status(label, spinner="dots"):
            report = fit_model(settings.database, name, data, **options)
        err.print(escape(report.summary()), highlight=False)
        _fold_and_report(load_model(report.target), settings)


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
    from mydiscover.pipeline import fold_in

    conn = connect(settings)
    try:
        fold_in(conn, model, ConsoleView())
    finally:
        conn.close()


@app.command("top")
def top_command(
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="How many artists.")] = 20,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """The artists of your library that people who listen like you love most, and why."""
    from mydiscover.cf.tables import top_artists

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
    from mydiscover.cf.status import cf_status

    with reported_errors():
        status = cf_status(settings_from(db, config).database)
    if json_output:
        print_json(status.to_json())
        return
    table = overview_table("Collaborative filtering")
    dataset, model, fold = status.dataset, status.model, status.fold
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
    if status.coverage is not None:
        table.add_row("Coverage", escape(status.coverage.line()))
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
    from mydiscover.cf.tables import library_tracks
    from mydiscover.config import lastfm_api_key

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
