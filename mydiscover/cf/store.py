"""Where the co-listening data and the fitted model live: files beside the database.

``<database>-cf/dataset.npz`` is the imported matrix, ``<database>-cf/model.npz`` the fitted ALS
model: its item factors, the weighting it learned, its parameters, the fingerprint of the data it
was fitted on, and the artists' labels, so scoring the user needs the model file alone. Both
engines (implicit and Spark) write the same model file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mydiscover.cf.matrix import CoListening, label_index
from mydiscover.cf.models import ALS
from mydiscover.cf.weighting import Weighting
from mydiscover.errors import MydiscoverError

MODEL_FORMAT = 1
#: The ALS parameters a model file records (and that fold-in needs).
ALS_PARAMETERS = (
    "factors", "regularization", "iterations", "alpha", "weighting", "seed",
    "confidence_offset", "scale_regularization",
)  # fmt: skip


def cf_folder(database: Path) -> Path:
    """The folder beside the database that holds the CF files."""
    return database.parent / f"{database.stem}-cf"


def dataset_path(database: Path) -> Path:
    """The imported co-listening matrix."""
    return cf_folder(database) / "dataset.npz"


def model_path(database: Path) -> Path:
    """The fitted model."""
    return cf_folder(database) / "model.npz"


@dataclass
class FittedModel:
    """A fitted ALS model with the labels of its items and how it came to be."""

    als: ALS
    keys: list[str]
    names: list[str]
    mbids: list[str]
    meta: dict[str, Any]

    def item_index(self) -> tuple[dict[str, int], dict[str, int]]:
        """Item lookups by MusicBrainz artist ID and by artist key."""
        return label_index(self.keys, self.mbids)

    @property
    def fingerprint(self) -> str:
        """Identifies this fit: the data's fingerprint and the parameters."""
        return f"{self.meta['dataset_fingerprint']}-{self.meta['fitted_at']}"


def save_model(path: Path, als: ALS, data: CoListening, meta: dict[str, Any]) -> None:
    """Write a fitted model atomically."""
    assert als.item_factors is not None and als.learned_weighting is not None, "fit first"
    weighting = als.learned_weighting
    header = {
        **meta,
        "format": MODEL_FORMAT,
        "parameters": {name: getattr(als, name) for name in ALS_PARAMETERS},
        "weighting": {
            "scheme": weighting.scheme,
            "average_length": weighting.average_length,
            "k1": weighting.k1,
            "b": weighting.b,
        },
        "dataset_fingerprint": data.fingerprint,
        "dataset": data.meta.get("source"),
        "users": data.plays.shape[0],
        "items": data.plays.shape[1],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        np.savez(
            handle,
            item_factors=als.item_factors.astype(np.float32),
            idf=weighting.idf,
            keys=np.array(data.keys, dtype=np.str_),
            names=np.array(data.names, dtype=np.str_),
            mbids=np.array(data.mbids, dtype=np.str_),
            meta=np.array(json.dumps(header)),
        )
    partial.replace(path)


def load_model(path: Path) -> FittedModel:
    """Read a model written by :func:`save_model`."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            if meta.get("format") != MODEL_FORMAT:
                raise MydiscoverError(
                    f"{path} is from another mydiscover version: run 'cf fit' again"
                )
            scheme = meta["weighting"]
            weighting = Weighting(
                scheme["scheme"], arrays["idf"], scheme["average_length"], scheme["k1"], scheme["b"]
            )
            als = ALS(**meta["parameters"])
            als.item_factors = arrays["item_factors"]
            als.learned_weighting = weighting
            return FittedModel(
                als,
                arrays["keys"].tolist(),
                arrays["names"].tolist(),
                arrays["mbids"].tolist(),
                meta,
            )
    except FileNotFoundError:
        raise MydiscoverError(f"no fitted model at {path}: run 'mydiscover cf fit' first") from None
    except (OSError, ValueError, KeyError) as error:
        raise MydiscoverError(f"{path} is not a readable model: {error}") from None
