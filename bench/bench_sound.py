"""Benchmark the audio signal and the audio-to-CF cold start on music rendered to sound.

HetRec has no audio, so neither the weekly's audio signal nor its cold start can be measured
there. This benchmark makes a library that has both: music21's corpus (scores with their
composers, BSD-3) rendered with FluidSynth and two General MIDI soundfonts, listened to by
synthetic listeners with known tastes.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``, with
Essentia, and ``apt install fluidsynth fluid-soundfont-gm musescore-general-soundfont``)::

    python bench/bench_sound.py                  # 14 composers, up to 30 works each, 300 listeners
    python bench/bench_sound.py --quick          # 6 works each, 100 listeners: a smoke test
    python bench/bench_sound.py --json out.json  # the figures as JSON too (alone: to stdout)
    python bench/bench_sound.py --jobs 2 --seeds 42 7

The targets (from the issue): the audio signal alone reaches at least 3 times random
precision@30 on the listeners' hidden works, and the cold start, on the composers removed from
the CF model, at least 2 times random.

The library. Fourteen "composers" in five styles, taken from music21's corpus folders: early
music (the Trecento, Josquin, Palestrina, Monteverdi), baroque (Bach), classical (Haydn, Mozart,
Beethoven: string quartets), romantic (Robert and Clara Schumann) and folk (the tunes of Ryan's
Mammoth Collection, O'Neill's Music of Ireland, the Essen folksongs and Aird's Airs:
collections, standing for composers). Up to ``--works`` works each (fewer where the corpus has
fewer), in a fixed shuffled order of the corpus's files (one file per work, MusicXML preferred
to Humdrum; a folk collection's tunes each a work; a work that cannot be parsed or rendered is
replaced by the next). Each work is rendered twice, so that timbre is not the label: on piano
with FluidR3_GM, and with MuseScore_General in an ensemble drawn for the work independently of
its composer (strings, organ, winds, brass, choir, guitar or harpsichord; voices from top to
bottom get the ensemble's programs from high to low), whatever the score was written for. The
opening of the score (about 45 s at its first tempo) is written as MIDI by music21 (each part on
its own channel, its program set, notes still held at the cut released), rendered by the
``fluidsynth`` command at 22,050 Hz, its silent start cut, and 30 s kept (a shorter tune is
played again, as folk tunes are), mono, at -20 dBFS RMS.

The analysis is the project's own: ``mydiscover.audio.analyze.analyze_file`` on each rendered
file (musicnn on ONNX Runtime: the 200-d CNN embedding the weekly uses), and, as the baseline,
20 MFCCs (librosa) summarised by their mean and standard deviation over the excerpt (40-d),
each dimension standardised over the library. Rendering and analysis run on a process pool of
``--jobs`` workers (the usable cores) and are cached under ``bench/.cache/sound/`` (git ignores
it), so a second run only simulates and scores (a work's audio and analysis are kept per file).

The listeners (``--listeners``, for each of ``--seeds``). Seven in ten like one or two
composers: they play 40-80% of those composers' works, about 15% of the works of the other
composers of the same styles (at least one each), and two works by anyone else; three in ten
like a whole style: 40-80% of the works of each of its composers, and two works by anyone else.
A listener played one of a work's two renderings (drawn at random), 1 to about 10 times
(favourites more than the rest). 20% of each listener's played works are hidden: the test.
Their other works are their history, and the candidates are every track of a work not in the
history; a hidden work's two renderings are both relevant.

What is measured, as the mean over listeners of precision@30 (``random`` is its expectation,
relevant / candidates, for each listener):

- the audio signal: ``mydiscover.recommend.signals.audio_signal`` (the weekly's: weighted
  spherical k-means over the played tracks' embeddings, each candidate scored by its nearest
  centroid) on a ``Library`` and a ``History`` built in memory with their own dataclasses,
  with the CNN embeddings, and the same function on a ``Library`` whose embeddings are the
  MFCC vectors (unit length); the oracle is the CF model's true factors (an ALS model fitted
  with every composer on the listeners' histories, each listener folded in): what a perfect
  composer-level preference gets, with ties broken at random.
- the cold start: 30% of the composers (drawn per seed) are removed from the CF model; an ALS
  model (the project's ``mydiscover.cf.models.ALS``; 8 factors and a regularisation of 1, for
  only 10 to 14 items, where the defaults were chosen for 17,000 artists) is fitted on the
  listeners' plays per composer of the others, each listener folded in
  (``mydiscover.cf.score.fold_in_user``), and ``mydiscover.recommend.signals.cold_start``
  (the weekly's: ridge from the known composers' tracks' embeddings to their composers'
  factors, times the listener's factors) scores the removed composers' tracks. Precision@30 is
  counted among the removed composers' tracks (candidates and relevant works restricted to
  them), for the listeners with a hidden work there; the MFCC ridge is the same call on the
  MFCC library; the oracle is the removed composers' true factors from the model fitted with
  every composer.

Each table also has the ceiling (every relevant candidate first); "x random" is a method's mean
over random's mean. The oracle stays far below the ceiling: a liked composer's works that the
listener never played are candidates too, and not relevant, so even a perfect composer-level
preference spends much of its 30 on them.

Also printed: precision@30 per favourite composer (CNN against MFCC: where the CNN does not
beat the baseline), and, for each track, what its nearest other track (its own work's other
rendering left out) shares with it: the composer, the style, the instrumentation, the
soundfont; against the chance of each, so that a signal that hears timbre more than music
shows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE_DIR, add_repo_to_path, print_table, usable_cores, verdict
from render import (
    ENSEMBLES,
    RATE,
    Composer,
    Work,
    candidate_works,
    find_soundfonts,
    level_excerpt,
    midi_file,
    opening,
    parse_work,
    render_midi,
    spawn_pool,
    without_repeats,
    write_json,
)

add_repo_to_path()

from mydiscover.audio.analyze import ANALYSIS_VERSION  # noqa: E402
from mydiscover.cf.models import ALS  # noqa: E402
from mydiscover.cf.score import fold_in_user  # noqa: E402
from mydiscover.cf.store import ArtistLookup, FittedModel  # noqa: E402
from mydiscover.errors import MydiscoverError  # noqa: E402
from mydiscover.history.tables import ArtistPlays, History  # noqa: E402
from mydiscover.library.match import artist_key  # noqa: E402
from mydiscover.recommend.blend import default_blend, fuse  # noqa: E402
from mydiscover.recommend.library import Library  # noqa: E402
from mydiscover.recommend.signals import ModelView, audio_signal, cold_start  # noqa: E402

#: Bumped when the rendering changes, so cached audio is made again.
RENDER_VERSION = 1
EXCERPT_SECONDS = 30.0
#: How much of the score is written as MIDI, at its first tempo (the excerpt's silent start
#: and a slower tempo later on take some of it).
SCORE_SECONDS = 45.0
MFCC_COEFFICIENTS = 20

TOP_K = 30
HIDDEN_SHARE = 0.2
REMOVED_SHARE = 0.3
DEFAULT_SEEDS = (42, 7, 123)
DEFAULT_WORKS = 30
DEFAULT_LISTENERS = 300
QUICK_WORKS = 6
QUICK_LISTENERS = 100
TARGET_AUDIO = 3.0
TARGET_COLD = 2.0

STYLE_FANS = 0.3
NOISE_WORKS = 2
MATE_SHARE = 0.15
#: The CF model over composers: few items, so few factors, a light regularisation and the
#: alpha these figures were measured with (the library's defaults suit sparse public data).
CF_FACTORS = 8
CF_REGULARIZATION = 1.0
CF_ALPHA = 4.0

COMPOSERS = (
    Composer("trecento", "Trecento masters", "early"),
    Composer("josquin", "Josquin des Prez", "early"),
    Composer("palestrina", "Giovanni Pierluigi da Palestrina", "early"),
    Composer("monteverdi", "Claudio Monteverdi", "early"),
    Composer("bach", "Johann Sebastian Bach", "baroque"),
    Composer("haydn", "Joseph Haydn", "classical"),
    Composer("mozart", "Wolfgang Amadeus Mozart", "classical"),
    Composer("beethoven", "Ludwig van Beethoven", "classical"),
    Composer("schumann_robert", "Robert Schumann", "romantic"),
    Composer("schumann_clara", "Clara Schumann", "romantic"),
    Composer("ryansMammoth", "Ryan's Mammoth Collection", "folk"),
    Composer("oneills1850", "O'Neill's Music of Ireland", "folk", tunes=True),
    Composer("essenFolksong", "Essen folksongs", "folk", tunes=True),
    Composer("airdsAirs", "Aird's Airs", "folk", tunes=True),
)


def ensembles_for(work: Work) -> tuple[str, str]:
    """The work's two instrumentations: piano, and one of the others drawn from the work's
    name alone (so the same on every run, and independent of the composer)."""
    rng = np.random.default_rng(zlib.crc32(f"{work.composer}/{work.slug}".encode()))
    others = [name for name in ENSEMBLES if name != "piano"]
    return "piano", others[int(rng.integers(len(others)))]


def render_work(work: Work, folder: str, soundfonts: dict[str, str]) -> dict[str, Any]:
    """Render one work twice into ``folder`` (a worker task); its record, with ``error`` set
    where it could not be (the record is written beside the audio either way)."""
    import soundfile

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "composer": work.composer,
        "source": work.source,
        "number": work.number,
        "slug": work.slug,
        "title": "",
        "renderings": [],
        "error": None,
    }
    started = time.perf_counter()
    try:
        score = parse_work(work)
        record["title"] = (score.metadata.title if score.metadata else "") or work.slug
        excerpt = without_repeats(opening(score, SCORE_SECONDS))
        with tempfile.TemporaryDirectory(prefix="bench-sound-") as scratch:
            for rendering, (ensemble, (font, font_path)) in enumerate(
                zip(ensembles_for(work), soundfonts.items(), strict=True)
            ):
                midi_path = Path(scratch) / f"{rendering}.mid"
                midi_path.write_bytes(midi_file(excerpt, ENSEMBLES[ensemble]).writestr())
                audio = render_midi(midi_path, font_path, Path(scratch) / f"{rendering}.wav")
                cut, start, sound = level_excerpt(audio, EXCERPT_SECONDS, gap_seconds=0.5)
                name = f"{work.slug}-{rendering}.flac"
                soundfile.write(str(out / f".{name}"), cut, RATE, subtype="PCM_16", format="FLAC")
                os.replace(out / f".{name}", out / name)
                record["renderings"].append(
                    {
                        "file": name,
                        "ensemble": ensemble,
                        "soundfont": font,
                        "start_s": round(float(start), 2),
                        "sound_s": round(sound, 2),
                    }
                )
    except Exception as exc:  # a score music21 or fluidsynth cannot take is replaced
        record["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        record["renderings"] = []
    record["seconds"] = round(time.perf_counter() - started, 2)
    write_json(out / f"{work.slug}.json", record)
    return record


# --- analysis (in the workers) ---------------------------------------------------------------


def analyse_track(audio_path: str, cache_path: str) -> str | None:
    """The project's analysis of one rendered file and its MFCC summary, saved to
    ``cache_path`` (a worker task); None, or why it failed."""
    import librosa
    import soundfile

    from mydiscover.audio.analyze import analyze_file

    try:
        analysis = analyze_file(os.fsencode(audio_path))
        if analysis.embedding is None:
            return "no embedding (shorter than one patch)"
        samples, rate = soundfile.read(audio_path, dtype="float32")
        mfcc = librosa.feature.mfcc(y=samples, sr=rate, n_mfcc=MFCC_COEFFICIENTS)
        summary = np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)]).astype(np.float32)
        bpm = analysis.descriptors.bpm
        temporary = Path(cache_path).with_name(f".{Path(cache_path).name}")
        with open(temporary, "wb") as handle:
            np.savez(
                handle,
                embedding=analysis.embedding.embedding,
                tags=analysis.embedding.tags,
                mfcc=summary,
                bpm=np.float32(bpm if bpm is not None else np.nan),
            )
        os.replace(temporary, cache_path)
    except Exception as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return None


def _progress(label: str, done: int, total: int, failed: int, started: float) -> None:
    seconds = time.perf_counter() - started
    print(f"  {label}: {done}/{total} ({failed} failed), {seconds:.0f} s", file=sys.stderr)


# --- building the library --------------------------------------------------------------------


@dataclass
class Corpus:
    """The rendered, analysed library: one row per track (a rendering of a work)."""

    composers: list[Composer]
    works: list[dict[str, Any]]  # render records, with "composer_index"
    track_work: np.ndarray  # int64 [tracks]
    track_composer: np.ndarray  # int64 [tracks]
    track_ensemble: list[str]
    track_soundfont: list[str]
    paths: list[str]
    cnn: np.ndarray  # [tracks, 200] raw embeddings
    mfcc: np.ndarray  # [tracks, 40] raw
    render_seconds: float = 0.0
    analysis_seconds: float = 0.0
    rendered_now: int = 0
    analysed_now: int = 0
    failed_works: list[dict[str, Any]] = field(default_factory=list)

    @property
    def work_tracks(self) -> list[np.ndarray]:
        """Each work's tracks."""
        order = np.argsort(self.track_work, kind="stable")
        bounds = np.searchsorted(self.track_work[order], np.arange(len(self.works) + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(len(self.works))]


def render_corpus(cache: Path, works_per_composer: int, jobs: int) -> tuple[list, list, int, float]:
    """Render (or reuse) up to ``works_per_composer`` works of each composer; the records of
    the works kept, those that failed, how many were rendered now, and the seconds it took."""
    soundfonts = find_soundfonts()
    folder = cache / f"render-v{RENDER_VERSION}"
    candidates = {c.corpus: candidate_works(c) for c in COMPOSERS}
    records: dict[tuple[str, str], dict[str, Any]] = {}
    next_index = dict.fromkeys(candidates, 0)
    rendered = 0
    started = time.perf_counter()
    with spawn_pool(jobs) as pool:
        while True:
            wanted: list[Work] = []
            for composer in COMPOSERS:
                works = candidates[composer.corpus]
                kept = sum(
                    1 for (c, _), r in records.items() if c == composer.corpus and not r["error"]
                )
                missing = min(works_per_composer - kept, len(works) - next_index[composer.corpus])
                if missing > 0:
                    wanted += works[next_index[composer.corpus] :][:missing]
                    next_index[composer.corpus] += missing
            if not wanted:
                break
            todo = []
            for work in wanted:
                cached = folder / work.composer / f"{work.slug}.json"
                if cached.exists():
                    records[(work.composer, work.slug)] = json.loads(cached.read_text())
                else:
                    todo.append(work)
            if not todo:
                continue
            futures = {
                pool.submit(render_work, w, str(folder / w.composer), soundfonts): w for w in todo
            }
            failed = 0
            for done, future in enumerate(as_completed(futures), 1):
                record = future.result()
                records[(record["composer"], record["slug"])] = record
                failed += bool(record["error"])
                if done % 25 == 0 or done == len(todo):
                    _progress("rendered", done, len(todo), failed, started)
            rendered += len(todo)
    order = {c.corpus: [w.slug for w in candidates[c.corpus]] for c in COMPOSERS}
    kept_records, failed_records = [], []
    for composer in COMPOSERS:
        position = {slug: i for i, slug in enumerate(order[composer.corpus])}
        mine = sorted(
            (r for (c, _), r in records.items() if c == composer.corpus),
            key=lambda r: position[r["slug"]],
        )
        for record in mine:
            record["folder"] = str(folder / composer.corpus)
            (failed_records if record["error"] else kept_records).append(record)
    return kept_records, failed_records, rendered, time.perf_counter() - started


def analyse_corpus(cache: Path, records: list[dict[str, Any]], jobs: int) -> Corpus:
    """Analyse (or reuse the analysis of) every rendering of the kept works."""
    folder = cache / f"analysis-v{RENDER_VERSION}-a{ANALYSIS_VERSION}"
    index = {c.corpus: i for i, c in enumerate(COMPOSERS)}
    items = []  # (work, composer, ensemble, soundfont, audio path, cache path)
    for work_index, record in enumerate(records):
        record["composer_index"] = index[record["composer"]]
        for rendering in record["renderings"]:
            audio = Path(record["folder"]) / rendering["file"]
            cached = folder / record["composer"] / f"{Path(rendering['file']).stem}.npz"
            items.append(
                (
                    work_index,
                    record["composer_index"],
                    rendering["ensemble"],
                    rendering["soundfont"],
                    audio,
                    cached,
                )
            )
    todo = [item for item in items if not item[5].exists()]
    started = time.perf_counter()
    failures: dict[Path, str] = {}
    if todo:
        for item in todo:
            item[5].parent.mkdir(parents=True, exist_ok=True)
        with spawn_pool(jobs) as pool:
            futures = {
                pool.submit(analyse_track, str(item[4]), str(item[5])): item for item in todo
            }
            for done, future in enumerate(as_completed(futures), 1):
                reason = future.result()
                if reason:
                    failures[futures[future][4]] = reason
                if done % 50 == 0 or done == len(todo):
                    _progress("analysed", done, len(todo), len(failures), started)
    seconds = time.perf_counter() - started
    for path, reason in list(failures.items())[:5]:
        print(f"  analysis failed: {path}: {reason}", file=sys.stderr)
    # A work is kept only with both renderings analysed.
    bad_works = {item[0] for item in items if not item[5].exists()}
    kept = [r for i, r in enumerate(records) if i not in bad_works]
    renumber = {
        old: new for new, old in enumerate(i for i in range(len(records)) if i not in bad_works)
    }
    rows = [item for item in items if item[0] not in bad_works]
    loaded = [np.load(item[5]) for item in rows]
    return Corpus(
        composers=list(COMPOSERS),
        works=kept,
        track_work=np.array([renumber[item[0]] for item in rows], dtype=np.int64),
        track_composer=np.array([item[1] for item in rows], dtype=np.int64),
        track_ensemble=[item[2] for item in rows],
        track_soundfont=[item[3] for item in rows],
        paths=[str(item[4]) for item in rows],
        cnn=np.array([data["embedding"] for data in loaded], dtype=np.float32),
        mfcc=np.array([data["mfcc"] for data in loaded], dtype=np.float32),
        analysis_seconds=seconds,
        analysed_now=len(todo),
    )


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def make_library(corpus: Corpus, vectors: np.ndarray) -> Library:
    """The corpus as the weekly's ``Library``, with ``vectors`` as its embeddings (unit length,
    as ``load_library`` makes them); track ids are rows + 1."""
    count = len(corpus.track_work)
    names = [corpus.composers[c].name for c in corpus.track_composer.tolist()]
    titles = [corpus.works[w]["title"] for w in corpus.track_work.tolist()]
    return Library(
        ids=np.arange(1, count + 1, dtype=np.int64),
        titles=titles,
        artists=names,
        albums=[""] * count,
        mbids=[""] * count,
        artist_keys=[artist_key(name) for name in names],
        album_keys=[""] * count,
        durations=np.full(count, EXCERPT_SECONDS),
        bpm=np.full(count, np.nan),
        keys=[None] * count,
        scales=[None] * count,
        embeddings=unit_rows(vectors),
        analysed=np.ones(count, dtype=bool),
    )


def standardised(vectors: np.ndarray) -> np.ndarray:
    """Each column at mean 0 and standard deviation 1 over the library."""
    return (vectors - vectors.mean(axis=0)) / np.maximum(vectors.std(axis=0), 1e-9)


# --- the listeners ---------------------------------------------------------------------------


@dataclass
class Listener:
    """A synthetic listener: whom they like, what they played, what is hidden."""

    favourites: list[int]  # composer indexes
    kind: str  # "composer" or "style"
    history: dict[int, int]  # track row -> plays
    history_works: set[int]
    hidden_works: list[int]


def simulate_listeners(corpus: Corpus, count: int, seed: int) -> list[Listener]:
    """``count`` listeners (see the module docstring for how they listen)."""
    rng = np.random.default_rng(seed)
    composers = corpus.composers
    styles = sorted({c.style for c in composers})
    works_of = [
        np.flatnonzero([w["composer_index"] == c for w in corpus.works])
        for c in range(len(composers))
    ]
    present = [c for c in range(len(composers)) if len(works_of[c])]
    tracks = corpus.work_tracks
    listeners = []
    for _ in range(count):
        plays: dict[int, int] = {}
        if rng.random() < STYLE_FANS:
            style = styles[int(rng.integers(len(styles)))]
            favourites = [c for c in present if composers[c].style == style]
            mates: list[int] = []
            kind = "style"
        else:
            picks = rng.choice(
                present, size=min(len(present), int(rng.integers(1, 3))), replace=False
            )
            favourites = [int(c) for c in picks]
            liked_styles = {composers[c].style for c in favourites}
            mates = [
                c for c in present if composers[c].style in liked_styles and c not in favourites
            ]
            kind = "composer"
        for composer in favourites:
            pool = works_of[composer]
            share = rng.uniform(0.4, 0.8)
            size = min(len(pool), max(2, round(share * len(pool))))
            for work in rng.choice(pool, size=size, replace=False).tolist():
                plays[work] = 1 + int(rng.poisson(4))
        for composer in mates:
            pool = works_of[composer]
            size = min(len(pool), max(1, round(MATE_SHARE * len(pool))))
            for work in rng.choice(pool, size=size, replace=False).tolist():
                plays.setdefault(work, 1 + int(rng.poisson(1)))
        others = np.flatnonzero(
            [w["composer_index"] not in set(favourites) | set(mates) for w in corpus.works]
        )
        if len(others):
            noise = rng.choice(others, size=min(len(others), NOISE_WORKS), replace=False)
            for work in noise.tolist():
                plays.setdefault(work, 1)
        played = sorted(plays)
        hidden_count = max(1, round(HIDDEN_SHARE * len(played)))
        hidden = sorted(rng.choice(played, size=hidden_count, replace=False).tolist())
        history: dict[int, int] = {}
        for work in played:
            if work not in hidden:
                rows = tracks[work]
                history[int(rows[int(rng.integers(len(rows)))])] = plays[work]
        listeners.append(Listener(favourites, kind, history, set(played) - set(hidden), hidden))
    return listeners


def history_of(listener: Listener, corpus: Corpus, library: Library) -> History:
    """The listener's ``History``: plays by track id, and by artist."""
    per_composer: dict[int, int] = {}
    for row, plays in listener.history.items():
        composer = int(corpus.track_composer[row])
        per_composer[composer] = per_composer.get(composer, 0) + plays
    artists = [
        ArtistPlays(artist_key(corpus.composers[c].name), corpus.composers[c].name, "", n)
        for c, n in sorted(per_composer.items())
    ]
    track_plays = {int(library.ids[row]): plays for row, plays in listener.history.items()}
    return History(track_plays=track_plays, last_played={}, artists=artists)


# --- CF over composers -----------------------------------------------------------------------


def fit_cf(
    corpus: Corpus, listeners: list[Listener], composers: Sequence[int], seed: int
) -> FittedModel:
    """An ALS model over ``composers`` fitted on the listeners' plays per composer."""
    import scipy.sparse as sp

    column = {c: i for i, c in enumerate(composers)}
    matrix = np.zeros((len(listeners), len(composers)), dtype=np.float32)
    for row, listener in enumerate(listeners):
        for track, plays in listener.history.items():
            composer = int(corpus.track_composer[track])
            if composer in column:
                matrix[row, column[composer]] += plays
    als = ALS(factors=CF_FACTORS, regularization=CF_REGULARIZATION, alpha=CF_ALPHA, seed=seed)
    als.fit(sp.csr_matrix(matrix))
    names = [corpus.composers[c].name for c in composers]
    return FittedModel(
        als=als,
        names=names,
        meta={"dataset_fingerprint": "bench-sound", "fitted_at": 0},
        lookups=ArtistLookup.of([artist_key(n) for n in names], [""] * len(names)),
        popularity=np.count_nonzero(matrix, axis=0).astype(np.int64),
    )


def composer_scores(model: FittedModel, corpus: Corpus, history: History) -> np.ndarray | None:
    """Every track's score from its composer's factors in ``model`` (NaN where the model lacks
    the composer); None when the listener cannot be folded in."""
    assert model.als.item_factors is not None
    try:
        user, _ = fold_in_user(model, history.artists)
    except MydiscoverError:
        return None
    keys = [artist_key(corpus.composers[c].name) for c in range(len(corpus.composers))]
    items, _ = model.lookup([""] * len(keys), keys)
    per_composer = np.where(items >= 0, model.als.item_factors[np.maximum(items, 0)] @ user, np.nan)
    return per_composer[corpus.track_composer]


# --- scoring ---------------------------------------------------------------------------------


def precision_at(
    scores: np.ndarray, candidates: np.ndarray, relevant: np.ndarray, rng: np.random.Generator
) -> float:
    """Precision@TOP_K of ``candidates`` (rows) ranked by ``scores`` (NaN last, ties at random)
    against the ``relevant`` mask."""
    values = scores[candidates]
    values = np.where(np.isnan(values), -np.inf, values)
    order = np.lexsort((rng.random(len(candidates)), -values))
    return float(relevant[candidates[order[:TOP_K]]].sum() / TOP_K)


def random_precision(candidates: np.ndarray, relevant: np.ndarray) -> float:
    """The expected precision@TOP_K of a random ranking."""
    hits = relevant[candidates].sum()
    return float(hits * min(TOP_K, len(candidates)) / len(candidates) / TOP_K)


def ceiling_precision(candidates: np.ndarray, relevant: np.ndarray) -> float:
    """The precision@TOP_K of a ranking with every relevant candidate first."""
    return float(min(TOP_K, relevant[candidates].sum()) / TOP_K)


def evaluate_seed(
    corpus: Corpus, libraries: dict[str, Library], listener_count: int, seed: int
) -> dict[str, Any]:
    """Both measurements for one seed: per-listener precisions of every method."""
    rng = np.random.default_rng([seed, 1])
    listeners = simulate_listeners(corpus, listener_count, seed)
    composers = len(corpus.composers)
    present = sorted(set(corpus.track_composer.tolist()))
    removed = sorted(
        rng.choice(present, size=round(REMOVED_SHARE * len(present)), replace=False).tolist()
    )
    known = [c for c in present if c not in removed]
    full_model = fit_cf(corpus, listeners, present, seed)
    cold_model = fit_cf(corpus, listeners, known, seed)
    # What the weekly makes once per model and library: each track's item, and the ridge from
    # audio to CF factors (fitted by cold_start on its first call, user-independent).
    views = {
        name: ModelView(
            cold_model, library, cold_model.lookup(library.mbids, library.artist_keys)[0]
        )
        for name, library in libraries.items()
    }
    removed_mask = np.isin(corpus.track_composer, removed)
    known_rows = np.flatnonzero(~removed_mask)
    work_of = corpus.track_work
    audio: dict[str, list[float]] = {m: [] for m, _ in METHODS}
    cold: dict[str, list[float]] = {m: [] for m, _ in COLD_METHODS}
    blend = default_blend(float(np.mean(views["cnn"].items >= 0)))
    favourites: list[list[int]] = []
    no_fold_in = 0
    for listener in listeners:
        history = history_of(listener, corpus, libraries["cnn"])
        candidates = np.flatnonzero(~np.isin(work_of, list(listener.history_works)))
        relevant = np.isin(work_of, listener.hidden_works)
        oracle = composer_scores(full_model, corpus, history)
        audio["random"].append(random_precision(candidates, relevant))
        audio["ceiling"].append(ceiling_precision(candidates, relevant))
        heard = {}
        for name, library in libraries.items():
            heard[name] = signal = audio_signal(history, library, seed)
            scores = np.full(len(work_of), np.nan)
            if signal is not None:
                scores[signal.rows] = signal.scores
            audio[name].append(precision_at(scores, candidates, relevant, rng))
        no_scores = np.full(len(work_of), np.nan)
        audio["oracle"].append(
            precision_at(no_scores if oracle is None else oracle, candidates, relevant, rng)
        )
        favourites.append(listener.favourites)
        cold_candidates = candidates[removed_mask[candidates]]
        if not len(cold_candidates) or not relevant[cold_candidates].any():
            continue
        cold["random"].append(random_precision(cold_candidates, relevant))
        cold["ceiling"].append(ceiling_precision(cold_candidates, relevant))
        try:
            user, _ = fold_in_user(cold_model, history.artists)
        except MydiscoverError:
            user = None
            no_fold_in += 1
        for name, view in views.items():
            scores = np.full(len(work_of), np.nan)
            signal = cold_start(view, user, known_rows) if user is not None else None
            if signal is not None:
                scores[signal.rows] = signal.scores
            cold[name].append(precision_at(scores, cold_candidates, relevant, rng))
            if name == "cnn":  # as the weekly fuses them, over all of the listener's candidates
                offered = np.zeros(len(work_of), dtype=bool)
                offered[candidates] = True
                both = [s for s in (signal, heard["cnn"]) if s is not None]
                fused = fuse(both, blend, offered, len(work_of)).scores
                cold["weekly"].append(precision_at(fused, cold_candidates, relevant, rng))
        cold["oracle"].append(
            precision_at(no_scores if oracle is None else oracle, cold_candidates, relevant, rng)
        )
    return {
        "seed": seed,
        "removed": [corpus.composers[c].corpus for c in removed],
        "removed_tracks": int(removed_mask.sum()),
        "composers": composers,
        "audio": audio,
        "cold": cold,
        "favourites": favourites,
        "cold_listeners": len(cold["random"]),
        "no_fold_in": no_fold_in,
    }


def neighbour_shares(corpus: Corpus, vectors: np.ndarray) -> dict[str, tuple[float, float]]:
    """For each track, its nearest other track by cosine (its own work's other rendering left
    out): how often it shares the composer, style, instrumentation, soundfont; with chance
    (the share of the other tracks that do, on average); and how often the nearest track of
    all is the same work's other rendering."""
    unit = unit_rows(vectors)
    similarity = unit @ unit.T
    same_work = corpus.track_work[:, None] == corpus.track_work[None, :]
    twin_nearest = float(
        np.mean(
            [
                same_work[
                    row, np.argmax(np.where(np.arange(len(unit)) == row, -np.inf, similarity[row]))
                ]
                for row in range(len(unit))
            ]
        )
    )
    similarity[same_work] = -np.inf
    nearest = np.argmax(similarity, axis=1)
    styles = np.array([corpus.composers[c].style for c in corpus.track_composer.tolist()])
    attributes = {
        "composer": corpus.track_composer,
        "style": styles,
        "instrumentation": np.array(corpus.track_ensemble),
        "soundfont": np.array(corpus.track_soundfont),
    }
    shares: dict[str, tuple[float, float]] = {}
    for name, values in attributes.items():
        equal = values[:, None] == values[None, :]
        chance = float(np.mean((equal & ~same_work).sum(axis=1) / (~same_work).sum(axis=1)))
        shares[name] = (float(np.mean(values[nearest] == values)), chance)
    shares["same work (other rendering)"] = (twin_nearest, 1.0 / max(1, len(unit) - 1))
    return shares


# --- the report ------------------------------------------------------------------------------


METHODS = (
    ("random", "random (expected)"),
    ("mfcc", "MFCC mean+std baseline"),
    ("cnn", "CNN embedding (musicnn)"),
    ("oracle", "oracle: true CF factors"),
    ("ceiling", "ceiling: relevant first"),
)
#: The cold start's table has one row more: how the weekly itself ranks the removed
#: composers' tracks, fusing the cold start with the audio signal (both CNN) by its default
#: blend for the model's coverage.
COLD_METHODS = (
    *METHODS[:3],
    ("weekly", "the weekly's fusion: cold + audio (CNN)"),
    *METHODS[3:],
)


def summarise(
    results: list[dict[str, Any]], part: str, methods: Sequence[tuple[str, str]] = METHODS
) -> dict[str, dict[str, Any]]:
    """Mean precision per method and seed, over seeds, and the ratio to random."""
    summary: dict[str, dict[str, Any]] = {}
    for method, _ in methods:
        per_seed = [
            float(np.mean(r[part][method])) if r[part][method] else float("nan") for r in results
        ]
        summary[method] = {"per_seed": per_seed, "mean": float(np.nanmean(per_seed))}
    base = summary["random"]["mean"]
    for method in summary:
        summary[method]["vs_random"] = summary[method]["mean"] / base if base else float("nan")
    return summary


def print_part(
    title: str,
    summary: dict[str, dict[str, Any]],
    seeds: Sequence[int],
    listeners: Sequence[int],
    methods: Sequence[tuple[str, str]] = METHODS,
) -> None:
    """One measurement's table."""
    print(f"\n{title}")
    header = [
        "method",
        *(f"seed {s} (n={n})" for s, n in zip(seeds, listeners, strict=True)),
        "mean P@30",
        "x random",
    ]
    rows = [
        [
            label,
            *(f"{v:.4f}" for v in summary[m]["per_seed"]),
            f"{summary[m]['mean']:.4f}",
            f"{summary[m]['vs_random']:.2f} x",
        ]
        for m, label in methods
    ]
    print_table(rows, header, set(range(1, len(header))))


def per_composer(corpus: Corpus, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audio signal's precision for the listeners of each composer, over every seed."""
    rows = []
    for index, composer in enumerate(corpus.composers):
        picks = {m: [] for m, _ in METHODS}
        for result in results:
            for i, favourites in enumerate(result["favourites"]):
                if index in favourites:
                    for method in picks:
                        picks[method].append(result["audio"][method][i])
        if not picks["random"]:
            continue
        means = {m: float(np.mean(v)) for m, v in picks.items()}
        works = sum(1 for w in corpus.works if w["composer_index"] == index)
        rows.append(
            {
                "composer": composer.corpus,
                "style": composer.style,
                "works": works,
                "listeners": len(picks["random"]),
                **means,
            }
        )
    return rows


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_WORKS} works per composer and {QUICK_LISTENERS} listeners",
    )
    parser.add_argument(
        "--works",
        type=int,
        default=None,
        help=f"works per composer, at most (default: {DEFAULT_WORKS})",
    )
    parser.add_argument(
        "--listeners",
        type=int,
        default=None,
        help=f"synthetic listeners per seed (default: {DEFAULT_LISTENERS})",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(DEFAULT_SEEDS),
        help="seeds of the listeners, splits and fits (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=usable_cores(),
        help="worker processes for rendering and analysis (default: %(default)s)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=CACHE_DIR / "sound",
        help="where rendered audio and analyses are kept (default: %(default)s)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write the figures as JSON to FILE (stdout without one)",
    )
    args = parser.parse_args(argv)
    if args.works is None:
        args.works = QUICK_WORKS if args.quick else DEFAULT_WORKS
    if args.listeners is None:
        args.listeners = QUICK_LISTENERS if args.quick else DEFAULT_LISTENERS
    if args.works < 3 or args.listeners < 10 or args.jobs < 1:
        parser.error("need --works >= 3, --listeners >= 10 and --jobs >= 1")
    args.cache = args.cache.resolve()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Render, analyse, simulate, score, print."""
    args = parse_args(argv)
    started = time.perf_counter()
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")  # one thread per worker: the pool uses the cores
    records, failed, rendered, render_s = render_corpus(args.cache, args.works, args.jobs)
    corpus = analyse_corpus(args.cache, records, args.jobs)
    corpus.render_seconds, corpus.rendered_now, corpus.failed_works = render_s, rendered, failed
    prepared_s = time.perf_counter() - started
    libraries = {
        "cnn": make_library(corpus, corpus.cnn),
        "mfcc": make_library(corpus, standardised(corpus.mfcc)),
    }
    results = [evaluate_seed(corpus, libraries, args.listeners, seed) for seed in args.seeds]
    audio = summarise(results, "audio")
    cold = summarise(results, "cold", COLD_METHODS)
    composers = per_composer(corpus, results)
    shares = {
        name: neighbour_shares(corpus, vectors)
        for name, vectors in (("mfcc", standardised(corpus.mfcc)), ("cnn", corpus.cnn))
    }
    total_s = time.perf_counter() - started
    report(args, corpus, results, audio, cold, composers, shares, prepared_s, total_s)
    if args.json:
        figures = {
            "works": len(corpus.works),
            "tracks": len(corpus.track_work),
            "failed_works": [
                {k: r[k] for k in ("composer", "source", "number", "error")} for r in failed
            ],
            "works_per_composer": args.works,
            "listeners": args.listeners,
            "seeds": args.seeds,
            "top_k": TOP_K,
            "audio": audio,
            "cold": cold,
            "per_composer": composers,
            "neighbours": shares,
            "removed": {r["seed"]: r["removed"] for r in results},
            "cold_listeners": {r["seed"]: r["cold_listeners"] for r in results},
            "no_fold_in": {r["seed"]: r["no_fold_in"] for r in results},
            "targets": {"audio_vs_random": TARGET_AUDIO, "cold_vs_random": TARGET_COLD},
            "pass": {
                "audio": audio["cnn"]["vs_random"] >= TARGET_AUDIO,
                "cold": cold["cnn"]["vs_random"] >= TARGET_COLD,
                "weekly_cold": cold["weekly"]["vs_random"] >= TARGET_COLD,
            },
            "render_s": corpus.render_seconds,
            "analysis_s": corpus.analysis_seconds,
            "rendered_now": corpus.rendered_now,
            "analysed_now": corpus.analysed_now,
            "total_s": total_s,
            "jobs": args.jobs,
            "python": platform.python_version(),
        }
        text = json.dumps(figures, indent=1)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0


def report(
    args: argparse.Namespace,
    corpus: Corpus,
    results: list[dict[str, Any]],
    audio: dict[str, dict[str, Any]],
    cold: dict[str, dict[str, Any]],
    composers: list[dict[str, Any]],
    shares: dict[str, dict[str, tuple[float, float]]],
    prepared_s: float,
    total_s: float,
) -> None:
    """Print the tables and the verdicts."""
    counts = np.bincount(corpus.track_composer, minlength=len(corpus.composers)) // 2
    print(
        f"bench_sound: {len(corpus.works)} works ({len(corpus.track_work)} tracks of "
        f"{EXCERPT_SECONDS:g} s) by {np.count_nonzero(counts)} composers, "
        + ", ".join(f"{c.corpus} {n}" for c, n in zip(corpus.composers, counts, strict=True))
        + f"; {corpus.rendered_now} works rendered now ({len(corpus.failed_works)} left out), "
        f"{corpus.analysed_now} tracks analysed now; {args.listeners} listeners x "
        f"{len(args.seeds)} seeds; {args.jobs} jobs; preparing took {prepared_s:.0f} s "
        f"(render {corpus.render_seconds:.0f} s, analysis {corpus.analysis_seconds:.0f} s), "
        f"all {total_s:.0f} s"
    )
    seeds = [r["seed"] for r in results]
    print_part(
        f"Audio signal alone: precision@{TOP_K} on the hidden works (all listeners)",
        audio,
        seeds,
        [len(r["audio"]["random"]) for r in results],
    )
    print_part(
        f"Cold start: precision@{TOP_K} among the removed composers' tracks (listeners with a "
        "hidden work there)",
        cold,
        seeds,
        [r["cold_listeners"] for r in results],
        COLD_METHODS,
    )
    for result in results:
        print(
            f"  seed {result['seed']}: removed {', '.join(result['removed'])} "
            f"({result['removed_tracks']} tracks); {result['no_fold_in']} listeners could not "
            "be folded in"
        )

    print(f"\nAudio signal by favourite composer (precision@{TOP_K}, every seed)")
    header = [
        "composer",
        "style",
        "works",
        "listeners",
        "random",
        "MFCC",
        "CNN",
        "oracle",
        "CNN / MFCC",
    ]
    rows = [
        [
            r["composer"],
            r["style"],
            str(r["works"]),
            str(r["listeners"]),
            f"{r['random']:.4f}",
            f"{r['mfcc']:.4f}",
            f"{r['cnn']:.4f}",
            f"{r['oracle']:.4f}",
            f"{r['cnn'] / r['mfcc']:.2f}"
            + ("  <- CNN not better" if r["cnn"] <= r["mfcc"] else ""),
        ]
        for r in composers
    ]
    print_table(rows, header, {2, 3, 4, 5, 6, 7})

    print("\nNearest other track (its own work's other rendering left out): shares what")
    header = ["attribute", "MFCC", "CNN", "chance"]
    rows = [
        [
            name,
            f"{shares['mfcc'][name][0]:.3f}",
            f"{shares['cnn'][name][0]:.3f}",
            f"{shares['cnn'][name][1]:.3f}",
        ]
        for name in shares["cnn"]
    ]
    print_table(rows, header, {1, 2, 3})

    audio_ratio, cold_ratio = audio["cnn"]["vs_random"], cold["cnn"]["vs_random"]
    print(
        f"\naudio signal alone (CNN): {audio_ratio:.2f} x random precision@{TOP_K} "
        f"(target >= {TARGET_AUDIO:g} x): {verdict(audio_ratio >= TARGET_AUDIO)}"
    )
    print(
        f"cold start on the removed composers (CNN ridge): {cold_ratio:.2f} x random "
        f"(target >= {TARGET_COLD:g} x): {verdict(cold_ratio >= TARGET_COLD)}"
    )
    fused_ratio = cold["weekly"]["vs_random"]
    print(
        f"the weekly's ranking of those tracks (cold start + audio): {fused_ratio:.2f} x random "
        f"(>= {TARGET_COLD:g} x): {verdict(fused_ratio >= TARGET_COLD)}"
    )
    print(_where_cnn_loses(audio, cold, composers, results))


def _where_cnn_loses(
    audio: dict[str, dict[str, Any]],
    cold: dict[str, dict[str, Any]],
    composers: list[dict[str, Any]],
    results: list[dict[str, Any]],
) -> str:
    """One line: where the CNN does not beat the MFCC baseline."""
    parts = []
    for name, summary in (("audio signal", audio), ("cold start", cold)):
        cnn, mfcc = summary["cnn"], summary["mfcc"]
        seeds = [
            str(r["seed"])
            for r, c, m in zip(results, cnn["per_seed"], mfcc["per_seed"], strict=True)
            if c <= m
        ]
        overall = "beats" if cnn["mean"] > mfcc["mean"] else "does NOT beat"
        parts.append(
            f"{name}: CNN {overall} MFCC on average ({cnn['mean']:.4f} vs "
            f"{mfcc['mean']:.4f})" + (f", not on seed(s) {', '.join(seeds)}" if seeds else "")
        )
    losing = [r["composer"] for r in composers if r["cnn"] <= r["mfcc"]]
    parts.append(
        "audio signal for the listeners of "
        + (", ".join(losing) if losing else "no composer")
        + (": CNN not better than MFCC" if losing else " is the CNN worse than MFCC")
    )
    return "where the CNN does not beat the baseline: " + "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
