"""Confidence weighting: how much a play count says about a listener's taste.

Raw counts are heavy-tailed (one listener's 10,000 plays of a favourite would drown everything
else), so models see a damped weight. The parameters a weighting learns from the public data
(BM25's inverse document frequency and average listener length) are kept, so that a user folded
in later is weighted exactly like the listeners the model was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

WEIGHTINGS = ("bm25", "log", "binary")


@dataclass(frozen=True)
class Weighting:
    """A weighting scheme with what it learned from the fitted data.

    BM25 weights are scaled to a mean of 1 over the fitted data (``scale``). ALS takes a
    weight times alpha as an observed entry's confidence, against 1 for every unobserved one:
    raw BM25 weights are mostly far below 1, so most plays counted less than no play at all.
    Scaled, alpha means the same whatever the data (chosen on a validation split carved from
    HetRec 2K's training part: see mydiscover.cf.defaults).
    """

    scheme: str
    idf: np.ndarray  # per item; ones for the schemes that need none
    average_length: float
    k1: float = 100.0
    b: float = 0.8
    scale: float = 1.0

    @classmethod
    def learn(
        cls, plays: sp.csr_matrix, scheme: str, k1: float = 100.0, b: float = 0.8
    ) -> Weighting:
        """Learn the weighting's statistics from the public matrix."""
        return cls.fitted(plays, scheme, k1, b)[0]

    @classmethod
    def fitted(
        cls, plays: sp.csr_matrix, scheme: str, k1: float = 100.0, b: float = 0.8
    ) -> tuple[Weighting, sp.csr_matrix]:
        """:meth:`learn`, and the weighted copy of ``plays`` the fit needs, from one weighting
        pass (BM25's scale is the mean of that copy)."""
        if scheme not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {scheme!r}: choose from {', '.join(WEIGHTINGS)}")
        listeners = np.bincount(plays.indices, minlength=plays.shape[1]).astype(np.float64)
        idf = np.log(max(plays.shape[0], 1)) - np.log1p(listeners)
        lengths = np.asarray(plays.sum(axis=1)).ravel()
        learned = cls(scheme, idf.astype(np.float32), float(lengths.mean() or 1.0), k1, b)
        weighted = learned.apply(plays)
        if scheme != "bm25" or not len(weighted.data) or weighted.data.mean() <= 0:
            return learned, weighted
        scale = 1.0 / float(weighted.data.mean())
        weighted.data *= np.float32(scale)
        return replace(learned, scale=scale), weighted

    def apply(self, plays: sp.csr_matrix) -> sp.csr_matrix:
        """The weighted copy of a play-count matrix (rows: listeners, columns: the same items)."""
        weighted = plays.astype(np.float32, copy=True)
        if self.scheme == "binary":
            weighted.data[:] = 1.0
        elif self.scheme == "log":
            weighted.data = np.log1p(weighted.data)
        else:
            lengths = np.asarray(plays.sum(axis=1)).ravel()
            norms = (1.0 - self.b) + self.b * lengths / self.average_length
            rows = np.repeat(np.arange(plays.shape[0]), np.diff(plays.indptr))
            weighted.data = (
                (weighted.data * (self.k1 + 1.0) / (self.k1 * norms[rows] + weighted.data))
                * np.maximum(self.idf[plays.indices], 0.0)
                * np.float32(self.scale)
            )
        weighted.eliminate_zeros()
        return weighted
