"""The weekly's signals: each scores the library's tracks for the user, with a reason.

- ``cf``: the user's folded-in preference for the track's artist in the public co-listening
  model (and the similarity services' lists for artists the public data lacks);
- ``cold``: Spotify's cold start: a ridge regression learns, on the library's own tracks,
  to map a track's audio embedding to its artist's CF factors, so a track by an artist the
  public data lacks still gets a predicted CF score (the blend puts it on the same scale of
  log-odds of a play as the others);
- ``text``: the track's terms (its album's and artist's) against the user's term profile,
  weighed by how much text there is;
- ``audio``: the track's embedding against the user's taste centroids (k-means over what they
  play, so a listener of jazz and of metal gets both, not jazz-metal).

A signal that cannot be computed (no model, no terms, nothing analysed, no history) is absent;
the blend then counts it as average for every track (see mydiscover.recommend.blend).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from mydiscover.cf.tables import similar_lists, similar_to_user_artists
from mydiscover.history.tables import History
from mydiscover.recommend.library import Library
from mydiscover.recommend.tables import store_audio_map, stored_audio_map
from mydiscover.text.tables import entity_words, has_documents, track_genres

if TYPE_CHECKING:
    from mydiscover.cf.store import FittedModel

#: The most taste centroids (a listener's distinct "tastes").
MAX_CENTROIDS = 6
#: Played, analysed tracks per centroid, at least.
TRACKS_PER_CENTROID = 8


class SignalName(StrEnum):
    """The weekly's signals, by the names blends, reasons and stats use."""

    CF = "cf"
    COLD = "cold"
    TEXT = "text"
    AUDIO = "audio"


@dataclass
class Signal:
    """Scores by library row, and a reason for any scored row (made only when asked: a
    weekly explains 30 tracks, not 100,000)."""

    name: str
    rows: np.ndarray  # int64 library rows with a score
    scores: np.ndarray  # float, same length
    explain: Callable[[int], str]


def cf_signals(
    conn: sqlite3.Connection, model: FittedModel | None, history: History, library: Library
) -> list[Signal]:
    """The CF signal and, from it, the audio-to-CF cold start; none without a model.

    Scored in arrays over the whole library (the ``cf score`` path builds a record per track,
    which the weekly cannot afford on 100,000 tracks); reasons are made for the picks only.
    """
    from mydiscover.cf.score import because_of, fold_in_user, listed_scores
    from mydiscover.errors import MydiscoverError

    if model is None or not history.artists:
        return []
    assert model.als.item_factors is not None
    try:
        user_factors, user_plays = fold_in_user(model, history.artists)
    except MydiscoverError:  # none of the user's artists is in the public data
        return []
    view = _view(model, library)
    items = view.items
    known = np.flatnonzero(items >= 0)
    scores = model.als.item_factors[items[known]] @ user_factors
    # Artists the public data lacks, listed by similarity services beside the user's, or
    # listing artists of the model themselves (asked by 'cf enrich').
    unknown = np.flatnonzero(items < 0)
    listed = listed_scores(model, history.artists, user_factors, similar_to_user_artists(conn),
                           {library.artist_keys[row] for row in unknown.tolist()},
                           similar_lists(conn))  # fmt: skip
    listed_rows = [row for row in unknown.tolist() if library.artist_keys[row] in listed]
    names = {artist.key: artist.name for artist in history.artists}
    # A dataset that knows artists by MBID only (MLHD) names them by MBID: yours by your name.
    by_mbid = {artist.mbid: artist.name for artist in history.artists if artist.mbid}

    def explain(row: int) -> str:
        if items[row] < 0:
            _, beside, yours = listed[library.artist_keys[row]]
            who = f"{names.get(beside, beside)}, which you play" if yours else (
                f"{beside}, whom listeners like you play")  # fmt: skip
            return f"similar-artist lists put it beside {who}"
        [mine] = because_of(model, items[row : row + 1], user_plays)
        mine = by_mbid.get(mine, mine)
        theirs = model.names[int(items[row])]
        if theirs == library.mbids[row]:
            theirs = library.artists[row]
        if mine and mine != theirs:
            return f"listeners of {mine} also play it"
        return f"more of {theirs}, whom you play: listeners like you rate it highly"

    rows = np.concatenate([known, np.array(listed_rows, dtype=np.int64)])
    values = np.concatenate([scores, [listed[library.artist_keys[r]].score for r in listed_rows]])
    signals = [Signal(SignalName.CF, rows, values.astype(float), explain)]
    _kept_audio_map(conn, view, rows)
    cold = cold_start(view, user_factors, rows)
    if cold is not None:
        signals.append(cold)
    return signals


#: Analysed tracks whose artist the CF model knows that the audio-to-CF map needs, at least.
MIN_TRAINABLE = 30
#: Training rows the audio-to-CF ridge takes at a time.
RIDGE_CHUNK = 65_536
#: The audio-to-CF ridge's penalty, chosen on bench_sound.py's validation seeds 1, 2, 3 (0.01
#: to 100: 0.1 gave 1.92x random precision@30 on the removed composers, 1 gave 1.85x); on a
#: library of tens of thousands of tracks any of them gives the same map.
AUDIO_TO_CF_ALPHA = 0.1


@dataclass
class ModelView:
    """What a CF model says of a library's tracks: each one's item (-1: unknown) and the
    audio-to-CF map (fitted at need). It depends on neither the history nor the cut-off, so
    the weekly and the cut-offs its blend learns from (five calls) compute it once."""

    model: FittedModel
    library: Library
    items: np.ndarray
    audio_to_cf: LinearMap | None = None

    @cached_property
    def trainable(self) -> np.ndarray:
        """The rows the audio-to-CF map learns from: analysed, by an artist the model knows
        (made once: the weekly and its cut-offs ask for them)."""
        return np.flatnonzero((self.items >= 0) & self.library.analysed)

    def cold_rows(self, known_rows: np.ndarray) -> np.ndarray:
        """The analysed rows not in ``known_rows`` (CF's own): what the cold start scores (a
        mask: setdiff1d sorts 100,000 rows on every call)."""
        cold = self.library.analysed.copy()
        cold[known_rows] = False
        return np.flatnonzero(cold)

    def audio_map(self) -> LinearMap:
        """The audio-to-CF map: a ridge regression from the trainable tracks' embeddings to
        their artists' CF factors, fitted at the first need."""
        if self.audio_to_cf is None:
            factors = self.model.als.item_factors
            assert factors is not None
            trainable = self.trainable
            parts = [trainable[i : i + RIDGE_CHUNK] for i in range(0, len(trainable), RIDGE_CHUNK)]
            self.audio_to_cf = fit_ridge_chunks(
                ((self.library.embeddings[rows], factors[self.items[rows]]) for rows in parts),
                AUDIO_TO_CF_ALPHA,
            )
        return self.audio_to_cf


#: The last view made (one: a process makes one weekly at a time).
_LAST_VIEW: list[ModelView] = []


def _view(model: FittedModel, library: Library) -> ModelView:
    if _LAST_VIEW and _LAST_VIEW[0].model is model and _LAST_VIEW[0].library is library:
        return _LAST_VIEW[0]
    items, _ = model.lookup(library.mbids, library.artist_keys)
    _LAST_VIEW[:] = [ModelView(model, library, items)]
    return _LAST_VIEW[0]


def cf_known_share(model: FittedModel | None, library: Library) -> float | None:
    """The share of the library's tracks whose artist the CF model knows (None: no model)."""
    if model is None or not len(library):
        return None
    return float(np.mean(_view(model, library).items >= 0))


def cold_start(view: ModelView, user_factors: np.ndarray, known_rows: np.ndarray) -> Signal | None:
    """Predict the CF score from audio for analysed tracks whose artist has no CF score.

    A ridge regression from embeddings to CF factors, trained on the library's analysed
    tracks whose artist the public model knows (their artist's factors are the targets;
    needs a few dozen), times the user's factors: the same linear map as regressing the
    user's CF scores themselves, so the prediction is on CF's scale.
    """
    model, library, items = view.model, view.library, view.items
    assert model.als.item_factors is not None
    trainable = view.trainable
    unknown = view.cold_rows(known_rows)
    if len(trainable) < MIN_TRAINABLE or not len(unknown):
        return None
    predict = view.audio_map()
    predicted = predict(library.embeddings[unknown]) @ user_factors
    # The reason: the CF-known track it sounds most like among those CF likes for the user.
    trainable_scores = model.als.item_factors[items[trainable]] @ user_factors
    liked = trainable[trainable_scores >= np.quantile(trainable_scores, 0.75)]

    named: Counter[int] = Counter()

    def explain(row: int) -> str:
        nearest = _fresh(liked[np.argsort(-(library.embeddings[liked] @ library.embeddings[row]))],
                         named)  # fmt: skip
        return (
            f"new to the public data; sounds like {library.artists[nearest]}, whom listeners "
            "like you play"
        )

    return Signal(SignalName.COLD, unknown, predicted.astype(float), explain)


def _kept_audio_map(conn: sqlite3.Connection, view: ModelView, known_rows: np.ndarray) -> None:
    """Give the view the stored audio-to-CF map when it was fitted from this model and these
    tracks, else fit it now and store it (when some analysed track is not in ``known_rows``,
    CF's own: else the cold start has nothing to score): it changes only when the model or
    the analysis does, and refitting it cost a weekly on 100,000 tracks a tenth of its time.

    What it was fitted from is a digest of the model's fingerprint, the penalty, and the
    training tracks' ids, items and first embedding component (a track analysed anew changes
    it): hashing every embedding would cost as much as the fit.
    """
    trainable = view.trainable
    if (view.audio_to_cf is not None or len(trainable) < MIN_TRAINABLE
            or not len(view.cold_rows(known_rows))):  # fmt: skip
        return
    digest = hashlib.sha256(f"{view.model.fingerprint}\0{AUDIO_TO_CF_ALPHA}\0".encode())
    for column in (view.library.ids[trainable], view.items[trainable],
                   view.library.embeddings[trainable, 0]):  # fmt: skip
        digest.update(np.ascontiguousarray(column).tobytes())
    made_from = digest.hexdigest()
    if (stored := stored_audio_map(conn, made_from)) is not None:
        try:
            view.audio_to_cf = LinearMap.from_bytes(stored)
            return
        except (ValueError, KeyError, OSError):
            pass  # damaged: fitted again and stored anew
    fitted = view.audio_map()
    # A database another process is writing, or a read-only one: fitted again next time.
    with contextlib.suppress(sqlite3.OperationalError):
        store_audio_map(conn, made_from, fitted.to_bytes())


def text_signal(conn: sqlite3.Connection, history: History, library: Library) -> Signal | None:
    """Each track's terms (its album's, else its artist's) against the user's term profile."""
    from mydiscover.text.terms import evidence, term_vectors

    entities, matrix, vocabulary = term_vectors(conn)
    if not entities or not history.artists:
        return None
    index = {entity: row for row, entity in enumerate(entities)}
    profile_weights = np.zeros(len(entities), dtype=np.float32)
    for artist in history.artists:
        if (artist.key, "") in index:
            profile_weights[index[(artist.key, "")]] += np.log1p(artist.plays)
    profile = np.asarray((sp.csr_matrix(profile_weights) @ matrix).todense()).ravel()
    if not profile.any():
        return None
    profile /= np.linalg.norm(profile)
    words = entity_words(conn)
    trust = evidence(np.array([words.get(entity, 0) for entity in entities], dtype=float))
    entity_scores = (matrix @ profile) * trust
    # Each album's entity if it has terms and they score higher, else its artist's: per
    # album in arrays, then spread over the tracks (no loop over 100,000 rows per cut-off).
    codes, pairs = library.album_codes()
    album_entity = np.array([index.get(pair, -1) if pair[0] else -1 for pair in pairs],
                            dtype=np.int64)  # fmt: skip
    artist_entity = np.array([index.get((pair[0], ""), -1) if pair[0] else -1 for pair in pairs],
                             dtype=np.int64)  # fmt: skip
    album_score = np.where(album_entity >= 0, entity_scores[album_entity], -np.inf)
    artist_score = np.where(artist_entity >= 0, entity_scores[artist_entity], -np.inf)
    entity_of_row = np.where(album_score >= artist_score, album_entity, artist_entity)[codes]
    rows = np.flatnonzero(entity_of_row >= 0)

    def explain(row: int) -> str:
        entity = int(entity_of_row[row])
        terms = _shared_terms(matrix[entity], profile, vocabulary)
        if not terms:
            return ""
        artist, album = entities[entity]
        by_artist = np.flatnonzero(library.by_artists({artist}))
        tracks = [
            int(library.ids[r])
            for r in by_artist.tolist()
            if not album or library.album_keys[r] == album
        ]  # the entity's own tracks
        return _text_reason(has_documents(conn, entities[entity]), track_genres(conn, tracks),
                            terms)  # fmt: skip

    if not len(rows):
        return None
    return Signal(SignalName.TEXT, rows, entity_scores[entity_of_row[rows]].astype(float), explain)


def _shared_terms(vector: sp.csr_matrix, profile: np.ndarray, vocabulary: list[str]) -> list[str]:
    """The terms the track and the user's profile share most (three at most)."""
    contribution = vector.data * profile[vector.indices]
    best: list[str] = []
    for i in np.argsort(-contribution):
        term = vocabulary[vector.indices[i]]
        if contribution[i] <= 0 or len(best) == 3:
            break
        if not any(term in chosen.split() or chosen in term for chosen in best):
            best.append(term)  # "dream pop" says what "dream" and "pop" would
    return best


def _text_reason(reviewed: bool, genres: list[str], terms: list[str]) -> str:
    """The shared terms, saying where they come from: the files' own genre tags, the reviews
    and articles fetched, or both (terms are built from both)."""
    quoted = ", ".join(f"'{term}'" for term in terms)
    if not reviewed:
        return f"your tags say {quoted}"
    tagged = " ".join(genres).lower()
    if any(term in tagged for term in terms):
        return f"reviews and your tags say {quoted}"
    return f"reviews say {quoted}"


def audio_signal(history: History, library: Library, seed: int) -> Signal | None:
    """Each analysed track against the user's taste centroids in embedding space, the
    library's mean embedding taken out first (what every track shares, mostly the recording's
    sound: on bench_sound.py's validation seeds 3.23x -> 3.31x random precision@30)."""
    row_of = library.row_of()
    played = [(row_of[t], n) for t, n in history.track_plays.items() if t in row_of]
    played = [(row, n) for row, n in played if library.analysed[row]]
    if not played:
        return None
    rows = np.array([row for row, _ in played], dtype=np.int64)
    weights = np.log1p(np.array([n for _, n in played], dtype=float))
    vectors = library.centred(rows)
    clusters = int(min(MAX_CENTROIDS, max(1, len(rows) // TRACKS_PER_CENTROID)))
    centroids, _labels = spherical_kmeans(vectors, weights, clusters, seed)
    candidates = np.flatnonzero(library.analysed)
    similarity = library.centred_similarity(centroids)[candidates]

    named: Counter[int] = Counter()

    def explain(row: int) -> str:
        # The played track nearest this one, not one face per taste, and one already named
        # twice in this weekly gives way to the next nearest (explain is asked once per pick,
        # in order): a weekly's audio picks then name many tracks, not "sounds like X" 20 times.
        nearest = _fresh(rows[np.argsort(-(vectors @ library.centred(np.array([row]))[0]))],
                         named)  # fmt: skip
        return f"sounds like {library.artists[nearest]} - {library.titles[nearest]}, which you play"

    return Signal(SignalName.AUDIO, candidates, similarity.max(axis=1).astype(float), explain)


#: How often one track may be named in a weekly's "sounds like" reasons before the next
#: nearest is named instead.
REASON_REPEATS = 2


def _fresh(nearest_first: np.ndarray, named: Counter[int]) -> int:
    """The first of ``nearest_first`` named fewer than :data:`REASON_REPEATS` times (else the
    nearest), counted as named once more."""
    chosen = int(nearest_first[0])
    for row in nearest_first[:50].tolist():
        if named[row] < REASON_REPEATS:
            chosen = row
            break
    named[chosen] += 1
    return chosen


# The weekly's two small fits are closed-form NumPy: scikit-learn's import alone costs the
# weekly about a second and 150 MB, more than the whole rest of its work.


@dataclass(frozen=True)
class LinearMap:
    """A fitted linear regression: ``(x - x_mean) @ weights + y_mean``."""

    weights: np.ndarray
    x_mean: np.ndarray
    y_mean: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The predictions for the rows of ``x``."""
        return (x - self.x_mean) @ self.weights + self.y_mean

    def to_bytes(self) -> bytes:
        """The map as a NumPy .npz, to store."""
        buffer = io.BytesIO()
        np.savez(buffer, weights=self.weights, x_mean=self.x_mean, y_mean=self.y_mean)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, stored: bytes) -> LinearMap:
        """A map from :meth:`to_bytes`; ValueError, KeyError or OSError if it is damaged."""
        with np.load(io.BytesIO(stored), allow_pickle=False) as arrays:
            found = cls(arrays["weights"], arrays["x_mean"], arrays["y_mean"])
        if found.weights.shape != (len(found.x_mean), len(found.y_mean)):
            raise ValueError("the stored map's shapes disagree")
        return found


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> LinearMap:
    """Ridge regression with an intercept: W = (X'X + alpha I)^-1 X'Y on centred data."""
    return fit_ridge_chunks([(x, y)], alpha)


def fit_ridge_chunks(chunks: Iterable[tuple[np.ndarray, np.ndarray]], alpha: float) -> LinearMap:
    """:func:`fit_ridge` over the rows of ``chunks`` (pairs of X and Y rows) taken one pair at
    a time: the training rows of a large library are never copied all at once (360 MB at
    500,000 tracks).

    The products are taken on the inputs as they are (float32 embeddings: one BLAS call each,
    no centred float64 copy) and centred afterwards in float64, which is exact algebra:
    (X - 1m')'(X - 1m') = X'X - n mm'.
    """
    count, gram, cross, x_sum, y_sum = 0, 0.0, 0.0, 0.0, 0.0
    for x, y in chunks:
        count += len(x)
        gram = gram + (x.T @ x).astype(np.float64)
        cross = cross + (x.T @ y.astype(x.dtype)).astype(np.float64)
        x_sum = x_sum + x.sum(axis=0, dtype=np.float64)
        y_sum = y_sum + y.sum(axis=0, dtype=np.float64)
    x_mean, y_mean = np.asarray(x_sum) / count, np.asarray(y_sum) / count
    gram = gram - count * np.outer(x_mean, x_mean)
    cross = cross - count * np.outer(x_mean, y_mean)
    weights = np.linalg.solve(gram + alpha * np.eye(len(x_mean)), cross)
    return LinearMap(weights, x_mean, y_mean)


def spherical_kmeans(
    vectors: np.ndarray, weights: np.ndarray, clusters: int, seed: int, iterations: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means on unit vectors by cosine (k-means++ start): unit centroids, labels."""
    rng = np.random.default_rng(seed)
    centroids = [vectors[rng.choice(len(vectors), p=weights / weights.sum())]]
    for _ in range(1, clusters):
        distance = 1.0 - np.max(vectors @ np.array(centroids).T, axis=1)
        chances = np.maximum(distance, 0) * weights
        if chances.sum() <= 0:
            break
        centroids.append(vectors[rng.choice(len(vectors), p=chances / chances.sum())])
    centres = np.array(centroids)
    labels = np.zeros(len(vectors), dtype=np.int64)
    weighted = vectors * weights[:, None].astype(vectors.dtype)  # (float64: a copy twice as big)
    members = np.zeros((len(centres), len(vectors)), dtype=weighted.dtype)
    for _ in range(iterations):
        labels = np.argmax(vectors @ centres.T, axis=1)
        members[:] = 0
        members[labels, np.arange(len(vectors))] = 1
        # Each cluster's weighted sum in one product (a mask per cluster copied the vectors);
        # a cluster left empty keeps its centre.
        moved = np.where(members.any(axis=1)[:, None], members @ weighted, centres)
        moved /= np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-9)
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres, labels
