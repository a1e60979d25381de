"""``mydiscover eval``: measure recommendation quality offline, on public data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.common import (
    ConfigOption,
    DatasetFormatOption,
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
from mydiscover.cli.render import read_public_data

if TYPE_CHECKING:
    from mydiscover.cf.matrix import CoListening
    from mydiscover.cf.models import Recommender
    from mydiscover.recommend.blend import Blend
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
    fmt: DatasetFormatOption = "auto",
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
    from mydiscover.cf.engines import ENGINES, build_model

    _check_protocol(protocol)
    names = [name.strip() for name in models.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENGINES]
    if unknown or not names:
        listed = ", ".join(unknown) or "(none)"
        raise fail(f"unknown model {listed}: choose from {', '.join(ENGINES)}")
    with reported_errors():
        data = read_public_data(dataset, fmt)
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
    artists) beside most-popular, with the protocol and metrics of 'eval cf'. The documents
    never hold a listener's own tags of the artists held out from them."""
    from mydiscover.cf.models import MostPopular
    from mydiscover.text.evaluate import TextProfile, hetrec_tags

    _check_protocol(protocol)
    with reported_errors():
        data = read_public_data(dataset, "hetrec-2k")
        tags = hetrec_tags(dataset, data.plays)
        factories: dict[str, Callable[[], Recommender]] = {
            "popular": MostPopular,
            "text": lambda: TextProfile(data.keys, tags=tags),
        }
        report = _run(data, factories, protocol, fraction, folds, seed, k)
    _print(report, dataset, json_output)


HetrecOption = Annotated[
    Path | None,
    typer.Option(
        help="Evaluate on HetRec Last.fm 2K made into a library of one track per "
        "artist (its plays the history, its tags the text) instead of your own "
        "history.",
        show_default=False,
    ),
]
CutoffDateOption = Annotated[
    str | None,
    typer.Option(
        help="Your history: the cut-off date (YYYY-MM-DD, UTC). Default: when "
        "80% of your listens had happened."
    ),
]
HorizonOption = Annotated[
    int, typer.Option(min=1, help="Your history: a pick played this soon after is a hit.")
]
BlendWeightsOption = Annotated[str, typer.Option(help="Blend weights, as 'weekly --weights'.")]
LearnOption = Annotated[
    bool,
    typer.Option(
        "--learn",
        help="HetRec: learn the blend on a validation split carved "
        "from each seed's training part, instead of the defaults.",
    ),
]
UnknownShareOption = Annotated[
    float,
    typer.Option(
        min=0.0,
        max=0.9,
        help="HetRec: the share of artists hidden from the CF "
        "model at random (a modern library is about half unknown to it).",
    ),
]
SeedsOption = Annotated[str, typer.Option(help="HetRec: the seeds of the splits, e.g. 42,7,123.")]
WeeklySizeOption = Annotated[int, typer.Option("--k", min=1, help="The weekly's size.")]
EvalMinLengthOption = Annotated[
    float, typer.Option(min=0, help="Your history: shortest track, in seconds.")
]


@app.command("weekly")
def eval_weekly(
    hetrec: HetrecOption = None,
    cutoff: CutoffDateOption = None,
    horizon_days: HorizonOption = 28,
    weights: BlendWeightsOption = "",
    learn: LearnOption = False,
    unknown_share: UnknownShareOption = 0.0,
    fraction: FractionOption = 0.2,
    seeds: SeedsOption = "42",
    k: WeeklySizeOption = 30,
    min_length: EvalMinLengthOption = 30.0,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Evaluate the weekly itself: its blend beside each signal alone and baselines, every
    method through the weekly's own rules (caps, new-artist quota, exclusions, jitter).

    On your own history (the default): the weekly is made as it would have been at a cut-off,
    from the history before it; a pick you played in the weeks after is a hit. With --hetrec:
    each listener's held-out artists are the hits, the text never holds a listener's own tags
    of them, --unknown-share hides artists from CF (their share of the picks and hit rate are
    reported), and the blend is compared with the best single signal by a paired bootstrap
    95% interval over listeners, for each of --seeds."""
    from mydiscover.recommend.blend import default_blend, parse_weights
    from mydiscover.recommend.rules import Rules

    try:
        # The defaults of the HetRec condition nearest the hidden share, as the weekly picks
        # them by the share of its library CF knows; --weights goes over them.
        blend = parse_weights(weights, default_blend(1.0 - unknown_share))
    except ValueError as error:
        raise fail(str(error)) from None
    try:
        seed_list = [int(part) for part in seeds.split(",") if part.strip()]
    except ValueError:
        raise fail(f"--seeds {seeds!r}: write whole numbers, e.g. 42,7,123") from None
    if hetrec is None:
        rules = Rules(size=k, rest_days=10**6, recent_weeks=0, jitter=0.0, min_seconds=min_length)
        _eval_own_history(db, config, cutoff, horizon_days, rules, weights, json_output)
        return
    chosen = None if learn else blend
    _eval_hetrec_weekly(hetrec, seed_list, fraction, unknown_share, Rules(size=k), chosen,
                        json_output)  # fmt: skip


def _eval_hetrec_weekly(
    folder: Path,
    seeds: list[int],
    fraction: float,
    unknown_share: float,
    rules: Rules,
    blend: Blend | None,
    json_output: bool,
) -> None:
    """The weekly on HetRec, one report per seed (see eval_weekly)."""
    from mydiscover.recommend.evaluate import evaluate_hetrec
    from mydiscover.text.evaluate import TextProfile, hetrec_tags

    with reported_errors():
        data = read_public_data(folder, "hetrec-2k")
        tags = hetrec_tags(folder, data.plays)
        with err.status("evaluating", spinner="dots") as status:
            reports = evaluate_hetrec(
                data.plays, data.keys, lambda: TextProfile(data.keys, tags=tags), seeds,
                fraction=fraction, unknown_share=unknown_share, rules=rules, blend=blend,
                progress=lambda seed, step: status.update(f"seed {seed}: {step}"),
            )  # fmt: skip
    if json_output:
        print_json({
            "dataset": str(folder), "fraction": fraction, "unknown_share": unknown_share,
            "k": rules.size, "listeners": data.plays.shape[0], "artists": data.plays.shape[1],
            "seeds": [{
                "seed": r.seed, "blend": {"weights": r.blend.weights, "offsets": r.blend.offsets,
                                          "source": r.blend.source},
                "results": [{"method": m.method, "precision": m.precision,
                             "hidden_share": m.hidden_share, "hidden_hit_rate": m.hidden_hit_rate,
                             "known_hit_rate": m.known_hit_rate} for m in r.results],
                "blend_vs_best_single": r.comparison.__dict__,
            } for r in reports],
        })  # fmt: skip
        return
    for report in reports:
        table = Table(
            "Method", f"P@{rules.size}", "Hidden-artist picks", "Their hit rate",
            "Known-artist hit rate",
            title=f"{escape(folder.name)}: weeklies of {rules.size}, holdout {fraction:.0%}, "
            f"{unknown_share:.0%} of artists hidden from CF, seed {report.seed}",
            title_justify="left",
        )  # fmt: skip
        for m in report.results:
            table.add_row(m.method, f"{m.precision:.4f}", f"{m.hidden_share:.0%}",
                          _percent(m.hidden_hit_rate), _percent(m.known_hit_rate))  # fmt: skip
        out.print(table)
        c = report.comparison
        said = (f"blend vs {c.against}: {c.gain:+.1%} precision (95% interval {c.low:+.1%} to "
                f"{c.high:+.1%}); {report.blend.described()}")  # fmt: skip
        out.print(escape(said), highlight=False)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _eval_own_history(
    db: Path | None,
    config: Path | None,
    cutoff: str | None,
    horizon_days: int,
    rules: Rules,
    weights: str,
    json_output: bool,
) -> None:
    """The temporal holdout of the user's own history (see eval_weekly)."""
    import datetime as dt

    from mydiscover.cf.store import fitted_model
    from mydiscover.recommend.evaluate import own_history_holdout

    with reported_errors():
        settings = settings_from(db, config)
        conn = connect(settings, create=False)
        try:
            with err.status("making the weeklies", spinner="dots"):
                results, blend_said, when = own_history_holdout(
                    conn, fitted_model(settings.database), cutoff, horizon_days, rules, weights
                )
        finally:
            conn.close()
    day = dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%d")
    if json_output:
        print_json({"cutoff": when, "horizon_days": horizon_days, "blend": blend_said,
                    "results": [r.__dict__ for r in results]})  # fmt: skip
        return
    table = Table("Method", "Picks", "Hits", "Hit rate", "NDCG", "Artists", "Novelty",
                  "New-artist hits", "Known-artist hits",
                  title=f"Your history: weeklies as of {day}, hits within {horizon_days} days",
                  title_justify="left")  # fmt: skip
    for r in results:
        new, known = _percent(r.new_artist_hit_rate), _percent(r.known_artist_hit_rate)
        table.add_row(r.method, str(r.picks), str(r.hits), f"{r.hit_rate:.1%}", f"{r.ndcg:.3f}",
                      f"{r.artist_diversity:.0%}", f"{r.novelty:.0%}", new, known)  # fmt: skip
    out.print(table)
    err.print(escape(blend_said), highlight=False)


def _check_protocol(protocol: str) -> None:
    """An unknown protocol refused before the dataset is read."""
    from mydiscover.cf.evaluate import PROTOCOLS

    if protocol not in PROTOCOLS:
        raise fail(f"unknown protocol {protocol!r}: choose {' or '.join(PROTOCOLS)}")


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
    from mydiscover.cf.evaluate import evaluate_models

    with err.status("evaluating", spinner="dots") as status:
        return evaluate_models(
            data.plays, factories, protocol=protocol, fraction=fraction, folds=folds,
            seed=seed, k=k, progress=lambda name: status.update(f"evaluating {name}"),
        )  # fmt: skip


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
