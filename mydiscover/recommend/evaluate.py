"""Measuring the weekly itself, offline, with the weekly's own fusion and rules.

- :func:`temporal_holdout`: the user's own history: the weekly as it would have been made at a
  cut-off, judged by what was played in the weeks after.
- :func:`hetrec_weeklies`: HetRec Last.fm 2K made into a library of one track per artist (its
  plays the history, its listeners' tags the text, never a held-out listener's own tags of
  their held-out artists); optionally a share of the artists hidden from the CF model, as a
  modern library is half unknown to the public data. Every method's weekly goes through the
  same :func:`~mydiscover.recommend.rules.choose` (caps, new-artist quota, exclusions,
  jitter); the blend is compared with the best single signal by a paired bootstrap over
  listeners. HetRec has no sound, so the cold start's content there is the artists' tags
  (their TF-IDF vectors reduced by SVD), regressed onto CF's factors as audio is in the weekly.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from mydiscover.cf.evaluate import Split
from mydiscover.errors import MydiscoverError
from mydiscover.recommend.blend import (
    Blend,
    blend_features,
    default_blend,
    fuse,
    learn_blend,
    parse_weights,
    signal_normals,
)
from mydiscover.recommend.library import Library
from mydiscover.recommend.rules import Rules, choose
from mydiscover.recommend.signals import Signal, cf_known_share, fit_ridge
from mydiscover.recommend.tables import matched_listen_cutoff

if TYPE_CHECKING:
    from mydiscover.cf.store import FittedModel

#: The methods compared on HetRec: each a set of signals fused by the weekly's blend.
HETREC_METHODS: dict[str, tuple[str, ...]] = {
    "blend": ("cf", "cold", "text"),
    "cf": ("cf",),
    "cf+cold": ("cf", "cold"),
    "text": ("text",),
    "popular": ("popular",),
    "random": ("random",),
}
#: The single signals the blend must beat.
SINGLE_SIGNALS = ("cf", "text")
#: The multiples of the learned text weight that tuning tries on the validation split.
TEXT_SCALES = (0.25, 0.5, 1.0)
#: Dimensions of the tag vectors the HetRec cold start regresses from.
CONTENT_DIMENSIONS = 64


@dataclass(frozen=True)
class MethodResult:
    """One method's weeklies over the listeners: precision@k, and where the picks went."""

    method: str
    precision: float
    hidden_share: float  # share of the picks by artists hidden from CF
    hidden_hit_rate: float | None  # hit rate of those picks (None: no such pick)
    known_hit_rate: float | None
    per_listener: np.ndarray = field(repr=False)  # hits / k, one per listener


@dataclass(frozen=True)
class Comparison:
    """The blend against the best single signal: relative gain in precision, 95% interval."""

    against: str
    gain: float
    low: float
    high: float


def paired_bootstrap(
    ours: np.ndarray, theirs: np.ndarray, seed: int, rounds: int = 2000
) -> tuple[float, float, float]:
    """The relative gain of mean(ours) over mean(theirs), with a 95% percentile interval from
    resampling the same listeners for both (the pairs stay together)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(ours), size=(rounds, len(ours)))
    gains = ours[picks].mean(axis=1) / np.maximum(theirs[picks].mean(axis=1), 1e-12) - 1.0
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(ours.mean() / max(theirs.mean(), 1e-12) - 1.0), float(low), float(high)


def hetrec_library(keys: list[str]) -> Library:
    """HetRec's artists as a library of one track each (row = the artist's column)."""
    n = len(keys)
    return Library(
        ids=np.arange(n, dtype=np.int64), titles=[""] * n, artists=list(keys),
        albums=[""] * n, mbids=[""] * n,
        artist_keys=list(keys), album_keys=[""] * n, durations=np.full(n, 200.0),
        bpm=np.full(n, np.nan), keys=[None] * n, scales=[None] * n,
        embeddings=np.zeros((n, 0), np.float32), analysed=np.zeros(n, bool),
    )  # fmt: skip


@dataclass
class HetrecScores:
    """Every signal's scores for every listener of a split (users x artists), and which
    artists each signal can judge."""

    scores: dict[str, np.ndarray]  # users x artists, or one row for all ("popular")
    judged: dict[str, np.ndarray]  # per signal: bool over artists ("random" judges all)
    hidden: np.ndarray  # bool over artists: unknown to the CF model


def hetrec_scores(
    split: Split,
    text: Callable[[], object],
    unknown_share: float,
    seed: int,
    cf: Callable[[], object],
) -> HetrecScores:
    """Fit CF on the split's training part less the hidden artists, the text model on its
    visible tags, and the tags-to-CF cold start; score every listener with each."""
    from mydiscover.cf.models import ALS
    from mydiscover.text.evaluate import TextProfile

    rng = np.random.default_rng(seed)
    users, items = split.train.shape
    hidden = np.zeros(items, dtype=bool)
    hidden[rng.choice(items, size=round(unknown_share * items), replace=False)] = True
    public = (split.train @ sp.diags((~hidden).astype(np.float32))).tocsr()
    public.eliminate_zeros()
    model = cf()
    assert isinstance(model, ALS)
    model.fit(public)
    assert model.item_factors is not None
    listened = np.bincount(public.indices, minlength=items) > 0
    user_factors = model.fold_in(public)
    profile = text()
    assert isinstance(profile, TextProfile)
    profile.fit(split.train)
    described = profile.described()
    known = ~hidden & listened
    scores = {
        "cf": user_factors @ model.item_factors.T,
        "text": profile.score(split.train),
        # The same for every listener: one row, not a copy per listener.
        "popular": np.bincount(public.indices, minlength=items).astype(np.float32),
    }
    judged = {
        "cf": known,
        "text": described,
        "popular": known,
        "random": np.ones(items, dtype=bool),
    }
    trainable = known & described
    cold_rows = ~known & described
    if trainable.sum() >= 30 and cold_rows.any():
        content = _content_vectors(profile.vectors, seed)
        predict = fit_ridge(content[trainable], model.item_factors[trainable])
        cold = np.zeros((users, items), dtype=np.float32)
        cold[:, cold_rows] = user_factors @ predict(content[cold_rows]).T
        scores["cold"], judged["cold"] = cold, cold_rows
    return HetrecScores(scores, judged, hidden)


def _content_vectors(vectors: sp.csr_matrix, seed: int) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD

    dimensions = min(CONTENT_DIMENSIONS, vectors.shape[1] - 1)
    reduced = TruncatedSVD(dimensions, random_state=seed).fit_transform(vectors)
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    return (reduced / np.where(norms == 0, 1, norms)).astype(np.float64)


def hetrec_weeklies(
    split: Split,
    computed: HetrecScores,
    keys: list[str],
    blend: Blend,
    rules: Rules,
    seed: int,
    methods: dict[str, tuple[str, ...]] | None = None,
) -> list[MethodResult]:
    """Each method's weekly for every listener with held-out artists, by the weekly's fusion
    and rules; a pick is a hit when it is one of the listener's held-out artists."""
    methods = methods or HETREC_METHODS
    library = hetrec_library(keys)
    train, test = split.train.tocsr(), split.test.tocsr()
    listeners = np.flatnonzero(np.diff(test.indptr) > 0)
    hits = {name: np.zeros(len(listeners)) for name in methods}
    hidden_picks = {name: [0, 0] for name in methods}  # picks, hits
    known_picks = {name: [0, 0] for name in methods}
    columns = {name: np.flatnonzero(judged) for name, judged in computed.judged.items()}
    for position, user in enumerate(listeners.tolist()):
        candidates, mine, held, signals = _listener(train, test, user, computed, columns, keys,
                                                    seed)  # fmt: skip
        for method, parts in methods.items():
            used = [signals[part] for part in parts if part in signals]
            fused = fuse(used, blend, candidates, len(keys))
            picked = choose(library, fused.scores, candidates, mine, rules, seed + user)
            found = [item in held for item in picked]
            hits[method][position] = sum(found) / rules.size
            for item, hit in zip(picked, found, strict=True):
                tally = hidden_picks if computed.hidden[item] else known_picks
                tally[method][0] += 1
                tally[method][1] += hit
    results = []
    for method in methods:
        picks = hidden_picks[method][0] + known_picks[method][0]
        results.append(MethodResult(
            method, float(hits[method].mean()),
            hidden_picks[method][0] / picks if picks else 0.0,
            _rate(hidden_picks[method]), _rate(known_picks[method]), hits[method],
        ))  # fmt: skip
    return results


def compare_with_best_single(results: list[MethodResult], seed: int) -> Comparison:
    """The blend against the single signal with the highest precision."""
    by_name = {result.method: result for result in results}
    best = max((by_name[name] for name in SINGLE_SIGNALS if name in by_name),
               key=lambda result: result.precision)  # fmt: skip
    gain, low, high = paired_bootstrap(by_name["blend"].per_listener, best.per_listener, seed)
    return Comparison(best.method, gain, low, high)


def learn_hetrec_blend(
    split: Split, computed: HetrecScores, keys: list[str], seed: int, negatives: int = 100
) -> Blend:
    """The blend (:func:`~mydiscover.recommend.blend.learn_blend`) fitted on ``split`` (a
    validation split carved from the training part: never the test split): every held-out
    artist of each listener against ``negatives`` of their other candidates at random."""
    rng = np.random.default_rng(seed)
    names = list(HETREC_METHODS["blend"])
    train, test = split.train.tocsr(), split.test.tocsr()
    columns = {name: np.flatnonzero(judged) for name, judged in computed.judged.items()
               if name in names}  # fmt: skip
    features, labels = [], []
    for user in np.flatnonzero(np.diff(test.indptr) > 0).tolist():
        candidates, _, held, signals = _listener(train, test, user, computed, columns, keys, seed)
        normal = signal_normals(list(signals.values()), candidates, len(keys))
        others = np.flatnonzero(candidates)
        positives = np.fromiter(held, dtype=np.int64)
        sampled = rng.choice(others, min(negatives, len(others)), replace=False)
        rows = np.unique(np.concatenate([positives, sampled]))
        features.append(blend_features(normal, rows, names))
        labels.append(np.isin(rows, positives))
    return learn_blend(np.concatenate(features), np.concatenate(labels), names,
                       "learned on a validation split of HetRec 2K")  # fmt: skip


def tune_blend(
    split: Split,
    computed: HetrecScores,
    keys: list[str],
    rules: Rules,
    seed: int,
    learned: Blend,
    scales: tuple[float, ...] = TEXT_SCALES,
) -> Blend:
    """``learned`` with its text weight scaled by the one of ``scales`` whose weeklies have the
    best precision on ``split`` (the validation split it was learned on): the regression fits
    every candidate, the weekly is decided at the top."""
    best: tuple[float, Blend] = (-1.0, learned)
    for scale in scales:
        weights = {**learned.weights, "text": learned.weights.get("text", 0.0) * scale}
        how = f"{learned.source}, text weight x{scale:g} by its precision@{rules.size}"
        blend = Blend(weights, dict(learned.offsets), how)
        [result] = hetrec_weeklies(split, computed, keys, blend, rules, seed,
                                   {"blend": HETREC_METHODS["blend"]})  # fmt: skip
        if result.precision > best[0]:
            best = (result.precision, blend)
    return best[1]


@dataclass(frozen=True)
class SeedReport:
    """One seed of the HetRec evaluation: the blend used, every method, the comparison."""

    seed: int
    blend: Blend
    results: list[MethodResult]
    comparison: Comparison


def evaluate_hetrec_seed(
    plays: sp.csr_matrix,
    keys: list[str],
    text: Callable[[], object],
    *,
    seed: int,
    fraction: float,
    unknown_share: float,
    rules: Rules,
    blend: Blend | None,
    progress: Callable[[str], None] = lambda step: None,
) -> SeedReport:
    """Split HetRec at ``seed``; with ``blend`` None, learn and tune one on a validation split
    carved from the training part; then every method's weeklies on the test split."""
    from mydiscover.cf.evaluate import holdout_split
    from mydiscover.cf.models import ALS

    split = holdout_split(plays, fraction, seed)
    if blend is None:
        progress("learning the blend on a validation split")
        validation = holdout_split(split.train, fraction, seed + 1)
        seen = hetrec_scores(validation, text, unknown_share, seed, ALS)
        learned = learn_hetrec_blend(validation, seen, keys, seed)
        blend = tune_blend(validation, seen, keys, rules, seed, learned)
    progress("scoring the test split")
    computed = hetrec_scores(split, text, unknown_share, seed, ALS)
    progress("making every listener's weeklies")
    results = hetrec_weeklies(split, computed, keys, blend, rules, seed)
    return SeedReport(seed, blend, results, compare_with_best_single(results, seed))


def _listener(
    train: sp.csr_matrix,
    test: sp.csr_matrix,
    user: int,
    computed: HetrecScores,
    columns: dict[str, np.ndarray],
    keys: list[str],
    seed: int,
) -> tuple[np.ndarray, set[str], set[int], dict[str, Signal]]:
    """One listener's candidates (what they have not played), artists, held-out artists and
    signals."""
    played = train.indices[train.indptr[user] : train.indptr[user + 1]]
    held = set(test.indices[test.indptr[user] : test.indptr[user + 1]].tolist())
    candidates = np.ones(len(keys), dtype=bool)
    candidates[played] = False
    mine = {keys[item] for item in played.tolist()}
    signals = {name: Signal(name, rows, _row(computed, name, user, rows, seed), str)
               for name, rows in columns.items()}  # fmt: skip
    return candidates, mine, held, signals


def _row(computed: HetrecScores, name: str, user: int, rows: np.ndarray, seed: int) -> np.ndarray:
    if name == "random":
        return np.random.default_rng(seed * 100_003 + user).random(len(rows))
    scores = computed.scores[name]
    return scores[user, rows] if scores.ndim == 2 else scores[rows]


def _rate(tally: list[int]) -> float | None:
    return tally[1] / tally[0] if tally[0] else None


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
    new_artist_hit_rate: float | None  # hit rate of those picks (None: no such pick)
    known_artist_hit_rate: float | None


def temporal_holdout(
    conn: sqlite3.Connection,
    model: FittedModel | None,
    cutoff: int,
    horizon_days: int,
    rules: Rules,
    weights: str = "",
) -> tuple[list[TemporalResult], str]:
    """Make the weekly as it would have been made at ``cutoff`` (history before it only), by
    the blend, each signal alone, most-popular and at random; a pick is a hit when the user
    played it within ``horizon_days`` after. The blend is learned from the history before
    the cut-off, as the weekly learns it, unless ``weights`` go over the defaults. Also
    returns where the blend came from."""
    from mydiscover.history.tables import load_history, tracks_played_between
    from mydiscover.recommend.learn import blend_for
    from mydiscover.recommend.library import load_library
    from mydiscover.recommend.rules import candidate_mask, choose
    from mydiscover.recommend.weekly import compute_signals

    library = load_library(conn)
    before = load_history(conn, before=cutoff)
    played_after = tracks_played_between(conn, cutoff, cutoff + horizon_days * 86_400)
    candidates = candidate_mask(library, before, set(), rules, cutoff)
    known = {artist.key for artist in before.artists}
    seed = 42
    if weights:
        blend = parse_weights(weights, default_blend(cf_known_share(model, library)))
        said = blend.described()
    else:
        learned = blend_for(conn, library, model, now=cutoff, rules=rules, seed=seed)
        blend, said = learned.blend, learned.note
    signals = compute_signals(conn, library, before, model, seed)
    methods: dict[str, np.ndarray] = {
        "blend": fuse(signals, blend, candidates, len(library)).scores,
        **{
            s.name: fuse([s], Blend({s.name: 1.0}), candidates, len(library)).scores
            for s in signals
        },
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
            *(_rate([len(group), int(hits[group].sum())]) for group in _by_novelty(
                library, picked, known)),
        ))  # fmt: skip
    return results, said


def _by_novelty(library: Library, picked: list[int], known: set[str]) -> list[list[int]]:
    """The positions in ``picked`` of new-artist picks, then of known-artist ones."""
    new = [i for i, row in enumerate(picked) if library.artist_keys[row] not in known]
    return [new, [i for i in range(len(picked)) if i not in set(new)]]


def default_cutoff(conn: sqlite3.Connection, share: float = 0.8) -> int | None:
    """The time by which ``share`` of the matched listens had happened."""
    return matched_listen_cutoff(conn, share)


def _popularity(model: FittedModel | None, library: Library) -> np.ndarray:
    """Each track's artist's listeners in the public data (NaN where unknown)."""
    scores = np.full(len(library), np.nan)
    if model is not None and len(model.popularity):
        items, _ = model.lookup(library.mbids, library.artist_keys)
        scores[items >= 0] = model.popularity[items[items >= 0]]
    return scores


def evaluate_hetrec(
    plays: sp.csr_matrix,
    keys: list[str],
    text: Callable[[], object],
    seeds: list[int],
    *,
    fraction: float,
    unknown_share: float,
    rules: Rules,
    blend: Blend | None,
    progress: Callable[[int, str], None] = lambda seed, step: None,
) -> list[SeedReport]:
    """:func:`evaluate_hetrec_seed` at each of ``seeds`` (at least one);
    ``progress(seed, step)`` as it goes."""
    if not seeds:
        raise MydiscoverError("--seeds: give at least one seed")
    return [
        evaluate_hetrec_seed(plays, keys, text, seed=seed, fraction=fraction,
                             unknown_share=unknown_share, rules=rules, blend=blend,
                             progress=lambda step, seed=seed: progress(seed, step))
        for seed in seeds
    ]  # fmt: skip


def own_history_holdout(
    conn: sqlite3.Connection,
    model: FittedModel | None,
    cutoff_day: str | None,
    horizon_days: int,
    rules: Rules,
    weights: str = "",
) -> tuple[list[TemporalResult], str, int]:
    """:func:`temporal_holdout` at ``cutoff_day`` (YYYY-MM-DD, UTC; None: when 80% of the
    matched listens had happened): its results, where the blend came from, and the cut-off
    (UTC seconds). A MydiscoverError for a bad date or a history too short."""
    if cutoff_day is None:
        when = default_cutoff(conn)
        if when is None:
            raise MydiscoverError("too little listening history to hold any out: import more")
    else:
        try:
            day = dt.datetime.strptime(cutoff_day, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            raise MydiscoverError(f"--cutoff {cutoff_day!r}: write a date as YYYY-MM-DD") from None
        when = int(day.timestamp())
    results, said = temporal_holdout(conn, model, when, horizon_days, rules, weights)
    return results, said, when
