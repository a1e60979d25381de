"""``mydiscover eval``: measure recommendation quality offline, on public data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.cf import FormatOption, load_public_data
from mydiscover.cli.common import JsonOption, err, fail, out, print_json, reported_errors

app = typer.Typer(help="Measure recommendation quality offline.", no_args_is_help=True)


@app.command("cf")
def eval_cf(
    dataset: Annotated[
        Path,
        typer.Option(
            help="A public dataset (file or folder, as 'cf import' takes) or an "
            "imported dataset.npz.",
            show_default=False,
        ),
    ],
    fmt: FormatOption = "auto",
    protocol: Annotated[
        str, typer.Option(help="holdout (a random share of each listener's artists) or kfold.")
    ] = "holdout",
    fraction: Annotated[float, typer.Option(min=0.01, max=0.9, help="Holdout share.")] = 0.2,
    folds: Annotated[int, typer.Option(min=2, help="Folds for kfold.")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed of the split.")] = 42,
    k: Annotated[int, typer.Option("--k", min=1, help="Cut-off of the metrics.")] = 10,
    models: Annotated[
        str,
        typer.Option(help="Comma-separated: als, ease, itemknn, popular, als-spark."),
    ] = "popular,itemknn,ease,als",
    json_output: JsonOption = False,
) -> None:
    """Evaluate the CF models and baselines on a public dataset, all in the same run:
    precision, recall, NDCG and MAP at k, and catalog coverage."""
    from mydiscover.cf.evaluate import evaluate, evaluate_kfold, holdout_split
    from mydiscover.cf.models import MODELS, build_model

    names = [name.strip() for name in models.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise fail(
            f"unknown model {', '.join(unknown) or '(none)'}: choose from {', '.join(MODELS)}"
        )
    if protocol not in ("holdout", "kfold"):
        raise fail(f"unknown protocol {protocol!r}: choose holdout or kfold")
    with reported_errors():
        data = load_public_data(dataset, fmt)
        split = holdout_split(data.plays, fraction, seed) if protocol == "holdout" else None
        results = []
        for name in names:
            with err.status(f"evaluating {name}", spinner="dots"):
                if split is not None:
                    result = evaluate(build_model(name), split, k)
                else:
                    result = evaluate_kfold(
                        lambda name=name: build_model(name), data.plays, folds, seed, k
                    )
            results.append(result)
    described = f"holdout {fraction:.0%}" if protocol == "holdout" else f"{folds}-fold"
    report: dict[str, Any] = {
        "dataset": str(dataset), "protocol": protocol, "fraction": fraction, "folds": folds,
        "seed": seed, "k": k, "listeners": data.plays.shape[0], "artists": data.plays.shape[1],
        "results": [
            {"model": r.model, **r.metrics, "fit_seconds": r.fit_seconds,
             "score_seconds": r.score_seconds, "users": r.users}
            for r in results
        ],
    }  # fmt: skip
    if json_output:
        print_json(report)
        return
    table = Table(
        "Model", f"P@{k}", f"R@{k}", f"NDCG@{k}", f"MAP@{k}", "Coverage", "Fit s", "Score s",
        title=f"{escape(dataset.name)}: {described}, seed {seed}, {results[0].users:,} listeners",
        title_justify="left",
    )  # fmt: skip
    for r in results:
        m = r.metrics
        table.add_row(
            r.model, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['ndcg']:.4f}",
            f"{m['map']:.4f}", f"{m['coverage']:.3f}", f"{r.fit_seconds:.2f}",
            f"{r.score_seconds:.2f}",
        )  # fmt: skip
    out.print(table)
