"""Blending the signals on one scale: the log-odds that the listener plays the track.

Each signal's scores are first made comparable by rank: a track's *normal score* is the
standard normal quantile of its place among the candidates the signal judges (the median 0,
the best of 10,000 about 3.7), so no signal's long tail drowns the others. Then a blend maps
each signal onto the log-odds of a play: ``weight * normal score + offset``, the offset
saying how likely a track the signal judges is to be played at all (a track the public data
knows against one whose CF score the cold start had to predict from its sound). A signal
that cannot judge a track adds nothing, which is its average: a missing signal is estimated
at the mean, never counted as the worst. The weights and offsets are a logistic regression
(:func:`learn_blend`) fitted where plays are known: on HetRec 2K for the defaults, on the
listener's own history when there is enough of it.

Reciprocal-rank fusion, which this replaced, adds nothing for a missing signal: with half of
HetRec's artists hidden from CF it gave them 0 of 30 picks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mydiscover.recommend.signals import Signal, SignalName

#: The signals a blend knows, in the order reasons are given.
SIGNALS: tuple[str, ...] = tuple(SignalName)
CF, COLD, TEXT, AUDIO = SignalName.CF, SignalName.COLD, SignalName.TEXT, SignalName.AUDIO


@dataclass(frozen=True)
class Blend:
    """How the signals are fused: per signal, log-odds per normal score (``weights``) and
    log-odds for being judged at all (``offsets``); ``source`` says where they came from."""

    weights: dict[str, float]
    offsets: dict[str, float] = field(default_factory=dict)
    source: str = "given"

    def signal_described(self, name: str) -> str:
        """One signal's weight and offset, as ``described`` shows them: 'cf 0.82-1.67'."""
        return f"{name} {self.weights.get(name, 0.0):.2f}{self.offsets.get(name, 0.0):+.2f}"

    def described(self) -> str:
        """One line: the weights and offsets in use, and where they came from."""
        parts = [self.signal_described(name) for name in SIGNALS if name in self.weights]
        return f"blend ({self.source}): " + ", ".join(parts)


#: Learned and tuned by 'mydiscover eval weekly --hetrec <HetRec 2K> --learn --unknown-share
#: 0.5 --seeds 42' on a validation split carved from the training part (the test split never
#: seen), half the artists hidden from CF as a modern library is, with the CF default of
#: mydiscover.cf.defaults (96 factors, BM25 scaled, alpha 16); the cold start there
#: regresses tags onto CF, as the weekly regresses sound. Audio cannot be measured on HetRec
#: (no sound): it gets the cold start's weight (both read the sound) and no offset.
DEFAULT_BLEND = Blend(
    weights={CF: 0.82, COLD: 0.59, TEXT: 0.63, AUDIO: 0.59},
    offsets={CF: -1.67, COLD: -0.92, TEXT: 0.94, AUDIO: 0.0},
    source="defaults learned on HetRec 2K, half its artists hidden",
)
#: The same, learned with every artist known to CF ('--unknown-share 0 --learn --seeds 42'):
#: text then adds little to CF.
KNOWN_BLEND = Blend(
    weights={CF: 0.97, COLD: 0.73, TEXT: 0.20, AUDIO: 0.73},
    offsets={CF: -2.15, COLD: -1.47, TEXT: 1.04, AUDIO: 0.0},
    source="defaults learned on HetRec 2K, every artist known",
)
#: The CF model knows at least this share of the library's tracks' artists: KNOWN_BLEND.
KNOWN_SHARE = 0.75


def default_blend(known_share: float | None) -> Blend:
    """The defaults learned at the HetRec condition nearest the library's: KNOWN_BLEND when
    the CF model knows the artists of at least KNOWN_SHARE of its tracks (halfway between
    the two conditions), else DEFAULT_BLEND (``known_share`` None: no CF model)."""
    return KNOWN_BLEND if known_share is not None and known_share >= KNOWN_SHARE else DEFAULT_BLEND


@dataclass
class Fused:
    """The blended score of every library row (NaN where no signal judges it), which signal
    added most to each, and each signal's normal scores by row (NaN where it cannot judge)."""

    scores: np.ndarray
    lead_index: np.ndarray  # int: index into ``names``, -1 where no signal judges the row
    names: list[str]
    normal: dict[str, np.ndarray]

    def lead(self, row: int) -> str | None:
        """The signal that added most to ``row``'s score."""
        index = int(self.lead_index[row])
        return self.names[index] if index >= 0 else None


def normal_scores(values: np.ndarray) -> np.ndarray:
    """``values`` as log-rank scores among themselves: ``-ln(q) - 1`` where ``q`` is the share
    of the values at or above each one (ties counted half). The mean is 0 (the average a
    missing signal is estimated at), the worst -1, the best of N ``ln(2N) - 1``: a signal's hit
    rate falls with the log of the rank, so log-odds are linear in this."""
    if not len(values):
        return np.zeros(0)
    # One sort, and each run of equal values found from where the sorted values change: two
    # binary searches of 100,000 values in random order cost twice as much (a weekly that
    # learns its blend makes 48 of these).
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts_run = np.empty(len(ordered), dtype=bool)
    starts_run[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_run[1:])
    starts = np.flatnonzero(starts_run)
    ends = np.append(starts[1:], len(ordered))
    run = np.cumsum(starts_run) - 1
    above = len(ordered) - (starts[run] + ends[run]) / 2.0
    share = np.clip(above, 0.5, len(ordered)) / len(ordered)
    scores = np.empty(len(values))
    scores[order] = -np.log(share) - 1.0
    return scores


def signal_normals(
    signals: list[Signal], candidates: np.ndarray, size: int
) -> dict[str, np.ndarray]:
    """Each signal's normal scores over the candidates it judges (NaN elsewhere)."""
    normal: dict[str, np.ndarray] = {}
    for signal in signals:
        keep = candidates[signal.rows]
        rows, values = signal.rows[keep], signal.scores[keep]
        if not len(rows):
            continue
        full = np.full(size, np.nan)
        full[rows] = normal_scores(values)
        normal[signal.name] = full
    return normal


def fuse(signals: list[Signal], blend: Blend, candidates: np.ndarray, size: int) -> Fused:
    """Fuse ``signals`` over the rows where ``candidates`` (a bool mask over ``size`` rows)."""
    normal = signal_normals(signals, candidates, size)
    scores = np.zeros(size)
    scored = np.zeros(size, dtype=bool)
    best = np.full(size, -np.inf)
    lead_index = np.full(size, -1)
    names = list(normal)
    for index, name in enumerate(names):
        weight = blend.weights.get(name, 1.0)
        if weight <= 0:
            continue
        judged = ~np.isnan(normal[name])
        pull = weight * normal[name][judged]
        scores[judged] += pull + blend.offsets.get(name, 0.0)
        scored |= judged
        rows = np.flatnonzero(judged)
        better = pull > best[rows]
        best[rows[better]] = pull[better]
        lead_index[rows[better]] = index
    scores[~scored] = np.nan
    return Fused(scores, lead_index, names, normal)


def blend_features(normal: dict[str, np.ndarray], rows: np.ndarray, names: list[str]) -> np.ndarray:
    """The features :func:`learn_blend` fits for ``rows``: per signal its normal score (0
    where it cannot judge), then per signal whether it judges the row."""
    columns = [np.nan_to_num(normal[n][rows]) if n in normal else np.zeros(len(rows))
               for n in names]  # fmt: skip
    judged = [~np.isnan(normal[n][rows]) if n in normal else np.zeros(len(rows)) for n in names]
    return np.column_stack([*columns, *judged]).astype(np.float64)


def learn_blend(
    features: np.ndarray, played: np.ndarray, names: list[str], source: str, l2: float = 1.0
) -> Blend:
    """A logistic regression of ``played`` on :func:`blend_features`: its coefficients are the
    weights and offsets (the intercept, the same for every track, changes no ranking).

    Newton's method on the L2-penalised log-likelihood: a handful of features, so each step
    is one small solve. A signal that ends with a negative weight is dropped (weight 0)."""
    x = np.column_stack([features, np.ones(len(features))])
    y = played.astype(np.float64)
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    coef = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ coef, -30, 30)))
        gradient = x.T @ (p - y) + penalty * coef
        hessian = (x.T * (p * (1 - p))) @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        coef -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    count = len(names)
    weights = {n: round(max(float(coef[i]), 0.0), 3) for i, n in enumerate(names)}
    offsets = {n: round(float(coef[count + i]), 3) for i, n in enumerate(names)}
    return Blend(weights, offsets, source)


def parse_weights(text: str, blend: Blend = DEFAULT_BLEND) -> Blend:
    """``cf=1,text=0.5`` -> ``blend`` with those weights (its offsets kept)."""
    weights = dict(blend.weights)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name.strip() not in SIGNALS:
            raise ValueError(f"unknown signal {name.strip()!r}: known are {', '.join(SIGNALS)}")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"weight of {name.strip()} must be a number, not {value!r}") from None
    source = blend.source if weights == blend.weights else f"{blend.source}, --weights {text}"
    return Blend(weights, dict(blend.offsets), source)
