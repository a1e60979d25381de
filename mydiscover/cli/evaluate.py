"""``mydiscover eval``: measure recommendation quality offline, on public data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.cf import FormatOption, load_public_data
from mydiscover.cli.common import JsonOption, err, fail, out, print_json, reported_errors

if TYPE_CHECKING:
    from mydiscover.cf.matrix import CoListening
    from mydiscover.cf.models import Recommender

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
        Path,
        typer.Option(
            help="HetRec Last.fm 2K, made into a library of one track per artist: "
            "its plays are the history, its listener tags the text.",
            show_default=False,
        ),
    ],
    weights: Annotated[str, typer.Option(help="Blend weights, as 'weekly --weights'.")] = "",
    protocol: ProtocolOption = "holdout",
    fraction: FractionOption = 0.2,
    folds: FoldsOption = 10,
    seed: SeedOption = 42,
    k: Annotated[int, typer.Option("--k", min=1, help="The weekly's size.")] = 30,
    json_output: JsonOption = False,
) -> None:
    """Evaluate the weekly's blend beside its single signals and most-popular: each listener's
    held-out artists are the tracks they would play; hit rate@30 is the precision at 30.
    Audio cannot be measured here: HetRec has no sound."""
    from mydiscover.cf.models import ALS, MostPopular
    from mydiscover.recommend.blend import parse_weights
    from mydiscover.recommend.evaluate import BlendedRecommender
    from mydiscover.text.evaluate import TextProfile, hetrec_tag_documents

    try:
        blend = parse_weights(weights)
    except ValueError as error:
        raise fail(str(error)) from None
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
