"""Measuring the weekly's blend offline.

``BlendedRecommender`` fuses other recommenders' scores by the weekly's weighted
reciprocal-rank fusion, so the blend can be run through ``mydiscover.cf.evaluate`` beside the
single signals: on HetRec Last.fm 2K made into a library (one track per artist), the weekly's
hit rate@30 is the precision at 30 of that protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from mydiscover.cf.models import Recommender
from mydiscover.recommend.blend import rank_weights


@dataclass
class BlendedRecommender:
    """Weighted reciprocal-rank fusion of ``parts`` (name -> (recommender, weight))."""

    parts: dict[str, tuple[Recommender, float]]
    name: str = "blend"
    fitted: bool = field(default=False, repr=False)

    def fit(self, plays: sp.csr_matrix) -> None:
        """Fit every part."""
        for recommender, _ in self.parts.values():
            recommender.fit(plays)
        self.fitted = True

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
