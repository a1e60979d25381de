"""Rendering music21's corpus to sound: the scores, their MIDI, FluidSynth, a levelled excerpt.

Shared by the benchmarks that need music with a known answer: ``bench_sound.py`` (composers,
for the audio signal and the cold start) and ``bench_descriptors.py`` (tempo and key). The
corpus is music21's (BSD-3); the soundfonts are Debian's (``apt install fluidsynth
fluid-soundfont-gm musescore-general-soundfont``).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

RATE = 22_050
#: A work with less sound than this in its opening is replaced by the next.
MIN_SOUND_SECONDS = 5.0
#: Frames quieter than this, below the loudest, are silence (at the start and the end).
SILENCE_DB = -40.0
TARGET_RMS_DB = -20.0
RENDER_TIMEOUT_S = 180
#: fluidsynth renders until every voice has stopped: a file cap keeps a runaway render from
#: filling the disk (45 s of float stereo is 8 MB).
MAX_RENDER_BYTES = 64 * 2**20

SOUNDFONTS = {
    "FluidR3_GM": ("/usr/share/sounds/sf2/FluidR3_GM.sf2",),
    "MuseScore_General": (
        "/usr/share/sounds/sf3/MuseScore_General.sf3",
        "/usr/share/sounds/sf2/MuseScore_General.sf2",
        "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
    ),
}
#: General MIDI programs (0-based) from the highest voice to the lowest.
ENSEMBLES: dict[str, tuple[int, ...]] = {
    "piano": (0,),
    "strings": (40, 40, 41, 42, 43),
    "organ": (19,),
    "winds": (73, 68, 71, 70),
    "brass": (56, 60, 57, 58),
    "choir": (52,),
    "guitar": (24,),
    "harpsichord": (6,),
}


@dataclass(frozen=True)
class Composer:
    """A corpus folder standing for a composer (an artist of the library)."""

    corpus: str  # music21's name for it
    name: str  # the artist name in the library
    style: str
    tunes: bool = False  # its ABC files are collections: each X: tune is a work


#: Score formats, the preferred first where one work comes in several.
SCORE_SUFFIXES = (".mxl", ".musicxml", ".xml", ".krn", ".abc")


@dataclass(frozen=True)
class Work:
    """One piece of the corpus: a file, or one tune of a collection."""

    composer: str  # Composer.corpus
    source: str  # path inside music21's corpus folder
    number: int | None = None  # the tune's X: number in a collection

    @property
    def slug(self) -> str:
        """A file name for it."""
        stem = re.sub(r"[^A-Za-z0-9]+", "-", str(Path(self.source).with_suffix(""))).strip("-")
        return f"{stem}-{self.number}" if self.number is not None else stem


def corpus_root() -> Path:
    """music21's corpus folder."""
    from music21 import common

    return Path(common.getCorpusFilePath())


def candidate_works(composer: Composer) -> list[Work]:
    """The composer's works in a fixed shuffled order (the same on every machine)."""
    from music21 import corpus

    root = corpus_root()
    by_stem: dict[str, Path] = {}
    for path in sorted(Path(p) for p in corpus.getComposer(composer.corpus)):
        if path.suffix not in SCORE_SUFFIXES:
            continue  # .rntxt: a harmonic analysis, not a score
        stem = str(path.with_suffix(""))
        known = by_stem.get(stem)
        if known is None or SCORE_SUFFIXES.index(path.suffix) < SCORE_SUFFIXES.index(known.suffix):
            by_stem[stem] = path
    works: list[Work] = []
    for path in sorted(by_stem.values()):
        source = path.relative_to(root).as_posix()
        if composer.tunes and path.suffix == ".abc":
            text = path.read_text(encoding="latin-1")
            numbers = sorted({int(n) for n in re.findall(r"^X:\s*(\d+)", text, re.MULTILINE)})
            works += [Work(composer.corpus, source, number) for number in numbers]
        else:
            works.append(Work(composer.corpus, source))
    order = np.random.default_rng(zlib.crc32(composer.corpus.encode())).permutation(len(works))
    return [works[i] for i in order]


def find_soundfonts() -> dict[str, str]:
    """The path of each soundfont; exits with what to install where one is missing."""
    found: dict[str, str] = {}
    for name, paths in SOUNDFONTS.items():
        existing = [path for path in paths if Path(path).exists()]
        if not existing:
            raise SystemExit(
                f"soundfont {name} not found (looked for {', '.join(paths)}): apt install "
                "fluid-soundfont-gm musescore-general-soundfont"
            )
        found[name] = existing[0]
    return found


def parse_work(work: Work) -> Any:
    from music21 import corpus, stream

    path = corpus_root() / work.source
    if work.number is not None:
        parsed = corpus.parse(str(path), number=work.number)
    else:
        parsed = corpus.parse(str(path))
    if isinstance(parsed, stream.Opus):  # Josquin's ABC files: one voice per X: tune
        parsed = parsed.mergeScores()
    return parsed


def opening(score: Any, seconds: float) -> Any:
    """The first measures of ``score`` that last ``seconds`` at its first tempo (all of it
    when it is shorter or has no measures)."""
    qpm = 120.0
    boundaries = score.metronomeMarkBoundaries()
    if boundaries:
        qpm = boundaries[0][2].getQuarterBPM() or qpm
    wanted = seconds * qpm / 60.0
    parts = list(score.parts)
    if not parts:
        return score
    measures = list(parts[0].getElementsByClass("Measure"))
    if len(measures) < 2:
        return score
    total = 0.0
    for measure in measures:
        total += float(measure.duration.quarterLength)
        if total >= wanted:
            return score.measures(measures[0].number, measure.number)
    return score


def without_repeats(excerpt: Any) -> Any:
    """The excerpt played as written, once: its repeat signs, endings and jumps removed (a
    repeat cut in two by the excerpt cannot be expanded, and the opening is what is wanted)."""
    from music21 import bar, repeat, spanner

    for measure in excerpt.recurse().getElementsByClass("Measure"):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = bar.Barline("regular")
    doomed = list(excerpt.recurse().getElementsByClass(repeat.RepeatExpression))
    doomed += list(excerpt.recurse().getElementsByClass(spanner.RepeatBracket))
    for element in doomed:
        for site in list(element.sites.get()):
            if hasattr(site, "remove"):
                site.remove(element)
    return excerpt


def midi_file(excerpt: Any, programs: tuple[int, ...]) -> Any:
    """The excerpt as a music21 ``MidiFile``: each voiced track on its own channel with its
    ensemble's program, and the notes still held at the end released (fluidsynth renders until
    every voice is silent, so a tie cut by the excerpt would sound for ever)."""
    from music21 import midi

    midi_file = midi.translate.streamToMidiFile(excerpt)
    note_on, note_off = midi.ChannelVoiceMessages.NOTE_ON, midi.ChannelVoiceMessages.NOTE_OFF
    voiced = [t for t in midi_file.tracks if any(e.type == note_on for e in t.events)]
    channels = [c for c in range(1, 17) if c != 10]  # 1-based; 10 is percussion
    for track in voiced[len(channels) :]:
        midi_file.tracks.remove(track)
    voiced = voiced[: len(channels)]
    channel_kinds = set(midi.ChannelVoiceMessages) | set(midi.ChannelModeMessages)
    for index, track in enumerate(voiced):
        position = index * (len(programs) - 1) // max(1, len(voiced) - 1) if programs else 0
        program = programs[min(position, len(programs) - 1)]
        channel = channels[index]
        held: dict[int, int] = {}
        end = len(track.events)
        for at, event in enumerate(track.events):
            if isinstance(event, midi.DeltaTime):
                continue
            if event.type == midi.MetaEvents.END_OF_TRACK:
                end = at
            if event.type not in channel_kinds:
                continue
            event.channel = channel
            if event.type == midi.ChannelVoiceMessages.PROGRAM_CHANGE:
                event.data = program
            elif event.type == note_on and event.velocity:
                held[event.pitch] = held.get(event.pitch, 0) + 1
            elif event.type in (note_on, note_off) and held.get(event.pitch):
                held[event.pitch] -= 1
        releases: list[Any] = []
        for pitch, count in held.items():
            for _ in range(count):
                off = midi.MidiEvent(track, type=note_off, channel=channel)
                off.pitch, off.velocity = pitch, 0
                releases += [midi.DeltaTime(track, time=0, channel=channel), off]
        # Before the END_OF_TRACK's delta time: released at the last note's end.
        track.events[max(0, end - 1) : max(0, end - 1)] = releases
        change = midi.MidiEvent(
            track, type=midi.ChannelVoiceMessages.PROGRAM_CHANGE, channel=channel
        )
        change.data = program
        track.events[0:0] = [midi.DeltaTime(track, time=0, channel=channel), change]
    return midi_file


def limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_RENDER_BYTES, MAX_RENDER_BYTES))


def render_midi(midi_path: Path, soundfont: str, wav_path: Path) -> np.ndarray:
    """fluidsynth's rendering of a MIDI file, mono float32 at RATE."""
    import soundfile

    command = [
        "fluidsynth",
        "-ni",
        "-q",
        "-o",
        "synth.dynamic-sample-loading=1",
        "-O",
        "float",
        "-r",
        str(RATE),
        "-F",
        str(wav_path),
        soundfont,
        str(midi_path),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_S,
        preexec_fn=limit_file_size,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fluidsynth exit status {done.returncode}: {done.stderr.strip()[:200]}")
    audio, rate = soundfile.read(str(wav_path), dtype="float32", always_2d=True)
    if rate != RATE:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz, not {RATE}")
    return audio.mean(axis=1)


def level_excerpt(
    audio: np.ndarray, seconds: float, gap_seconds: float
) -> tuple[np.ndarray, float, float]:
    """``seconds`` of ``audio`` from its first sound (played again after ``gap_seconds`` of
    silence where shorter), at TARGET_RMS_DB; with the second the sound starts at and how many
    seconds of sound there were."""
    frame = 1024
    frames = len(audio) // frame
    if not frames:
        raise ValueError("no sound")
    rms = np.sqrt(np.mean(audio[: frames * frame].reshape(frames, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (SILENCE_DB / 20))
    if rms.max() <= 1e-6 or not len(loud):
        raise ValueError("no sound")
    sound = audio[loud[0] * frame : (loud[-1] + 1) * frame]
    sound_seconds = len(sound) / RATE
    if sound_seconds < MIN_SOUND_SECONDS:
        raise ValueError(f"only {sound_seconds:.1f} s of sound")
    wanted = int(seconds * RATE)
    if len(sound) < wanted:
        gap = np.zeros(int(gap_seconds * RATE), dtype=np.float32)
        sound = np.concatenate([sound, gap] * (wanted // (len(sound) + len(gap)) + 1))
    cut = sound[:wanted].astype(np.float64)
    cut *= 10 ** (TARGET_RMS_DB / 20) / max(np.sqrt(np.mean(cut**2)), 1e-9)
    peak = np.abs(cut).max()
    if peak > 0.99:
        cut *= 0.99 / peak
    return cut.astype(np.float32), loud[0] * frame / RATE, sound_seconds


def spawn_pool(jobs: int) -> ProcessPoolExecutor:
    """Workers started fresh (spawn): nothing of this process's threads or imports is forked."""
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"))


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` whole or not at all (a killed run leaves no half
    record in the cache)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path)
