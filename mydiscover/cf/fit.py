"""The CF stage's runners: import a public dataset beside the database, and fit an engine on it.

Both leave the previous dataset or model in place until the new one is complete (the files are
written atomically), so Ctrl-C or a failure changes nothing. Folding the user in is
:func:`mydiscover.cf.score.refresh_scores`.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from mydiscover.cf.datasets import ProgressCallback, read_dataset
from mydiscover.cf.engines import build_als, engine_name
from mydiscover.cf.matrix import MBID_KEY_PREFIX, CoListening, ImportFilters
from mydiscover.cf.spark import SparkALS
from mydiscover.cf.spark_data import SparkDataset, import_on_spark
from mydiscover.cf.store import (
    dataset_path,
    imported_data,
    model_path,
    save_model,
    spark_dataset_path,
)
from mydiscover.cf.tables import library_tracks, listened_artist_mbids
from mydiscover.db import open_database
from mydiscover.errors import MydiscoverError
from mydiscover.library.match import artist_key


@dataclass(frozen=True)
class ImportedData:
    """A dataset imported: its matrix, where it was saved and how long it took."""

    data: CoListening | SparkDataset
    target: Path
    seconds: float
    #: For a dataset that knows artists by MBID only: the library's tracks it cannot know
    #: (no artist MBID, nor a name it learned from the library), all of them, and the
    #: dataset's artists named from the library; None otherwise or without a library.
    lacking_mbid: tuple[int, int, int] | None = None

    def summary(self) -> str:
        """One line for people."""
        users, items = self.data.shape
        skipped = self.data.meta["rows_skipped"]
        filtered = self.data.meta.get("rows_filtered", 0)
        where = f"; the play counts at {self.data.ratings}" if isinstance(
            self.data, SparkDataset) else ""  # fmt: skip
        return (
            f"imported {self.data.meta['dataset_format']}: {users:,} listeners x {items:,} "
            f"artists, {self.data.pairs:,} play counts{where}"
            + (f" ({skipped:,} unusable rows skipped)" if skipped else "")
            + (f" ({filtered:,} rows left out by the filters)" if filtered else "")
            + f" in {self.seconds:.1f} s -> {self.target}"
        )

    def mbid_note(self) -> str | None:
        """One line on the library's tracks the dataset cannot know (None: it names artists,
        or there is no library yet)."""
        if self.lacking_mbid is None:
            return None
        lacking, total, named = self.lacking_mbid
        return (
            f"this dataset knows artists by MusicBrainz ID only ({named:,} of them named "
            f"from your tags and listens): {lacking:,} of your library's {total:,} tracks "
            "have no artist MBID (nor an artist another track or listen names by MBID), "
            "so CF cannot score them (MusicBrainz Picard or 'beet mbsync' tags them)"
        )


@dataclass(frozen=True)
class FitReport:
    """A model fitted: its size, where it was saved and how long the fit took."""

    engine: str
    factors: int
    artists: int
    target: Path
    seconds: float

    def summary(self) -> str:
        """One line for people."""
        return (
            f"fitted {self.factors} factors x {self.artists:,} artists in {self.seconds:.1f} s "
            f"-> {self.target}"
        )


def load_public_data(
    path: Path,
    fmt: str,
    progress: ProgressCallback | None = None,
    filters: ImportFilters | None = None,
) -> CoListening:
    """A dataset file or folder (any format) read through ``filters``, or an imported ``.npz``
    matrix (which takes none)."""
    if path.suffix == ".npz":
        if filters is not None and filters != ImportFilters():
            raise MydiscoverError(f"{path} is a matrix already imported: the filters apply "
                                  "when a dataset is read")  # fmt: skip
        return CoListening.load(path)
    return read_dataset(path, fmt, progress, filters)


def import_dataset(
    path: Path,
    fmt: str,
    database: Path,
    progress: ProgressCallback | None = None,
    filters: ImportFilters | None = None,
) -> ImportedData:
    """Read a public dataset through ``filters`` and save it as the matrix the fit reads,
    replacing any earlier."""
    started = time.perf_counter()
    data = load_public_data(path, fmt, progress, filters)
    lacking = _named_from_library(data, database)
    target = dataset_path(database)
    data.save(target)
    spark_dataset_path(database).unlink(missing_ok=True)  # the latest import is the dataset
    seconds = time.perf_counter() - started
    return ImportedData(data, target, seconds, lacking)


def default_spark_output(database: Path) -> str:
    """Where an import on Spark writes its play counts when not told: beside the database
    (right for ``local[N]``; a cluster needs a path all its machines see)."""
    return f"file:{(dataset_path(database).parent / 'spark-plays').resolve()}"


def import_dataset_on_spark(
    uri: str,
    fmt: str,
    database: Path,
    *,
    master: str,
    output: str | None = None,
    filters: ImportFilters | None = None,
) -> ImportedData:
    """Read a raw dump where the Spark cluster at ``master`` sees it (see
    mydiscover.cf.spark_data), leave its play counts at ``output`` and keep its artists'
    labels as the dataset the fit reads, replacing any earlier."""
    started = time.perf_counter()
    target = spark_dataset_path(database)
    previous = None
    with contextlib.suppress(MydiscoverError):
        previous = SparkDataset.load(target).ratings
    lacking: tuple[int, int, int] | None = None

    def keep(data: SparkDataset) -> None:
        nonlocal lacking
        lacking = _named_from_library(data, database)
        data.save(target)
        dataset_path(database).unlink(missing_ok=True)  # the latest import is the dataset

    data = import_on_spark(uri, fmt, output or default_spark_output(database), master, keep,
                           filters, replaces=previous)  # fmt: skip
    return ImportedData(data, target, time.perf_counter() - started, lacking)


def _named_from_library(
    data: CoListening | SparkDataset, database: Path
) -> tuple[int, int, int] | None:
    """For a dataset that knows artists by MBID only: name them from the library's tags and
    the history's listens (see CoListening.named_by); the library's tracks that it still
    cannot know (no artist MBID, and no name it got), all of them, and how many artists were
    named. None otherwise, or without a library."""
    if not data.keys or not all(key.startswith(MBID_KEY_PREFIX) for key in data.keys):
        return None
    if not database.exists():
        return None
    conn = open_database(database)
    try:
        tracks = library_tracks(conn)
        named = data.named_by([*((t.artist, t.mbid) for t in tracks),
                               *listened_artist_mbids(conn)])  # fmt: skip
    finally:
        conn.close()
    known = set(data.keys)
    lacking = sum(not t.mbid and artist_key(t.artist) not in known for t in tracks)
    return lacking, len(tracks), named


def fit_model(
    database: Path, engine: str = "als", data: CoListening | SparkDataset | None = None,
    **options: float | int | str,
) -> FitReport:  # fmt: skip
    """Fit ``engine`` (``als``, or ``als-spark`` with a ``master``) on ``data`` (default: the
    imported dataset) with ``options`` over its defaults, and save it as the model the weekly
    uses. A dataset imported on Spark is fitted there (``als-spark`` only)."""
    try:
        als = build_als(engine, **options)
    except ValueError as error:
        raise MydiscoverError(str(error)) from None
    data = data or imported_data(database)
    if isinstance(data, SparkDataset) and not isinstance(als, SparkALS):
        raise MydiscoverError("the dataset was imported on Spark, so it is fitted there: "
                              "'mydiscover cf fit --engine als-spark'")  # fmt: skip
    started = time.perf_counter()
    try:
        if isinstance(data, CoListening):
            als.fit(data.plays)
        elif isinstance(als, SparkALS):  # (always, for a dataset imported on Spark)
            als.fit_imported(data)
    except ValueError as error:
        raise MydiscoverError(str(error)) from None
    seconds = time.perf_counter() - started
    target = model_path(database)
    fitted_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # The model file names the engine as 'cf fit --engine' long did (implicit / spark).
    saved_as = "spark" if engine_name(engine) == "als-spark" else "implicit"
    save_model(target, als, data, {"engine": saved_as, "fitted_at": fitted_at,
                                   "fit_seconds": seconds})  # fmt: skip
    return FitReport(saved_as, als.factors, data.shape[1], target, seconds)
