"""Blending the signals by weighted reciprocal-rank fusion.

Signals score on unrelated scales (a CF preference, a cosine of terms, a cosine of
embeddings), so they are fused by rank: each candidate gets sum(weight / (K + rank)) over the
signals that score it. A missing signal simply adds nothing; weights are settings that
evaluation can tune.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mydiscover.recommend.signals import Signal

#: The fusion constant of Cormack et al. (2009): it keeps the top ranks from dominating.
RRF_K = 60
#: text 0.3 was the best of 0.2-1 beside CF on HetRec 2K ('mydiscover eval weekly --hetrec');
#: audio and the cold start cannot be measured there (no audio) and keep plain weights.
DEFAULT_WEIGHTS = {"cf": 1.0, "cold": 0.5, "text": 0.3, "audio": 1.0}


@dataclass
class Fused:
    """The blended score of every library row (0 where no signal scores it), and which signal
    contributed most to each."""

    scores: np.ndarray
    lead: list[str | None]


def fuse(
    signals: list[Signal], weights: dict[str, float], candidates: np.ndarray, size: int
) -> Fused:
    """Fuse ``signals`` over the rows where ``candidates`` (a bool mask over ``size`` rows)."""
    scores = np.zeros(size)
    best = np.zeros(size)
    lead: list[str | None] = [None] * size
    for signal in signals:
        weight = weights.get(signal.name, 1.0)
        keep = candidates[signal.rows]
        rows, values = signal.rows[keep], signal.scores[keep]
        if weight <= 0 or not len(rows):
            continue
        order = np.argsort(-values, kind="stable")
        contribution = rank_weights(np.arange(1, len(rows) + 1), weight)
        ranked = rows[order]
        scores[ranked] += contribution
        better = contribution > best[ranked]
        best[ranked[better]] = contribution[better]
        for row in ranked[better].tolist():
            lead[row] = signal.name
    return Fused(scores, lead)


def rank_weights(ranks: np.ndarray, weight: float) -> np.ndarray:
    """What a rank (1 is the best) adds to the blend: weight / (K + rank)."""
    return weight / (RRF_K + ranks)


def parse_weights(text: str) -> dict[str, float]:
    """``cf=1,text=0.5`` -> {"cf": 1.0, "text": 0.5} over the defaults."""
    weights = dict(DEFAULT_WEIGHTS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name.strip() not in DEFAULT_WEIGHTS:
            raise ValueError(
                f"unknown signal {name.strip()!r}: known are {', '.join(DEFAULT_WEIGHTS)}"
            )
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"weight of {name.strip()} must be a number, not {value!r}") from None
    return weights
