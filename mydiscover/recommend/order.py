"""A listening order that flows: neighbouring keys on the Camelot wheel, no jarring tempo jumps.

Greedy: the playlist opens with its best pick, then each next track is the one closest to the
last by tempo (half and double time count as close), key (Camelot distance) and artist (the
same artist twice in a row is avoided).
"""

from __future__ import annotations

import math

from mydiscover.audio.descriptors import pitch_class

#: Costs of the unknown: a track without a tempo or key is placed as a moderately rough step.
UNKNOWN_TEMPO = 1.5
UNKNOWN_KEY = 1.5
SAME_ARTIST = 3.0


def camelot(key: str | None, scale: str | None) -> tuple[int, str] | None:
    """The Camelot code of a key: C major is (8, "B"), A minor (8, "A")."""
    if not key or scale not in ("major", "minor"):
        return None
    major = pitch_class(key) if scale == "major" else (pitch_class(key) + 3) % 12
    return (major * 7 + 7) % 12 + 1, "B" if scale == "major" else "A"


def key_distance(a: tuple[int, str] | None, b: tuple[int, str] | None) -> float:
    """Steps around the wheel (one step: a neighbour number or the relative major/minor)."""
    if a is None or b is None:
        return UNKNOWN_KEY
    around = abs(a[0] - b[0])
    return min(around, 12 - around) + (a[1] != b[1])


def tempo_distance(a: float, b: float) -> float:
    """Tempo change in units of 10 BPM, half and double time counting as the same pulse."""
    if math.isnan(a) or math.isnan(b):
        return UNKNOWN_TEMPO
    return min(abs(a - b), abs(a - 2 * b), abs(2 * a - b)) / 10.0


def flowing_order(
    bpm: list[float], keys: list[tuple[int, str] | None], artists: list[str]
) -> list[int]:
    """An order of the indices 0..n-1 (0 first: the best pick opens the playlist)."""
    if not bpm:
        return []
    order = [0]
    left = set(range(1, len(bpm)))
    while left:
        last = order[-1]
        step = min(
            left,
            key=lambda i: (
                tempo_distance(bpm[last], bpm[i]) + key_distance(keys[last], keys[i])
                + (SAME_ARTIST if artists[i] == artists[last] else 0.0), i,
            ),
        )  # fmt: skip
        order.append(step)
        left.remove(step)
    return order
