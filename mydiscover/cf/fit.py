"""The CF stage's runners: import a public dataset beside the database, and fit an engine on it.

Both leave the previous dataset or model in place until the new one is complete (the files are
written atomically), so Ctrl-C or a failure changes nothing. Folding the user in is
:func:`mydiscover.cf.score.refresh_scores`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from mydiscover.cf.datasets import ProgressCallback, read_dataset
from mydiscover.cf.engines import build_als, engine_name
from mydiscover.cf.matrix import CoListening
from mydiscover.cf.store import dataset_path, model_path, save_model
from mydiscover.errors import MydiscoverError


@dataclass(frozen=True)
class ImportedData:
    """A dataset imported: its matrix, where it was saved and how long it took."""

    data: CoListening
    target: Path
    seconds: float

    def summary(self) -> str:
        """One line for people."""
        users, items = self.data.plays.shape
        skipped = self.data.meta["rows_skipped"]
        return (
            f"imported {self.data.meta['dataset_format']}: {users:,} listeners x {items:,} "
            f"artists, {self.data.plays.nnz:,} play counts"
            + (f" ({skipped:,} unusable rows skipped)" if skipped else "")
            + f" in {self.seconds:.1f} s -> {self.target}"
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


def load_public_data(path: Path, fmt: str, progress: ProgressCallback | None = None) -> CoListening:
    """A dataset file or folder (any format), or an imported ``.npz`` matrix."""
    if path.suffix == ".npz":
        return CoListening.load(path)
    return read_dataset(path, fmt, progress)


def import_dataset(
    path: Path, fmt: str, database: Path, progress: ProgressCallback | None = None
) -> ImportedData:
    """Read a public dataset and save it as the matrix the fit reads, replacing any earlier."""
    started = time.perf_counter()
    data = load_public_data(path, fmt, progress)
    target = dataset_path(database)
    data.save(target)
    return ImportedData(data, target, time.perf_counter() - started)


def imported_data(database: Path) -> CoListening:
    """The dataset imported beside ``database`` (MydiscoverError when none is)."""
    return CoListening.load(dataset_path(database))


def fit_model(
    database: Path, engine: str = "als", data: CoListening | None = None,
    **options: float | int | str,
) -> FitReport:  # fmt: skip
    """Fit ``engine`` (``als``, or ``als-spark`` with a ``master``) on ``data`` (default: the
    imported dataset) with ``options`` over its defaults, and save it as the model the weekly
    uses."""
    try:
        als = build_als(engine, **options)
    except ValueError as error:
        raise MydiscoverError(str(error)) from None
    data = data or imported_data(database)
    started = time.perf_counter()
    try:
        als.fit(data.plays)
    except ValueError as error:
        raise MydiscoverError(str(error)) from None
    seconds = time.perf_counter() - started
    target = model_path(database)
    fitted_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # The model file names the engine as 'cf fit --engine' long did (implicit / spark).
    saved_as = "spark" if engine_name(engine) == "als-spark" else "implicit"
    save_model(target, als, data, {"engine": saved_as, "fitted_at": fitted_at,
                                   "fit_seconds": seconds})  # fmt: skip
    return FitReport(saved_as, als.factors, data.plays.shape[1], target, seconds)
