"""The one factory for CF engines: every recommender by one set of names, the local ALS and the
Spark ALS as peers under it (``implicit``'s shape: backends side by side, a thin factory above).

``cf fit`` fits one of the ALS engines (the weekly folds the user into its factors); ``eval cf``
compares any of them. The defaults live in the engines' own classes, so the CLI, the pipeline
and the evaluation never retype them.
"""

from __future__ import annotations

from mydiscover.cf.models import ALS, EASE, ItemKNN, MostPopular, Recommender

#: Every engine, by the name ``eval cf --model`` and ``cf fit --engine`` take.
ENGINES = ("als", "ease", "itemknn", "popular", "als-spark")
#: The engines a user can be folded into (``cf fit``).
FOLDABLE = ("als", "als-spark")
#: The names ``cf fit --engine`` had before it took the engines' own: still understood.
ALIASES = {"implicit": "als", "spark": "als-spark"}


def engine_name(name: str) -> str:
    """The engine a name (or a former name) means; ValueError for an unknown one."""
    name = ALIASES.get(name, name)
    if name not in ENGINES:
        raise ValueError(f"unknown model {name!r}: choose from {', '.join(ENGINES)}")
    return name


def build_model(name: str, **options: float | int | str) -> Recommender:
    """A fresh engine by name, with options overriding its defaults."""
    name = engine_name(name)
    if name in FOLDABLE:
        return build_als(name, **options)
    others: dict[str, type] = {"ease": EASE, "itemknn": ItemKNN, "popular": MostPopular}
    return others[name](**options)


def build_als(name: str, **options: float | int | str) -> ALS:
    """A fresh ALS engine (one a user can be folded into); ValueError for another engine."""
    name = engine_name(name)
    if name == "als-spark":
        from mydiscover.cf.spark import SparkALS  # PySpark is an optional dependency

        return SparkALS(**options)  # type: ignore[arg-type]
    if name == "als":
        return ALS(**options)  # type: ignore[arg-type]
    raise ValueError(f"{name} cannot be fitted for the weekly: choose from {', '.join(FOLDABLE)}")


def foldable_engine(engine: str) -> str:
    """The foldable engine (als or als-spark) a name means; ValueError for any other."""
    try:
        name = engine_name(engine)
    except ValueError:
        name = ""
    if name not in FOLDABLE:  # the others can be compared ('eval cf'), not folded into
        raise ValueError(f"unknown engine {engine!r}: choose {' or '.join(FOLDABLE)}")
    return name


def fit_options(
    engine: str,
    *,
    factors: int,
    iterations: int,
    regularization: float | None = None,
    alpha: float | None = None,
    weighting: str | None = None,
    master: str | None = None,
) -> tuple[str, dict[str, float | int | str]]:
    """The foldable engine a name means and the options to fit it with (None: the engine's
    own default; ``master`` for Spark only); ValueError for an engine a user cannot be folded
    into."""
    name = foldable_engine(engine)
    given = {"factors": factors, "iterations": iterations, "regularization": regularization,
             "alpha": alpha, "weighting": weighting,
             "master": master if name == "als-spark" else None}  # fmt: skip
    return name, {key: value for key, value in given.items() if value is not None}
