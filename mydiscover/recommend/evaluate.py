"""Measuring the weekly's blend offline.

``BlendedRecommender`` fuses other recommenders' scores by the weekly's weighted
reciprocal-rank fusion, so the blend can be run through ``mydiscover.cf.evaluate`` beside the
single signals: on HetRec Last.fm 2K made into a library (one track per artist), the weekly's
hit rate@30 is the precision at 30 of that protocol.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mydiscover.cf.models import Recommender
from mydiscover.recommend.blend import rank_weights
from mydiscover.recommend.rules import Rules


@dataclass
class BlendedRecommender:
    """Weighted reciprocal-rank fusion of ``parts`` (name -> (recommender, weight))."""

    parts: dict[str, tuple[Recommender, float]]
    name: str = "blend"

    def fit(self, plays: sp.csr_matrix) -> None:
        """Fit every part."""
        for recommender, _ in self.parts.values():
            recommender.fit(plays)

    def score(self, plays: sp.csr_matrix) -> np.ndarray:
        """Sum of weight / (K + rank) over the parts, ranks taken per listener."""
        total = np.zeros(plays.shape, dtype=np.float64)
        for recommender, weight in self.parts.values():
            scores = recommender.score(plays)
            scores[plays.nonzero()] = -np.inf  # what the listener plays is not ranked
            order = np.argsort(-scores, axis=1, kind="stable")
            ranks = np.empty_like(order)
            np.put_along_axis(ranks, order, np.arange(1, plays.shape[1] + 1)[None, :], axis=1)
            total += rank_weights(ranks, weight)
        return total.astype(np.float32)


@dataclass(frozen=True)
class TemporalResult:
    """One method's weekly, judged by what the user played after the cut-off."""

    method: str
    picks: int
    hits: int
    hit_rate: float
    ndcg: float
    artist_diversity: float  # distinct artists / picks
    novelty: float  # share of picks by artists not played before the cut-off


def temporal_holdout(
    conn: sqlite3.Connection,
    model: object | None,
    cutoff: int,
    horizon_days: int,
    rules: Rules,
    weights: dict[str, float],
) -> list[TemporalResult]:
    """Make the weekly as it would have been made at ``cutoff`` (history before it only), by
    the blend, each signal alone, most-popular and at random; a pick is a hit when the user
    played it within ``horizon_days`` after."""
    from mydiscover.db.listens import load_history
    from mydiscover.recommend.blend import fuse
    from mydiscover.recommend.library import load_library
    from mydiscover.recommend.rules import candidate_mask, choose
    from mydiscover.recommend.weekly import compute_signals

    library = load_library(conn)
    before = load_history(conn, before=cutoff)
    played_after = {
        track for (track,) in conn.execute(
            "SELECT DISTINCT track_id FROM listens WHERE track_id IS NOT NULL "
            "AND listened_at >= ? AND listened_at < ?", (cutoff, cutoff + horizon_days * 86_400),
        )
    }  # fmt: skip
    candidates = candidate_mask(library, before, set(), rules, cutoff)
    known = {artist.key for artist in before.artists}
    seed = 42
    signals = compute_signals(conn, library, before, model, seed)
    methods: dict[str, np.ndarray] = {
        "blend": fuse(signals, weights, candidates, len(library)).scores,
        **{s.name: fuse([s], {s.name: 1.0}, candidates, len(library)).scores for s in signals},
        "popular": _popularity(model, library),
        "random": np.random.default_rng(seed).random(len(library)),
    }
    relevant = sum(1 for row, track in enumerate(library.ids.tolist())
                   if candidates[row] and track in played_after)  # fmt: skip
    results = []
    for method, scores in methods.items():
        picked = choose(library, scores, candidates, known, rules, seed)
        hits = np.array([int(library.ids[row]) in played_after for row in picked], dtype=float)
        discounts = 1.0 / np.log2(np.arange(2, len(picked) + 2))
        ideal = discounts[: min(relevant, len(picked))].sum()
        results.append(TemporalResult(
            method, len(picked), int(hits.sum()), float(hits.mean()) if picked else 0.0,
            float((hits * discounts).sum() / ideal) if ideal else 0.0,
            len({library.artist_keys[r] for r in picked}) / max(len(picked), 1),
            sum(library.artist_keys[r] not in known for r in picked) / max(len(picked), 1),
        ))  # fmt: skip
    return results


def default_cutoff(conn: sqlite3.Connection, share: float = 0.8) -> int | None:
    """The time by which ``share`` of the matched listens had happened."""
    count = conn.execute("SELECT count(*) FROM listens WHERE track_id IS NOT NULL").fetchone()[0]
    if count < 10:
        return None
    row = conn.execute(
        "SELECT listened_at FROM listens WHERE track_id IS NOT NULL ORDER BY listened_at "
        "LIMIT 1 OFFSET ?", (int(count * share),),
    ).fetchone()  # fmt: skip
    return int(row[0])


def _popularity(model: object | None, library: object) -> np.ndarray:
    """Each track's artist's listeners in the public data (zero where unknown)."""
    from mydiscover.cf.store import FittedModel
    from mydiscover.recommend.library import Library

    assert isinstance(library, Library)
    scores = np.zeros(len(library))
    if isinstance(model, FittedModel) and len(model.popularity):
        items, _ = model.lookup(library.mbids, library.artist_keys)
        scores[items >= 0] = model.popularity[items[items >= 0]]
    return scores
