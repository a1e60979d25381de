"""The recommenders fitted on co-listening data, behind one small interface.

Every model is fitted on a play-count matrix and then scores *new* listeners from their own play
counts, without refitting: ALS folds them in with one least-squares solve against its item
factors, EASE and item-kNN multiply by their item-item matrix. That is how the user is scored in
production, and how evaluation scores held-out listeners, so what is measured is what runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from mydiscover.cf import defaults
from mydiscover.cf.weighting import Weighting


class Recommender(Protocol):
    """A model that learns from listeners' play counts and scores other listeners' tastes."""

    name: str

    def fit(self, plays: sp.csr_matrix) -> None:
        """Learn from a listeners x items play-count matrix."""

    def score(self, plays: sp.csr_matrix) -> np.ndarray:
        """Scores (rows x items, float32) for listeners given as play counts over the same items."""


@dataclass
class MostPopular:
    """Every listener gets the artists with the most listeners: the floor any model must beat."""

    name: str = "popular"
    popularity: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def fit(self, plays: sp.csr_matrix) -> None:
        """Count each item's listeners."""
        self.popularity = np.bincount(plays.indices, minlength=plays.shape[1]).astype(np.float32)

    def score(self, plays: sp.csr_matrix) -> np.ndarray:
        """The same popularity for every row."""
        return np.tile(self.popularity, (plays.shape[0], 1))


@dataclass
class ItemKNN:
    """Item-based nearest neighbours: cosine similarity between items' listener sets."""

    neighbours: int = 100
    name: str = "itemknn"
    similarity: sp.csr_matrix | None = None

    def fit(self, plays: sp.csr_matrix) -> None:
        """Cosine similarity of binary item columns, keeping each item's nearest neighbours."""
        binary = (plays > 0).astype(np.float32)
        norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
        normalised = binary @ sp.diags(1.0 / np.maximum(norms, 1e-9))
        similarity = (normalised.T @ normalised).tocsr()
        similarity.setdiag(0.0)
        similarity.eliminate_zeros()
        self.similarity = _keep_top(similarity, self.neighbours)

    def score(self, plays: sp.csr_matrix) -> np.ndarray:
        """Sum of the similarities of each candidate to the listener's items."""
        assert self.similarity is not None, "fit first"
        binary = (plays > 0).astype(np.float32)
        return np.asarray((binary @ self.similarity).todense(), dtype=np.float32)


@dataclass
class ALS:
    """Implicit-feedback matrix factorisation (Hu, Koren and Volinsky), fitted by ``implicit``."""

    factors: int = defaults.FACTORS
    regularization: float = defaults.REGULARIZATION
    iterations: int = defaults.ITERATIONS
    alpha: float = defaults.ALPHA
    weighting: str = defaults.WEIGHTING
    seed: int = 42
    #: Spark's implicit ALS weighs a play as 1 + alpha * r and scales the regularisation by each
    #: listener's number of artists; a model it fitted is folded in the same way.
    confidence_offset: float = 0.0
    scale_regularization: bool = False
    name: str = "als"
    item_factors: np.ndarray | None = None
    learned_weighting: Weighting | None = None
    _gram: np.ndarray | None = field(default=None, repr=False, compare=False)

    def fit(self, plays: sp.csr_matrix) -> None:
        """Factorise the weighted matrix; only the item factors are kept (users are folded in)."""
        self._gram = None
        from implicit.cpu.als import AlternatingLeastSquares

        self.learned_weighting, confidence = Weighting.fitted(plays, self.weighting)
        with single_threaded_blas():
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
            )
            model.fit(confidence, show_progress=False)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def fold_in(self, plays: sp.csr_matrix) -> np.ndarray:
        """User factors for listeners the model has never seen: one least-squares solve each.

        Minimises sum_i c_ui (p_ui - x_u . y_i)^2 + reg |x_u|^2 with the item factors fixed, the
        same objective the fit alternates on.
        """
        assert self.item_factors is not None and self.learned_weighting is not None, "fit first"
        confidence = self.learned_weighting.apply(plays)
        confidence.data = self.confidence_offset + self.alpha * confidence.data
        gram = self.gram()
        identity = np.eye(self.factors)
        users = np.zeros((plays.shape[0], self.factors), dtype=np.float32)
        for row in range(plays.shape[0]):
            start, end = confidence.indptr[row], confidence.indptr[row + 1]
            if start == end:
                continue
            liked = self.item_factors[confidence.indices[start:end]].astype(np.float64)
            weights = confidence.data[start:end].astype(np.float64)
            penalty = self.regularization * ((end - start) if self.scale_regularization else 1)
            system = gram + penalty * identity + (liked.T * (weights - 1.0)) @ liked
            users[row] = np.linalg.solve(system, liked.T @ weights)
        return users

    def gram(self) -> np.ndarray:
        """Y'Y of the item factors (float64), shared by every fold-in: computed once."""
        assert self.item_factors is not None, "fit first"
        if self._gram is None:
            self._gram = (self.item_factors.T @ self.item_factors).astype(np.float64)
        return self._gram

    def use_gram(self, gram: np.ndarray) -> None:
        """Take a Y'Y computed earlier (a saved model carries it)."""
        self._gram = gram

    def score(self, plays: sp.csr_matrix) -> np.ndarray:
        """Predicted preference for every item."""
        assert self.item_factors is not None, "fit first"
        return self.fold_in(plays) @ self.item_factors.T


@dataclass
class EASE:
    """Embarrassingly Shallow Autoencoder (Steck 2019): a closed-form item-item regression.

    The solve is dense in the number of items, so only items with at least ``min_listeners``
    listeners take part (the rest cannot be learned from anyway); they score zero.
    """

    l2: float = 1000.0
    min_listeners: int = 2
    weighting: str = "log"
    name: str = "ease"
    items: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    weights: np.ndarray | None = None
    learned_weighting: Weighting | None = None
    item_count: int = 0

    def fit(self, plays: sp.csr_matrix) -> None:
        """B = I - P / diag(P) with P = (X'X + l2 I)^-1, on the items common enough to learn."""
        self.item_count = plays.shape[1]
        listeners = np.bincount(plays.indices, minlength=plays.shape[1])
        self.items = np.flatnonzero(listeners >= self.min_listeners)
        self.learned_weighting, weighted = Weighting.fitted(plays, self.weighting)
        weighted = weighted[:, self.items]
        gram = np.asarray((weighted.T @ weighted).todense(), dtype=np.float64)
        gram[np.diag_indices_from(gram)] += self.l2
        with single_threaded_blas(False):
            precision = np.linalg.inv(gram)
        weights = precision / -np.diag(precision)
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights = weights.astype(np.float32)

    def score(self, plays: sp.csr_matrix) -> np.ndarray:
        """The listener's weighted items times B, spread back over every item."""
        assert self.weights is not None and self.learned_weighting is not None, "fit first"
        weighted = self.learned_weighting.apply(plays)[:, self.items]
        scores = np.zeros((plays.shape[0], self.item_count), dtype=np.float32)
        scores[:, self.items] = weighted @ self.weights
        return scores


def _keep_top(matrix: sp.csr_matrix, count: int) -> sp.csr_matrix:
    """Keep each row's ``count`` largest entries."""
    rows, cols, values = [], [], []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        data = matrix.data[start:end]
        keep = (
            np.argpartition(-data, count)[:count] if end - start > count else np.arange(end - start)
        )
        rows.append(np.full(len(keep), row, dtype=np.int32))
        cols.append(matrix.indices[start:end][keep])
        values.append(data[keep])
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=matrix.shape
    )


@contextmanager
def single_threaded_blas(single: bool = True) -> Iterator[None]:
    """Run BLAS on one thread where another layer already parallelises (implicit's fit).

    With ``single=False`` BLAS may use every core (a dense solve that nothing else parallelises).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1 if single else (os.cpu_count() or 1), user_api="blas"):
        yield
