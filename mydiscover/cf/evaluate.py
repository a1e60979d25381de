"""Offline evaluation of the recommenders on public co-listening data.

Protocols: a per-listener random holdout (a fraction of each listener's artists hidden) and a
per-listener k-fold (each listener's artists dealt into k folds, each fold hidden in turn). The
model is fitted on what is left and scores each listener from their visible artists, the way the
user is scored in production; hidden artists are the relevant answers. Metrics at a cut-off k:
precision, recall, NDCG and MAP (binary relevance), and the catalog coverage of all lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from mydiscover.cf.models import Recommender
from mydiscover.errors import MydiscoverError

METRICS = ("precision", "recall", "ndcg", "map", "coverage")


@dataclass(frozen=True)
class Split:
    """Visible play counts and the hidden (relevant) items of the same listeners."""

    train: sp.csr_matrix
    test: sp.csr_matrix


@dataclass(frozen=True)
class Result:
    """One model's metrics under one protocol, with its fit and scoring times."""

    model: str
    metrics: dict[str, float]
    fit_seconds: float
    score_seconds: float
    users: int


def holdout_split(plays: sp.csr_matrix, fraction: float = 0.2, seed: int = 42) -> Split:
    """Hide a random ``fraction`` of each listener's artists (at least one, if they have two)."""
    rng = np.random.default_rng(seed)
    hidden = np.zeros(plays.nnz, dtype=bool)
    for row in range(plays.shape[0]):
        start, end = plays.indptr[row], plays.indptr[row + 1]
        count = end - start
        if count < 2:
            continue
        take = max(1, round(fraction * count))
        hidden[start + rng.choice(count, size=take, replace=False)] = True
    return _split(plays, hidden)


def kfold_splits(plays: sp.csr_matrix, folds: int = 10, seed: int = 42) -> Iterator[Split]:
    """Deal each listener's artists at random into ``folds`` folds; hide each fold in turn."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(plays.nnz, dtype=np.int32)
    for row in range(plays.shape[0]):
        start, end = plays.indptr[row], plays.indptr[row + 1]
        fold_of[start:end] = rng.permutation(end - start) % folds
    for fold in range(folds):
        yield _split(plays, fold_of == fold)


def _split(plays: sp.csr_matrix, hidden: np.ndarray) -> Split:
    rows = np.repeat(np.arange(plays.shape[0]), np.diff(plays.indptr))

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(
            (plays.data[mask], (rows[mask], plays.indices[mask])), shape=plays.shape
        )

    return Split(part(~hidden), part(hidden))


def evaluate(model: Recommender, split: Split, k: int = 10, batch: int = 512) -> Result:
    """Fit ``model`` on the split's visible data and measure its top-``k`` lists."""
    started = time.perf_counter()
    model.fit(split.train)
    fitted = time.perf_counter()
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    sums = dict.fromkeys(("precision", "recall", "ndcg", "map"), 0.0)
    shown = np.zeros(split.train.shape[1], dtype=bool)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for first in range(0, len(users), batch):
        chunk = users[first : first + batch]
        visible = split.train[chunk]
        scores = model.score(visible)
        scores[visible.nonzero()] = -np.inf  # never recommend what the listener already plays
        top = _top_k(scores, k)
        shown[top.ravel()] = True
        for row, user in enumerate(chunk):
            relevant = split.test.indices[split.test.indptr[user] : split.test.indptr[user + 1]]
            hits = np.isin(top[row], relevant)
            ideal = min(len(relevant), k)
            sums["precision"] += hits.sum() / k
            sums["recall"] += hits.sum() / len(relevant)
            sums["ndcg"] += (hits * discounts).sum() / discounts[:ideal].sum()
            precision_at = np.cumsum(hits) / np.arange(1, k + 1)
            sums["map"] += (precision_at * hits).sum() / ideal
    scored = time.perf_counter()
    metrics = {name: value / max(len(users), 1) for name, value in sums.items()}
    metrics["coverage"] = float(shown.mean())
    return Result(model.name, metrics, fitted - started, scored - fitted, len(users))


def evaluate_kfold(
    make_model: Callable[[], Recommender],
    plays: sp.csr_matrix,
    folds: int = 10,
    seed: int = 42,
    k: int = 10,
) -> Result:
    """The mean of ``evaluate`` over the folds (a fresh model per fold)."""
    results = [evaluate(make_model(), split, k) for split in kfold_splits(plays, folds, seed)]
    return Result(
        results[0].model,
        {name: float(np.mean([r.metrics[name] for r in results])) for name in METRICS},
        sum(r.fit_seconds for r in results),
        sum(r.score_seconds for r in results),
        int(np.mean([r.users for r in results])),
    )


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's ``k`` highest scores, best first."""
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


#: The protocols :func:`evaluate_models` knows.
PROTOCOLS = ("holdout", "kfold")


def evaluate_models(
    plays: sp.csr_matrix,
    factories: dict[str, Callable[[], Recommender]],
    *,
    protocol: str,
    fraction: float,
    folds: int,
    seed: int,
    k: int,
    progress: Callable[[str], None] = lambda name: None,
) -> dict[str, Any]:
    """Each model (made by its factory) under one protocol (``holdout``: one split of
    ``fraction``; ``kfold``: ``folds`` folds), in the same run: the report as a dict;
    ``progress(name)`` before each model."""
    if protocol not in PROTOCOLS:
        raise MydiscoverError(f"unknown protocol {protocol!r}: choose holdout or kfold")
    split = holdout_split(plays, fraction, seed) if protocol == "holdout" else None
    results = []
    for name, factory in factories.items():
        progress(name)
        if split is not None:
            results.append(evaluate(factory(), split, k))
        else:
            results.append(evaluate_kfold(factory, plays, folds, seed, k))
    return {
        "protocol": protocol, "fraction": fraction, "folds": folds, "seed": seed, "k": k,
        "listeners": plays.shape[0], "artists": plays.shape[1],
        "results": [
            {"model": r.model, **r.metrics, "fit_seconds": r.fit_seconds,
             "score_seconds": r.score_seconds, "users": r.users}
            for r in results
        ],
    }  # fmt: skip
