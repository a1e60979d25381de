"""``mydiscover eval``: measure recommendation quality offline, on public data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.cf import FormatOption, load_public_data
from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    JsonOption,
    connect,
    err,
    fail,
    out,
    print_json,
    reported_errors,
    settings_from,
)

if TYPE_CHECKING:
    from mydiscover.cf.matrix import CoListening
    from mydiscover.cf.models import Recommender
    from mydiscover.recommend.rules import Rules

app = typer.Typer(help="Measure recommendation quality offline.", no_args_is_help=True)

DatasetOption = Annotated[
    Path,
    typer.Option(help="A public dataset (file or folder, as 'cf import' takes) or an "
                 "imported dataset.npz.", show_default=False),
]  # fmt: skip
ProtocolOption = Annotated[
    str, typer.Option(help="holdout (a random share of each listener's artists) or kfold.")
]
FractionOption = Annotated[float, typer.Option(min=0.01, max=0.9, help="Holdout share.")]
FoldsOption = Annotated[int, typer.Option(min=2, help="Folds for kfold.")]
SeedOption = Annotated[int, typer.Option(help="Random seed of the split.")]
CutoffOption = Annotated[int, typer.Option("--k", min=1, help="Cut-off of the metrics.")]


@app.command("cf")
def eval_cf(
    dataset: DatasetOption,
    fmt: FormatOption = "auto",
    protocol: ProtocolOption = "holdout",
    fraction: FractionOption = 0.2,
    folds: FoldsOption = 10,
    seed: SeedOption = 42,
    k: CutoffOption = 10,
    models: Annotated[
        str,
        typer.Option(help="Comma-separated: als, ease, itemknn, popular, als-spark."),
    ] = "popular,itemknn,ease,als",
    json_output: JsonOption = False,
) -> None:
    """Evaluate the CF models and baselines on a public dataset, all in the same run:
    precision, recall, NDCG and MAP at k, and catalog coverage."""
    from mydiscover.cf.models import MODELS, build_model

    names = [name.strip() for name in models.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        listed = ", ".join(unknown) or "(none)"
        raise fail(f"unknown model {listed}: choose from {', '.join(MODELS)}")
    with reported_errors():
        data = load_public_data(dataset, fmt)
        factories = {name: (lambda name=name: build_model(name)) for name in names}
        report = _run(data, factories, protocol, fraction, folds, seed, k)
    _print(report, dataset, json_output)


@app.command("text")
def eval_text(
    dataset: Annotated[
        Path,
        typer.Option(
            help="The HetRec Last.fm 2K folder: its listeners' tags are the artists' documents.",
            show_default=False,
        ),
    ],
    protocol: ProtocolOption = "holdout",
    fraction: FractionOption = 0.2,
    folds: FoldsOption = 10,
    seed: SeedOption = 42,
    k: CutoffOption = 10,
    json_output: JsonOption = False,
) -> None:
    """Evaluate the text model alone as a recommender (a listener's profile: the terms of their
    artists) beside most-popular, with the protocol and metrics of 'eval cf'."""
    from mydiscover.cf.models import MostPopular
    from mydiscover.text.evaluate import TextProfile, hetrec_tag_documents

    with reported_errors():
        data = load_public_data(dataset, "hetrec-2k")
        documents = hetrec_tag_documents(dataset)
        factories: dict[str, Callable[[], Recommender]] = {
            "popular": MostPopular,
            "text": lambda: TextProfile(data.keys, documents),
        }
        report = _run(data, factories, protocol, fraction, folds, seed, k)
    _print(report, dataset, json_output)


@app.command("weekly")
def eval_weekly(
    hetrec: Annotated[
        Path | None,
        typer.Option(
            help="Evaluate on HetRec Last.fm 2K made into a library of one track per "
            "artist (its plays the history, its tags the text) instead of your own "
            "history.",
            show_default=False,
        ),
    ] = None,
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="Your history: the cut-off date (YYYY-MM-DD, UTC). Default: when "
            "80% of your listens had happened."
        ),
    ] = None,
    horizon_days: Annotated[
        int, typer.Option(min=1, help="Your history: a pick played this soon after is a hit.")
    ] = 28,
    weights: Annotated[str, typer.Option(help="Blend weights, as 'weekly --weights'.")] = "",
    protocol: ProtocolOption = "holdout",
    fraction: FractionOption = 0.2,
    folds: FoldsOption = 10,
    seed: SeedOption = 42,
    k: Annotated[int, typer.Option("--k", min=1, help="The weekly's size.")] = 30,
    min_length: Annotated[
        float, typer.Option(min=0, help="Your history: shortest track, in seconds.")
    ] = 30.0,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Evaluate the weekly's blend beside its single signals and baselines.

    On your own history (the default): the weekly is made as it would have been at a cut-off,
    from the history before it, by the blend, each signal alone, most-popular and at random; a
    pick you played in the weeks after is a hit. With --hetrec: each listener's held-out
    artists are the tracks they would play and hit rate@30 is the precision at 30 (audio cannot
    be measured there: HetRec has no sound)."""
    from mydiscover.cf.models import ALS, MostPopular
    from mydiscover.recommend.blend import parse_weights
    from mydiscover.recommend.evaluate import BlendedRecommender
    from mydiscover.recommend.rules import Rules
    from mydiscover.text.evaluate import TextProfile, hetrec_tag_documents

    try:
        blend = parse_weights(weights)
    except ValueError as error:
        raise fail(str(error)) from None
    if hetrec is None:
        rules = Rules(size=k, rest_days=10**6, recent_weeks=0, jitter=0.0, min_seconds=min_length)
        _eval_own_history(db, config, cutoff, horizon_days, rules, blend, json_output)
        return
    with reported_errors():
        data = load_public_data(hetrec, "hetrec-2k")
        documents = hetrec_tag_documents(hetrec)
        factories: dict[str, Callable[[], Recommender]] = {
            "popular": MostPopular,
            "cf": ALS,
            "text": lambda: TextProfile(data.keys, documents),
            "blend": lambda: BlendedRecommender({
                "cf": (ALS(), blend["cf"]),
                "text": (TextProfile(data.keys, documents), blend["text"]),
            }),
        }  # fmt: skip
        report = _run(data, factories, protocol, fraction, folds, seed, k)
    _print(report, hetrec, json_output)


def _eval_own_history(
    db: Path | None,
    config: Path | None,
    cutoff: str | None,
    horizon_days: int,
    rules: Rules,
    weights: dict[str, float],
    json_output: bool,
) -> None:
    """The temporal holdout of the user's own history (see eval_weekly)."""
    import datetime as dt

    from mydiscover.cf.store import fitted_model
    from mydiscover.recommend.evaluate import default_cutoff, temporal_holdout

    with reported_errors():
        settings = settings_from(db, config)
        conn = connect(settings, create=False)
        try:
            if cutoff is None:
                when = default_cutoff(conn)
                if when is None:
                    raise fail("too little listening history to hold any out: import more")
            else:
                try:
                    day = dt.datetime.strptime(cutoff, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
                except ValueError:
                    raise fail(f"--cutoff {cutoff!r}: write a date as YYYY-MM-DD") from None
                when = int(day.timestamp())
            model = fitted_model(settings.database)
            with err.status("making the weeklies", spinner="dots"):
                results = temporal_holdout(conn, model, when, horizon_days, rules, weights)
        finally:
            conn.close()
    day = dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%d")
    if json_output:
        print_json({"cutoff": when, "horizon_days": horizon_days,
                    "results": [r.__dict__ for r in results]})  # fmt: skip
        return
    table = Table("Method", "Picks", "Hits", "Hit rate", "NDCG", "Artists", "Novelty",
                  title=f"Your history: weeklies as of {day}, hits within {horizon_days} days",
                  title_justify="left")  # fmt: skip
    for r in results:
        table.add_row(r.method, str(r.picks), str(r.hits), f"{r.hit_rate:.1%}", f"{r.ndcg:.3f}",
                      f"{r.artist_diversity:.0%}", f"{r.novelty:.0%}")  # fmt: skip
    out.print(table)


def _run(
    data: CoListening,
    factories: dict[str, Callable[[], Recommender]],
    protocol: str,
    fraction: float,
    folds: int,
    seed: int,
    k: int,
) -> dict[str, Any]:
    """Evaluate each model under one protocol; the report as a dict."""
    from mydiscover.cf.evaluate import evaluate, evaluate_kfold, holdout_split

    if protocol not in ("holdout", "kfold"):
        raise fail(f"unknown protocol {protocol!r}: choose holdout or kfold")
    split = holdout_split(data.plays, fraction, seed) if protocol == "holdout" else None
    results = []
    for name, factory in factories.items():
        with err.status(f"evaluating {name}", spinner="dots"):
            if split is not None:
                results.append(evaluate(factory(), split, k))
            else:
                results.append(evaluate_kfold(factory, data.plays, folds, seed, k))
    return {
        "protocol": protocol, "fraction": fraction, "folds": folds, "seed": seed, "k": k,
        "listeners": data.plays.shape[0], "artists": data.plays.shape[1],
        "results": [
            {"model": r.model, **r.metrics, "fit_seconds": r.fit_seconds,
             "score_seconds": r.score_seconds, "users": r.users}
            for r in results
        ],
    }  # fmt: skip


def _print(report: dict[str, Any], dataset: Path, json_output: bool) -> None:
    if json_output:
        print_json({"dataset": str(dataset), **report})
        return
    k = report["k"]
    described = (
        f"holdout {report['fraction']:.0%}" if report["protocol"] == "holdout"
        else f"{report['folds']}-fold"
    )  # fmt: skip
    users = report["results"][0]["users"]
    table = Table(
        "Model", f"P@{k}", f"R@{k}", f"NDCG@{k}", f"MAP@{k}", "Coverage", "Fit s", "Score s",
        title=f"{escape(dataset.name)}: {described}, seed {report['seed']}, {users:,} listeners",
        title_justify="left",
    )  # fmt: skip
    for row in report["results"]:
        table.add_row(
            row["model"], f"{row['precision']:.4f}", f"{row['recall']:.4f}",
            f"{row['ndcg']:.4f}", f"{row['map']:.4f}", f"{row['coverage']:.3f}",
            f"{row['fit_seconds']:.2f}", f"{row['score_seconds']:.2f}",
        )  # fmt: skip
    out.print(table)
