"""Benchmark the tempo and the key ``mydiscover analyze`` stores, on music whose answer is known.

Rendered scores have a tempo and a key by construction. This benchmark renders pieces of
music21's corpus (BSD-3) with FluidSynth and General MIDI soundfonts at a tempo written into
the MIDI and transposed to a key drawn for the piece, and measures what the project's
analysis reads from them, beside Essentia's own extractors on the whole file in the same run.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``,
with Essentia and librosa, and ``apt install fluidsynth fluid-soundfont-gm
musescore-general-soundfont``)::

    python bench/bench_descriptors.py                      # the test pieces, seed 2026
    python bench/bench_descriptors.py --split validation   # the pieces to tune on
    python bench/bench_descriptors.py --quick              # a few pieces: a smoke test
    python bench/bench_descriptors.py --json out.json      # the figures as JSON too

The targets (from the issue): tempo Acc1 at least 0.95 and Acc2 at least 0.99; the key's MIREX
weighted score at least 0.85, above Essentia's best whole-file ``KeyExtractor`` profile in the
same run; a tempo confidence that tells right readings from wrong ones (ROC AUC at least 0.8);
the librosa backend within 0.05 of the Essentia backend on each.

The pieces. Works of music21's corpus in a fixed shuffled order per composer folder (Bach's
chorales, the classical and romantic string quartets and piano pieces, Ryan's Mammoth
Collection's and O'Neill's fiddle tunes, the Essen folksongs, Joplin's rag...), each work in
one of two halves by a hash of its name: ``--split validation`` (to tune on) or ``test``
(what the figures are quoted on). A work is kept when its metre is simple (2/4, 3/4 or 4/4
throughout, so the beat is the quarter note) and its key clear: music21's key analysis
(Krumhansl-Schmuckler) agrees with the key signature and correlates at least CLEAR_KEY. Each
kept piece gets, from ``--seed`` and its name: a tempo drawn uniformly from 60 to 180 quarter
notes per minute (its own tempo marks removed, so it holds for the whole piece); a tonic drawn
from the twelve (the score transposed by at most a tritone, its mode kept); drums in DRUM_SHARE
of the pieces (kick, snare and eighth-note hi-hat on General MIDI channel 10, in the piece's
metre); and piano (FluidR3_GM) or an ensemble (MuseScore_General: strings, organ, winds,
brass, choir, guitar or harpsichord). The opening is rendered at 22,050 Hz, its silent start
cut, played again after a beat's rest where shorter than TRACK_SECONDS, and TRACK_SECONDS
kept: longer than a minute, so the analysis reads its three 20-s excerpts as it does a song's.

What is measured, per piece, each on the same FLAC file:

- the project's analysis, as ``analyze`` runs it (``load_excerpts`` then ``describe``), with
  the Essentia backend and with the librosa fallback;
- Essentia's ``RhythmExtractor2013`` (multifeature) on the whole file;
- Essentia's ``KeyExtractor`` on the whole file, with each profile in KEY_PROFILES.

Tempo Acc1: within 4% of the written tempo; Acc2: within 4% of it times 1/3, 1/2, 1, 2 or 3
(the metrical level forgiven); both also for the slow pieces (below 90 BPM) and those with
drums. Key: exact, and the MIREX weighted score (``mir_eval.key.weighted_score``: 1 exact, 0.5
a fifth, 0.3 relative, 0.2 parallel). The confidence's AUC is the chance that a right reading
(Acc1) has a higher stored confidence than a wrong one. The 95% intervals are a bootstrap over
pieces (2,000 draws, seeded).

Rendering and measuring run on ``--jobs`` workers; the audio and Essentia's whole-file
readings are cached under ``bench/.cache/descriptors/`` (git ignores it), so a second run
measures only the project's analysis again.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
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

from mydiscover.audio.descriptors import PITCH_CLASSES  # noqa: E402

#: Bumped when the rendering changes, so cached audio is made again.
RENDER_VERSION = 2
TRACK_SECONDS = 100.0
TEMPO_RANGE = (60.0, 180.0)
SLOW_BPM = 90.0
DRUM_SHARE = 0.45
#: music21's key correlation from which a piece's key counts as clear.
CLEAR_KEY = 0.8
TOLERANCE = 0.04
#: Acc2 forgives the metrical level: the tempo times one of these.
ACC2_FACTORS = (1 / 3, 1 / 2, 1.0, 2.0, 3.0)
DEFAULT_SEED = 2026
BOOTSTRAP_DRAWS = 2_000
KEY_PROFILES = ("bgate", "edma", "edmm", "krumhansl", "temperley", "shaath", "braw")

TARGET_ACC1 = 0.95
TARGET_ACC2 = 0.99
TARGET_MIREX = 0.85
TARGET_AUC = 0.8
TARGET_LIBROSA_GAP = 0.05

#: The composer folders and how many pieces each gives a split (fewer where it has fewer).
POOL: tuple[tuple[Composer, int], ...] = (
    (Composer("bach", "Johann Sebastian Bach", "baroque"), 24),
    (Composer("haydn", "Joseph Haydn", "classical"), 4),
    (Composer("mozart", "Wolfgang Amadeus Mozart", "classical"), 6),
    (Composer("beethoven", "Ludwig van Beethoven", "classical"), 8),
    (Composer("schumann_robert", "Robert Schumann", "romantic"), 3),
    (Composer("schumann_clara", "Clara Schumann", "romantic"), 2),
    (Composer("chopin", "Frederic Chopin", "romantic"), 1),
    (Composer("schubert", "Franz Schubert", "romantic"), 1),
    (Composer("joplin", "Scott Joplin", "ragtime"), 1),
    (Composer("handel", "George Frideric Handel", "baroque"), 1),
    (Composer("corelli", "Arcangelo Corelli", "baroque"), 1),
    (Composer("cpebach", "Carl Philipp Emanuel Bach", "baroque"), 1),
    (Composer("ryansMammoth", "Ryan's Mammoth Collection", "folk"), 24),
    (Composer("oneills1850", "O'Neill's Music of Ireland", "folk", tunes=True), 12),
    (Composer("essenFolksong", "Essen folksongs", "folk", tunes=True), 16),
)
QUICK_SHARE = 0.15
SPLITS = ("validation", "test")
#: General MIDI percussion keys.
KICK, SNARE, HI_HAT = 36, 38, 42
PERCUSSION_CHANNEL = 10  # 1-based, as music21 numbers channels


def split_of(work: Work) -> str:
    """The half of the corpus a work belongs to, by a hash of its name."""
    return SPLITS[zlib.crc32(f"{work.composer}/{work.slug}".encode()) % 2]


# --- rendering (in the workers) --------------------------------------------------------------


def piece_plan(work: Work, seed: int) -> dict[str, Any]:
    """What the piece is rendered as, drawn from ``seed`` and its name alone."""
    rng = np.random.default_rng(zlib.crc32(f"{seed}/{work.composer}/{work.slug}".encode()))
    bpm = round(float(rng.uniform(*TEMPO_RANGE)), 1)
    tonic = int(rng.integers(12))
    drums = bool(rng.random() < DRUM_SHARE)
    others = [name for name in ENSEMBLES if name != "piano"]
    ensemble = "piano" if rng.random() < 0.5 else others[int(rng.integers(len(others)))]
    return {"bpm": bpm, "tonic": tonic, "drums": drums, "ensemble": ensemble}


def _simple_metre(score: Any) -> int:
    """The beats per bar of a score in 2/4, 3/4 or 4/4 throughout; raises otherwise."""
    signatures = {s.ratioString for s in score.recurse().getElementsByClass("TimeSignature")}
    if len(signatures) != 1 or next(iter(signatures)) not in ("2/4", "3/4", "4/4"):
        raise ValueError(f"metre {', '.join(sorted(signatures)) or 'unknown'}")
    return int(next(iter(signatures)).split("/")[0])


def _clear_key(score: Any) -> tuple[int, str]:
    """The score's (tonic pitch class, mode) where its key is clear; raises otherwise."""
    signatures = list(score.recurse().getElementsByClass("KeySignature"))
    if not signatures:
        raise ValueError("no key signature")
    analysed = score.analyze("key")
    written = signatures[0].asKey(analysed.mode)
    if written.tonic.pitchClass != analysed.tonic.pitchClass:
        raise ValueError(f"key signature of {written}, analysed as {analysed}")
    if analysed.correlationCoefficient < CLEAR_KEY:
        raise ValueError(f"unclear key ({analysed}, {analysed.correlationCoefficient:.2f})")
    return analysed.tonic.pitchClass, analysed.mode


def _at_tempo(score: Any, bpm: float) -> Any:
    """The score with its own tempo marks removed and one of ``bpm`` quarters in its first
    measure (where an excerpt of its measures keeps it: one at the part's start is lost)."""
    from music21 import tempo

    for mark in list(score.recurse().getElementsByClass(tempo.TempoIndication)):
        for site in list(mark.sites.get()):
            if hasattr(site, "remove"):
                site.remove(mark)
    first = score.parts[0].getElementsByClass("Measure").first()
    (first if first is not None else score.parts[0]).insert(0, tempo.MetronomeMark(number=bpm))
    return score


def _check_tempo(midi: Any, bpm: float) -> None:
    """Raise unless every tempo the MIDI file sets is ``bpm`` (music21 writes 120 where it
    finds no mark)."""
    from music21 import midi as m21midi

    written = {
        int.from_bytes(event.data, "big")
        for track in midi.tracks
        for event in track.events
        if event.type == m21midi.MetaEvents.SET_TEMPO
    }
    wanted = round(60_000_000 / bpm)
    if not written or any(abs(tempo - wanted) > 1 for tempo in written):
        raise ValueError(f"tempo written as {sorted(written)} us per quarter, not {wanted}")


def add_drums(midi: Any, beats_per_bar: int, quarters: float) -> None:
    """Append a drum track to a music21 ``MidiFile``: kick on the bar's first beat (and the
    third of four), snare on the others, closed hi-hat on every eighth note."""
    from music21 import midi as m21midi

    track = m21midi.MidiTrack(len(midi.tracks))
    ticks = midi.ticksPerQuarterNote
    hits: list[tuple[int, int, int]] = []  # (tick, pitch, velocity); velocity 0 is a release
    for eighth in range(int(quarters * 2)):
        tick = eighth * ticks // 2
        strokes = [(HI_HAT, 60)]
        if eighth % 2 == 0:
            beat = (eighth // 2) % beats_per_bar
            strokes.append(
                (KICK, 100) if beat == 0 or (beat == 2 and beats_per_bar == 4) else (SNARE, 90)
            )
        for pitch, velocity in strokes:
            hits += [(tick, pitch, velocity), (tick + ticks // 4, pitch, 0)]
    at = 0
    note_on = m21midi.ChannelVoiceMessages.NOTE_ON
    for tick, pitch, velocity in sorted(hits, key=lambda hit: (hit[0], hit[2] > 0)):
        track.events.append(m21midi.DeltaTime(track, time=tick - at, channel=PERCUSSION_CHANNEL))
        event = m21midi.MidiEvent(track, type=note_on, channel=PERCUSSION_CHANNEL)
        event.pitch, event.velocity = pitch, velocity
        track.events.append(event)
        at = tick
    track.events.append(m21midi.DeltaTime(track, time=0))
    end = m21midi.MidiEvent(track, type=m21midi.MetaEvents.END_OF_TRACK)
    end.data = b""
    track.events.append(end)
    midi.tracks.append(track)


def render_piece(work: Work, seed: int, folder: str, soundfonts: dict[str, str]) -> dict[str, Any]:
    """Render one piece into ``folder`` (a worker task): its record, with ``error`` set where
    it is not kept (the record is written beside the audio either way)."""
    import soundfile

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    plan = piece_plan(work, seed)
    record: dict[str, Any] = {"composer": work.composer, "slug": work.slug, **plan, "error": None}
    try:
        score = parse_work(work)
        beats_per_bar = _simple_metre(score)
        tonic, mode = _clear_key(score)
        shift = (plan["tonic"] - tonic + 6) % 12 - 6  # at most a tritone up or down
        excerpt = without_repeats(opening(_at_tempo(score, plan["bpm"]), TRACK_SECONDS + 10))
        excerpt = excerpt.transpose(shift)
        midi = midi_file(excerpt, ENSEMBLES[plan["ensemble"]])
        _check_tempo(midi, plan["bpm"])
        if plan["drums"]:
            add_drums(midi, beats_per_bar, float(excerpt.highestTime))
        font = soundfonts["FluidR3_GM" if plan["ensemble"] == "piano" else "MuseScore_General"]
        with tempfile.TemporaryDirectory(prefix="bench-descriptors-") as scratch:
            midi_path = Path(scratch) / "piece.mid"
            midi_path.write_bytes(midi.writestr())
            audio = render_midi(midi_path, font, Path(scratch) / "piece.wav")
        cut, _, sound = level_excerpt(audio, TRACK_SECONDS, gap_seconds=60.0 / plan["bpm"])
        name = f"{work.slug}-{seed}.flac"
        soundfile.write(str(out / f".{name}"), cut, RATE, subtype="PCM_16", format="FLAC")
        os.replace(out / f".{name}", out / name)
        record.update(file=name, key=f"{PITCH_CLASSES[plan['tonic']]} {mode}", sound_s=sound)
    except Exception as exc:  # a score that is not kept, or one music21 or fluidsynth refuses
        record["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    write_json(out / f"{work.slug}-{seed}.json", record)
    return record


# --- measuring (in the workers) --------------------------------------------------------------


@functools.cache
def _whole_file_extractors() -> tuple[Any, dict[str, Any]]:
    """The whole-file extractors, built once per worker (Essentia warns of every composite
    extractor it deletes)."""
    from mydiscover.audio import essentia_standard

    es = essentia_standard()
    keys = {profile: es.KeyExtractor(profileType=profile) for profile in KEY_PROFILES}
    return es.RhythmExtractor2013(method="multifeature"), keys


def whole_file_readings(audio_path: str, cache_path: str) -> dict[str, Any]:
    """Essentia's extractors on the whole file (cached at ``cache_path``): the tempo and its
    confidence, and the key by each profile."""
    cached = Path(cache_path)
    if cached.exists():
        return json.loads(cached.read_text())
    from mydiscover.audio import essentia_standard

    rhythm, key_extractors = _whole_file_extractors()
    audio = essentia_standard().MonoLoader(filename=audio_path, sampleRate=44_100)()
    bpm, _, confidence, _, _ = rhythm(audio)
    keys = {}
    for profile, extractor in key_extractors.items():
        key, scale, _ = extractor(audio)
        keys[profile] = f"{key} {scale}"
    readings = {"bpm": float(bpm), "confidence": float(confidence), "keys": keys}
    write_json(cached, readings)
    return readings


def our_readings(audio_path: str) -> dict[str, Any]:
    """The project's tempo, its confidence and key, with each backend, as ``analyze`` reads
    them (the excerpts, then ``describe``), and the CPU seconds each took."""
    from mydiscover.audio.decode import load_excerpts
    from mydiscover.audio.descriptors import SAMPLE_RATE, describe

    readings = {}
    for backend in ("essentia", "librosa"):
        started = time.process_time()
        excerpts = load_excerpts(audio_path, SAMPLE_RATE)
        found = describe(
            excerpts.pieces, backend, channels=excerpts.channels, channels_rate=excerpts.native_rate
        )
        readings[backend] = {
            "bpm": found.bpm,
            "confidence": found.bpm_confidence,
            "key": f"{found.key} {found.scale}" if found.key else None,
            "cpu_s": time.process_time() - started,
        }
    return readings


def measure_piece(audio_path: str, cache_path: str) -> dict[str, Any]:
    """Every estimator's readings of one rendered piece (a worker task)."""
    try:
        return {"whole": whole_file_readings(audio_path, cache_path), **our_readings(audio_path)}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}


# --- the corpus ------------------------------------------------------------------------------


def render_pieces(
    folder: Path, split: str, seed: int, share: float, jobs: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The kept pieces of ``split`` (rendered now or reused), up to ``share`` of each
    composer's quota; and why the others were not kept, counted by reason."""
    soundfonts = find_soundfonts()
    kept: list[dict[str, Any]] = []
    refused: dict[str, int] = {}
    queues = {
        composer.corpus: [w for w in candidate_works(composer) if split_of(w) == split]
        for composer, _ in POOL
    }
    wanted = {composer.corpus: max(1, round(quota * share)) for composer, quota in POOL}
    started, rendered = time.perf_counter(), 0
    with spawn_pool(jobs) as pool:
        running: dict[Future, str] = {}

        def top_up(corpus: str) -> None:
            """Start the next candidates while the composer's kept and running fall short."""
            while queues[corpus] and wanted[corpus] > sum(c == corpus for c in running.values()):
                work = queues[corpus].pop(0)
                cached = folder / work.composer / f"{work.slug}-{seed}.json"
                if cached.exists():
                    done = Future()
                    done.set_result(json.loads(cached.read_text()))
                    running[done] = corpus
                else:
                    future = pool.submit(render_piece, work, seed, str(folder / corpus), soundfonts)
                    running[future] = corpus

        for composer, _ in POOL:
            top_up(composer.corpus)
        while running:
            finished, _ = wait_for(list(running), return_when="FIRST_COMPLETED")
            for future in finished:
                corpus = running.pop(future)
                record = future.result()
                if record["error"]:
                    reason = record["error"].split(":")[0] + ": " + record["error"].split()[1]
                    refused[reason] = refused.get(reason, 0) + 1
                else:
                    record["folder"] = str(folder / corpus)
                    kept.append(record)
                    wanted[corpus] -= 1
                    rendered += 1
                    if rendered % 20 == 0:
                        seconds = time.perf_counter() - started
                        print(f"  pieces: {rendered} kept, {seconds:.0f} s", file=sys.stderr)
                top_up(corpus)
    kept.sort(key=lambda r: (r["composer"], r["slug"]))
    return kept, refused


def measure_pieces(pieces: list[dict[str, Any]], jobs: int) -> list[dict[str, Any]]:
    """Each piece's record with every estimator's readings (``error`` where it failed)."""
    started = time.perf_counter()
    with spawn_pool(jobs) as pool:
        futures = [
            pool.submit(
                measure_piece,
                str(Path(p["folder"]) / p["file"]),
                str(Path(p["folder"]) / f".{p['file']}.whole-v1.json"),
            )
            for p in pieces
        ]
        measured = []
        for done, (piece, future) in enumerate(zip(pieces, futures, strict=True), 1):
            measured.append({**piece, **future.result()})
            if done % 20 == 0 or done == len(pieces):
                seconds = time.perf_counter() - started
                print(f"  measured: {done}/{len(pieces)}, {seconds:.0f} s", file=sys.stderr)
    return measured


# --- scoring ---------------------------------------------------------------------------------


def tempo_right(truth: float, bpm: float | None, factors: Sequence[float] = (1.0,)) -> bool:
    """Whether ``bpm`` is within TOLERANCE of ``truth`` times one of ``factors``."""
    return bpm is not None and any(abs(bpm - truth * f) <= TOLERANCE * truth * f for f in factors)


def key_score(truth: str, found: str | None) -> float:
    """MIREX's weighted key score of ``found`` against ``truth`` ('C# minor')."""
    import mir_eval

    return 0.0 if found is None else float(mir_eval.key.weighted_score(truth, found))


def interval95(values: np.ndarray, seed: int) -> tuple[float, float]:
    """A bootstrap 95% interval of the mean of ``values``."""
    if not len(values):
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(len(values), size=(BOOTSTRAP_DRAWS, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def auc(scores: Sequence[float | None], right: Sequence[bool]) -> float | None:
    """The chance that a right reading scores above a wrong one (ties half); None without
    both or without scores."""
    pairs = [(s, r) for s, r in zip(scores, right, strict=True) if s is not None]
    good = np.array([s for s, r in pairs if r], dtype=float)
    bad = np.array([s for s, r in pairs if not r], dtype=float)
    if not len(good) or not len(bad):
        return None
    wins = (good[:, None] > bad[None, :]).sum() + 0.5 * (good[:, None] == bad[None, :]).sum()
    return float(wins / (len(good) * len(bad)))


#: How an estimator's reading (a tempo, a key or a confidence) is taken from a piece's record.
Reading = Callable[[dict[str, Any]], Any]


def score_estimator(
    pieces: list[dict[str, Any]],
    bpm_of: Reading,
    key_of: Reading | None,
    confidence_of: Reading | None,
    seed: int,
) -> dict[str, Any]:
    """One estimator's figures over ``pieces`` (each reading taken by the given functions)."""
    truth = np.array([p["bpm"] for p in pieces])
    found = [bpm_of(p) for p in pieces]
    acc1 = np.array([tempo_right(t, f) for t, f in zip(truth, found, strict=True)])
    acc2 = np.array([tempo_right(t, f, ACC2_FACTORS) for t, f in zip(truth, found, strict=True)])
    slow = truth < SLOW_BPM
    drums = np.array([p["drums"] for p in pieces])
    figures: dict[str, Any] = {
        "acc1": float(acc1.mean()),
        "acc1_95": interval95(acc1.astype(float), seed),
        "acc2": float(acc2.mean()),
        "acc1_slow": float(acc1[slow].mean()) if slow.any() else None,
        "acc1_drums": float(acc1[drums].mean()) if drums.any() else None,
        "acc1_no_drums": float(acc1[~drums].mean()) if (~drums).any() else None,
        "double_slow": int(
            sum(tempo_right(t, f, (2.0,)) for t, f, s in zip(truth, found, slow, strict=True) if s)
        ),
        "slow": int(slow.sum()),
    }
    if key_of is not None:
        keys = [key_of(p) for p in pieces]
        scores = np.array([key_score(p["key"], k) for p, k in zip(pieces, keys, strict=True)])
        exact = scores == 1.0
        figures.update(
            key_exact=float(exact.mean()),
            mirex=float(scores.mean()),
            mirex_95=interval95(scores, seed),
            mirex_drums=float(scores[drums].mean()) if drums.any() else None,
            mirex_no_drums=float(scores[~drums].mean()) if (~drums).any() else None,
        )
    if confidence_of is not None:
        figures["auc"] = auc([confidence_of(p) for p in pieces], list(acc1))
        right = [confidence_of(p) for p, ok in zip(pieces, acc1, strict=True) if ok]
        wrong = [confidence_of(p) for p, ok in zip(pieces, acc1, strict=True) if not ok]
        figures["confidence_right"] = float(np.median(right)) if right else None
        figures["confidence_wrong"] = float(np.median(wrong)) if wrong else None
    return figures


def score_all(pieces: list[dict[str, Any]], seed: int) -> dict[str, dict[str, Any]]:
    """The figures of every estimator, by name."""
    results = {
        backend: score_estimator(
            pieces,
            lambda p, b=backend: p[b]["bpm"],
            lambda p, b=backend: p[b]["key"],
            (lambda p: p["essentia"]["confidence"]) if backend == "essentia" else None,
            seed,
        )
        for backend in ("essentia", "librosa")
    }
    results["whole_rhythm"] = score_estimator(
        pieces, lambda p: p["whole"]["bpm"], None, lambda p: p["whole"]["confidence"], seed
    )
    for profile in KEY_PROFILES:
        figures = score_estimator(
            pieces, lambda p: None, lambda p, k=profile: p["whole"]["keys"][k], None, seed
        )
        results[f"whole_key_{profile}"] = {
            k: figures[k]
            for k in ("key_exact", "mirex", "mirex_95", "mirex_drums", "mirex_no_drums")
        }
    return results


# --- the report ------------------------------------------------------------------------------


def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _span(pair: tuple[float, float] | None) -> str:
    return "" if pair is None else f"{pair[0]:.3f}-{pair[1]:.3f}"


#: Every column but the first holds figures (right-aligned).
NUMBERS = frozenset(range(1, 10))


def report(results: dict[str, dict[str, Any]], pieces: list[dict[str, Any]]) -> bool:
    """Print the tables and the verdicts; whether every target was reached."""
    ours, librosa, whole = results["essentia"], results["librosa"], results["whole_rhythm"]
    slow = ours["slow"]
    drums = sum(p["drums"] for p in pieces)
    print(f"\ntempo ({len(pieces)} pieces, {slow} below {SLOW_BPM:.0f} BPM, {drums} with drums)")
    rows = []
    for label, figures in (
        ("mydiscover, Essentia backend", ours),
        ("mydiscover, librosa backend", librosa),
        ("Essentia RhythmExtractor2013, whole file", whole),
    ):
        rows.append(
            [
                label,
                _number(figures["acc1"]),
                _span(figures["acc1_95"]),
                _number(figures["acc2"]),
                _number(figures["acc1_slow"]),
                f"{figures['double_slow']}/{slow}",
                _number(figures["acc1_drums"]),
                _number(figures["acc1_no_drums"]),
                _number(figures.get("auc")),
            ]
        )
    header = ["estimator", "Acc1", "Acc1 95%", "Acc2", "Acc1 slow", "slow read x2"]
    print_table(rows, [*header, "Acc1 drums", "Acc1 no drums", "confidence AUC"], NUMBERS)
    print(f"\nkey ({len(pieces)} pieces with a clear key)")
    rows = []
    key_rows = [
        ("mydiscover, Essentia backend (excerpts)", ours),
        ("mydiscover, librosa backend (excerpts)", librosa),
    ]
    key_rows += [
        (f"Essentia KeyExtractor '{p}', whole file", results[f"whole_key_{p}"])
        for p in KEY_PROFILES
    ]
    for label, figures in key_rows:
        rows.append(
            [
                label,
                _number(figures["key_exact"]),
                _number(figures["mirex"]),
                _span(figures["mirex_95"]),
                _number(figures["mirex_drums"]),
                _number(figures["mirex_no_drums"]),
            ]
        )
    print_table(
        rows, ["estimator", "exact", "MIREX", "MIREX 95%", "MIREX drums", "MIREX no drums"], NUMBERS
    )
    best_profile = max(KEY_PROFILES, key=lambda p: results[f"whole_key_{p}"]["mirex"])
    best_whole = results[f"whole_key_{best_profile}"]["mirex"]
    cpu = {b: float(np.median([p[b]["cpu_s"] for p in pieces])) for b in ("essentia", "librosa")}
    print(
        f"\nCPU per {TRACK_SECONDS:.0f}-s piece, median: Essentia backend {cpu['essentia']:.2f} s, "
        f"librosa backend {cpu['librosa']:.2f} s"
    )
    checks = [
        (f"tempo Acc1 >= {TARGET_ACC1}", ours["acc1"] >= TARGET_ACC1, _number(ours["acc1"])),
        (f"tempo Acc2 >= {TARGET_ACC2}", ours["acc2"] >= TARGET_ACC2, _number(ours["acc2"])),
        (
            f"key MIREX >= {TARGET_MIREX} and above the best whole-file profile",
            ours["mirex"] >= TARGET_MIREX and ours["mirex"] > best_whole,
            f"{ours['mirex']:.3f} (best whole file: '{best_profile}' {best_whole:.3f})",
        ),
        (
            f"tempo confidence AUC >= {TARGET_AUC}",
            ours["auc"] is not None and ours["auc"] >= TARGET_AUC,
            f"{_number(ours['auc'])} (median {_number(ours['confidence_right'], 2)} right, "
            f"{_number(ours['confidence_wrong'], 2)} wrong)",
        ),
    ]
    for name in ("acc1", "acc2", "mirex"):
        gap = ours[name] - librosa[name]
        checks.append(
            (
                f"librosa backend within {TARGET_LIBROSA_GAP} on {name}",
                gap <= TARGET_LIBROSA_GAP,
                f"{librosa[name]:.3f} ({gap:+.3f} behind)",
            )
        )
    print()
    print_table([[n, verdict(ok), m] for n, ok, m in checks], ["target", "check", "measured"])
    return all(ok for _, ok, _ in checks)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Measure the tempo and key mydiscover reads from rendered pieces whose "
        "tempo and key are known, beside Essentia's whole-file extractors.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="which half of the corpus: tune on 'validation', quote 'test'",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="draws each piece's tempo, key, drums and instruments",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_SHARE:.0%} of each composer's pieces: a smoke test",
    )
    parser.add_argument("--jobs", type=int, default=usable_cores(), help="worker processes")
    parser.add_argument(
        "--cache",
        type=Path,
        default=CACHE_DIR / "descriptors",
        help="where the rendered pieces and whole-file readings are kept",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Render, measure, report; 0 when every target was reached, 1 when one was missed."""
    args = parse_args(argv)
    started = time.perf_counter()
    folder = args.cache / f"render-v{RENDER_VERSION}"
    share = QUICK_SHARE if args.quick else 1.0
    pieces, refused = render_pieces(folder, args.split, args.seed, share, args.jobs)
    if not pieces:
        raise SystemExit("no piece could be rendered (see the records under " + str(folder) + ")")
    measured = measure_pieces(pieces, args.jobs)
    failed = [p for p in measured if p.get("error")]
    measured = [p for p in measured if not p.get("error")]
    print(
        f"mydiscover descriptor benchmark: {len(measured)} pieces of the {args.split} split, seed "
        f"{args.seed}; {len(failed)} could not be measured; not kept: "
        + ", ".join(f"{n} {why}" for why, n in sorted(refused.items(), key=lambda i: -i[1]))
        + f"; {usable_cores()} cores, Python {platform.python_version()}, "
        f"{time.perf_counter() - started:.0f} s",
    )
    for piece in failed:
        print(f"  {piece['slug']}: {piece['error']}", file=sys.stderr)
    results = score_all(measured, args.seed)
    reached = report(results, measured)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"split": args.split, "seed": args.seed, "pieces": measured, "figures": results},
                indent=1,
            )
        )
    return 0 if reached else 1


if __name__ == "__main__":
    sys.exit(main())
