"""Benchmark the audio analysis (``analyze_file``) against a naive Essentia + musicnn baseline.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench]``, with
Essentia installed)::

    python bench/bench_analyze.py                    # generated tracks + the real clips, once
    python bench/bench_analyze.py --repeat 3 --json  # median of three runs, figures as JSON too
    python bench/bench_analyze.py --clips DIR        # other real clips (any format)
    python bench/bench_analyze.py --formats flac --no-clips   # a quicker run
    python bench/bench_analyze.py --profile          # where one analysis of the 4-min track goes

The targets (from the issue): on a 4-minute track, the whole analysis costs 1.0 CPU second or
less (an aim), with a peak memory per worker below 600 MB, and is at least 5 times cheaper
than a naive baseline measured in the same run; and a 20-minute track does not cost 5 times
what a 4-minute one does (the analysis reads bounded excerpts).

The first run generates, under ``bench/.cache/analyze/`` (git ignores it), and later runs
reuse a 4-minute and a 20-minute music-like track, 44.1 kHz stereo, as FLAC and (where
libsndfile writes it) MP3: drums at 124 BPM (kick on every beat, snare on two and four,
eighth-note hi-hats), the chords Am F C G (a bar each; C major's vi-IV-I-V, which Essentia
reads as C major) on a pad, a bass line in eighths, an arpeggio in some sections, a breakdown
without drums every 64 bars, and a little noise. It is written block by block (one long
``soundfile.write`` of OGG crashes libsndfile). The real clips are the audio files (ogg, flac,
mp3, wav) of ``../shared/data/audio`` (from the repository root) when that folder exists, or
those of ``--clips DIR``.

Each measurement runs in a fresh Python process, so its CPU time and peak memory are those of
one worker that loads the network once:

- ours: ``analyze_file(path)``. "CPU s" is the process's user + system CPU time
  (``getrusage(RUSAGE_SELF)`` in the child, all threads) from its start to the end of that
  analysis: interpreter start-up, imports and the model load included. The same process then
  analyses the same file a second time: "2nd s" is the CPU time of that call alone, which is
  what each track costs a worker that is already running.
- baseline: Essentia's ``MusicExtractor()`` on the full file, plus musicnn on every patch of
  the full track (``MonoLoader`` at 16 kHz with its default resample quality, ``mel_frames``,
  ``to_patches``, then ``MusicnnModel().predict`` on all the patches in one call). "CPU s" is
  the whole process, like ours; "work s" leaves out start-up, imports and the model load.
- bliss: bliss-audio's ``Song(path)`` (Rust; it decodes and analyses the whole file), twice in
  one fresh process: "bliss 2nd" is the CPU time of its second call, beside our "2nd s" (where
  ``bliss_audio`` is not installed, ``pip install bliss-audio``, those columns are left out).
- cosine: after its measured analyses, the child of ours also embeds the whole excerpts (all of
  each 20 s, as the analysis did before the network heard only their middles) and prints the
  cosine between the two embeddings.
- peak MB is the child's ``VmHWM`` (the kernel's high-water mark of its resident memory) at
  its end, so it covers both analyses for ours; the parent's ``wait4`` ``ru_maxrss`` is kept in
  the JSON as a cross-check.
- wall s: from starting the child to the end of its (first) analysis.

"speed-up" divides the baseline's process CPU by ours; "warm x" divides the baseline's work
CPU by our second analysis. With ``--repeat N`` every measurement runs N times, interleaved;
the table shows the median of each time and the highest peak.

``--profile`` instead runs one child that analyses the 4-minute FLAC twice under cProfile
(timed in process CPU time) and prints the CPU seconds of each stage for both calls. cProfile
adds its overhead to every Python call, which inflates the stages that loop in Python (the
mel front-end calls Essentia once per frame: about 0.23 s profiled, 0.05 s unprofiled).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    REPO_ROOT,
    add_common_arguments,
    add_repo_to_path,
    cache_folder,
    print_table,
    verdict,
)

DEFAULT_CLIPS = REPO_ROOT.parent / "shared" / "data" / "audio"
RATE = 44_100
SHORT_SECONDS = 240.0
LONG_SECONDS = 1200.0
FORMATS = ("flac", "mp3")
#: Bumped when the generator changes, so cached tracks are made again.
GENERATOR_VERSION = 1
BLOCK_SECONDS = 10.0

TARGET_CPU_SECONDS = 1.0
#: Per track in a running worker, at most bliss-audio's CPU on the same 4-minute file.
TARGET_BLISS_RATIO = 1.0
#: The embedding of the excerpts' middles within this cosine of that of whole excerpts.
TARGET_COSINE = 0.98
TARGET_PEAK_MB = 600.0
TARGET_SPEEDUP = 5.0
MAX_LONG_TO_SHORT = 5.0


# --- the generated tracks --------------------------------------------------------------------

BPM = 124.0
BEAT = 60.0 / BPM
BAR = 4 * BEAT
SECTION_BARS = 16
# Am F C G, a bar each (C major's vi-IV-I-V) (MIDI notes: the pad's three voices, the bass root).
CHORDS = (((57, 60, 64), 45), ((53, 57, 60), 41), ((55, 60, 64), 48), ((55, 59, 62), 43))
BASS_PATTERN = (0, 0, 12, 0, 7, 0, 12, 7)  # semitones above the root, one per eighth


def _hz(midi: int) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


class _Sounds:
    """The instruments' sounds, each rendered once and reused (mono float64 arrays)."""

    def __init__(self) -> None:
        import numpy as np

        rng = np.random.default_rng(20_240_124)

        def t(seconds: float) -> Any:
            return np.arange(int(seconds * RATE)) / RATE

        def envelope(n: int, attack: float, release: float) -> Any:
            env = np.ones(n)
            a, r = int(attack * RATE), int(release * RATE)
            env[:a] = np.linspace(0.0, 1.0, a)
            env[n - r :] *= np.linspace(1.0, 0.0, r)
            return env

        tk = t(0.35)
        sweep = 2 * np.pi * np.cumsum(50 + 110 * np.exp(-tk / 0.03)) / RATE
        self.kick = np.sin(sweep) * np.exp(-tk / 0.12)
        ts = t(0.25)
        rattle = 0.7 * rng.standard_normal(len(ts)) * np.exp(-ts / 0.05)
        self.snare = rattle + 0.5 * np.sin(2 * np.pi * 185 * ts) * np.exp(-ts / 0.04)
        th = t(0.08)
        hiss = np.diff(rng.standard_normal(len(th) + 1))  # differenced noise: bright
        self.hat = 0.25 * hiss * np.exp(-th / 0.015)

        def tone(midi: int, seconds: float, harmonics: int, detune: float) -> Any:
            times = t(seconds)
            wave = np.zeros_like(times)
            for k in range(1, harmonics + 1):
                for cents in (-detune, detune):
                    f = _hz(midi) * k * 2 ** (cents / 1200)
                    wave += np.sin(2 * np.pi * f * times) / k
            return wave / (2 * harmonics**0.5)

        bar_len = BAR + 0.05
        self.pads = [
            sum(tone(note, bar_len, 6, 7.0) for note in notes)
            * envelope(int(bar_len * RATE), 0.04, 0.15)
            for notes, _ in CHORDS
        ]
        eighth = BEAT / 2
        self.bass = {
            root + step: tone(root + step, eighth, 8, 2.0)
            * envelope(int(eighth * RATE), 0.005, 0.04)
            for _, root in CHORDS
            for step in set(BASS_PATTERN)
        }
        sixteenth = BEAT / 4
        self.arp = {
            note + 12: tone(note + 12, sixteenth, 3, 0.0)
            * envelope(int(sixteenth * RATE), 0.003, 0.05)
            for notes, _ in CHORDS
            for note in notes
        }


def _bar_events(bar: int, sounds: _Sounds) -> Iterator[tuple[float, Any, float, float]]:
    """The notes of one bar: (start second, sound, gain, pan from -1 to 1)."""
    start = bar * BAR
    section = bar // SECTION_BARS
    breakdown = section % 4 == 3
    with_arp = section % 2 == 1
    notes, root = CHORDS[bar % len(CHORDS)]
    yield start, sounds.pads[bar % len(CHORDS)], 0.16 if breakdown else 0.12, 0.0
    for eighth, step in enumerate(BASS_PATTERN):
        at = start + eighth * BEAT / 2
        if not breakdown:
            yield at, sounds.bass[root + step], 0.22, 0.0
        yield at, sounds.hat, 0.9 if eighth % 2 else 0.6, 0.35
    if not breakdown:
        for beat in range(4):
            yield start + beat * BEAT, sounds.kick, 0.8, 0.0
            if beat % 2:
                yield start + beat * BEAT, sounds.snare, 0.35, -0.1
    if with_arp:
        for sixteenth in range(16):
            note = notes[(sixteenth * 2 + bar) % 3] + 12
            yield start + sixteenth * BEAT / 4, sounds.arp[note], 0.06, -0.4


def _render_block(first: int, count: int, sounds: _Sounds, total: int) -> Any:
    """Samples ``first`` to ``first + count`` of the track, stereo float32."""
    import numpy as np

    block = np.zeros((count, 2))
    longest = max(len(sound) for sound in sounds.pads) / RATE
    first_bar = max(0, int((first / RATE - longest) // BAR))
    last_bar = int(((first + count) / RATE) // BAR)
    for bar in range(first_bar, last_bar + 1):
        for at, sound, gain, pan in _bar_events(bar, sounds):
            offset = round(at * RATE) - first
            lo, hi = max(0, offset), min(count, offset + len(sound))
            if lo >= hi:
                continue
            piece = sound[lo - offset : hi - offset] * gain
            block[lo:hi, 0] += piece * (1 - pan) / 2 * 2**0.5
            block[lo:hi, 1] += piece * (1 + pan) / 2 * 2**0.5
    rng = np.random.default_rng(first)
    block += 0.004 * rng.standard_normal(block.shape)
    # Two seconds of fade-in and fade-out, then a soft clip.
    positions = np.arange(first, first + count)
    fade = np.clip(np.minimum(positions, total - positions) / (2 * RATE), 0.0, 1.0)
    block *= fade[:, None]
    return np.tanh(1.2 * block).astype(np.float32)


def generate_track(path: Path, seconds: float) -> None:
    """Write the music-like test track of ``seconds`` to ``path`` (FLAC or MP3), in blocks."""
    import soundfile

    sounds = _Sounds()
    total = int(seconds * RATE)
    step = int(BLOCK_SECONDS * RATE)
    partial = path.with_name(path.name + ".partial")
    kind = {"flac": ("FLAC", "PCM_16"), "mp3": ("MP3", "MPEG_LAYER_III")}[path.suffix[1:]]
    with soundfile.SoundFile(
        partial, "w", RATE, 2, format=kind[0], subtype=kind[1]
    ) as handle:  # fmt: skip
        for first in range(0, total, step):
            handle.write(_render_block(first, min(step, total - first), sounds, total))
    partial.replace(path)


def can_write_mp3() -> bool:
    import soundfile

    return "MP3" in soundfile.available_formats()


def ensure_tracks(folder: Path, formats: Sequence[str]) -> list[Path]:
    """The generated tracks (4 and 20 minutes, each format), made where missing."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seconds in (SHORT_SECONDS, LONG_SECONDS):
        for fmt in formats:
            path = folder / f"synth-v{GENERATOR_VERSION}-{seconds / 60:.0f}min.{fmt}"
            if not path.exists():
                print(f"generating {path.name} ...", file=sys.stderr, flush=True)
                started = time.perf_counter()
                generate_track(path, seconds)
                print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
            paths.append(path)
    return paths


# --- the child processes ---------------------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _vm_hwm_mb() -> float | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _peak_mb() -> float:
    hwm = _vm_hwm_mb()
    if hwm is not None:
        return hwm
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def child_ours(path: str, *, second: bool) -> dict[str, Any]:
    """Run in a fresh process: ``analyze_file`` once (and again if ``second``)."""
    add_repo_to_path()
    from mydiscover.audio.analyze import analyze_file

    imported = _cpu()
    result = analyze_file(os.fsencode(path))
    first_cpu, first_end = _cpu(), time.time()
    figures: dict[str, Any] = {
        "import_cpu_s": imported,
        "cpu_s": first_cpu,
        "end_time": first_end,
        "peak_after_first_mb": _peak_mb(),
        "analysed_seconds": result.analysed_seconds,
        "backend": result.backend,
        "descriptors": result.descriptors._asdict(),
        "patches": result.embedding.patches if result.embedding is not None else 0,
    }
    if second:
        started, wall = _cpu(), time.perf_counter()
        analyze_file(os.fsencode(path))
        figures["second_cpu_s"] = _cpu() - started
        figures["second_wall_s"] = time.perf_counter() - wall
    figures["peak_mb"] = _peak_mb()
    if result.embedding is not None:
        figures["whole_excerpt_cosine"] = _cosine_to_whole_excerpts(
            path, result.embedding.embedding
        )
    return figures


def _cosine_to_whole_excerpts(path: str, embedding: Any) -> float:
    """The cosine between ``embedding`` and the embedding of the file's whole excerpts."""
    import numpy as np

    from mydiscover.audio.analyze import embed_pieces
    from mydiscover.audio.decode import load_excerpts
    from mydiscover.audio.descriptors import SAMPLE_RATE

    whole = embed_pieces(load_excerpts(os.fsencode(path), SAMPLE_RATE).pieces)
    assert whole is not None  # the same pieces gave ``embedding``
    vector = whole.embedding
    return float(vector @ embedding / np.linalg.norm(vector) / np.linalg.norm(embedding))


def child_bliss(path: str) -> dict[str, Any]:
    """Run in a fresh process: bliss-audio's analysis of the whole file, twice."""
    from bliss_audio import Song

    imported = _cpu()
    Song(path)
    first_cpu, first_end = _cpu(), time.time()
    Song(path)
    return {
        "import_cpu_s": imported,
        "cpu_s": first_cpu,
        "end_time": first_end,
        "second_cpu_s": _cpu() - first_cpu,
        "peak_mb": _peak_mb(),
    }


def bliss_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("bliss_audio") is not None


def child_baseline(path: str) -> dict[str, Any]:
    """Run in a fresh process: MusicExtractor on the whole file, musicnn on all its patches."""
    add_repo_to_path()
    from mydiscover.audio import essentia_standard
    from mydiscover.audio.embed import MusicnnModel
    from mydiscover.audio.frontend import SAMPLE_RATE as CNN_RATE
    from mydiscover.audio.frontend import mel_frames, to_patches

    es = essentia_standard()
    imported = _cpu()
    model = MusicnnModel()
    loaded = _cpu()
    pool, _frames = es.MusicExtractor()(path)
    extracted = _cpu()
    audio = es.MonoLoader(filename=path, sampleRate=CNN_RATE)()
    patches = to_patches(mel_frames(audio))
    front_end = _cpu()
    tags, _embeddings = model.predict(patches)
    done, end = _cpu(), time.time()
    return {
        "import_cpu_s": imported,
        "model_cpu_s": loaded - imported,
        "extractor_cpu_s": extracted - loaded,
        "front_end_cpu_s": front_end - extracted,
        "network_cpu_s": done - front_end,
        "work_cpu_s": done - loaded,
        "cpu_s": done,
        "end_time": end,
        "peak_mb": _peak_mb(),
        "duration_s": float(pool["metadata.audio_properties.length"]),
        "patches": len(tags),
        "bpm": float(pool["rhythm.bpm"]),
        "key": f"{pool['tonal.key_edma.key']} {pool['tonal.key_edma.scale']}",
    }


def child_profile(path: str) -> dict[str, Any]:
    """Run in a fresh process: two analyses of ``path`` under cProfile, CPU time per stage."""
    import cProfile
    import pstats

    add_repo_to_path()
    calls = []
    for _ in range(2):
        profiler = cProfile.Profile(time.process_time)
        started = _cpu()
        profiler.enable()
        from mydiscover.audio.analyze import analyze_file

        analyze_file(os.fsencode(path))
        profiler.disable()
        total = _cpu() - started
        calls.append({"total": total, **_stages(pstats.Stats(profiler))})
    return {"calls": calls, "peak_mb": _peak_mb(), "end_time": time.time()}


#: (stage, file name ending, function name, caller names or None for any), in report order.
_STAGE_FUNCTIONS: tuple[tuple[str, str, str, tuple[str, ...] | None], ...] = (
    ("import mydiscover.audio.analyze (numpy)", "audio/analyze.py", "<module>", None),
    ("model load (MusicnnModel())", "audio/embed.py", "__init__", None),
    ("decode + downmix (load_excerpts)", "audio/decode.py", "load_excerpts", None),
    ("  of which resampling to 44.1 kHz", "audio/decode.py", "resample", ("_read_seekable",)),
    ("descriptors (describe): total", "audio/descriptors.py", "describe", None),
    ("  import essentia.standard (first use)", "essentia/standard.py", "<module>", None),
    ("  rhythm (RhythmExtractor2013)", "audio/descriptors.py", "tempo", None),
    ("  key (KeyExtractor)", "audio/descriptors.py", "key", None),
    ("  loudness (LoudnessEBUR128)", "audio/descriptors.py", "loudness", None),
    ("  replay gain (ReplayGain)", "audio/descriptors.py", "replay_gain", None),
    ("  danceability (Danceability)", "audio/descriptors.py", "danceability", None),
    # Comprehensions are functions of their own before Python 3.12.
    ("resample to 16 kHz", "audio/decode.py", "resample", ("analyze_file", "<listcomp>")),
    ("mel front-end (mel_frames)", "audio/frontend.py", "mel_frames", None),
    ("network (MusicnnModel.predict)", "audio/embed.py", "predict", None),
    ("across stages: Essentia algorithms built", "essentia/standard.py", "__init__", None),
)


def _stages(stats: Any) -> dict[str, float]:
    """Cumulative seconds of the functions in ``_STAGE_FUNCTIONS``, from pstats data."""
    seconds = dict.fromkeys((stage for stage, *_ in _STAGE_FUNCTIONS), 0.0)
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, callers) in stats.stats.items():
        for stage, ending, function, wanted_callers in _STAGE_FUNCTIONS:
            if name != function or not filename.replace(os.sep, "/").endswith(ending):
                continue
            if wanted_callers is None:
                seconds[stage] += cumulative
            else:
                seconds[stage] += sum(
                    figures[3]
                    for (_f, _l, caller), figures in callers.items()
                    if caller in wanted_callers
                )
    return seconds


def run_child(mode: str, path: Path, *, second: bool = False) -> dict[str, Any]:
    """Run this script as a child in ``mode``; its figures, and the parent's view of it."""
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", mode]
        command += ["--child-out", str(out), *(["--child-second"] if second else []), str(path)]
        log = Path(tmp) / "output.txt"
        with open(log, "wb") as output:
            started = time.time()
            process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
            _pid, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0 or not out.exists():
            raise RuntimeError(
                f"$ {' '.join(command)}\nexit status {process.returncode}\n"
                + log.read_text(errors="replace")
            )
        figures = json.loads(out.read_text())
    figures["wall_s"] = figures.pop("end_time") - started
    figures["wait4_cpu_s"] = usage.ru_utime + usage.ru_stime
    scale = 1 if sys.platform == "darwin" else 1024
    figures["wait4_maxrss_mb"] = usage.ru_maxrss * scale / 2**20
    return figures


# --- the report ------------------------------------------------------------------------------


@dataclass
class FileResult:
    path: Path
    duration: float
    generated: bool
    ours: list[dict[str, Any]] = field(default_factory=list)
    baseline: list[dict[str, Any]] = field(default_factory=list)
    bliss: list[dict[str, Any]] = field(default_factory=list)

    def bliss_median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.bliss)

    @property
    def bliss_ratio(self) -> float:
        """Our CPU per track in a running worker over bliss-audio's."""
        return self.ours_median("second_cpu_s") / self.bliss_median("second_cpu_s")

    @property
    def cosine(self) -> float | None:
        values = [run["whole_excerpt_cosine"] for run in self.ours if "whole_excerpt_cosine" in run]
        return min(values) if values else None

    def ours_median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.ours)

    def baseline_median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.baseline)

    @property
    def ours_peak(self) -> float:
        return max(run["peak_mb"] for run in self.ours)

    @property
    def baseline_peak(self) -> float:
        return max(run["peak_mb"] for run in self.baseline)

    @property
    def speedup(self) -> float:
        return self.baseline_median("cpu_s") / self.ours_median("cpu_s")

    @property
    def warm_speedup(self) -> float:
        return self.baseline_median("work_cpu_s") / self.ours_median("second_cpu_s")

    def summary(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "duration_s": self.duration,
            "generated": self.generated,
            "ours": {
                "cpu_s": self.ours_median("cpu_s"),
                "second_cpu_s": self.ours_median("second_cpu_s"),
                "wall_s": self.ours_median("wall_s"),
                "peak_mb": self.ours_peak,
                "runs": self.ours,
            },
            "baseline": {
                "cpu_s": self.baseline_median("cpu_s"),
                "work_cpu_s": self.baseline_median("work_cpu_s"),
                "wall_s": self.baseline_median("wall_s"),
                "peak_mb": self.baseline_peak,
                "runs": self.baseline,
            },
            "bliss": {
                "second_cpu_s": self.bliss_median("second_cpu_s"),
                "cpu_s": self.bliss_median("cpu_s"),
                "runs": self.bliss,
            }
            if self.bliss
            else None,
            "speedup": self.speedup,
            "warm_speedup": self.warm_speedup,
            "whole_excerpt_cosine": self.cosine,
        }


def _duration(path: Path) -> float:
    import soundfile

    return soundfile.info(str(path)).duration


def _short_name(path: Path, width: int = 28) -> str:
    name = path.name
    return name if len(name) <= width else name[: width - 3] + "..."


def _descriptor_note(runs: list[dict[str, Any]]) -> str:
    d = runs[0]["descriptors"]
    bpm = f"{d['bpm']:.1f}" if d["bpm"] is not None else "-"
    key = f"{d['key']} {d['scale']}" if d["key"] is not None else "-"
    return f"{bpm} {key}"


def print_report(results: list[FileResult], repeat: int) -> list[tuple[str, bool]]:
    """Print the tables and the verdicts; return the verdicts."""
    import essentia
    import numpy as np

    print(
        f"mydiscover analyze benchmark: median of {repeat}, 1 process per measurement, "
        f"Python {platform.python_version()}, Essentia {essentia.__version__}, "
        f"numpy {np.__version__}, {platform.processor() or platform.machine()}"
    )
    with_bliss = all(result.bliss for result in results)
    rows = []
    for result in results:
        rows.append(
            (
                _short_name(result.path),
                f"{result.duration:.1f}",
                f"{result.ours_median('cpu_s'):.2f}",
                f"{result.ours_median('second_cpu_s'):.2f}",
                f"{result.ours_median('wall_s'):.2f}",
                f"{result.ours_peak:.0f}",
                f"{result.baseline_median('cpu_s'):.2f}",
                f"{result.baseline_median('work_cpu_s'):.2f}",
                f"{result.baseline_peak:.0f}",
                f"{result.speedup:.1f}",
                f"{result.warm_speedup:.1f}",
                *((f"{result.bliss_median('second_cpu_s'):.2f}",) if with_bliss else ()),
                f"{result.cosine:.3f}" if result.cosine is not None else "-",
                _descriptor_note(result.ours),
            )
        )
    print_table(
        rows,
        header=(
            "file", "duration s", "ours CPU s", "2nd s", "wall s", "peak MB",
            "base CPU s", "work s", "peak MB", "speed-up", "warm x",
            *(("bliss 2nd",) if with_bliss else ()), "cosine", "ours bpm key",
        ),
        right_aligned_columns=set(range(1, 12 + with_bliss)),
    )  # fmt: skip

    generated = [r for r in results if r.generated]
    if generated:
        print()
        print("generated tracks, per 4 minutes of audio (CPU s x 240 / duration):")
        per4 = [
            (
                _short_name(r.path),
                f"{r.duration / 60:.0f} min",
                f"{r.ours_median('cpu_s') * 240 / r.duration:.2f}",
                f"{r.ours_median('second_cpu_s') * 240 / r.duration:.2f}",
                f"{r.baseline_median('cpu_s') * 240 / r.duration:.2f}",
                f"{r.baseline_median('work_cpu_s') * 240 / r.duration:.2f}",
            )
            for r in generated
        ]
        print_table(
            per4,
            header=("file", "length", "ours CPU", "ours 2nd", "base CPU", "base work"),
            right_aligned_columns={1, 2, 3, 4, 5},
        )

    verdicts: list[tuple[str, bool]] = []
    shorts = [r for r in generated if abs(r.duration - SHORT_SECONDS) < 1]
    longs = {r.path.suffix: r for r in generated if abs(r.duration - LONG_SECONDS) < 1}
    for r in shorts:
        fmt = r.path.suffix[1:]
        cpu, second = r.ours_median("cpu_s"), r.ours_median("second_cpu_s")
        verdicts.append(
            (
                f"ours on the 4-min {fmt}, whole process (start-up, imports, model load): "
                f"{cpu:.2f} CPU s, aiming at <= {TARGET_CPU_SECONDS:.1f}",
                cpu <= TARGET_CPU_SECONDS,
            )
        )
        verdicts.append(
            (
                f"ours on the 4-min {fmt}, per track in a running worker (2nd analysis): "
                f"{second:.2f} CPU s, aiming at <= {TARGET_CPU_SECONDS:.1f}",
                second <= TARGET_CPU_SECONDS,
            )
        )
        verdicts.append(
            (
                f"speed-up on the 4-min {fmt}: {r.speedup:.1f}x whole process "
                f"({r.warm_speedup:.1f}x without start-up and model load), "
                f"target >= {TARGET_SPEEDUP:.0f}x",
                r.speedup >= TARGET_SPEEDUP,
            )
        )
        if with_bliss:
            verdicts.append(
                (
                    f"ours against bliss-audio on the 4-min {fmt}, per track in a running "
                    f"worker: {second:.2f} vs {r.bliss_median('second_cpu_s'):.2f} CPU s = "
                    f"{r.bliss_ratio:.2f}x, target <= {TARGET_BLISS_RATIO:.1f}x",
                    r.bliss_ratio <= TARGET_BLISS_RATIO,
                )
            )
        long = longs.get(r.path.suffix)
        if long is not None:
            warm = long.ours_median("second_cpu_s") / second
            cold = long.ours_median("cpu_s") / cpu
            verdicts.append(
                (
                    f"ours, 20-min vs 4-min {fmt}: {long.ours_median('second_cpu_s'):.2f} vs "
                    f"{second:.2f} CPU s per track = {warm:.2f}x (whole process "
                    f"{long.ours_median('cpu_s'):.2f} vs {cpu:.2f} = {cold:.2f}x), "
                    f"target < {MAX_LONG_TO_SHORT:.0f}x",
                    warm < MAX_LONG_TO_SHORT and cold < MAX_LONG_TO_SHORT,
                )
            )
    cosines = [(r.cosine, r) for r in results if r.cosine is not None and r.cosine < 1.0]
    if cosines:  # 1.0: a track analysed whole, whose network hears all of it
        lowest, where = min(cosines, key=lambda pair: pair[0])
        verdicts.append(
            (
                f"embeddings of the excerpts' middles against whole excerpts: cosine "
                f"{lowest:.3f} at the lowest ({_short_name(where.path)}), target >= "
                f"{TARGET_COSINE:.2f}",
                lowest >= TARGET_COSINE,
            )
        )
    worst = max(results, key=lambda r: r.ours_peak)
    verdicts.append(
        (
            f"ours peak memory per worker: {worst.ours_peak:.0f} MB at most "
            f"({_short_name(worst.path)}), target < {TARGET_PEAK_MB:.0f} MB",
            worst.ours_peak < TARGET_PEAK_MB,
        )
    )
    print()
    for text, ok in verdicts:
        print(f"{verdict(ok)}  {text}")
    return verdicts


def print_profile(figures: dict[str, Any], path: Path) -> None:
    cold, warm = figures["calls"]
    print(
        f"cProfile of analyze_file({path.name}), CPU seconds (process time, cumulative per "
        f"stage; profiling overhead included); peak {figures['peak_mb']:.0f} MB"
    )
    rows = [
        (stage, f"{cold[stage]:.3f}", f"{warm[stage]:.3f}")
        for stage, *_ in _STAGE_FUNCTIONS
        if stage in cold
    ]
    rows.append(("total (getrusage around the call)", f"{cold['total']:.3f}",
                 f"{warm['total']:.3f}"))  # fmt: skip
    print_table(rows, header=("stage", "1st call", "2nd call"), right_aligned_columns={1, 2})


# --- the command line ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark analyze_file against MusicExtractor + musicnn on whole tracks."
    )
    parser.add_argument(
        "--clips",
        type=Path,
        default=DEFAULT_CLIPS if DEFAULT_CLIPS.is_dir() else None,
        help="a folder of real clips (*.ogg, *.flac, *.mp3, *.wav) to measure too "
        "(default: ../shared/data/audio from the repository root, where it exists)",
    )
    parser.add_argument("--no-clips", action="store_true", help="measure the generated tracks only")
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help="formats of the generated tracks, of flac and mp3 (default: %(default)s; mp3 is "
        "skipped where libsndfile cannot write it)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where to keep the generated tracks (default: bench/.cache/analyze)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile two analyses of the 4-minute FLAC instead, CPU seconds per stage",
    )
    add_common_arguments(
        parser,
        repeat_default=1,
        repeat_help="runs per measurement",
        json_help="also print all figures as one JSON line",
    )
    parser.add_argument(
        "--child", choices=("ours", "baseline", "bliss", "profile"), help=argparse.SUPPRESS
    )
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-second", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.formats = [fmt.strip() for fmt in args.formats.split(",") if fmt.strip()]
    if not args.formats or set(args.formats) - set(FORMATS):
        parser.error(f"--formats takes some of {', '.join(FORMATS)}")
    args.cache = cache_folder(args.cache, "analyze")
    return args


def run_as_child(args: argparse.Namespace) -> int:
    if args.child == "ours":
        figures = child_ours(args.path, second=args.child_second)
    elif args.child == "baseline":
        figures = child_baseline(args.path)
    elif args.child == "bliss":
        figures = child_bliss(args.path)
    else:
        figures = child_profile(args.path)
    args.child_out.write_text(json.dumps(figures))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_as_child(args)

    formats = [fmt for fmt in args.formats if fmt != "mp3" or can_write_mp3()]
    if len(formats) < len(args.formats):
        print("note: this libsndfile cannot write MP3: FLAC only", file=sys.stderr)
    if args.profile:
        track = ensure_tracks(args.cache, ["flac"])[0]
        figures = run_child("profile", track)
        print_profile(figures, track)
        if args.json:
            print(json.dumps({"profile": figures, "file": str(track)}))
        return 0

    files: list[tuple[Path, bool]] = [(p, True) for p in ensure_tracks(args.cache, formats)]
    if args.clips is not None and not args.no_clips:
        clips = sorted(
            p for p in args.clips.iterdir() if p.suffix.lower() in {".ogg", ".flac", ".mp3", ".wav"}
        )
        if not clips:
            print(f"note: no clips in {args.clips}", file=sys.stderr)
        files += [(p, False) for p in clips]

    results = [FileResult(p, _duration(p), generated) for p, generated in files]
    with_bliss = bliss_installed()
    if not with_bliss:
        print("note: bliss_audio is not installed (pip install bliss-audio): no bliss column",
              file=sys.stderr)  # fmt: skip
    try:
        for attempt in range(args.repeat):
            for result in results:
                print(
                    f"[{attempt + 1}/{args.repeat}] {result.path.name} "
                    f"({result.duration:.0f} s): ours ...",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
                result.ours.append(run_child("ours", result.path, second=True))
                print(" baseline ...", end="", file=sys.stderr, flush=True)
                result.baseline.append(run_child("baseline", result.path))
                if with_bliss:
                    print(" bliss ...", end="", file=sys.stderr, flush=True)
                    result.bliss.append(run_child("bliss", result.path))
                print(" done", file=sys.stderr, flush=True)
    except RuntimeError as exc:
        print(f"\nerror: a measurement failed:\n{exc}", file=sys.stderr)
        return 1

    verdicts = print_report(results, args.repeat)
    if args.json:
        figures = {
            "repeat": args.repeat,
            "python": platform.python_version(),
            "files": [r.summary() for r in results],
            "verdicts": [{"check": text, "pass": ok} for text, ok in verdicts],
            "targets": {
                "cpu_s_per_4min": TARGET_CPU_SECONDS,
                "peak_mb": TARGET_PEAK_MB,
                "speedup": TARGET_SPEEDUP,
                "long_to_short": MAX_LONG_TO_SHORT,
                "bliss_ratio": TARGET_BLISS_RATIO,
                "cosine": TARGET_COSINE,
            },
        }
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
