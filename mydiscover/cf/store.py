"""Where the co-listening data and the fitted model live: files beside the database.

``<database>-cf/dataset.npz`` is the imported matrix (``dataset-spark.npz`` instead for a
dataset imported on Spark: its artists' labels, the play counts left on the cluster), and
``<database>-cf/model.npz`` the fitted ALS model: its item factors, the weighting it learned,
its parameters, the fingerprint of the data it was fitted on, and the artists' labels, so
scoring the user needs the model file alone. Both engines (implicit and Spark) write the same
model file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mydiscover.cf.matrix import CoListening, stored_arrays
from mydiscover.cf.models import ALS
from mydiscover.cf.spark_data import SparkDataset
from mydiscover.cf.weighting import Weighting
from mydiscover.files import atomic_file

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


def spark_dataset_path(database: Path) -> Path:
    """The labels of a dataset imported on Spark (its play counts lie where the cluster sees
    them)."""
    return cf_folder(database) / "dataset-spark.npz"


def has_imported_data(database: Path) -> bool:
    """Whether a dataset was imported beside ``database`` (here or on Spark)."""
    return dataset_path(database).exists() or spark_dataset_path(database).exists()


def imported_data(database: Path) -> CoListening | SparkDataset:
    """The dataset imported beside ``database``: the matrix imported here, or the labels of
    one imported on Spark (MydiscoverError when none is)."""
    if spark_dataset_path(database).exists() and not dataset_path(database).exists():
        return SparkDataset.load(spark_dataset_path(database))
    return CoListening.load(dataset_path(database))


def model_path(database: Path) -> Path:
    """The fitted model."""
    return cf_folder(database) / "model.npz"


@dataclass
class FittedModel:
    """A fitted ALS model with its artists' names, lookups by artist key and MBID, and how it
    came to be."""

    als: ALS
    names: list[str]
    meta: dict[str, Any]
    lookups: ArtistLookup
    #: Each artist's listeners in the public data (the most-popular baseline).
    popularity: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def lookup(self, mbids: Sequence[str], keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The item of each (MBID, artist key) pair, by MBID first, then by key (-1: unknown),
        and whether it was found by MBID."""
        by_mbid = _search(self.lookups.mbids, self.lookups.mbid_items, mbids)
        by_key = _search(self.lookups.keys, self.lookups.key_items, keys)
        return np.where(by_mbid >= 0, by_mbid, by_key), by_mbid >= 0

    @property
    def fingerprint(self) -> str:
        """Identifies this fit: the data's fingerprint and when it was fitted."""
        return fit_fingerprint(self.meta)


@dataclass(frozen=True)
class ArtistLookup:
    """Sorted artist keys and MBIDs with the item each names: vectorised lookups by binary
    search, with nothing to build when a model is loaded (a dict of 160,000 artists would
    cost more than the whole fold-in)."""

    keys: np.ndarray
    key_items: np.ndarray
    mbids: np.ndarray
    mbid_items: np.ndarray

    @classmethod
    def of(cls, keys: list[str], mbids: list[str]) -> ArtistLookup:
        """Lookups over the artists' keys and MBIDs (artists without an MBID left out)."""
        key_array = np.array(keys, dtype=np.str_)
        key_order = np.argsort(key_array, kind="stable").astype(np.int32)
        mbid_array = np.array(mbids, dtype=np.str_)
        with_mbid = np.flatnonzero(mbid_array != "").astype(np.int32)
        mbid_order = with_mbid[np.argsort(mbid_array[with_mbid], kind="stable")]
        return cls(key_array[key_order], key_order, mbid_array[mbid_order], mbid_order)


def _search(ordered: np.ndarray, items: np.ndarray, queries: Sequence[str]) -> np.ndarray:
    """The item of each query found in ``ordered`` (sorted), -1 for the rest and for ''."""
    wanted = np.array(queries, dtype=np.str_)
    if not len(ordered) or not len(wanted):
        return np.full(len(wanted), -1, dtype=np.int64)
    position = np.searchsorted(ordered, wanted).clip(max=len(ordered) - 1)
    found = (ordered[position] == wanted) & (wanted != "")
    return np.where(found, items[position], -1).astype(np.int64)


def save_model(
    path: Path, als: ALS, data: CoListening | SparkDataset, meta: dict[str, Any]
) -> None:
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
            "scale": weighting.scale,
        },
        "dataset_fingerprint": data.fingerprint,
        "dataset": data.meta.get("source"),
        "users": data.shape[0],
        "items": data.shape[1],
    }
    lookups = ArtistLookup.of(data.keys, data.mbids)
    with atomic_file(path) as handle:
        np.savez(
            handle,
            item_factors=als.item_factors.astype(np.float32),
            gram=als.gram(),
            popularity=data.popularity,
            idf=weighting.idf,
            names=np.array(data.names, dtype=np.str_),
            keys=lookups.keys,
            key_items=lookups.key_items,
            mbids=lookups.mbids,
            mbid_items=lookups.mbid_items,
            meta=np.array(json.dumps(header)),
        )


def load_model(path: Path) -> FittedModel:
    """Read a model written by :func:`save_model`."""
    with stored_arrays(path, MODEL_FORMAT, "fitted model", "model",
                       "mydiscover cf fit") as (arrays, meta):  # fmt: skip
        scheme = meta["weighting"]
        weighting = Weighting(
            scheme["scheme"],
            arrays["idf"],
            scheme["average_length"],
            scheme["k1"],
            scheme["b"],
            float(scheme.get("scale", 1.0)),  # a model saved before the scale: none
        )
        als = ALS(**meta["parameters"])
        als.item_factors = arrays["item_factors"]
        als.learned_weighting = weighting
        als.use_gram(arrays["gram"])
        lookups = ArtistLookup(
            arrays["keys"], arrays["key_items"], arrays["mbids"], arrays["mbid_items"]
        )
        model = FittedModel(als, arrays["names"].tolist(), meta, lookups)
        model.popularity = arrays["popularity"]
        return model


def fit_fingerprint(meta: dict[str, Any]) -> str:
    """Identifies a fit by its model's header: the data's fingerprint and when it was fitted."""
    return f"{meta['dataset_fingerprint']}-{meta['fitted_at']}"


def fitted_header(database: Path) -> dict[str, Any] | None:
    """The header of the model fitted beside ``database`` (its engine, parameters, data and
    artists' count; read alone, without the factors), or None when none was fitted yet."""
    path = model_path(database)
    if not path.exists():
        return None
    with stored_arrays(path, MODEL_FORMAT, "fitted model", "model",
                       "mydiscover cf fit") as (_, meta):  # fmt: skip
        return meta


def fitted_model(database: Path) -> FittedModel | None:
    """The model fitted beside ``database``, or None when none was fitted yet."""
    path = model_path(database)
    return load_model(path) if path.exists() else None
