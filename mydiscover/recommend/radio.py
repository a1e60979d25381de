"""Instant Mix: the library's tracks and artists most like one track or artist, from the CF
model and the sound together, loaded once and answering in milliseconds (``mydiscover serve``
gives them to Subsonic clients and the web page).

Each signal's similarity is standardised over the library (z-scores), so the two add on one
scale. A track whose artist the public data lacks gets its artist's CF factors estimated from
its sound (the cold start's audio-to-CF map), not a silent zero: it can still be in a mix.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from mydiscover.cf.store import FittedModel, fitted_model
from mydiscover.history.tables import load_history
from mydiscover.library.match import artist_key
from mydiscover.recommend.library import Library, load_library
from mydiscover.recommend.signals import MIN_TRAINABLE, ModelView
from mydiscover.recommend.tables import banned_tracks

#: At most this share of a mix is by one artist (the seed's own included): a radio, not the
#: artist's discography.
ARTIST_SHARE = 0.2
#: Candidates taken from the top of the fused scores before the per-artist cap is applied.
SHORTLIST = 8


class Similar(NamedTuple):
    """A library track (its row) like the seed, with the fused score and each signal's
    similarity (None where the signal cannot judge it)."""

    row: int
    score: float
    audio: float | None
    cf: float | None


@dataclass
class Radio:
    """The library, with what the models say of each track, for mixes."""

    library: Library
    #: Each artist's unit CF factors, by the library's artist codes (zero rows where neither
    #: the model nor the sound can say).
    artist_factors: np.ndarray
    #: Each artist's centred, unit-length mean embedding (zero where none is analysed).
    artist_sound: np.ndarray
    artist_rows: list[np.ndarray]
    plays: np.ndarray  # the user's plays per row
    banned: set[int]

    @classmethod
    def load(cls, conn: sqlite3.Connection, database: Path) -> Radio:
        """Read the library, the CF model and the user's plays."""
        library = load_library(conn)
        codes, index = library.artist_codes()
        artists = len(index)
        model = fitted_model(database)
        factors = _artist_factors(library, model, codes, artists)
        analysed = np.flatnonzero(library.analysed)
        sound = _sum_by(codes[analysed], library.centred(analysed), artists)
        history = load_history(conn)
        row_of = library.row_of()
        plays = np.zeros(len(library), np.int64)
        for track, count in history.track_plays.items():
            if track in row_of:
                plays[row_of[track]] = count
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(artists + 1))
        rows = [order[bounds[i] : bounds[i + 1]] for i in range(artists)]
        return cls(library, factors, _unit(sound), rows, plays, banned_tracks(conn))

    def row(self, track_id: int) -> int | None:
        """The library row of a track id (None: not an available track)."""
        return self.library.row_of().get(track_id)

    def artist_code(self, name: str) -> int | None:
        """The artist code of a name as the library spells it (any spelling of its key)."""
        return self.library.artist_codes()[1].get(artist_key(name))

    def similar_tracks(
        self, row: int, count: int, within: np.ndarray | None = None
    ) -> list[Similar]:
        """The tracks most like the track at ``row``, by its sound and its artist's listeners
        together, at most a fifth by one artist, the seed and banned tracks left out
        (``within``: a mask of the rows that may be in it, such as those a server has)."""
        audio = self._audio_similarity(self.library.analysed[row], self._sound_of_row(row))
        codes = self.library.artist_codes()[0]
        cf = self._cf_similarity(codes[row])
        return self._mix(row, count, audio, cf, within)

    def artist_mix(self, code: int, count: int, within: np.ndarray | None = None) -> list[Similar]:
        """Artist radio: the tracks most like the artist ``code`` as a whole (its tracks' mean
        sound and its listeners), its own among them (at most a fifth, as any artist's)."""
        sound = self.artist_sound[code]
        audio = self._audio_similarity(bool(sound.any()), sound)
        return self._mix(None, count, audio, self._cf_similarity(code), within)

    def sonic_tracks(self, row: int, count: int, within: np.ndarray | None = None) -> list[Similar]:
        """The tracks that sound most like the track at ``row`` (the sound alone)."""
        if not self.library.analysed[row]:
            return []
        audio = self._audio_similarity(True, self._sound_of_row(row))
        return self._mix(row, count, audio, None, within)

    def sonic_path(
        self, start: int, end: int, count: int, within: np.ndarray | None = None
    ) -> list[int]:
        """Rows from ``start`` to ``end`` (both included) whose sound moves step by step from
        the one to the other: each step the unused track nearest a point on the way."""
        library = self.library
        if count < 2 or not (library.analysed[start] and library.analysed[end]):
            return [start, end][: max(count, 1)]
        steps = np.linspace(0.0, 1.0, count)[1:-1, None]
        first, last = library.centred(np.array([start, end]))
        targets = (1 - steps) * first + steps * last
        targets /= np.maximum(np.linalg.norm(targets, axis=1, keepdims=True), 1e-9)
        similarity = library.centred_similarity(targets)
        similarity[~library.analysed] = -np.inf
        similarity[self._banned_rows()] = -np.inf
        if within is not None:
            similarity[~within] = -np.inf
        used = {start, end}
        path = [start]
        for step in range(similarity.shape[1]):
            column = similarity[:, step]
            for candidate in np.argsort(-column)[: len(used) + 1].tolist():
                if candidate not in used:
                    used.add(candidate)
                    path.append(candidate)
                    break
        return [*path, end]

    def similar_artists(self, name: str, count: int) -> list[tuple[str, float]]:
        """The library's artists most like ``name`` (sound and listeners together), as the
        library spells them, with the fused score; [] for an artist the library lacks."""
        code = self.artist_code(name)
        if code is None:
            return []
        has_sound = bool(self.artist_sound[code].any())
        audio = _standard(self.artist_sound @ self.artist_sound[code], self.artist_sound.any(1))
        cf = _standard(self.artist_factors @ self.artist_factors[code], self.artist_factors.any(1))
        score = (audio if has_sound else 0.0) + (cf if self.artist_factors[code].any() else 0.0)
        score[code] = -np.inf
        best = np.argsort(-score)[:count]
        return [(self._artist_name(int(a)), float(score[a])) for a in best if np.isfinite(score[a])]

    def top_tracks(self, name: str, count: int, within: np.ndarray | None = None) -> list[int]:
        """The artist's library tracks, the user's most played first, then those that sound
        most like the artist as a whole."""
        code = self.artist_code(name)
        if code is None:
            return []
        rows = self.artist_rows[code]
        typical = np.zeros(len(rows))
        analysed = self.library.analysed[rows]
        if analysed.any():
            typical[analysed] = self.library.centred(rows[analysed]) @ self.artist_sound[code]
        order = np.lexsort((-typical, -self.plays[rows]))
        banned = set(self._banned_rows().tolist())
        allowed = [int(rows[i]) for i in order if int(rows[i]) not in banned]
        return [row for row in allowed if within is None or within[row]][:count]

    def _sound_of_row(self, row: int) -> np.ndarray:
        return self.library.centred(np.array([row]))[0]

    def _audio_similarity(self, judged: bool, vector: np.ndarray) -> np.ndarray | None:
        if not judged:
            return None
        similarity = self.library.centred_similarity(vector[None, :])[:, 0]
        return np.where(self.library.analysed, similarity, np.nan)

    def _cf_similarity(self, code: int) -> np.ndarray | None:
        seed = self.artist_factors[code]
        if not seed.any():
            return None
        codes = self.library.artist_codes()[0]
        by_artist = self.artist_factors @ seed
        by_artist[~self.artist_factors.any(1)] = np.nan
        return by_artist[codes]

    def _mix(
        self,
        seed: int | None,
        count: int,
        audio: np.ndarray | None,
        cf: np.ndarray | None,
        within: np.ndarray | None,
    ) -> list[Similar]:
        parts = [_standard(s, ~np.isnan(s)) for s in (audio, cf) if s is not None]
        if not parts:
            return []
        score = np.sum(parts, axis=0)
        if seed is not None:
            score[seed] = -np.inf
        score[self._banned_rows()] = -np.inf
        if within is not None:
            score[~within] = -np.inf
        shortlist = min(len(score), max(count * SHORTLIST, 50))
        top = np.argpartition(-score, shortlist - 1)[:shortlist]
        top = top[np.argsort(-score[top], kind="stable")]
        codes = self.library.artist_codes()[0]
        cap = max(1, int(count * ARTIST_SHARE))
        per_artist = {} if seed is None else {int(codes[seed]): 1}
        mix: list[Similar] = []
        for row in top.tolist():
            if not np.isfinite(score[row]) or len(mix) == count:
                break
            artist = int(codes[row])
            if per_artist.get(artist, 0) >= cap:
                continue
            per_artist[artist] = per_artist.get(artist, 0) + 1
            mix.append(Similar(row, float(score[row]), _value(audio, row), _value(cf, row)))
        return mix

    def _banned_rows(self) -> np.ndarray:
        row_of = self.library.row_of()
        return np.array([row_of[t] for t in self.banned if t in row_of], dtype=np.int64)

    def _artist_name(self, code: int) -> str:
        return self.library.artists[int(self.artist_rows[code][0])]


def _artist_factors(
    library: Library, model: FittedModel | None, codes: np.ndarray, artists: int
) -> np.ndarray:
    """Each artist code's unit CF factors; an artist the model lacks gets the mean of its
    analysed tracks' factors as the audio-to-CF map predicts them."""
    if model is None or model.als.item_factors is None:
        return np.zeros((artists, 0), np.float32)
    item_factors = model.als.item_factors
    view = ModelView(model, library, model.lookup(library.mbids, library.artist_keys)[0])
    factors = np.zeros((artists, item_factors.shape[1]), np.float32)
    item_of = np.full(artists, -1, np.int64)
    # (an artist whose tracks the model knows only some of, by their MBIDs, is known)
    np.maximum.at(item_of, codes, view.items)
    known = item_of >= 0
    factors[known] = item_factors[item_of[known]]
    cold = np.flatnonzero(~known[codes] & library.analysed)
    if len(view.trainable) >= MIN_TRAINABLE and len(cold):
        estimated = _sum_by(codes[cold], view.audio_map()(library.embeddings[cold]), artists)
        factors[~known] = estimated[~known]
    return _unit(factors)


def _sum_by(groups: np.ndarray, rows: np.ndarray, count: int) -> np.ndarray:
    """The sum of ``rows`` [n, d] per group (``groups`` [n] in 0..count-1), as one sparse
    product (np.add.at took seconds over 100,000 rows of 200)."""
    spread = sp.csr_matrix(
        (np.ones(len(groups), np.float32), (groups, np.arange(len(groups)))),
        shape=(count, len(groups)),
    )
    return np.asarray(spread @ rows.astype(np.float32), dtype=np.float32)


def _standard(values: np.ndarray, judged: np.ndarray) -> np.ndarray:
    """``values`` as z-scores over the ``judged`` entries; 0 (the average) elsewhere."""
    out = np.zeros(len(values))
    if not judged.any():
        return out
    chosen = values[judged].astype(float)
    spread = chosen.std()
    out[judged] = (chosen - chosen.mean()) / (spread if spread > 0 else 1.0)
    return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def _value(values: np.ndarray | None, row: int) -> float | None:
    if values is None or np.isnan(values[row]):
        return None
    return float(values[row])
