"""What the CF stage holds: the imported dataset, the fitted model, the user's fold-in and the
library's coverage (``cf status``, ``doctor``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mydiscover.cf.coverage import Coverage, stored_coverage
from mydiscover.cf.store import imported_data, load_model, model_path
from mydiscover.cf.tables import fold_state
from mydiscover.errors import MydiscoverError

#: The model file's details ``cf status`` shows.
MODEL_FIELDS = ("engine", "fitted_at", "fit_seconds", "parameters", "dataset_fingerprint",
                "users", "items")  # fmt: skip


@dataclass(frozen=True)
class CfStatus:
    """The stage's state; each part None where there is none yet."""

    dataset: dict[str, Any] | None
    model: dict[str, Any] | None
    fold: dict[str, Any] | None
    coverage: Coverage | None

    def to_json(self) -> dict[str, Any]:
        """As ``cf status --json`` prints it."""
        return {"dataset": self.dataset, "model": self.model, "fold": self.fold,
                "coverage": self.coverage.to_json() if self.coverage else None}  # fmt: skip


def cf_status(database: Path) -> CfStatus:
    """The CF stage's state beside ``database`` (which need not exist yet)."""
    from mydiscover.db import open_database

    dataset = model = fold = coverage = None
    try:
        data = imported_data(database)
        dataset = {
            "source": data.meta.get("source"), "format": data.meta.get("dataset_format"),
            "listeners": data.shape[0], "artists": data.shape[1],
            "play_counts": data.pairs, "fingerprint": data.fingerprint,
            "engine": data.meta.get("engine", "local"),
        }  # fmt: skip
    except MydiscoverError:
        pass
    fitted = None
    try:
        fitted = load_model(model_path(database))
        model = {key: fitted.meta[key] for key in MODEL_FIELDS}
    except MydiscoverError:
        pass
    if database.exists():
        conn = open_database(database, create=False)
        try:
            fold = fold_state(conn)
            coverage = stored_coverage(conn, fitted) if fitted is not None else None
        finally:
            conn.close()
    return CfStatus(dataset, model, fold, coverage)
